import fc from 'fast-check';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { priceUsage } from '../../lambdas/shared/cost/pricing';
import { QuotaService, type Admission } from '../../lambdas/shared/quota/quota-service';
import { windowStartSeconds } from '../../lambdas/shared/quota/rate-window';
import { ReservationSweeper } from '../../lambdas/shared/quota/reservation-sweeper';
import { itemKeys } from '../../lambdas/shared/store/schema';
import type { UsageRecord } from '../../lambdas/shared/usage/record';
import { UsageRecorder } from '../../lambdas/shared/usage/recorder';
import { createTestStore, type TestStore } from '../helpers/dynamodb';
import { leaseHoldings } from '../helpers/money';

/**
 * Leased admission under random concurrent traffic, from three instances (three lease books)
 * sharing DynamoDB Local: whatever the limits, the requests' sizes and costs and their fates
 * (settled, given back, or crashed and never settled), no window admits more requests or tokens
 * than its limits, spend never passes the budget, the budget's committed amount is always the
 * spend plus what open leases hold, and once the sweeper has run it is the spend, exactly.
 */

/** Output tokens cost 1 p$ each: a request's cost is the output tokens it used. */
const PRICES = { inputMicrosPerMTok: 0, outputMicrosPerMTok: 1, cacheReadMicrosPerMTok: 0, cacheWriteMicrosPerMTok: 0 };

const scenario = fc.record({
  requestsPerMinute: fc.integer({ min: 3, max: 150 }),
  tokensPerMinute: fc.integer({ min: 200, max: 20_000 }),
  // From a budget a few requests spend to one whose leases grow past single requests.
  budgetPicos: fc.oneof(fc.bigInt({ min: 50n, max: 5_000n }), fc.bigInt({ min: 100_000n, max: 1_000_000n })),
  requests: fc.array(
    fc.record({
      instance: fc.integer({ min: 0, max: 2 }),
      tokens: fc.integer({ min: 1, max: 200 }),
      /** Share (0..1) of its bounds the request actually uses. */
      used: fc.double({ min: 0, max: 1, noNaN: true }),
      fate: fc.constantFrom('settle', 'settle', 'settle', 'release', 'crash'),
    }),
    { minLength: 10, maxLength: 80 },
  ),
});

describe('leased admission keeps its bounds under random concurrent traffic', () => {
  let store: TestStore;
  // 5 s into the current minute, frozen: every request falls in one window and one month.
  const T0 = Math.floor(Date.now() / 60_000) * 60_000 + 5_000;
  let run = 0;

  beforeAll(async () => {
    store = await createTestStore();
  });
  afterAll(() => store.destroy());

  it('holds every bound, for any limits, sizes, costs and fates', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ requestsPerMinute, tokensPerMinute, budgetPicos, requests }) => {
        const teamId = `inv-${(run += 1)}`;
        let now = T0;
        const instances = [0, 1, 2].map(() => new QuotaService(store.db, store.tables, { now: () => now }));
        const recorder = new UsageRecorder(store.db, store.tables.usage);
        let spent = 0n;
        let admitted = 0;

        await Promise.all(
          requests.map(async (spec, i) => {
            const quota = instances[spec.instance]!;
            // The bound a request reserves: its tokens at 1 p$ each (at least 1 p$, as worstCasePicos).
            const reserve = BigInt(spec.tokens);
            let admission: Admission;
            try {
              admission = await quota.admit({
                teamId,
                keyId: 'k',
                receivedAt: T0,
                reservedTokens: spec.tokens,
                limits: { teamRequestsPerMinute: requestsPerMinute, teamTokensPerMinute: tokensPerMinute },
                budget: { monthlyBudgetPicos: budgetPicos, reservePicos: reserve, softAlertPercent: 80 },
              });
            } catch {
              return; // refused: it took nothing
            }
            if (spec.fate === 'release') return quota.release(admission);
            admitted += 1;
            if (spec.fate === 'crash') return; // never settles: its lease keeps the reservation
            const outputTokens = Math.floor(spec.tokens * spec.used);
            const usage = { inputTokens: 0, outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 };
            const cost = priceUsage(usage, PRICES);
            const record: UsageRecord = {
              requestId: `${teamId}-${i}`,
              teamId,
              keyId: 'k',
              model: 'm',
              requestedModel: 'm',
              provider: 'mock',
              upstreamModel: 'm',
              attempts: 1,
              status: 'ok',
              httpStatus: 200,
              streamed: false,
              usage,
              cost,
              latencyMs: 1,
              createdAt: new Date(T0).toISOString(),
            };
            const landed = await recorder.record(record, {
              ...quota.settlement(admission, cost.totalPicos),
              ifSwept: () => quota.lateSettlement(admission, cost.totalPicos),
            });
            spent += cost.totalPicos;
            await quota.settled(admission, outputTokens, cost.totalPicos, landed === 'recorded');
          }),
        );

        const month = new Date(T0).toISOString().slice(0, 7);
        const get = async (table: string, Key: Record<string, string>) =>
          (await store.db.send(new GetCommand({ TableName: table, Key, ConsistentRead: true }))).Item;
        const window = await get(store.tables.counters, itemKeys.rateWindow(teamId, windowStartSeconds(T0)));
        const budget = await get(store.tables.usage, itemKeys.monthBudget(teamId, month));
        const committed = BigInt(budget?.['committedPicos'] ?? 0);
        const held = await leaseHoldings(store.db, store.tables.counters, teamId);

        // What every instance leased of the window never passes its limits; so neither does what was admitted.
        expect(Number(window?.['teamRequests'] ?? 0)).toBeLessThanOrEqual(requestsPerMinute);
        expect(Number(window?.['teamTokens'] ?? 0)).toBeLessThanOrEqual(tokensPerMinute);
        expect(admitted).toBeLessThanOrEqual(requestsPerMinute);
        // Spend within the budget; committed is spend plus open leases, and within the budget.
        expect(spent).toBeLessThanOrEqual(budgetPicos);
        expect(committed).toBe(spent + held);
        expect(committed).toBeLessThanOrEqual(budgetPicos);

        // Past every cut-off, the sweeper returns what leases still hold: committed is the spend.
        now = T0 + 30 * 60_000;
        await new ReservationSweeper(store.db, store.tables, () => now).sweep();
        const swept = await get(store.tables.usage, itemKeys.monthBudget(teamId, month));
        expect(BigInt(swept?.['committedPicos'] ?? 0)).toBe(spent);
      }),
      { numRuns: 20 },
    );
  }, 120_000);
});
