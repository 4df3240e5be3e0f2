import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { microsToPicos } from '../../lambdas/shared/cost/money';
import { BudgetAlerts, InMemoryAlertPublisher } from '../../lambdas/shared/quota/budget-alerts';
import { BudgetExhaustedError, RateLimitExceededError } from '../../lambdas/shared/quota/errors';
import { QuotaService, type Admission, type AdmissionRequest } from '../../lambdas/shared/quota/quota-service';
import { windowStartSeconds } from '../../lambdas/shared/quota/rate-window';
import { ReservationSweeper } from '../../lambdas/shared/quota/reservation-sweeper';
import { itemKeys } from '../../lambdas/shared/store/schema';
import { createTestStore, type TestStore } from '../helpers/dynamodb';
import { settleAdmission } from '../helpers/settle';
import { monthTotals } from '../helpers/usage-store';

/**
 * 5 s into the current minute of the real clock. Rate windows expire through DynamoDB's TTL
 * (DynamoDB Local enforces it too), so a fake clock set in the past would see its windows vanish.
 */
const T0 = Math.floor(Date.now() / 60_000) * 60_000 + 5_000;
const MONTH = new Date(T0).toISOString().slice(0, 7);
const NEXT_MINUTE = T0 + 55_000;
const NEXT_MONTH_START = new Date(Date.UTC(new Date(T0).getUTCFullYear(), new Date(T0).getUTCMonth() + 1, 1))
  .toISOString()
  .slice(0, 10);

function request(overrides: Partial<AdmissionRequest> & { teamId: string }): AdmissionRequest {
  return {
    keyId: 'key-1',
    receivedAt: T0,
    reservedTokens: 10,
    limits: { teamRequestsPerMinute: 1_000, teamTokensPerMinute: 1_000_000 },
    ...overrides,
  };
}

async function outcomes(promises: Promise<unknown>[]) {
  const settled = await Promise.allSettled(promises);
  const count = (predicate: (s: PromiseSettledResult<unknown>) => boolean) => settled.filter(predicate).length;
  return {
    admitted: count((s) => s.status === 'fulfilled'),
    rateLimited: count((s) => s.status === 'rejected' && s.reason instanceof RateLimitExceededError),
    budgetRefused: count((s) => s.status === 'rejected' && s.reason instanceof BudgetExhaustedError),
    other: count(
      (s) =>
        s.status === 'rejected' &&
        !(s.reason instanceof RateLimitExceededError) &&
        !(s.reason instanceof BudgetExhaustedError),
    ),
  };
}

/** $1000 per million output tokens: 1 output token = 1_000 µ$. */
const PRICEY = {
  inputMicrosPerMTok: 0,
  outputMicrosPerMTok: 1_000_000_000,
  cacheReadMicrosPerMTok: 0,
  cacheWriteMicrosPerMTok: 0,
};

/**
 * Records a request's usage and settles its admission, as the exchange does; returns its cost.
 * Unless told otherwise, the request used its whole token bound (`outputTokens` of it as output).
 */
function settleIn(
  store: TestStore,
  quota: QuotaService,
  admission: Admission,
  outputTokens: number,
  inputTokens = Math.max(0, admission.request.reservedTokens - outputTokens),
): Promise<bigint> {
  const usage = { inputTokens, outputTokens, cacheReadTokens: 0, cacheWriteTokens: 0 };
  return settleAdmission(store, quota, admission, usage, PRICEY);
}

describe('quota admission and settlement in DynamoDB Local', () => {
  let store: TestStore;
  let quota: QuotaService;
  let now = T0;
  beforeAll(async () => {
    store = await createTestStore();
    quota = new QuotaService(store.db, store.tables, { now: () => now });
  });
  beforeEach(() => {
    now = T0;
  });
  afterAll(() => store.destroy());

  const windowItem = async (teamId: string, at = T0) =>
    (
      await store.db.send(
        new GetCommand({ TableName: store.tables.counters, Key: itemKeys.rateWindow(teamId, windowStartSeconds(at)) }),
      )
    ).Item;
  /**
   * A team's month as the reports and the budget see it: the sum of the month aggregate's shards
   * (its cost as a number, as DynamoDB returns one below 2^53) and the budget item, merged.
   */
  const monthItem = async (teamId: string, month = MONTH) => {
    const [totals, { Item: budget }] = await Promise.all([
      monthTotals(store.db, store.tables.usage, teamId, month),
      store.db.send(new GetCommand({ TableName: store.tables.usage, Key: itemKeys.monthBudget(teamId, month) })),
    ]);
    return totals || budget
      ? { ...(totals ? { ...totals, costPicos: Number(totals.costPicos) } : {}), ...budget }
      : undefined;
  };

  const settle = (admission: Admission, outputTokens: number, inputTokens?: number) =>
    settleIn(store, quota, admission, outputTokens, inputTokens);

  describe('requests per minute', () => {
    it('admits exactly 5 of 20 concurrent requests against a key limit of 5', async () => {
      const limits = { teamRequestsPerMinute: 1_000, teamTokensPerMinute: 1_000_000, keyRequestsPerMinute: 5 };
      expect(
        await outcomes(Array.from({ length: 20 }, () => quota.admit(request({ teamId: 'rpm-a', limits })))),
      ).toEqual({
        admitted: 5,
        rateLimited: 15,
        budgetRefused: 0,
        other: 0,
      });
    });

    it('admits exactly 10 of 50 across two independent instances (two Lambdas)', async () => {
      const other = new QuotaService(store.db, store.tables, { now: () => now });
      const limits = { teamRequestsPerMinute: 10, teamTokensPerMinute: 1_000_000 };
      const result = await outcomes(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? quota : other).admit(request({ teamId: 'rpm-b', limits }))),
      );
      expect(result).toMatchObject({ admitted: 10, rateLimited: 40 });
    });

    it('counts refused requests nowhere, and keys without limits of their own not at all', async () => {
      const limits = { teamRequestsPerMinute: 3, teamTokensPerMinute: 1_000_000 };
      await outcomes(
        Array.from({ length: 10 }, () => quota.admit(request({ teamId: 'rpm-c', limits, reservedTokens: 7 }))),
      );
      const window = await windowItem('rpm-c');
      expect(window).toMatchObject({ teamRequests: 3 });
      expect(window!['teamTokens']).toBeGreaterThanOrEqual(21); // token blocks grow with use
      expect(Object.keys(window!).filter((name) => name.startsWith('key_'))).toEqual([]);
    });

    it('keeps keys of one team apart and applies the tighter limit', async () => {
      const limits = { teamRequestsPerMinute: 4, teamTokensPerMinute: 1_000_000, keyRequestsPerMinute: 2 };
      expect(
        await outcomes(Array.from({ length: 5 }, () => quota.admit(request({ teamId: 'rpm-d', keyId: 'k1', limits })))),
      ).toMatchObject({ admitted: 2 });
      const k2 = { teamRequestsPerMinute: 4, teamTokensPerMinute: 1_000_000 };
      expect(
        await outcomes(
          Array.from({ length: 5 }, () => quota.admit(request({ teamId: 'rpm-d', keyId: 'k2', limits: k2 }))),
        ),
      ).toMatchObject({ admitted: 2 });
    });

    it('reports OpenAI rate-limit headers for requests and tokens, and opens a new window each minute', async () => {
      now = T0 + 45_000; // 10:00:50
      const limits = { teamRequestsPerMinute: 1, teamTokensPerMinute: 100 };
      const admitted = await quota.admit(request({ teamId: 'rpm-e', limits, receivedAt: now, reservedTokens: 30 }));
      expect(admitted.status).toEqual({
        requests: { limit: 1, remaining: 0 },
        tokens: { limit: 100, remaining: 70 },
        resetMs: 10_000,
      });
      const refusal = (await quota
        .admit(request({ teamId: 'rpm-e', limits, receivedAt: now }))
        .catch((e: unknown) => e)) as RateLimitExceededError;
      expect(refusal).toBeInstanceOf(RateLimitExceededError);
      expect(refusal.type).toBe('requests');
      expect(refusal.headers).toEqual({
        'x-ratelimit-limit-requests': '1',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '10s',
        'x-ratelimit-limit-tokens': '100',
        'x-ratelimit-remaining-tokens': '70',
        'x-ratelimit-reset-tokens': '10s',
        'retry-after': '10',
      });
      expect(refusal.message).toContain('Limit 1, Used 1, Requested 1');
      now = NEXT_MINUTE;
      await expect(quota.admit(request({ teamId: 'rpm-e', limits, receivedAt: now }))).resolves.toBeDefined();
    });
  });

  describe('tokens per minute', () => {
    const limits = { teamRequestsPerMinute: 100, teamTokensPerMinute: 100 };

    it('counts each request’s token bound until the window resets, reusing what it did not use in the same instance', async () => {
      const first = await quota.admit(request({ teamId: 'tpm-a', limits, reservedTokens: 60 }));
      await settle(first, 50); // all 60 used
      const second = await quota.admit(request({ teamId: 'tpm-a', limits, reservedTokens: 40 }));
      await settle(second, 5, 10); // 15 of 40 used: 25 back to this instance
      expect(await windowItem('tpm-a')).toMatchObject({ teamTokens: 100 });
      // Another instance finds the window leased to the end...
      const other = new QuotaService(store.db, store.tables, { now: () => now });
      await expect(other.admit(request({ teamId: 'tpm-a', limits, reservedTokens: 1 }))).rejects.toBeInstanceOf(
        RateLimitExceededError,
      );
      // ...while this one admits from the 25 it got back, and no more.
      const third = await quota.admit(request({ teamId: 'tpm-a', limits, reservedTokens: 25 }));
      await settle(third, 15, 10);
      const refused = (await quota
        .admit(request({ teamId: 'tpm-a', limits, reservedTokens: 1 }))
        .catch((e: unknown) => e)) as RateLimitExceededError;
      expect(refused).toBeInstanceOf(RateLimitExceededError);
      expect(refused.type).toBe('tokens');
      expect(refused.headers['x-ratelimit-remaining-tokens']).toBe('0');
      // Until the window resets.
      now = NEXT_MINUTE;
      await expect(
        quota.admit(request({ teamId: 'tpm-a', limits, receivedAt: now, reservedTokens: 20 })),
      ).resolves.toBeDefined();
    });

    it('refuses a prompt larger than what is left, and one larger than the whole limit at once', async () => {
      await quota.admit(request({ teamId: 'tpm-b', limits, reservedTokens: 90 }));
      await expect(quota.admit(request({ teamId: 'tpm-b', limits, reservedTokens: 11 }))).rejects.toBeInstanceOf(
        RateLimitExceededError,
      );
      await expect(quota.admit(request({ teamId: 'tpm-b', limits, reservedTokens: 10 }))).resolves.toBeDefined();
      const tooLarge = (await quota
        .admit(request({ teamId: 'tpm-c', limits, reservedTokens: 101 }))
        .catch((e: unknown) => e)) as RateLimitExceededError;
      expect(tooLarge.message).toContain('Request too large');
      expect(tooLarge.headers['x-should-retry']).toBe('false');
      expect(await windowItem('tpm-c')).toBeUndefined();
    });

    it('admits exactly the prompts that fit under concurrency', async () => {
      const result = await outcomes(
        Array.from({ length: 20 }, () => quota.admit(request({ teamId: 'tpm-d', limits, reservedTokens: 15 }))),
      );
      expect(result).toMatchObject({ admitted: 6, rateLimited: 14 });
    });
  });

  describe('monthly budgets', () => {
    // Amounts written in micro-dollars for reading; the service counts pico-dollars.
    const budget = (reserveMicros: number) => ({
      monthlyBudgetPicos: microsToPicos(10_000),
      reservePicos: microsToPicos(reserveMicros),
      softAlertPercent: 80,
    });
    const p = (micros: number) => micros * 1_000_000;

    it('never lets concurrent requests commit past the budget, and settles reservations to actual cost', async () => {
      const result = await Promise.allSettled(
        Array.from({ length: 20 }, () => quota.admit(request({ teamId: 'bud-a', budget: budget(4_000) }))),
      );
      const admitted = result
        .filter((r): r is PromiseFulfilledResult<Admission> => r.status === 'fulfilled')
        .map((r) => r.value);
      expect(admitted).toHaveLength(2);
      expect(result.filter((r) => r.status === 'rejected' && r.reason instanceof BudgetExhaustedError)).toHaveLength(
        18,
      );
      expect(await monthItem('bud-a')).toMatchObject({ committedPicos: p(8_000) });
      // Each actually costs $0.003 (3 output tokens at $1000/MTok): each lease, too small to admit
      // such a request again, is returned as soon as its request settles, with its unused $0.001.
      for (const admission of admitted) await settle(admission, 3);
      expect(await monthItem('bud-a')).toMatchObject({ committedPicos: p(6_000), costPicos: p(6_000) });
      // Rate slots leased alongside (in the same round trip) stay with this instance for its next
      // requests: no new lease of the window for the next 18.
      const leased = (await windowItem('bud-a'))!['teamRequests'];
      expect(leased).toBeLessThanOrEqual(20);
      for (let i = 0; i < 18; i++) await quota.admit(request({ teamId: 'bud-a' }));
      expect(await windowItem('bud-a')).toMatchObject({ teamRequests: leased });
    });

    it('refuses with insufficient_quota, do-not-retry, once too little is left', async () => {
      await quota.admit(request({ teamId: 'bud-b', budget: budget(9_000) }));
      const error = (await quota
        .admit(request({ teamId: 'bud-b', budget: budget(2_000) }))
        .catch((e: unknown) => e)) as BudgetExhaustedError;
      expect(error).toBeInstanceOf(BudgetExhaustedError);
      expect(error).toMatchObject({ status: 429, type: 'insufficient_quota', code: 'insufficient_quota' });
      expect(error.headers).toEqual({ 'x-should-retry': 'false' });
      expect(error.message).toContain(`resets on ${NEXT_MONTH_START}`);
      await expect(quota.admit(request({ teamId: 'bud-b', budget: budget(1_000) }))).resolves.toBeDefined();
      // A request whose worst case exceeds the whole budget is refused without a write.
      await expect(quota.admit(request({ teamId: 'bud-c', budget: budget(20_000) }))).rejects.toBeInstanceOf(
        BudgetExhaustedError,
      );
      expect(await monthItem('bud-c')).toBeUndefined();
    });

    it('keeps what a refused request leased for the next one: the reservation when the rate limit refuses, the rate slot when the budget does', async () => {
      const limits = { teamRequestsPerMinute: 1, teamTokensPerMinute: 1_000_000 };
      await quota.admit(request({ teamId: 'bud-d', limits, budget: budget(1_000) }));
      await expect(quota.admit(request({ teamId: 'bud-d', limits, budget: budget(1_000) }))).rejects.toBeInstanceOf(
        RateLimitExceededError,
      );
      expect(await monthItem('bud-d')).toMatchObject({ committedPicos: p(2_000) });
      // Next minute: admitted from the reservation the refused request left with this instance.
      now = NEXT_MINUTE;
      await quota.admit(request({ teamId: 'bud-d', limits, budget: budget(1_000), receivedAt: now }));
      expect(await monthItem('bud-d')).toMatchObject({ committedPicos: p(2_000) });

      const tight = { teamRequestsPerMinute: 2, teamTokensPerMinute: 1_000_000 };
      now = T0;
      await quota.admit(request({ teamId: 'bud-e', limits: tight, budget: budget(10_000) }));
      await expect(quota.admit(request({ teamId: 'bud-e', limits: tight, budget: budget(1) }))).rejects.toBeInstanceOf(
        BudgetExhaustedError,
      );
      // The rate slot the refused request took stays with this instance: a request without a
      // budget check (a budget raised meanwhile, say) gets it with no new lease of the window.
      expect(await windowItem('bud-e')).toMatchObject({ teamRequests: 2 });
      await quota.admit(request({ teamId: 'bud-e', limits: tight }));
      expect(await windowItem('bud-e')).toMatchObject({ teamRequests: 2 });
    });

    it('releases the reservations of requests that crashed before settling', async () => {
      // Tables of its own: other tests leave unsettled reservations the sweeper would (rightly) release too.
      const own = await createTestStore();
      const sweeper = new ReservationSweeper(own.db, own.tables, () => now);
      const quota = new QuotaService(own.db, own.tables, { now: () => now });
      const monthItem = async (teamId: string) =>
        (await own.db.send(new GetCommand({ TableName: own.tables.usage, Key: itemKeys.monthBudget(teamId, MONTH) })))
          .Item;
      const settle = (admission: Admission, outputTokens: number) => settleIn(own, quota, admission, outputTokens);
      await quota.admit(request({ teamId: 'bud-f', budget: budget(10_000) })); // crashes: never settles
      const settled = await quota.admit(request({ teamId: 'bud-f', budget: budget(0) }));
      await settle(settled, 0);
      await expect(quota.admit(request({ teamId: 'bud-f', budget: budget(1) }))).rejects.toBeInstanceOf(
        BudgetExhaustedError,
      );

      now = T0 + 5 * 60_000; // too early: the request might still be running
      expect(await sweeper.sweep()).toEqual({ leasesSwept: 0, releasedPicos: '0' });
      now = T0 + 30 * 60_000;
      expect(await sweeper.sweep()).toEqual({ leasesSwept: 1, releasedPicos: String(p(10_000)) });
      expect(await sweeper.sweep()).toEqual({ leasesSwept: 0, releasedPicos: '0' });
      expect(await monthItem('bud-f')).toMatchObject({ committedPicos: p(0) });
      await expect(
        quota.admit(request({ teamId: 'bud-f', budget: budget(1), receivedAt: now })),
      ).resolves.toBeDefined();
      own.destroy();
    });

    it('settles a request that outlived the sweep without releasing its reservation twice', async () => {
      const sweeper = new ReservationSweeper(store.db, store.tables, () => now);
      const slow = await quota.admit(request({ teamId: 'bud-g', budget: budget(5_000) }));
      now = T0 + 30 * 60_000;
      await sweeper.sweep();
      expect(await monthItem('bud-g')).toMatchObject({ committedPicos: p(0) });
      await settle(slow, 2); // costs 2_000 µ$
      expect(await monthItem('bud-g')).toMatchObject({ committedPicos: p(2_000), costPicos: p(2_000) });
    });

    it('publishes the soft-threshold and exhausted alerts once per month, however many Lambdas see it', async () => {
      const publisher = new InMemoryAlertPublisher();
      const alerting = [1, 2, 3].map(
        () =>
          new QuotaService(store.db, store.tables, {
            alerts: new BudgetAlerts(store.db, store.tables.usage, publisher, () => now),
            now: () => now,
          }),
      );
      const first = await alerting[0]!.admit(request({ teamId: 'bud-h', budget: budget(9_000) }));
      expect(publisher.events).toEqual([]); // checked once the request that took the lease settles
      await settleIn(store, alerting[0]!, first, 8); // 8_000 µ$ spent, the rest returned: 80% committed
      await Promise.all(alerting.map((q) => q.admit(request({ teamId: 'bud-h', budget: budget(100) }))));
      expect(publisher.events).toEqual([
        {
          kind: 'soft_threshold',
          teamId: 'bud-h',
          month: MONTH,
          committedUsd: '0.008000',
          budgetUsd: '0.010000',
          softAlertPercent: 80,
        },
      ]);
      // The instances lease what is left; the first request refused for want of budget announces it.
      for (let i = 0; i < 60; i++) {
        await alerting[i % 3]!.admit(request({ teamId: 'bud-h', budget: budget(100) })).catch(() => undefined);
      }
      expect(publisher.events.map((e) => e.kind)).toEqual(['soft_threshold', 'exhausted']);
    });
  });
});
