import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { AuditLog } from '../../lambdas/shared/audit/audit-log';
import type { AuditRecord } from '../../lambdas/shared/audit/record';
import { AUDIT_DECISION_SHARDS } from '../../lambdas/shared/store/schema';
import { requestShard } from '../../lambdas/shared/store/shards';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';

/**
 * The audit table's decision-by-day index is sharded: a day's blocks land on several index
 * partitions (by a hash of the request id, so even one team's spread), and a cross-team search
 * reads every shard and merges them, page after page, each record exactly once, newest first.
 */

const MINUTE = 60_000;

describe('the sharded decision-by-day audit index', () => {
  let gw: TestGateway;
  let audit: AuditLog;
  const now = Date.now();
  const records: AuditRecord[] = [];
  const from = new Date(now - 3 * 24 * 60 * MINUTE).toISOString();
  const to = new Date(now).toISOString();

  /** Record ids of a decision, newest first, as a search must return them. */
  const expected = (decision: AuditRecord['decision'], keyId?: string) =>
    records
      .filter((r) => r.decision === decision && (keyId === undefined || r.keyId === keyId))
      .sort((a, b) => (`${b.createdAt}#${b.requestId}` > `${a.createdAt}#${a.requestId}` ? 1 : -1))
      .map((r) => r.requestId);

  beforeAll(async () => {
    gw = await createTestGateway();
    audit = new AuditLog(gw.store.db, gw.store.tables.audit, 90);
    const teams = ['alpha', 'bravo', 'charlie'];
    // 90 requests over the last 30 hours (two UTC days at any time of day), mostly one busy team;
    // every fifth an alert, every seventh allowed (not indexed). Pairs share an instant, so the
    // merge must order ties by request id as each shard does.
    for (let i = 0; i < 90; i++) {
      const teamId = i % 3 === 0 ? teams[i % 9 === 0 ? 1 : 2]! : teams[0]!;
      const decision = i % 7 === 0 ? 'allow' : i % 5 === 0 ? 'alert' : 'block';
      records.push({
        requestId: `r${String(i).padStart(3, '0')}-${(i * 7919).toString(36)}`,
        teamId,
        keyId: `key-${teamId}-${i % 2}`,
        requestedModel: 'mock-small',
        decision,
        ruleIds: decision === 'allow' ? [] : ['rule'],
        status: decision === 'block' ? 'blocked' : 'ok',
        httpStatus: decision === 'block' ? 400 : 200,
        streamed: false,
        costPicos: 0n,
        latencyMs: 1,
        createdAt: new Date(now - 30 * 60 * MINUTE + Math.floor(i / 2) * 40 * MINUTE).toISOString(),
      });
    }
    for (const record of records) await audit.put(record);
  });
  afterAll(() => gw.destroy());

  it('puts the records of one day, even of one team, on more than one shard', async () => {
    const { Items = [] } = await gw.store.db.send(new ScanCommand({ TableName: gw.store.tables.audit }));
    const indexed = Items.filter((item) => typeof item['decisionDay'] === 'string');
    expect(indexed).toHaveLength(records.filter((r) => r.decision !== 'allow').length);
    const day = (records.at(-1)!.createdAt as string).slice(0, 10);
    const shardsOf = (teamId?: string) =>
      new Set(
        indexed
          .filter((item) => (item['decisionDay'] as string).startsWith(`DECISION#block#${day}#`))
          .filter((item) => teamId === undefined || item['teamId'] === teamId)
          .map((item) => item['decisionDay']),
      );
    expect(shardsOf().size).toBeGreaterThan(1);
    expect(shardsOf('alpha').size).toBeGreaterThan(1);
    for (const item of indexed) {
      const shard = Number((item['decisionDay'] as string).split('#').at(-1));
      expect(shard).toBe(requestShard(item['requestId'] as string, AUDIT_DECISION_SHARDS));
      expect(shard).toBeLessThan(AUDIT_DECISION_SHARDS);
    }
  });

  it.each([1, 2, 3, 7, 16, 200])(
    'returns every record exactly once, newest first, paging %i at a time across teams and shards',
    async (limit) => {
      for (const [decision, keyId] of [
        ['block', undefined],
        ['alert', undefined],
        ['block', 'key-alpha-1'],
      ] as const) {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await audit.byDecision({
            decision,
            from,
            to,
            limit,
            ...(keyId ? { keyId } : {}),
            ...(cursor ? { cursor } : {}),
          });
          expect(page.records.length).toBeLessThanOrEqual(limit);
          seen.push(...page.records.map((r) => r.requestId));
          cursor = page.nextCursor;
          pages += 1;
          expect(pages).toBeLessThan(200);
        } while (cursor);
        expect(seen).toEqual(expected(decision, keyId));
      }
    },
  );

  it('pages through the admin search route the same way, each record once and in order', async () => {
    const seen: { request_id: string; created_at: string; team: string }[] = [];
    let cursor: string | null = null;
    do {
      const response: { status: number; body: { data: typeof seen; next_cursor: string | null } } = await gw.call(
        'GET',
        `/v1/admin/audit?decision=block&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
        { admin: true },
      );
      expect(response.status).toBe(200);
      seen.push(...response.body.data);
      cursor = response.body.next_cursor;
    } while (cursor);
    expect(seen.map((r) => r.request_id)).toEqual(expected('block'));
    expect(new Set(seen.map((r) => r.team))).toEqual(new Set(['alpha', 'bravo', 'charlie']));
  });
});
