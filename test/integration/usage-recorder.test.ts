import { formatPicos, picosOf } from '../../lambdas/shared/cost/money';
import { priceUsage } from '../../lambdas/shared/cost/pricing';
import { endUserKey, USAGE_SHARDS } from '../../lambdas/shared/store/schema';
import { requestShard } from '../../lambdas/shared/store/shards';
import { addTotals, dayOf, emptyTotals, totalsOf, type UsageRecord } from '../../lambdas/shared/usage/record';
import { UsageReader } from '../../lambdas/shared/usage/reader';
import { UsageRecorder } from '../../lambdas/shared/usage/recorder';
import { createTestStore, type TestStore } from '../helpers/dynamodb';
import { aggregateRows, ledgerEntries } from '../helpers/usage-store';

const prices = {
  inputMicrosPerMTok: 3_000_000,
  outputMicrosPerMTok: 15_000_000,
  cacheReadMicrosPerMTok: 300_000,
  cacheWriteMicrosPerMTok: 3_750_000,
};

function record(overrides: Partial<UsageRecord> & Pick<UsageRecord, 'requestId' | 'createdAt'>): UsageRecord {
  const usage = overrides.usage ?? { inputTokens: 100, outputTokens: 50, cacheReadTokens: 1000, cacheWriteTokens: 10 };
  return {
    teamId: 'payments',
    keyId: 'k1',
    model: 'claude-sonnet-4',
    requestedModel: 'claude-sonnet-4',
    attempts: 1,
    provider: 'bedrock',
    upstreamModel: 'us.anthropic.claude-sonnet-4',
    status: 'ok',
    httpStatus: 200,
    streamed: false,
    latencyMs: 100,
    usage,
    cost: priceUsage(usage, prices),
    ...overrides,
  };
}

describe('usage ledger and aggregates in DynamoDB Local', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await createTestStore();
  });
  afterAll(() => store.destroy());

  it('keeps aggregates equal to the sum of the ledger, across days, months and models', async () => {
    const recorder = new UsageRecorder(store.db, store.tables.usage);
    const records = [
      record({ requestId: 'r1', createdAt: '2026-01-31T23:59:59.000Z' }),
      record({ requestId: 'r2', createdAt: '2026-02-01T00:00:00.000Z' }),
      record({ requestId: 'r3', createdAt: '2026-02-01T10:00:00.000Z', model: 'nova-lite' }),
      record({
        requestId: 'r4',
        createdAt: '2026-02-01T11:00:00.000Z',
        status: 'error',
        httpStatus: 503,
        usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 },
      }),
    ];
    await Promise.all(records.map((r) => recorder.record(r)));

    const report = await new UsageReader(store.db, store.tables.usage).teamUsage(
      'payments',
      '2026-01-01',
      '2026-02-28',
    );
    const expectedCost = records.reduce((sum, r) => sum + r.cost.totalPicos, 0n);
    expect(report.totals).toEqual({
      requests: 4,
      errors: 1,
      inputTokens: 300,
      outputTokens: 150,
      cacheReadTokens: 3000,
      cacheWriteTokens: 30,
      cacheHits: 0,
      costPicos: expectedCost,
      savedPicos: 0n,
    });
    expect(report.byDay.map((d) => [d.day, d.requests])).toEqual([
      ['2026-01-31', 1],
      ['2026-02-01', 3],
    ]);
    expect(report.byModel.map((m) => [m.model, m.requests])).toEqual([
      ['claude-sonnet-4', 3],
      ['nova-lite', 1],
    ]);
    // Each line item is its own integer in the ledger.
    const ledger = await ledgerEntries(store.db, store.tables.usage, 'payments', '2026-02-01');
    expect(ledger).toHaveLength(3);
    expect(ledger[0]!.cost).toMatchObject({
      inputPicos: 300_000_000,
      outputPicos: 750_000_000,
      cacheReadPicos: 300_000_000,
      cacheWritePicos: 37_500_000, // 37.5 µ$, exactly
    });
  });

  it('keeps sums exact past 2^53 pico-dollars, from the ledger through DynamoDB to the report', async () => {
    const recorder = new UsageRecorder(store.db, store.tables.usage);
    const dear = {
      inputMicrosPerMTok: 0,
      outputMicrosPerMTok: 100_000_000_000,
      cacheReadMicrosPerMTok: 0,
      cacheWriteMicrosPerMTok: 0,
    };
    const cheap = {
      inputMicrosPerMTok: 35_000,
      outputMicrosPerMTok: 0,
      cacheReadMicrosPerMTok: 0,
      cacheWriteMicrosPerMTok: 0,
    };
    const big = { inputTokens: 0, outputTokens: 1_000_000, cacheReadTokens: 0, cacheWriteTokens: 0 };
    const tiny = { inputTokens: 1, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    const records = [
      // $100,000 each: 10^17 p$, past 2^53 (about 9.007 × 10^15) on its own
      ...[1, 2, 3].map((i) =>
        record({
          requestId: `big-${i}`,
          teamId: 'whale',
          createdAt: '2026-04-02T10:00:00.000Z',
          usage: big,
          cost: priceUsage(big, dear),
        }),
      ),
      // 0.035 µ$: a micro-dollar ledger recorded 0
      record({
        requestId: 'tiny',
        teamId: 'whale',
        createdAt: '2026-04-02T11:00:00.000Z',
        usage: tiny,
        cost: priceUsage(tiny, cheap),
      }),
    ];
    for (const r of records) await recorder.record(r);
    const reader = new UsageReader(store.db, store.tables.usage);
    const report = await reader.teamUsage('whale', '2026-04-01', '2026-04-30');
    expect(report.totals.costPicos).toBe(300_000_000_000_035_000n);
    expect(formatPicos(report.totals.costPicos)).toBe('300000.000000035');
    expect((await reader.monthSpend('whale', '2026-04')).spentPicos).toBe(300_000_000_000_035_000n);
    const ledger = await ledgerEntries(store.db, store.tables.usage, 'whale', '2026-04-02');
    const costOf = (requestId: string) => ledger.find((item) => item.requestId === requestId)?.cost.totalPicos;
    expect(['big-1', 'big-2', 'big-3', 'tiny'].map(costOf)).toEqual([10n ** 17n, 10n ** 17n, 10n ** 17n, 35_000]);
  });

  it('records a request once even when the write is retried', async () => {
    const recorder = new UsageRecorder(store.db, store.tables.usage);
    const r = record({ requestId: 'dup', createdAt: '2026-03-05T00:00:00.000Z', teamId: 'retry-team' });
    await recorder.record(r);
    await recorder.record(r);
    await Promise.all([recorder.record(r), recorder.record(r)]);
    const report = await new UsageReader(store.db, store.tables.usage).teamUsage(
      'retry-team',
      '2026-03-01',
      '2026-03-31',
    );
    expect(report.totals.requests).toBe(1);
    expect(report.totals.costPicos).toBe(r.cost.totalPicos);
  });

  it('spreads one team’s aggregates over shards by request id, and sums them exactly in reports', async () => {
    const recorder = new UsageRecorder(store.db, store.tables.usage);
    // 96 requests over two days and two models, a third of them past 2^53 p$ on their own.
    const dear = { ...prices, outputMicrosPerMTok: 100_000_000_000 };
    const records = Array.from({ length: 96 }, (_, i) => {
      const usage = {
        inputTokens: i,
        outputTokens: i % 3 === 0 ? 1_000_000 : i,
        cacheReadTokens: 0,
        cacheWriteTokens: 1,
      };
      return record({
        requestId: `spread-${i}`,
        teamId: 'spread',
        createdAt: `2026-05-${i % 2 === 0 ? '14' : '15'}T08:00:${String(i % 60).padStart(2, '0')}.000Z`,
        model: i % 4 < 2 ? 'claude-sonnet-4' : 'nova-lite',
        usage,
        cost: priceUsage(usage, i % 3 === 0 ? dear : prices),
      });
    });
    for (let i = 0; i < records.length; i += 16)
      await Promise.all(records.slice(i, i + 16).map((r) => recorder.record(r)));
    // A replay of the same writes lands on the same keys and counts nothing twice.
    await Promise.all(records.slice(0, 16).map((r) => recorder.record(r)));

    const { monthRows, dayRows } = await aggregateRows(store.db, store.tables.usage, 'spread', '2026-05');
    expect(monthRows.length).toBeGreaterThan(USAGE_SHARDS / 2);
    for (const row of [...monthRows, ...dayRows]) {
      const shard = Number(String(row['pk']).split('#').at(-1));
      expect(shard).toBeLessThan(USAGE_SHARDS);
      // Each row holds exactly the requests whose ids hash to its shard.
      const mine = records.filter(
        (r) =>
          requestShard(r.requestId, USAGE_SHARDS) === shard &&
          (row['sk'] === 'MONTH' || row['sk'] === `DAY#${r.createdAt.slice(0, 10)}#MODEL#${r.model}`),
      );
      expect(Number(row['requests'])).toBe(mine.length);
      expect(picosOf(row['costPicos'])).toBe(mine.reduce((total, r) => total + r.cost.totalPicos, 0n));
    }

    const expected = records.reduce((totals, r) => addTotals(totals, totalsOf(r)), emptyTotals());
    expect(expected.costPicos).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER) * 20n);
    const reader = new UsageReader(store.db, store.tables.usage);
    const report = await reader.teamUsage('spread', '2026-05-01', '2026-05-31');
    expect(report.totals).toEqual(expected);
    expect(report.byDay.map((d) => [d.day, d.requests])).toEqual([
      ['2026-05-14', 48],
      ['2026-05-15', 48],
    ]);
    expect(report.byModel.map((m) => m.requests).sort()).toEqual([48, 48]);
    const spend = await reader.monthSpend('spread', '2026-05');
    expect(spend.spentPicos).toBe(expected.costPicos);
    expect((await reader.teamUsage('spread', '2026-05-15', '2026-05-15')).totals.requests).toBe(48);
  });

  describe('per end user', () => {
    // Dated now, as every suite dates what it writes to DynamoDB Local (whose TTL runs on the real clock).
    const now = new Date().toISOString();
    const today = dayOf(now);
    const hashUser = 'bob#admin';
    // 256 UTF-16 units, 768 bytes of UTF-8: with the longest model id and experiment names, a plain
    // id would pass DynamoDB's 1,024-byte sort key.
    const longUser = '€'.repeat(256);
    const longModel = `m${'o'.repeat(127)}`;
    const x64 = 'x'.repeat(64);
    const dear = { ...prices, inputMicrosPerMTok: 30_000_000 };
    const records = [
      record({ requestId: 'u1', teamId: 'people', createdAt: now, endUser: 'alice' }),
      record({ requestId: 'u2', teamId: 'people', createdAt: now, endUser: 'alice', model: 'nova-lite' }),
      record({
        requestId: 'u3',
        teamId: 'people',
        createdAt: now,
        endUser: hashUser,
        experiment: 'exp',
        variant: 'b',
        cost: priceUsage({ inputTokens: 100, outputTokens: 50, cacheReadTokens: 1000, cacheWriteTokens: 10 }, dear),
      }),
      record({
        requestId: 'u4',
        teamId: 'people',
        createdAt: now,
        endUser: longUser,
        model: longModel,
        experiment: x64,
        variant: x64,
      }),
      record({ requestId: 'u5', teamId: 'people', createdAt: now }),
      // A prefix of another user's id: must not be taken for them.
      record({ requestId: 'u6', teamId: 'people', createdAt: now, endUser: 'bob' }),
    ];
    const sum = (rs: UsageRecord[]) => rs.reduce((totals, r) => addTotals(totals, totalsOf(r)), emptyTotals());
    let reader: UsageReader;
    beforeAll(async () => {
      const recorder = new UsageRecorder(store.db, store.tables.usage);
      await Promise.all(records.map((r) => recorder.record(r)));
      reader = new UsageReader(store.db, store.tables.usage);
    });

    it('writes one day × model row per user, with the plain id as an attribute and a hash in the key', async () => {
      const { dayRows } = await aggregateRows(store.db, store.tables.usage, 'people', today.slice(0, 7));
      expect(dayRows).toHaveLength(records.length);
      for (const r of records) {
        const row = dayRows.find((item) => item['endUser'] === r.endUser && item['model'] === r.model)!;
        expect(Number(row['requests'])).toBe(1);
        const suffix = r.endUser === undefined ? '' : `#USER#${endUserKey(r.endUser)}`;
        expect(
          String(row['sk']).endsWith(
            `#MODEL#${r.model}${r.variant ? `#VARIANT#${r.experiment}#${r.variant}` : ''}${suffix}`,
          ),
        ).toBe(true);
        expect(Buffer.byteLength(String(row['sk']))).toBeLessThan(1024);
      }
      expect(dayRows.find((row) => row['endUser'] === longUser)).toMatchObject({ experiment: x64, variant: x64 });
    });

    it('reports by user, costliest first, and the requests without one apart: together the totals', async () => {
      const report = await reader.teamUsage('people', today, today);
      expect(report.totals).toEqual(sum(records));
      expect(report.byUser.map((row) => [row.endUser, row.requests])).toEqual([
        [hashUser, 1],
        ['alice', 2],
        ...[
          ['bob', 1],
          [longUser, 1],
        ].sort(([a], [b]) => String(a).localeCompare(String(b))),
      ]);
      for (const row of report.byUser) {
        const { endUser, ...totals } = row;
        expect(totals).toEqual(sum(records.filter((r) => r.endUser === endUser)));
      }
      expect(report.withoutUser).toEqual(sum(records.filter((r) => r.endUser === undefined)));
      const summed = report.byUser.reduce((totals, row) => addTotals(totals, row), { ...report.withoutUser });
      expect(summed).toEqual(report.totals);
      // Users still sum into their model and variant.
      expect(report.byModel.find((row) => row.model === 'claude-sonnet-4')?.requests).toBe(4);
      expect(report.byVariant.map((row) => [row.variant, row.requests])).toEqual([
        ['b', 1],
        [x64, 1],
      ]);
    });

    it('counts one end user alone for a member who may see only their own usage', async () => {
      const mine = await reader.teamUsage('people', today, today, { endUser: hashUser });
      const expected = sum(records.filter((r) => r.endUser === hashUser));
      expect(mine.totals).toEqual(expected);
      expect(mine.byModel).toEqual([{ model: 'claude-sonnet-4', ...expected }]);
      expect(mine.byDay).toEqual([{ day: today, ...expected }]);
      expect(mine.byUser).toEqual([{ endUser: hashUser, ...expected }]);
      expect(mine.withoutUser).toEqual(emptyTotals());
      expect(mine.byVariant.map((row) => row.variant)).toEqual(['b']);
      expect((await reader.teamUsage('people', today, today, { endUser: 'alice' })).totals.requests).toBe(2);
      expect((await reader.teamUsage('people', today, today, { endUser: 'bob' })).totals.requests).toBe(1);
      expect((await reader.teamUsage('people', today, today, { endUser: longUser })).totals.requests).toBe(1);
      expect((await reader.teamUsage('people', today, today, { endUser: 'carol' })).totals).toEqual(emptyTotals());
    });
  });

  it('reads only the requested range and nothing of other teams', async () => {
    const recorder = new UsageRecorder(store.db, store.tables.usage);
    await recorder.record(record({ requestId: 'o1', createdAt: '2026-04-10T00:00:00.000Z', teamId: 'other' }));
    await recorder.record(record({ requestId: 'o2', createdAt: '2026-04-12T00:00:00.000Z', teamId: 'other' }));
    const reader = new UsageReader(store.db, store.tables.usage);
    expect((await reader.teamUsage('other', '2026-04-11', '2026-04-30')).totals.requests).toBe(1);
    expect((await reader.teamUsage('nobody', '2026-04-01', '2026-04-30')).totals.requests).toBe(0);
  });
});
