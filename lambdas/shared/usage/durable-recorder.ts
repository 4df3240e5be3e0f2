import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../observability/logger';
import { backoffDelayMs } from '../time/backoff';
import { TransactionCancelledError, type TransactItem } from '../store/transactions';
import { isStoreUnavailable } from '../store/unavailable';
import type { UsageRecord } from './record';
import type { ApplyOutcome, QuotaSettlement, UsageRecorder, UsageWrite } from './recorder';

/**
 * Where a usage write goes when DynamoDB will not take it in time: a durable queue that does not
 * depend on DynamoDB (SQS in AWS, a local SQS emulator in the local runtime and the tests), from
 * which the replay function applies it later. `pending` says how many writes still wait there, so
 * the reservation sweeper can hold off while a write that would settle a reservation is queued.
 */
export interface UsageSpool {
  send(write: UsageWrite): Promise<void>;
  pending(): Promise<number>;
}

/** How a request's usage was recorded: now, handed to the replay queue, or (both failed) lost. */
export type RecordOutcome = ApplyOutcome | 'spooled' | 'lost';

/** Tuning of the inline retries; the defaults suit a Lambda with seconds to spare. */
export interface DurableRecorderOptions {
  /**
   * Longest time spent retrying inline before handing the write to the queue. A buffered
   * response waits for this, so it is short: the queue, not the client, absorbs a long outage.
   */
  retryBudgetMs?: number;
  /** Time kept before the invocation's deadline for handing the write to the queue. */
  spoolReserveMs?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
  random?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

/** Cancellation reasons of a transaction that a later attempt can get past. */
const TRANSIENT_CANCELLATIONS = new Set([
  'None',
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

/**
 * Whether a failed write may succeed if tried again: DynamoDB throttling or failing on its side,
 * a timeout or a broken connection (after the SDK's own retries), or a transaction cancelled
 * only by throttling and conflicts. A failed condition or a validation error is final.
 *
 * @example
 * if (isRetryableWriteError(error)) await sleep(backoff);
 */
export function isRetryableWriteError(error: unknown): boolean {
  if (error instanceof TransactionCancelledError) {
    return (
      error.reasons.every((reason) => TRANSIENT_CANCELLATIONS.has(reason)) && error.reasons.some((r) => r !== 'None')
    );
  }
  return isStoreUnavailable(error);
}

/** The name of an error, for logs: never its message, which may quote the item. */
function errorName(error: unknown): string {
  return (error as { name?: string } | undefined)?.name ?? 'Error';
}

/**
 * Makes an answered request's usage land exactly once whatever DynamoDB does: the write is
 * tried now, retried with jittered backoff while the failure is transient and time remains
 * (within the invocation's deadline and a short retry budget), and otherwise handed to the
 * replay queue, which applies it later with the same transaction. Every path is idempotent (the
 * ledger entry's existence condition), so a write that timed out after it committed, or is
 * replayed twice, still counts once. Logs carry ids and counts only.
 */
export class DurableUsageRecorder {
  private readonly options: Required<Omit<DurableRecorderOptions, 'random'>> & { random: () => number };

  constructor(
    private readonly recorder: UsageRecorder,
    private readonly spool: UsageSpool | undefined,
    options: DurableRecorderOptions = {},
  ) {
    this.options = {
      retryBudgetMs: options.retryBudgetMs ?? 2_000,
      spoolReserveMs: options.spoolReserveMs ?? 1_500,
      baseDelayMs: options.baseDelayMs ?? 25,
      maxDelayMs: options.maxDelayMs ?? 500,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
      sleep: options.sleep ?? ((ms) => sleep(ms)),
    };
  }

  /**
   * The write that records a request (see {@link UsageRecorder.prepare}).
   *
   * @example
   * const write = usage.prepare(record, settlement, [audit.entryItem(auditRecord)]);
   */
  prepare(record: UsageRecord, settlement?: QuotaSettlement, alongside: TransactItem[] = []): UsageWrite {
    return this.recorder.prepare(record, settlement, alongside);
  }

  /**
   * Records a write, never rejecting: `recorded` or `already_recorded` when DynamoDB took it,
   * `spooled` when the replay queue did, `lost` when neither could (logged at ERROR with ids for
   * an operator, and counted).
   *
   * @example
   * const outcome = await usage.record(write, lambdaDeadline);
   */
  async record(write: UsageWrite, deadline: number = Infinity): Promise<RecordOutcome> {
    const { now } = this.options;
    const start = now();
    const retryUntil = Math.min(start + this.options.retryBudgetMs, deadline - this.options.spoolReserveMs);
    let attempts = 0;
    let lastError: unknown;
    for (;;) {
      attempts += 1;
      try {
        return await this.recorder.apply(write);
      } catch (error) {
        lastError = error;
        if (!isRetryableWriteError(error)) break;
        const delay = backoffDelayMs(
          attempts - 1,
          this.options.baseDelayMs,
          this.options.maxDelayMs,
          this.options.random,
        );
        if (now() + delay >= retryUntil) break;
        await this.options.sleep(delay);
      }
    }
    const facts = { requestId: write.requestId, teamId: write.teamId, attempts, error: errorName(lastError) };
    if (this.spool) {
      try {
        await this.spool.send(write);
        logger.warn('usage write deferred to the replay queue', facts);
        return 'spooled';
      } catch (error) {
        logger.error('usage write lost: DynamoDB and the replay queue both refused it', {
          ...facts,
          spoolError: errorName(error),
        });
        return 'lost';
      }
    }
    logger.error('usage write lost: DynamoDB refused it and no replay queue is configured', facts);
    return 'lost';
  }
}

/** A condition that makes a lone put land once (its key is the request's). */
const itemDoesNotExist = 'attribute_not_exists(pk)';

/**
 * The write of a record that stands alone (a request's audit record when the policy refused it
 * before admission), conditional on its key so a replay lands it once.
 *
 * @example
 * await usage.record(singleItemWrite(requestId, teamId, audit.entryItem(auditRecord)));
 */
export function singleItemWrite(requestId: string, teamId: string, item: TransactItem): UsageWrite {
  if (!item.Put) throw new TypeError('singleItemWrite takes a Put');
  return { requestId, teamId, items: [{ Put: { ...item.Put, ConditionExpression: itemDoesNotExist } }] };
}
