import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { itemKeys } from '../store/schema';
import { TransactionCancelledError, transactWrite, type TransactItem } from '../store/transactions';
import { dayOf, monthOf, TOTAL_FIELDS, totalsOf, type UsageRecord } from './record';

const ledgerEntryDoesNotExist = 'attribute_not_exists(pk)';

/** Writes `items` as one transaction, or `ifSwept` when the settlement found its reservation swept. */
async function applyItems(
  db: DynamoDBDocumentClient,
  items: TransactItem[],
  ifSwept?: TransactItem[],
): Promise<ApplyOutcome> {
  try {
    await transactWrite(db, items);
    return 'recorded';
  } catch (error) {
    if (!(error instanceof TransactionCancelledError)) throw error;
    if (error.conditionFailedAt(0)) return 'already_recorded';
    if (ifSwept && error.conditionFailedAt(SETTLEMENT_INDEX)) return applyItems(db, ifSwept);
    throw error;
  }
}

/**
 * What settling the request's quota adds to the usage transaction (see the quota service): its
 * items, plus the settlement to use instead if the reservation was already released by the sweeper.
 */
export interface QuotaSettlement {
  items: TransactItem[];
  /** Used when the first attempt fails because the window was swept in the meantime. */
  ifSwept?: () => Omit<QuotaSettlement, 'ifSwept'>;
}

/**
 * What the day × model row sets besides the totals: team, model and day; for a request in an
 * experiment its variant and the sum of its latency (a report's mean latency per variant is that
 * sum over the row's requests); for a request naming an end user, the user. The row's key carries
 * the same groups (`groups`), so each variant and user has its own row. (The key holds a hash of
 * the user, the attribute the id itself: a 256-character id may make the row's update cost two
 * write units instead of one, never a failed write.)
 */
function dayRowFields(record: UsageRecord, day: string) {
  const sets = ['#team = :team', '#model = :model', '#day = :day'];
  const adds: string[] = [];
  const names: Record<string, string> = { '#team': 'teamId', '#model': 'model', '#day': 'day' };
  const values: Record<string, string | number> = { ':team': record.teamId, ':model': record.model, ':day': day };
  const variant =
    record.experiment !== undefined && record.variant !== undefined
      ? { experiment: record.experiment, variant: record.variant }
      : undefined;
  if (variant) {
    sets.push('#experiment = :experiment', '#variant = :variant');
    adds.push('#latency :latency');
    Object.assign(names, { '#experiment': 'experiment', '#variant': 'variant', '#latency': 'latencyMs' });
    Object.assign(values, {
      ':experiment': variant.experiment,
      ':variant': variant.variant,
      ':latency': record.latencyMs,
    });
  }
  if (record.endUser !== undefined) {
    sets.push('#endUser = :endUser');
    names['#endUser'] = 'endUser';
    values[':endUser'] = record.endUser;
  }
  return { groups: { variant, endUser: record.endUser }, sets, adds, names, values };
}

/** Index of the first settlement item in the transaction (after ledger, day and month). */
const SETTLEMENT_INDEX = 3;

/**
 * One request's usage write as a value: the transaction that records it and, when its quota
 * settlement can find its reservation already swept, the transaction to use instead. Plain JSON
 * (DynamoDB document values only), so a write that cannot land now can be handed to the replay
 * queue and applied later, by another Lambda, with the same effect.
 */
export interface UsageWrite {
  requestId: string;
  teamId: string;
  items: TransactItem[];
  ifSwept?: TransactItem[];
}

/** What applying a write did: landed now, or had already landed (a replay, a retry after a timeout). */
export type ApplyOutcome = 'recorded' | 'already_recorded';

/**
 * Writes a request's ledger entry, adds it to its aggregates (team × model × day and
 * team × month) and settles its quota, in one DynamoDB transaction. Either all of it lands or
 * none of it does, so the aggregates always equal the sum of the ledger and budgets always
 * equal what was recorded; the first item's existence condition makes a repeated write a no-op
 * instead of a double count, which is what lets a write be retried and replayed safely.
 *
 * A request in an experiment adds to its own day × model row per variant, and a request naming
 * an end user to its own row per user (see `itemKeys.dayModelAggregate`), so reports group by
 * variant and by user at no extra write.
 *
 * The ledger entry and both aggregate rows go to the shards the request id hashes to
 * (`USAGE_SHARDS`), so one team's requests spread over many partition keys; a replayed write has
 * the same id, hence the same keys.
 */
export class UsageRecorder {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Records one request now (one attempt; see `DurableUsageRecorder` for retries and the replay
   * queue). `alongside` items (the request's audit record) are written in the same transaction,
   * so a request costs one write however much it records.
   *
   * @example
   * await recorder.record(usageRecord, quota.settlement(admission, tokens, cost));
   */
  async record(
    record: UsageRecord,
    settlement?: QuotaSettlement,
    alongside: TransactItem[] = [],
  ): Promise<ApplyOutcome> {
    return this.apply(this.prepare(record, settlement, alongside));
  }

  /**
   * The write that records a request, without sending it.
   *
   * @example
   * const write = recorder.prepare(usageRecord, settlement, [audit.entryItem(auditRecord)]);
   */
  prepare(record: UsageRecord, settlement?: QuotaSettlement, alongside: TransactItem[] = []): UsageWrite {
    const swept = settlement?.ifSwept?.();
    return {
      requestId: record.requestId,
      teamId: record.teamId,
      items: [...this.transactItems(record, settlement), ...alongside],
      ifSwept: swept ? [...this.transactItems(record, swept), ...alongside] : undefined,
    };
  }

  /**
   * Applies a write once: `already_recorded` when its first item's condition says it landed
   * before; throws what DynamoDB threw otherwise (the caller decides on retrying).
   *
   * @example
   * await recorder.apply(write); // inline, or from the replay queue
   */
  async apply(write: UsageWrite): Promise<ApplyOutcome> {
    return applyItems(this.db, write.items, write.ifSwept);
  }

  /** The transaction's items: ledger put first, then aggregate increments, then the settlement. */
  transactItems(record: UsageRecord, settlement?: Omit<QuotaSettlement, 'ifSwept'>): TransactItem[] {
    const day = dayOf(record.createdAt);
    const month = monthOf(record.createdAt);
    const totals = totalsOf(record);
    const names: Record<string, string> = {};
    const values: Record<string, number | bigint> = {};
    const adds = TOTAL_FIELDS.map((field, i) => {
      names[`#t${i}`] = field;
      values[`:t${i}`] = totals[field];
      return `#t${i} :t${i}`;
    });
    const dayRow = dayRowFields(record, day);
    return [
      {
        Put: {
          TableName: this.tableName,
          Item: { ...itemKeys.ledger(record.teamId, day, record.createdAt, record.requestId), ...record },
          ConditionExpression: ledgerEntryDoesNotExist,
        },
      },
      {
        Update: {
          TableName: this.tableName,
          Key: itemKeys.dayModelAggregate(record.teamId, month, day, record.model, record.requestId, dayRow.groups),
          UpdateExpression: `ADD ${[...adds, ...dayRow.adds].join(', ')} SET ${dayRow.sets.join(', ')}`,
          ExpressionAttributeNames: { ...names, ...dayRow.names },
          ExpressionAttributeValues: { ...values, ...dayRow.values },
        },
      },
      {
        Update: {
          TableName: this.tableName,
          Key: itemKeys.monthAggregate(record.teamId, month, record.requestId),
          UpdateExpression: `ADD ${adds.join(', ')} SET #team = :team, #month = :month`,
          ExpressionAttributeNames: { ...names, '#team': 'teamId', '#month': 'month' },
          ExpressionAttributeValues: { ...values, ':team': record.teamId, ':month': month },
        },
      },
      ...(settlement?.items ?? []),
    ];
  }
}
