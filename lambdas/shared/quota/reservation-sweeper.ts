import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { picosOf } from '../cost/money';
import { logger } from '../observability/logger';
import { TransactionCancelledError, transactWrite } from '../store/transactions';
import { itemKeys } from '../store/schema';
import { COMMITTED_PICOS, RATE_WINDOW_ATTRIBUTES as WINDOW } from './quota-service';
import { RATE_WINDOW_SECONDS } from './rate-window';
import { monthAt } from '../time/calendar';

/**
 * How long after its window ends a reservation may still be settled. A gateway Lambda runs at
 * most 15 minutes; five more cover clock skew. Whatever is still reserved after that belongs to
 * a request that crashed (or timed out) before it could settle.
 */
export const RESERVATION_LIFETIME_SECONDS = 20 * 60;

/** The window was not swept and nothing settled since the scan read it. */
const unchangedSinceScan = 'attribute_not_exists(#swept) AND #reserved = :reserved AND #released = :released';

/** What one sweep did. */
export interface SweepResult {
  windowsSwept: number;
  /** Pico-dollars given back, as a string of digits (a sum can pass 2^53). */
  releasedPicos: string;
  /** Usage writes still on the replay queue: while there are any, nothing is released. */
  deferredForPendingWrites?: number;
}

/** What the sweeper asks of the replay queue: how many usage writes still wait there. */
export interface PendingWrites {
  pending(): Promise<number>;
}

/**
 * Releases the budget reservations of requests that never settled. Each rate window item
 * counts the pico-dollars reserved by the requests it admitted and those their settlements
 * released; once a window is older than {@link RESERVATION_LIFETIME_SECONDS}, any difference is
 * given back to the team's month, in one transaction that also marks the window swept (a late
 * settlement then skips its own release). The counters table only holds the last hour of
 * windows, so the scan stays small.
 *
 * A request whose usage write is waiting on the replay queue (DynamoDB refused it in time) has
 * not crashed: its settlement will come. So nothing is swept while the queue holds writes. The
 * queue's counts are approximate for about a minute after a change, and a write reaches it at
 * most 15 minutes after its request was admitted, well inside the 20-minute lifetime, so a
 * queued write is always counted by the time its reservation could be swept.
 */
export class ReservationSweeper {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { counters: string; usage: string },
    private readonly now: () => number = Date.now,
    private readonly pendingWrites?: PendingWrites,
  ) {}

  /**
   * Sweeps every window past the cut-off that still holds reservations.
   *
   * @example
   * const { windowsSwept } = await sweeper.sweep(); // every few minutes
   */
  async sweep(): Promise<SweepResult> {
    const cutoff = Math.floor(this.now() / 1000) - RATE_WINDOW_SECONDS - RESERVATION_LIFETIME_SECONDS;
    let windowsSwept = 0;
    let releasedPicos = 0n;
    const pending = (await this.pendingWrites?.pending()) ?? 0;
    if (pending > 0) {
      logger.info('sweep deferred: usage writes still wait on the replay queue', { pending });
      return { windowsSwept, releasedPicos: '0', deferredForPendingWrites: pending };
    }
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.tables.counters,
          FilterExpression: 'windowStart < :cutoff AND #reserved > #released AND attribute_not_exists(#swept)',
          ExpressionAttributeNames: {
            '#reserved': WINDOW.reserved,
            '#released': WINDOW.released,
            '#swept': WINDOW.swept,
          },
          ExpressionAttributeValues: { ':cutoff': cutoff },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const released = await this.release(item);
        if (released > 0n) {
          windowsSwept += 1;
          releasedPicos += released;
        }
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const result: SweepResult = { windowsSwept, releasedPicos: String(releasedPicos) };
    if (windowsSwept > 0) logger.warn('released reservations of requests that never settled', { ...result });
    return result;
  }

  /** Releases one window's outstanding reservations; 0 if a settlement or another sweep got there first. */
  private async release(item: Record<string, unknown>): Promise<bigint> {
    const [, teamId, windowStart] = /^RATE#(.+)#(\d+)$/.exec(String(item.pk)) ?? [];
    if (!teamId || !windowStart) return 0n;
    const reserved = picosOf(item[WINDOW.reserved]);
    const released = picosOf(item[WINDOW.released]);
    const outstanding = reserved - released;
    const month = monthAt(Number(windowStart) * 1000);
    try {
      await transactWrite(this.db, [
        {
          Update: {
            TableName: this.tables.counters,
            Key: itemKeys.rateWindow(teamId, Number(windowStart)),
            UpdateExpression: 'SET #swept = :now',
            // Only if nothing settled since the scan read the item.
            ConditionExpression: unchangedSinceScan,
            ExpressionAttributeNames: {
              '#swept': WINDOW.swept,
              '#reserved': WINDOW.reserved,
              '#released': WINDOW.released,
            },
            ExpressionAttributeValues: {
              ':now': new Date(this.now()).toISOString(),
              ':reserved': reserved,
              ':released': released,
            },
          },
        },
        {
          Update: {
            TableName: this.tables.usage,
            Key: itemKeys.monthBudget(teamId, month),
            UpdateExpression: 'ADD #committed :release',
            ExpressionAttributeNames: { '#committed': COMMITTED_PICOS },
            ExpressionAttributeValues: { ':release': -outstanding },
          },
        },
      ]);
      return outstanding;
    } catch (error) {
      if (error instanceof TransactionCancelledError && error.conditionFailedAt(0)) return 0n;
      throw error;
    }
  }
}
