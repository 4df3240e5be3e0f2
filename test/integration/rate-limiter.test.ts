import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { RateLimitExceededError } from '../../lambdas/shared/quota/errors';
import { RateLimiter } from '../../lambdas/shared/quota/rate-limiter';
import { windowStartSeconds } from '../../lambdas/shared/quota/rate-window';
import { itemKeys } from '../../lambdas/shared/store/schema';
import { createTestStore, type TestStore } from '../helpers/dynamodb';

describe('requests-per-minute limits in DynamoDB Local', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await createTestStore();
  });
  afterAll(() => store.destroy());

  async function outcomes(promises: Promise<unknown>[]) {
    const settled = await Promise.allSettled(promises);
    const admitted = settled.filter((s) => s.status === 'fulfilled').length;
    const refused = settled.filter((s) => s.status === 'rejected' && s.reason instanceof RateLimitExceededError).length;
    return { admitted, refused, other: settled.length - admitted - refused };
  }

  it('admits exactly 5 of 20 concurrent requests against a key limit of 5', async () => {
    const limiter = new RateLimiter(store.db, store.tables.counters);
    const limits = { teamId: 'team-a', keyId: 'key-a', teamRequestsPerMinute: 1000, keyRequestsPerMinute: 5 };
    const result = await outcomes(Array.from({ length: 20 }, () => limiter.admit(limits)));
    expect(result).toEqual({ admitted: 5, refused: 15, other: 0 });
  });

  it('admits exactly 10 of 50 across two independent limiter instances (two Lambdas)', async () => {
    const lambdaA = new RateLimiter(store.db, store.tables.counters);
    const lambdaB = new RateLimiter(store.db, store.tables.counters);
    const limits = { teamId: 'team-b', keyId: 'key-b', teamRequestsPerMinute: 10 };
    const result = await outcomes(Array.from({ length: 50 }, (_, i) => (i % 2 ? lambdaA : lambdaB).admit(limits)));
    expect(result).toEqual({ admitted: 10, refused: 40, other: 0 });
  });

  it('counts refused requests nowhere', async () => {
    const now = Date.parse('2026-03-01T10:00:05Z');
    const limiter = new RateLimiter(store.db, store.tables.counters, () => now);
    const limits = { teamId: 'team-c', keyId: 'key-c', teamRequestsPerMinute: 3 };
    await outcomes(Array.from({ length: 10 }, () => limiter.admit(limits)));
    const { Item } = await store.db.send(
      new GetCommand({ TableName: store.tables.counters, Key: itemKeys.rateWindow('team-c', windowStartSeconds(now)) }),
    );
    expect(Item).toMatchObject({ teamRequests: 3, 'key_key-c_requests': 3 });
    expect(Item!.expiresAt).toBeGreaterThan(now / 1000);
  });

  it('applies the tighter of team and key limits and keeps keys of one team apart', async () => {
    const limiter = new RateLimiter(store.db, store.tables.counters);
    const k1 = { teamId: 'team-d', keyId: 'k1', teamRequestsPerMinute: 4, keyRequestsPerMinute: 2 };
    const k2 = { teamId: 'team-d', keyId: 'k2', teamRequestsPerMinute: 4 };
    expect(await outcomes(Array.from({ length: 5 }, () => limiter.admit(k1)))).toMatchObject({ admitted: 2 });
    expect(await outcomes(Array.from({ length: 5 }, () => limiter.admit(k2)))).toMatchObject({ admitted: 2 });
  });

  it('opens a new window each minute and reports OpenAI-style headers', async () => {
    let now = Date.parse('2026-03-01T10:00:50Z');
    const limiter = new RateLimiter(store.db, store.tables.counters, () => now);
    const limits = { teamId: 'team-e', keyId: 'k', teamRequestsPerMinute: 1 };
    const first = await limiter.admit(limits);
    expect(first).toEqual({ limitRequests: 1, remainingRequests: 0, resetMs: 10_000 });
    const refusal = await limiter.admit(limits).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RateLimitExceededError);
    expect((refusal as RateLimitExceededError).status).toBe(429);
    expect((refusal as RateLimitExceededError).headers).toEqual({
      'x-ratelimit-limit-requests': '1',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '10s',
      'retry-after': '10',
    });
    now = Date.parse('2026-03-01T10:01:00Z');
    await expect(limiter.admit(limits)).resolves.toMatchObject({ remainingRequests: 0 });
  });
});
