import { ProviderError } from '../../lambdas/shared/providers/errors';
import { backoffDelayMs } from '../../lambdas/shared/time/backoff';
import { circuitKey, CircuitBreakers } from '../../lambdas/shared/routing/circuit-breaker';
import { RouteFailedError, Router, type RouteCandidate } from '../../lambdas/shared/routing/router';
import type { ModelEntry } from '../../lambdas/shared/catalog/schema';

function candidate(provider: string, timeoutMs?: number, upstreamModel = `${provider}-upstream`): RouteCandidate {
  return {
    model: { id: `${provider}-model` } as ModelEntry,
    target: {
      connectionName: provider,
      upstreamModel,
      connection: {
        adapter: 'mock',
        latencyMs: 0,
        failureRate: 0,
        failStatus: 503,
        ...(timeoutMs ? { timeoutMs } : {}),
      },
    },
  };
}

/** The fake clock's start, and a deadline an hour later: never binding, yet a valid timer delay. */
const CLOCK_START = 1_000_000;
const LATER = CLOCK_START + 3_600_000;

/** A router on a fake clock: sleeping advances time instantly. */
function fakeRouter(options: { failureThreshold?: number } = {}) {
  let now = CLOCK_START;
  const sleeps: number[] = [];
  const breakers = new CircuitBreakers({
    failureThreshold: options.failureThreshold ?? 5,
    cooldownMs: 30_000,
    now: () => now,
  });
  const router = new Router(breakers, {
    maxAttemptsPerCandidate: 2,
    baseDelayMs: 100,
    maxDelayMs: 2_000,
    now: () => now,
    random: () => 0.5,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  });
  return { router, breakers, sleeps, advance: (ms: number) => (now += ms), now: () => now };
}

describe('backoff', () => {
  it('grows exponentially under a cap, with full jitter', () => {
    expect(backoffDelayMs(0, 100, 2_000, () => 0.999)).toBe(99);
    expect(backoffDelayMs(3, 100, 2_000, () => 0.999)).toBe(799);
    expect(backoffDelayMs(10, 100, 2_000, () => 0.999)).toBe(1_998);
    expect(backoffDelayMs(10, 100, 2_000, () => 0)).toBe(0);
  });
});

describe('router', () => {
  it('retries a retryable failure on the same provider, then succeeds', async () => {
    const { router, sleeps } = fakeRouter();
    let calls = 0;
    const result = await router.route([candidate('a'), candidate('b')], LATER, async (c) => {
      calls += 1;
      if (calls === 1) throw new ProviderError('throttled', 'slow down');
      return c.target.connectionName;
    });
    expect(result).toMatchObject({ value: 'a', attempts: 2 });
    expect(sleeps).toEqual([50]);
    expect(result.log.map((l) => l.outcome)).toEqual(['failed', 'ok']);
  });

  it('falls back to the next candidate when one keeps failing, counting every attempt', async () => {
    const { router } = fakeRouter();
    const result = await router.route([candidate('a'), candidate('b')], LATER, async (c) => {
      if (c.target.connectionName === 'a') throw new ProviderError('unavailable', 'down', { upstreamStatus: 503 });
      return 'served by b';
    });
    expect(result).toMatchObject({ value: 'served by b', attempts: 3, candidate: { model: { id: 'b-model' } } });
    expect(result.log).toEqual([
      { provider: 'a', model: 'a-model', outcome: 'failed', failure: 'unavailable', upstreamStatus: 503, latencyMs: 0 },
      { provider: 'a', model: 'a-model', outcome: 'failed', failure: 'unavailable', upstreamStatus: 503, latencyMs: 0 },
      { provider: 'b', model: 'b-model', outcome: 'ok', latencyMs: 0 },
    ]);
  });

  it('honours retry-after when it fits the deadline, and moves on when it does not', async () => {
    const { router, sleeps, now } = fakeRouter();
    let calls = 0;
    await router.route([candidate('a')], now() + 10_000, async () => {
      if (++calls === 1) throw new ProviderError('throttled', 'wait', { retryAfterMs: 1_500 });
      return 'ok';
    });
    expect(sleeps).toEqual([1_500]);

    const second = fakeRouter();
    const result = await second.router.route([candidate('a'), candidate('b')], second.now() + 5_000, async (c) => {
      if (c.target.connectionName === 'a') throw new ProviderError('throttled', 'wait', { retryAfterMs: 60_000 });
      return 'b';
    });
    expect(result.value).toBe('b');
    expect(second.sleeps).toEqual([]);
  });

  it('stops at once on an invalid request: no other model would accept it either', async () => {
    const { router } = fakeRouter();
    let calls = 0;
    const error = await router
      .route([candidate('a'), candidate('b')], LATER, async () => {
        calls += 1;
        throw new ProviderError('invalid_request', 'bad');
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouteFailedError);
    expect((error as RouteFailedError).lastError.failure).toBe('invalid_request');
    expect(calls).toBe(1);
  });

  it('skips a misconfigured provider without retrying it', async () => {
    const { router } = fakeRouter();
    const calls: string[] = [];
    const result = await router.route([candidate('a'), candidate('b')], LATER, async (c) => {
      calls.push(c.target.connectionName);
      if (c.target.connectionName === 'a') throw new ProviderError('misconfigured', 'no key');
      return 'b';
    });
    expect(calls).toEqual(['a', 'b']);
    expect(result.attempts).toBe(2);
  });

  it('gives each attempt at most the connection timeout, leaving time for the fallback', async () => {
    const breakers = new CircuitBreakers({ failureThreshold: 5, cooldownMs: 30_000 });
    const router = new Router(breakers, { maxAttemptsPerCandidate: 1, baseDelayMs: 1, maxDelayMs: 1 });
    const started = Date.now();
    const result = await router.route([candidate('slow', 100), candidate('fast')], Date.now() + 5_000, (c, signal) =>
      c.target.connectionName === 'slow'
        ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
        : Promise.resolve('fast'),
    );
    expect(result.value).toBe('fast');
    expect(result.log[0]).toMatchObject({ provider: 'slow', failure: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('fails with the last error when the deadline passes', async () => {
    const { router, now } = fakeRouter();
    const error = await router.route([candidate('a')], now() + 10, async () => 'never').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouteFailedError);
    expect((error as RouteFailedError).lastError.failure).toBe('timeout');
    expect((error as RouteFailedError).attempts).toBe(0);
  });
});

/** The circuit of a test candidate's deployment. */
const circuitOf = (provider: string) => circuitKey(candidate(provider).target);

describe('circuit breakers', () => {
  it('open after consecutive failures, skip the provider, then let one probe through after the cooldown', async () => {
    const { router, breakers, advance } = fakeRouter({ failureThreshold: 2 });
    const down = async (c: RouteCandidate) => {
      if (c.target.connectionName === 'a') throw new ProviderError('unavailable', 'down');
      return 'b';
    };
    await router.route([candidate('a'), candidate('b')], LATER, down);
    expect(breakers.state(circuitOf('a'))).toBe('open');
    const calls: string[] = [];
    const skipped = await router.route([candidate('a'), candidate('b')], LATER, async (c) => {
      calls.push(c.target.connectionName);
      return down(c);
    });
    expect(calls).toEqual(['b']);
    expect(skipped.log[0]).toEqual({ provider: 'a', model: 'a-model', outcome: 'skipped' });

    advance(30_000);
    expect(breakers.state(circuitOf('a'))).toBe('half-open');
    expect(breakers.allows(circuitOf('a'))).toBe(true);
    expect(breakers.allows(circuitOf('a'))).toBe(false); // one probe at a time
    breakers.recordSuccess(circuitOf('a'));
    expect(breakers.state(circuitOf('a'))).toBe('closed');
  });

  it("guard one model of a connection: a failing model leaves its connection's other models in service", async () => {
    const { router, breakers } = fakeRouter({ failureThreshold: 2 });
    const retired = candidate('a', undefined, 'retired-model');
    const healthy = candidate('a', undefined, 'healthy-model');
    const calls: string[] = [];
    const call = async (c: RouteCandidate) => {
      calls.push(c.target.upstreamModel);
      if (c.target.upstreamModel === 'retired-model') throw new ProviderError('unavailable', 'no such deployment');
      return c.target.upstreamModel;
    };
    await router.route([retired, healthy], LATER, call);
    expect(breakers.state(circuitKey(retired.target))).toBe('open');
    expect(breakers.state(circuitKey(healthy.target))).toBe('closed');
    calls.length = 0;
    const served = await router.route([retired, healthy], LATER, call);
    expect(served.value).toBe('healthy-model');
    expect(calls).toEqual(['healthy-model']);
  });

  it('are not tripped by bad requests', async () => {
    const { router, breakers } = fakeRouter({ failureThreshold: 1 });
    for (let i = 0; i < 3; i++) {
      await router
        .route([candidate('a')], LATER, async () => {
          throw new ProviderError('invalid_request', 'bad');
        })
        .catch(() => undefined);
    }
    expect(breakers.state(circuitOf('a'))).toBe('closed');
  });

  it("are not tripped by failures that are ours or the client's: misconfiguration and invalid requests", async () => {
    const { router, breakers } = fakeRouter({ failureThreshold: 1 });
    for (const failure of ['invalid_request', 'misconfigured'] as const) {
      for (let i = 0; i < 3; i++) {
        await router
          .route(
            [candidate('a')],
            LATER,
            async () => {
              throw new ProviderError(failure, 'refused');
            },
            undefined,
            'team-a',
          )
          .catch(() => undefined);
      }
    }
    expect(breakers.state(circuitOf('a'), 'team-a')).toBe('closed');
    expect(breakers.state(circuitOf('a'), 'team-b')).toBe('closed');
  });

  it("let one team's provider-side failures close the model to that team only", async () => {
    const { router, breakers } = fakeRouter({ failureThreshold: 2 });
    const failForA = async (_c: RouteCandidate, team: string) => {
      if (team === 'team-a') throw new ProviderError('upstream_error', 'this prompt crashes the model');
      return 'served';
    };
    for (let i = 0; i < 3; i++) {
      await router
        .route([candidate('a')], LATER, (c) => failForA(c, 'team-a'), undefined, 'team-a')
        .catch(() => undefined);
    }
    expect(breakers.state(circuitOf('a'), 'team-a')).toBe('open');
    expect(breakers.state(circuitOf('a'), 'team-b')).toBe('closed');
    const b = await router.route([candidate('a')], LATER, (c) => failForA(c, 'team-b'), undefined, 'team-b');
    expect(b.value).toBe('served');
    expect(b.attempts).toBe(1);
  });

  it('open for every team once failures come from two teams: an outage', async () => {
    const { router, breakers } = fakeRouter({ failureThreshold: 2 });
    const down = async () => {
      throw new ProviderError('unavailable', 'down');
    };
    await router.route([candidate('a')], LATER, down, undefined, 'team-a').catch(() => undefined);
    expect(breakers.state(circuitOf('a'), 'team-c')).toBe('closed');
    await router.route([candidate('a')], LATER, down, undefined, 'team-b').catch(() => undefined);
    expect(breakers.state(circuitOf('a'), 'team-c')).toBe('open');
  });
});
