import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { AuditLog } from '../../lambdas/shared/audit/audit-log';
import type { AuditRecord } from '../../lambdas/shared/audit/record';
import { AUDIT_DECISION_SHARDS, AUDIT_TEAM_SHARDS, itemKeys } from '../../lambdas/shared/store/schema';
import { requestShard } from '../../lambdas/shared/store/shards';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';

/**
 * The audit trail is sharded twice, both by a hash of the request id: a team's month over
 * `AUDIT_TEAM_SHARDS` table partitions, and the decision-by-day index over `AUDIT_DECISION_SHARDS`
 * index partitions (so even one team's records spread). A team listing and a cross-team search
 * each read every shard and merge them, page after page, each record exactly once, newest first.
 */

const MINUTE = 60_000;

/** An audit record of a mock request; its decision sets its rule ids, status and HTTP status. */
function auditRecord(
  fields: Pick<AuditRecord, 'requestId' | 'teamId' | 'keyId' | 'decision' | 'createdAt'>,
): AuditRecord {
  const blocked = fields.decision === 'block';
  return {
    ...fields,
    requestedModel: 'mock-small',
    ruleIds: fields.decision === 'allow' ? [] : ['rule'],
    status: blocked ? 'blocked' : 'ok',
    httpStatus: blocked ? 400 : 200,
    streamed: false,
    costPicos: 0n,
    latencyMs: 1,
  };
}

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
      records.push(
        auditRecord({
          requestId: `r${String(i).padStart(3, '0')}-${(i * 7919).toString(36)}`,
          teamId,
          keyId: `key-${teamId}-${i % 2}`,
          decision,
          createdAt: new Date(now - 30 * 60 * MINUTE + Math.floor(i / 2) * 40 * MINUTE).toISOString(),
        }),
      );
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

describe('the sharded team audit trail', () => {
  let gw: TestGateway;
  let audit: AuditLog;
  const records: AuditRecord[] = [];
  // The first instant of last month: records on both sides of it are in the past, within the
  // retention, and a listing of them crosses a month (one group of shards) into the next.
  const today = new Date();
  const boundary = Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 1);
  const from = new Date(boundary - 2 * 86_400_000).toISOString();
  const to = new Date(boundary + 2 * 86_400_000).toISOString();

  /** A team's record ids (optionally of one key, one decision), newest first, as a listing must return them. */
  const expected = (teamId: string, filter: { keyId?: string; decision?: string } = {}) =>
    records
      .filter((r) => r.teamId === teamId)
      .filter((r) => filter.keyId === undefined || r.keyId === filter.keyId)
      .filter((r) => filter.decision === undefined || r.decision === filter.decision)
      .sort((a, b) => (`${b.createdAt}#${b.requestId}` > `${a.createdAt}#${a.requestId}` ? 1 : -1))
      .map((r) => r.requestId);

  /** Every page of a team listing, following the cursor to the end. */
  async function listAll(search: {
    teamId: string;
    limit: number;
    keyId?: string;
    decision?: AuditRecord['decision'];
  }) {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await audit.team({ ...search, from, to, ...(cursor ? { cursor } : {}) });
      expect(page.records.length).toBeLessThanOrEqual(search.limit);
      expect(page.records.every((r) => r.teamId === search.teamId)).toBe(true);
      seen.push(...page.records.map((r) => r.requestId));
      cursor = page.nextCursor;
      pages += 1;
      expect(pages).toBeLessThan(300);
    } while (cursor);
    return seen;
  }

  beforeAll(async () => {
    gw = await createTestGateway();
    audit = new AuditLog(gw.store.db, gw.store.tables.audit, 90);
    // 120 records, two every 20 minutes from 10 hours before the month boundary to 10 after, mostly one team; pairs share an
    // instant, so the merge must order ties by request id as each shard does.
    for (let i = 0; i < 120; i++) {
      const teamId = i % 4 === 3 ? 'quiet' : 'busy';
      const decision = i % 7 === 0 ? 'block' : i % 5 === 0 ? 'alert' : 'allow';
      records.push(
        auditRecord({
          requestId: `t${String(i).padStart(3, '0')}-${(i * 104_729).toString(36)}`,
          teamId,
          keyId: `key-${teamId}-${i % 3}`,
          decision,
          createdAt: new Date(boundary - 10 * 60 * 60_000 + Math.floor(i / 2) * 20 * 60_000).toISOString(),
        }),
      );
    }
    for (const record of records) await audit.put(record);
  });
  afterAll(() => gw.destroy());

  it('puts one team’s month on many shards, each record on the shard its request id hashes to', async () => {
    const { Items = [] } = await gw.store.db.send(new ScanCommand({ TableName: gw.store.tables.audit }));
    expect(Items).toHaveLength(records.length);
    for (const item of Items) {
      const record = records.find((r) => r.requestId === item['requestId'])!;
      const shard = requestShard(record.requestId, AUDIT_TEAM_SHARDS);
      expect(item['pk']).toBe(itemKeys.auditPartition(record.teamId, record.createdAt.slice(0, 7), shard));
    }
    const busyPartitions = new Set(Items.filter((item) => item['teamId'] === 'busy').map((item) => item['pk']));
    expect(busyPartitions.size).toBeGreaterThan(AUDIT_TEAM_SHARDS);
    expect(new Set(records.map((r) => r.createdAt.slice(0, 7))).size).toBe(2);
  });

  it.each([1, 2, 3, 7, 16, 41, 500])(
    'lists a team’s records exactly once, newest first, paging %i at a time across shards and months',
    async (limit) => {
      expect(await listAll({ teamId: 'busy', limit })).toEqual(expected('busy'));
      expect(await listAll({ teamId: 'quiet', limit })).toEqual(expected('quiet'));
      expect(await listAll({ teamId: 'busy', limit, keyId: 'key-busy-1' })).toEqual(
        expected('busy', { keyId: 'key-busy-1' }),
      );
      expect(await listAll({ teamId: 'busy', limit, decision: 'block' })).toEqual(
        expected('busy', { decision: 'block' }),
      );
      expect(await listAll({ teamId: 'nobody', limit })).toEqual([]);
    },
    // A page reads every shard it has nothing buffered from: paging one record at a time is slow.
    30_000,
  );

  it('pages through the admin team route the same way, each record once and in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response: { status: number; body: { data: { request_id: string }[]; next_cursor: string | null } } =
        await gw.call(
          'GET',
          `/v1/admin/audit?team=busy&limit=6&from=${from}&to=${to}${cursor ? `&cursor=${cursor}` : ''}`,
          { admin: true },
        );
      expect(response.status).toBe(200);
      seen.push(...response.body.data.map((r) => r.request_id));
      cursor = response.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(expected('busy'));
  });

  it('refuses a tampered cursor with a 400 naming it, before any query', async () => {
    const first = await audit.team({ teamId: 'busy', from, to, limit: 5 });
    const cursor = JSON.parse(Buffer.from(first.nextCursor!, 'base64url').toString('utf8')) as {
      m: string;
      s: (string | [string, string])[];
    };
    // The page stopped somewhere: at least one shard resumes after a key.
    const at = cursor.s.findIndex((position) => Array.isArray(position));
    expect(at).toBeGreaterThanOrEqual(0);
    const [pk, sk] = cursor.s[at] as [string, string];
    const quiet = records.find((r) => r.teamId === 'quiet' && r.createdAt.startsWith(cursor.m))!;
    const quietKey = itemKeys.auditEntry('quiet', quiet.createdAt, quiet.requestId);
    const busyElsewhere = records.find(
      (r) =>
        r.teamId === 'busy' && r.createdAt.startsWith(cursor.m) && requestShard(r.requestId, AUDIT_TEAM_SHARDS) !== at,
    )!;
    const withPosition = (position: unknown, index = at) => ({
      ...cursor,
      s: cursor.s.map((p, i) => (i === index ? position : p)),
    });
    const tampered: unknown[] = [
      withPosition([quietKey.pk, quietKey.sk], requestShard(quiet.requestId, AUDIT_TEAM_SHARDS)), // another team's record
      withPosition([pk, `${busyElsewhere.createdAt}#${busyElsewhere.requestId}`]), // a record of another shard
      withPosition([pk.replace(/#\d+$/, `#${(at + 1) % AUDIT_TEAM_SHARDS}`), sk]), // another shard's partition
      withPosition([pk, '1999-01-01T00:00:00.000Z#x']), // outside the range
      withPosition([pk, sk, 'more']),
      withPosition({ pk, sk }),
      { ...cursor, m: '1999-01' }, // a month outside the search
      { ...cursor, s: cursor.s.slice(1) }, // a shard too few
      { ...cursor, extra: true },
      { d: cursor.m, s: cursor.s }, // shaped like the other listing's
    ];
    for (const forged of tampered) {
      const encoded = Buffer.from(JSON.stringify(forged)).toString('base64url');
      await expect(audit.team({ teamId: 'busy', from, to, limit: 5, cursor: encoded })).rejects.toMatchObject({
        status: 400,
        param: 'cursor',
      });
    }
    // Untouched, the cursor is good (and good only for its own team).
    expect((await audit.team({ teamId: 'busy', from, to, limit: 5, cursor: first.nextCursor! })).records).toHaveLength(
      5,
    );
    await expect(audit.team({ teamId: 'quiet', from, to, limit: 5, cursor: first.nextCursor! })).rejects.toMatchObject({
      status: 400,
    });
  });
});
