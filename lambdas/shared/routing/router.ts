import { setTimeout as sleep } from 'node:timers/promises';
import type { ModelEntry } from '../catalog/schema';
import { ProviderError } from '../providers/errors';
import type { ProviderTarget } from '../providers/types';
import { backoffDelayMs } from '../time/backoff';
import { circuitKey, type CircuitBreakers } from './circuit-breaker';

/** One model a request may be served by: the one asked for, then its fallbacks. */
export interface RouteCandidate {
  model: ModelEntry;
  target: ProviderTarget;
}

/** What happened on one attempt, for the logs and the `gateway` field. */
export interface AttemptRecord {
  provider: string;
  model: string;
  outcome: 'ok' | 'failed' | 'skipped';
  failure?: ProviderError['failure'];
  upstreamStatus?: number;
  /** How long the call took (for a stream, to its first event); absent for a skipped candidate. */
  latencyMs?: number;
}

/** A successful route. */
export interface RouteSuccess<T> {
  value: T;
  candidate: RouteCandidate;
  /** Calls made, across candidates (skipped candidates not counted). */
  attempts: number;
  log: AttemptRecord[];
}

/** Raised when every candidate failed or the deadline passed. */
export class RouteFailedError extends Error {
  constructor(
    readonly lastError: ProviderError,
    readonly lastCandidate: RouteCandidate,
    readonly attempts: number,
    readonly log: AttemptRecord[],
  ) {
    super(`all routes failed: ${lastError.message}`, { cause: lastError });
    this.name = 'RouteFailedError';
  }
}

/** Retry tuning. */
export interface RouterOptions {
  /** Calls per candidate before moving to the next (1 = no retry). */
  maxAttemptsPerCandidate: number;
  baseDelayMs: number;
  maxDelayMs: number;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

/** No attempt is started with less time than this left: it could not finish. */
const MIN_ATTEMPT_MS = 50;

function asProviderError(error: unknown): ProviderError {
  return error instanceof ProviderError ? error : new ProviderError('upstream_error', String(error), { cause: error });
}

/**
 * Calls a request's candidates in order inside one overall deadline: retryable failures
 * (throttling, 5xx, timeouts) are retried with jittered exponential backoff, honouring the
 * upstream's `retry-after` when it fits in the deadline, then the next candidate is tried; an
 * invalid request stops at once (no other model would accept it either); a misconfigured
 * connection moves on without retrying; deployments whose circuit is open are skipped. Each
 * attempt gets its own abort signal bounded by the deadline and the connection's `timeoutMs`.
 */
export class Router {
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<unknown>;

  constructor(
    private readonly breakers: CircuitBreakers,
    private readonly options: RouterOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => sleep(ms));
  }

  /**
   * Runs `call` against the candidates until one succeeds. `signal` (the client going away) aborts
   * everything; the attempt's own deadline stops applying once `call` has returned, so a stream
   * that has started may outlive it. `team` scopes the circuit breakers: one team's failures
   * alone never close a deployment to the other teams.
   *
   * @example
   * const { value, candidate } = await router.route(candidates, Date.now() + 25_000, (c, signal) => adapter.complete(req, c.target, { signal, secrets }));
   */
  // One loop over candidates and attempts: retry, backoff, breaker and deadline decisions share
  // the same state, and splitting them would pass it around by position.
  async route<T>(
    candidates: readonly RouteCandidate[],
    deadlineAt: number,
    call: (candidate: RouteCandidate, signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
    team?: string,
  ): Promise<RouteSuccess<T>> {
    const log: AttemptRecord[] = [];
    let attempts = 0;
    let lastError: ProviderError | undefined;
    let lastCandidate = candidates[0]!;
    for (const candidate of candidates) {
      const key = circuitKey(candidate.target);
      const record = (outcome: AttemptRecord['outcome'], error?: ProviderError, latencyMs?: number) =>
        log.push({
          provider: candidate.target.connectionName,
          model: candidate.model.id,
          outcome,
          failure: error?.failure,
          upstreamStatus: error?.upstreamStatus,
          latencyMs,
        });
      if (!this.breakers.allows(key, team)) {
        record('skipped');
        lastError ??= new ProviderError('unavailable', `circuit open for ${key}`);
        lastCandidate = candidate;
        continue;
      }
      for (let attempt = 0; attempt < this.options.maxAttemptsPerCandidate; attempt++) {
        const remaining = deadlineAt - this.now();
        if (remaining < MIN_ATTEMPT_MS || signal?.aborted) {
          throw new RouteFailedError(
            lastError ?? new ProviderError('timeout', 'deadline passed before any provider answered'),
            lastCandidate,
            attempts,
            log,
          );
        }
        lastCandidate = candidate;
        const attemptTimeout = Math.min(remaining, candidate.target.connection.timeoutMs ?? remaining);
        const controller = new AbortController();
        const timer = setTimeout(
          () => controller.abort(new ProviderError('timeout', 'attempt timed out')),
          attemptTimeout,
        );
        attempts += 1;
        const startedAt = this.now();
        try {
          const value = await call(
            candidate,
            signal ? AbortSignal.any([controller.signal, signal]) : controller.signal,
          );
          clearTimeout(timer);
          this.breakers.recordSuccess(key);
          record('ok', undefined, this.now() - startedAt);
          return { value, candidate, attempts, log };
        } catch (error) {
          clearTimeout(timer);
          const failure = controller.signal.aborted
            ? new ProviderError('timeout', `${key} did not answer within ${attemptTimeout} ms`, { cause: error })
            : asProviderError(error);
          lastError = failure;
          record('failed', failure, this.now() - startedAt);
          if (failure.failure === 'invalid_request') throw new RouteFailedError(failure, candidate, attempts, log);
          // Only provider-side failures (throttling, 5xx, timeouts, connection errors) speak of the
          // deployment's health; a misconfigured connection fails fast and moves on by itself.
          if (failure.retryable) this.breakers.recordFailure(key, team);
          // Stop here if this failure was the one that opened the circuit.
          if (
            !failure.retryable ||
            attempt + 1 >= this.options.maxAttemptsPerCandidate ||
            this.breakers.state(key, team) === 'open'
          ) {
            break;
          }
          const delay = Math.max(
            backoffDelayMs(attempt, this.options.baseDelayMs, this.options.maxDelayMs, this.random),
            failure.retryAfterMs ?? 0,
          );
          // A wait that would eat the rest of the deadline is better spent on the next candidate.
          if (this.now() + delay > deadlineAt - MIN_ATTEMPT_MS) break;
          await this.sleep(delay);
        }
      }
    }
    throw new RouteFailedError(
      lastError ?? new ProviderError('unavailable', 'no provider available'),
      lastCandidate,
      attempts,
      log,
    );
  }
}
