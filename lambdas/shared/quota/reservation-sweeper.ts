import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { picosOf } from '../cost/money';
import { logger } from '../observability/logger';
import { TransactionCancelledError, transactWrite } from '../store/transactions';
import { itemKeys } from '../store/schema';
import { BUDGET_LEASE_ADMIT_MS } from './leases';
import { BUDGET_LEASE_ATTRIBUTES as LEASE, COMMITTED_PICOS } from './quota-service';

/**
 * How long after a budget lease stops admitting its requests may still settle. A gateway Lambda
 * runs at most 15 minutes; five more cover clock skew. Whatever a lease still holds after that
 * belongs to an instance that went away (or requests that crashed) before it could return it.
 */
export const RESERVATION_LIFETIME_SECONDS = 20 * 60;

/** The lease is still open and nothing settled against it since the scan read it. */
const unchangedSinceScan = 'attribute_not_exists(#returned) AND attribute_not_exists(#swept) AND #consumed = :consumed';

/** What one sweep did. */
export interface SweepResult {
  /** Budget leases returned. */
  leasesSwept: number;
  /** Pico-dollars given back to budgets, as a string of digits (a sum can pass 2^53). */
  releasedPicos: string;
  /** Usage writes still on the replay queue: while there are any, nothing is released. */
  deferredForPendingWrites?: number;
}

/** What the sweeper asks of the replay queue: how many usage writes still wait there. */
export interface PendingWrites {
  pending(): Promise<number>;
}

/**
 * Returns the budget leases their instances did not return: a Lambda environment that is shut
 * down, or whose last requests crashed, keeps what it leased. Each lease item holds what it took
 * and what its settled requests cost; once a lease is older than its admitting minute plus
 * {@link RESERVATION_LIFETIME_SECONDS}, the difference goes back to the team's month budget, in
 * one transaction that also marks the lease swept (a late settlement then commits its cost to the
 * budget directly). The counters table only holds leases of the last two hours, so the scan stays small.
 *
 * A request whose usage write is waiting on the replay queue (DynamoDB refused it in time) has
 * not crashed: its settlement will come. So nothing is swept while the queue holds writes. The
 * queue's counts are approximate for about a minute after a change, and a write reaches it at
 * most 15 minutes after its request was admitted, well inside the lifetime, so a queued write is
 * always counted by the time its lease could be swept.
 */
export class ReservationSweeper {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { counters: string; usage: string },
    private readonly now: () => number = Date.now,
    private readonly pendingWrites?: PendingWrites,
  ) {}

  /**
   * Sweeps every lease past the cut-off that was not returned.
   *
   * @example
   * const { leasesSwept } = await sweeper.sweep(); // every few minutes
   */
  async sweep(): Promise<SweepResult> {
    const cutoff = Math.floor((this.now() - BUDGET_LEASE_ADMIT_MS) / 1000) - RESERVATION_LIFETIME_SECONDS;
    const pending = (await this.pendingWrites?.pending()) ?? 0;
    if (pending > 0) {
      logger.info('sweep deferred: usage writes still wait on the replay queue', { pending });
      return { leasesSwept: 0, releasedPicos: '0', deferredForPendingWrites: pending };
    }
    let leasesSwept = 0;
    let releasedPicos = 0n;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.tables.counters,
          FilterExpression:
            'begins_with(pk, :lease) AND #takenAt < :cutoff AND attribute_not_exists(#returned) AND attribute_not_exists(#swept)',
          ExpressionAttributeNames: { '#takenAt': LEASE.takenAt, '#returned': LEASE.returned, '#swept': LEASE.swept },
          ExpressionAttributeValues: { ':cutoff': cutoff, ':lease': 'LEASE#' },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const released = await this.release(item);
        if (released !== undefined) {
          leasesSwept += 1;
          releasedPicos += released;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const result: SweepResult = { leasesSwept, releasedPicos: String(releasedPicos) };
    if (leasesSwept > 0) logger.warn('returned budget leases their instances did not return', { ...result });
    return result;
  }

  /** Returns one lease's unused amount; undefined if its instance, a settlement or another sweep got there first. */
  private async release(item: Record<string, unknown>): Promise<bigint | undefined> {
    const teamId = String(item.teamId);
    const month = String(item.month);
    const amount = picosOf(item[LEASE.amount]);
    const consumed = picosOf(item[LEASE.consumed]);
    const unused = amount - consumed;
    try {
      await transactWrite(this.db, [
        {
          Update: {
            TableName: this.tables.counters,
            Key: { pk: item.pk },
            UpdateExpression: 'SET #swept = :now',
            // Only if nothing settled since the scan read the item.
            ConditionExpression: unchangedSinceScan,
            ExpressionAttributeNames: {
              '#swept': LEASE.swept,
              '#returned': LEASE.returned,
              '#consumed': LEASE.consumed,
            },
            ExpressionAttributeValues: { ':now': new Date(this.now()).toISOString(), ':consumed': consumed },
          },
        },
        {
          Update: {
            TableName: this.tables.usage,
            Key: itemKeys.monthBudget(teamId, month),
            UpdateExpression: 'ADD #committed :release',
            ExpressionAttributeNames: { '#committed': COMMITTED_PICOS },
            ExpressionAttributeValues: { ':release': -unused },
          },
        },
      ]);
      return unused;
    } catch (error) {
      if (error instanceof TransactionCancelledError && error.conditionFailedAt(0)) return undefined;
      throw error;
    }
  }
}
