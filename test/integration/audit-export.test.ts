import { AuditLog } from '../../lambdas/shared/audit/audit-log';
import { MAX_EXPORT_PAGE_BYTES } from '../../lambdas/shared/audit/export';
import { EXPORT_COLUMNS } from '../../lambdas/shared/audit/export-rows';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { picosOf } from '../../lambdas/shared/cost/money';
import { testConfig } from '../helpers/config';
import { cellOf, parseCsv, parseJsonLines, unmarkCell } from '../helpers/export-files';
import { createTestGateway, type TestGateway, type TestResponse } from '../helpers/test-gateway';
import { ledgerEntries } from '../helpers/usage-store';

/**
 * The compliance export (`GET /v1/admin/export`) against DynamoDB Local: two teams' requests and
 * admin changes at known instants around a period (March 2026), exported for one team and for
 * all, in JSON Lines and CSV, in one page and in many.
 */

const EMAIL = 'jane.doe@example.com';
const ALPHA = 'exp-alpha';
const BRAVO = 'exp-bravo';
const MARCH = 'from=2026-03-01&to=2026-03-31';

const config: GatewayConfigInput = {
  ...testConfig,
  // The records are dated March 2026 by the test's clock, but DynamoDB Local's TTL runs on the real
  // clock and deletes an expired item within seconds: with the default 90 days they would vanish
  // mid-suite. Ten years keeps every record past any date this suite runs on.
  audit: { retentionDays: 3_650 },
  policies: {
    profiles: {
      default: {
        denyRules: [{ id: 'codename', message: 'Code names stay inside.', keywords: ['project falcon'] }],
        detectors: [{ detector: 'email', action: 'redact' }],
        audit: { promptExcerptChars: 200, responseExcerptChars: 200 },
      },
    },
  },
};

describe('compliance export of the audit trail', () => {
  let gw: TestGateway;
  let clock = Date.parse('2026-02-20T09:00:00.000Z');
  const keys: Record<string, string> = {};

  /** A chat request of a team at an instant. */
  const ask = async (team: string, at: string, content: string) => {
    clock = Date.parse(at);
    const response = await gw.call('POST', '/v1/chat/completions', {
      key: keys[team]!,
      body: { model: 'mock-small', messages: [{ role: 'user', content }] },
    });
    // Served, or refused by the policy (audited all the same).
    expect([at, response.status, response.body.error?.code]).toEqual(
      content.includes('falcon') ? [at, 400, 'content_policy_violation'] : [at, 200, undefined],
    );
  };
  const admin = (url: string) => gw.call('GET', url, { admin: true });

  /** Every page of an export, following `x-gateway-next-cursor`, each checked against its headers. */
  const pages = async (query: string): Promise<TestResponse[]> => {
    const all: TestResponse[] = [];
    let cursor: string | undefined;
    do {
      const page = await admin(`/v1/admin/export?${query}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      all.push(page);
      cursor = page.headers['x-gateway-next-cursor'];
    } while (cursor);
    return all;
  };
  const bodyOf = (page: TestResponse) => (page.body as string | undefined) ?? '';
  const exported = async (query: string) => parseJsonLines((await pages(query)).map(bodyOf).join(''));

  beforeAll(async () => {
    gw = await createTestGateway({ config, now: () => clock });
    // Before the period: both teams, their keys.
    for (const team of [BRAVO, ALPHA]) {
      await gw.createTeam({ id: team, name: team });
      keys[team] = (await gw.issueKey(team)).plaintext;
    }
    // In the period: a change of each team; after it, one more.
    clock = Date.parse('2026-03-05T12:00:00.000Z');
    expect((await gw.call('PATCH', `/v1/admin/teams/${ALPHA}`, { admin: true, body: { name: 'Alpha' } })).status).toBe(
      200,
    );
    clock = Date.parse('2026-03-06T12:00:00.000Z');
    await gw.issueKey(BRAVO, { name: 'second' });
    clock = Date.parse('2026-04-02T12:00:00.000Z');
    expect((await gw.call('PATCH', `/v1/admin/teams/${BRAVO}`, { admin: true, body: { name: 'Bravo' } })).status).toBe(
      200,
    );

    // Requests on both sides of each end of the period, and between: allowed, redacted, blocked.
    await ask(ALPHA, '2026-02-28T23:59:59.999Z', 'just before');
    await ask(ALPHA, '2026-03-01T00:00:00.000Z', 'first instant');
    for (let i = 0; i < 12; i++) {
      const at = new Date(Date.parse('2026-03-10T10:00:00.000Z') + i * 1_000).toISOString();
      const content = i % 4 === 1 ? `mail ${EMAIL} now` : i === 6 ? 'about project falcon' : `question ${i}`;
      await ask(ALPHA, at, content);
    }
    // Prompts a spreadsheet would run, or that CSV must quote: exported as stored, and marked in CSV.
    const awkward = ['=HYPERLINK("http://x.test","y")', "'quoted", '-1, "said"\nnext line', '@sum', 'plain'];
    for (const [i, content] of awkward.entries()) {
      await ask(BRAVO, new Date(Date.parse('2026-03-15T08:00:00.000Z') + i * 60_000).toISOString(), content);
    }
    await ask(ALPHA, '2026-03-31T23:59:59.999Z', 'last instant');
    await ask(ALPHA, '2026-04-01T00:00:00.000Z', 'just after');
    clock = Date.parse('2026-04-05T00:00:00.000Z');
  });
  afterAll(() => gw.destroy());

  it("exports one team's changes and requests in the period, each record as /v1/admin/audit and the ledger have it", async () => {
    const rows = await exported(`${MARCH}&team=${ALPHA}&limit=1000`);
    const changes = rows.filter((row) => row.record_type === 'admin_change');
    const requests = rows.filter((row) => row.record_type === 'request');
    // The change log first, then the requests, each oldest first.
    expect(rows.map((row) => row.record_type)).toEqual([...changes, ...requests].map((row) => row.record_type));
    expect(changes.map((row) => [row.action, row.team, row.at])).toEqual([
      ['team.update', ALPHA, '2026-03-05T12:00:00.000Z'],
    ]);
    expect(requests.map((row) => row.at)).toEqual(requests.map((row) => row.at).sort());
    expect(requests).toHaveLength(14);

    // Exactly the records the audit search lists, field for field.
    const audit = await admin(`/v1/admin/audit?team=${ALPHA}&${MARCH}&limit=200`);
    expect(audit.body.has_more).toBe(false);
    const searched = [...audit.body.data].reverse() as Record<string, unknown>[];
    expect(requests.map((row) => row.id)).toEqual(searched.map((record) => record['request_id']));
    requests.forEach((row, i) => {
      const record = searched[i]!;
      expect(row).toMatchObject({
        team: record['team'],
        actor: record['key_id'],
        key_id: record['key_id'],
        at: record['created_at'],
        decision: record['decision'],
        rule_ids: record['rule_ids'],
        status: record['status'],
        http_status: record['http_status'],
        cost_picos: record['cost_picos'],
        cost_usd: record['cost_usd'],
        prompt_excerpt: record['prompt_excerpt'],
        response_excerpt: record['response_excerpt'],
      });
    });
    expect(requests.map((row) => row.decision).sort()).toEqual([
      ...Array<string>(10).fill('allow'),
      'block',
      'redact',
      'redact',
      'redact',
    ]);

    // The same cost, to the pico-dollar, as the ledger of those days (a block is never admitted).
    const days = [...new Set(requests.map((row) => row.at.slice(0, 10)))];
    const ledger = (await Promise.all(days.map((day) => ledgerEntries(gw.store.db, gw.store.tables.usage, ALPHA, day))))
      .flat()
      .filter((entry) => entry.createdAt <= '2026-03-31T23:59:59.999Z');
    const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);
    expect(ledger).toHaveLength(requests.filter((row) => row.status !== 'blocked').length);
    expect(sum(requests.map((row) => BigInt(row.cost_picos as string)))).toBe(
      sum(ledger.map((entry) => picosOf(entry.cost.totalPicos))),
    );
    expect(sum(requests.map((row) => BigInt(row.cost_picos as string)))).toBeGreaterThan(0n);
  });

  it('exports redacted as stored: the redacted email is nowhere, in either format', async () => {
    for (const format of ['jsonl', 'csv']) {
      const text = (await pages(`${MARCH}&team=${ALPHA}&format=${format}`)).map(bodyOf).join('');
      expect(text).not.toContain(EMAIL);
      expect(text).toContain('project falcon'); // a blocked prompt's excerpt is stored and exported as stored
    }
    const redacted = (await exported(`${MARCH}&team=${ALPHA}`)).filter((row) => row.decision === 'redact');
    expect(redacted).toHaveLength(3);
    for (const row of redacted) expect(row.prompt_excerpt).toBe('mail [EMAIL_1] now');
  });

  it('exports every team: the whole change log of the period, then each team in id order', async () => {
    const rows = await exported(MARCH);
    expect(rows.filter((row) => row.record_type === 'admin_change').map((row) => [row.action, row.team])).toEqual([
      ['team.update', ALPHA],
      ['key.create', BRAVO],
    ]);
    const teams = rows.filter((row) => row.record_type === 'request').map((row) => row.team);
    expect(teams).toEqual([...Array<string>(14).fill(ALPHA), ...Array<string>(5).fill(BRAVO)]);
    expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length);
    const bravo = await admin(`/v1/admin/audit?team=${BRAVO}&${MARCH}`);
    expect(bravo.body.data).toHaveLength(5);
  });

  it('includes both ends of the period and nothing outside, to the millisecond', async () => {
    const rows = await exported(`${MARCH}&team=${ALPHA}`);
    const requests = rows.filter((row) => row.record_type === 'request').map((row) => row.at);
    expect(requests[0]).toBe('2026-03-01T00:00:00.000Z');
    expect(requests.at(-1)).toBe('2026-03-31T23:59:59.999Z');

    const edges = async (from: string, to: string) =>
      (await exported(`from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&team=${ALPHA}`))
        .filter((row) => row.record_type === 'request')
        .map((row) => row.at);
    expect(await edges('2026-02-28T23:59:59.999Z', '2026-03-01T00:00:00.000Z')).toEqual([
      '2026-02-28T23:59:59.999Z',
      '2026-03-01T00:00:00.000Z',
    ]);
    expect(await edges('2026-03-01T00:00:00.001Z', '2026-03-10T10:00:00.999Z')).toEqual(['2026-03-10T10:00:00.000Z']);
    // An offset is an instant like any other: 01:00+01:00 is midnight UTC.
    expect(await edges('2026-03-31T23:59:59.999Z', '2026-04-01T01:00:00+01:00')).toEqual([
      '2026-03-31T23:59:59.999Z',
      '2026-04-01T00:00:00.000Z',
    ]);
  });

  it('pages with a small limit cover every record exactly once, in the same order, in both formats', async () => {
    const whole = await pages(`${MARCH}&limit=1000`);
    expect(whole).toHaveLength(1);
    const all = parseJsonLines(bodyOf(whole[0]!));
    expect(whole[0]!.headers['x-gateway-export-records']).toBe(String(all.length));

    const small = await pages(`${MARCH}&limit=3`);
    const rows = small.map((page) => parseJsonLines(bodyOf(page)));
    for (const [i, page] of small.entries()) {
      expect(rows[i]!.length).toBeLessThanOrEqual(3);
      expect(page.headers['x-gateway-export-records']).toBe(String(rows[i]!.length));
      expect(page.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    }
    expect(rows.flat()).toEqual(all);
    expect(small.length).toBeGreaterThanOrEqual(Math.ceil(all.length / 3));

    // CSV: the header on the first page only, so the pages concatenated are the one-page file.
    const csvWhole = bodyOf((await pages(`${MARCH}&format=csv&limit=1000`))[0]!);
    const csvPages = (await pages(`${MARCH}&format=csv&limit=4`)).map(bodyOf);
    expect(csvPages.join('')).toBe(csvWhole);
    expect(csvPages.slice(1).some((page) => page.startsWith('record_type,'))).toBe(false);
  });

  it('writes CSV that parses back to exactly the JSON Lines records', async () => {
    const json = await exported(MARCH);
    const response = await admin(`/v1/admin/export?${MARCH}&format=csv`);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    const [header, ...cells] = parseCsv(response.body as string);
    expect(header).toEqual([...EXPORT_COLUMNS]);
    expect(cells).toHaveLength(json.length);
    expect(json.map((row) => row.prompt_excerpt)).toEqual(expect.arrayContaining(["'quoted", '@sum']));
    cells.forEach((row, i) => {
      const record = json[i]!;
      expect(Object.keys(record)).toEqual([...EXPORT_COLUMNS]);
      expect(row.map(unmarkCell)).toEqual(EXPORT_COLUMNS.map((column) => cellOf(record[column])));
    });
  });

  it('is for admins only: a team key gets 403', async () => {
    const response = await gw.call('GET', `/v1/admin/export?${MARCH}`, { key: keys[ALPHA]! });
    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('admin_only');
    expect((await gw.call('GET', `/v1/admin/export?${MARCH}`)).status).toBe(403);
  });

  it('refuses every bad parameter with a 400 naming it, an unknown team with a 404', async () => {
    const cases: [string, string][] = [
      ['to=2026-03-31', 'from'],
      ['from=2026-03-01', 'to'],
      ['from=2026-03-32&to=2026-04-01', 'from'],
      ['from=2026-04-01&to=2026-03-01', 'from'],
      ['from=2025-01-01&to=2026-03-01', 'to'],
      ['from=9999-12-31&to=9999-12-31T23:59:59-14:00', 'to'],
      [`${MARCH}&format=xlsx`, 'format'],
      [`${MARCH}&limit=0`, 'limit'],
      [`${MARCH}&limit=1001`, 'limit'],
      [`${MARCH}&limit=1.5`, 'limit'],
      [`${MARCH}&team=Not%20A%20Team`, 'team'],
      [`${MARCH}&cursor=${'x'.repeat(8_001)}`, 'cursor'],
      [`${MARCH}&days=3`, 'days'],
    ];
    for (const [query, param] of cases) {
      const response = await admin(`/v1/admin/export?${query}`);
      expect([response.status, response.body.error.param]).toEqual([400, param]);
      expect(response.body.error.type).toBe('invalid_request_error');
    }
    const unknown = await admin(`/v1/admin/export?${MARCH}&team=no-such-team`);
    expect([unknown.status, unknown.body.error.param]).toEqual([404, 'team']);
  });

  it('refuses forged cursors and cursors of another export with a 400, never a DynamoDB error', async () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const first = await admin(`/v1/admin/export?${MARCH}&team=${ALPHA}&limit=1`);
    const changesCursor = first.headers['x-gateway-next-cursor']!;
    const second = await admin(`/v1/admin/export?${MARCH}&team=${ALPHA}&limit=1&cursor=${changesCursor}`);
    const requestsCursor = second.headers['x-gateway-next-cursor']!;
    const inner = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { c?: string };
    expect(inner(changesCursor)).toMatchObject({ s: 'changes', c: expect.any(String) });
    expect(inner(requestsCursor)).toMatchObject({ s: 'requests', t: ALPHA, c: expect.any(String) });

    const forged = [
      'not base64 at all!',
      b64({ s: 'everything' }),
      b64({ s: 'requests' }),
      b64({ s: 'requests', t: 'Not A Team' }),
      b64({ s: 'requests', t: BRAVO }), // another team than the one exported
      b64({ s: 'changes', c: 'garbage' }),
      b64({ s: 'changes', c: b64({ m: '1999-01' }) }),
      b64({
        s: 'changes',
        c: b64({ m: '2026-03', sk: '1999-01-01T00:00:00.000Z#00000000-0000-4000-8000-000000000000' }),
      }),
      b64({ s: 'changes', c: b64({ m: '2026-03', sk: 5 }) }),
      b64({ s: 'changes', c: b64({ pk: 'ADMIN#2026-03', sk: 'x' }) }),
      b64({ s: 'requests', t: ALPHA, c: b64({ m: '2026-03', s: [] }) }),
      b64({ s: 'requests', t: ALPHA, c: b64({ m: '1999-01', s: Array<string>(16).fill('start') }) }),
      b64({ s: 'requests', t: ALPHA, c: b64({ m: '2026-03', s: Array(16).fill(['AUDIT#exp-bravo#2026-03#0', 'x']) }) }),
      b64({ s: 'requests', t: ALPHA, c: b64({ m: '2026-03', s: Array<string>(16).fill('start') }) }) + 'x',
      b64({ s: 'requests', t: ALPHA, c: requestsCursor }),
      b64({ s: 'changes', c: inner(requestsCursor).c }),
      b64({ s: 'requests', t: ALPHA, c: inner(changesCursor).c }),
    ];
    for (const cursor of forged) {
      const response = await admin(`/v1/admin/export?${MARCH}&team=${ALPHA}&cursor=${encodeURIComponent(cursor)}`);
      expect([cursor, response.status, response.body.error?.param]).toEqual([cursor, 400, 'cursor']);
    }
    // A real cursor of one team's export cannot continue another's, nor another period's.
    const elsewhere = [
      `${MARCH}&team=${BRAVO}&cursor=${requestsCursor}`,
      `from=2026-03-20&to=2026-03-31&team=${ALPHA}&cursor=${requestsCursor}`,
    ];
    for (const query of elsewhere) {
      const response = await admin(`/v1/admin/export?${query}`);
      expect([response.status, response.body.error.param]).toEqual([400, 'cursor']);
    }
  });
});

describe('compliance export pages under the Lambda response limit', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway();
  });
  afterAll(() => gw.destroy());

  it('ends a page before its body would pass 4 MiB in the response payload, and loses no record', async () => {
    const team = (await gw.createTeam({ id: 'exp-large' })).teamId;
    const audit = new AuditLog(gw.store.db, gw.store.tables.audit, 90);
    // Excerpts near DynamoDB's 400 KB item limit, of the characters JSON escapes twice in the payload.
    const excerpt = '"\\'.repeat(90_000);
    const start = Date.now() - 60_000;
    for (let i = 0; i < 14; i++) {
      await audit.put({
        requestId: `large-${String(i).padStart(2, '0')}`,
        teamId: team,
        keyId: 'klarge',
        requestedModel: 'mock-small',
        decision: 'allow',
        ruleIds: [],
        status: 'ok',
        httpStatus: 200,
        streamed: false,
        costPicos: 1n,
        latencyMs: 1,
        promptExcerpt: excerpt,
        responseExcerpt: excerpt,
        createdAt: new Date(start + i).toISOString(),
      });
    }
    // From the records' day to today: the records may fall just before midnight UTC.
    const from = new Date(start).toISOString().slice(0, 10);
    const today = new Date().toISOString().slice(0, 10);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await gw.call(
        'GET',
        `/v1/admin/export?from=${from}&to=${today}&team=${team}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
        { admin: true },
      );
      expect(page.status).toBe(200);
      // What the Lambda returns is JSON with the body as a string in it.
      expect(Buffer.byteLength(JSON.stringify(page.body ?? ''))).toBeLessThanOrEqual(MAX_EXPORT_PAGE_BYTES + 2);
      const rows = parseJsonLines((page.body as string | undefined) ?? '').filter(
        (row) => row.record_type === 'request',
      );
      expect(rows.every((row) => row.prompt_excerpt === excerpt)).toBe(true);
      seen.push(...rows.map((row) => row.id));
      cursor = page.headers['x-gateway-next-cursor'];
      pages += 1;
    } while (cursor);
    expect(pages).toBeGreaterThan(2);
    expect(seen).toEqual(Array.from({ length: 14 }, (_, i) => `large-${String(i).padStart(2, '0')}`));
  }, 60_000);
});
