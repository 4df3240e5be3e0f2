import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { itemKeys } from '../store/schema';
import { TransactionCancelledError, transactWrite, type TransactItem } from '../store/transactions';
import { dayOf, monthOf, TOTAL_FIELDS, totalsOf, type UsageRecord } from './record';

const ledgerEntryDoesNotExist = 'attribute_not_exists(pk)';

/**
 * What settling the request's quota adds to the usage transaction (see the quota service):
 * additions to the month aggregate and further items, plus the settlement to use instead if the
 * reservation was already released by the sweeper.
 */
export interface QuotaSettlement {
  monthAggregateAdds: Record<string, number>;
  items: TransactItem[];
  /** Used when the first attempt fails because the window was swept in the meantime. */
  ifSwept?: () => Omit<QuotaSettlement, 'ifSwept'>;
}

/** Index of the first settlement item in the transaction (after ledger, day and month). */
const SETTLEMENT_INDEX = 3;

/**
 * Writes a request's ledger entry, adds it to its aggregates (team × model × day and
 * team × month) and settles its quota, in one DynamoDB transaction. Either all of it lands or
 * none of it does, so the aggregates always equal the sum of the ledger and budgets always
 * equal what was recorded; the ledger entry's existence condition makes a retried write a
 * no-op instead of a double count.
 */
export class UsageRecorder {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Records one request. Resolves once DynamoDB has it; a second call for the same request id
   * and timestamp changes nothing. `alongside` items (the request's audit record) are written in
   * the same transaction, so a request costs one write however much it records.
   *
   * @example
   * await recorder.record(usageRecord, quota.settlement(admission, tokens, cost)); // before responding
   */
  async record(record: UsageRecord, settlement?: QuotaSettlement, alongside: TransactItem[] = []): Promise<void> {
    try {
      await transactWrite(this.db, [...this.transactItems(record, settlement), ...alongside]);
    } catch (error) {
      if (!(error instanceof TransactionCancelledError)) throw error;
      if (error.conditionFailedAt(0)) return; // already recorded
      if (settlement?.ifSwept && error.conditionFailedAt(SETTLEMENT_INDEX)) {
        await this.record(record, settlement.ifSwept(), alongside);
        return;
      }
      throw error;
    }
  }

  /** The transaction's items: ledger put first, then aggregate increments, then the settlement. */
  transactItems(record: UsageRecord, settlement?: Omit<QuotaSettlement, 'ifSwept'>): TransactItem[] {
    const day = dayOf(record.createdAt);
    const month = monthOf(record.createdAt);
    const totals = totalsOf(record);
    const names: Record<string, string> = {};
    const values: Record<string, number> = {};
    const adds = TOTAL_FIELDS.map((field, i) => {
      names[`#t${i}`] = field;
      values[`:t${i}`] = totals[field];
      return `#t${i} :t${i}`;
    });
    const monthNames = { ...names };
    const monthValues = { ...values };
    const monthAdds = [...adds];
    Object.entries(settlement?.monthAggregateAdds ?? {}).forEach(([field, value], i) => {
      monthNames[`#s${i}`] = field;
      monthValues[`:s${i}`] = value;
      monthAdds.push(`#s${i} :s${i}`);
    });
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
          Key: itemKeys.dayModelAggregate(record.teamId, month, day, record.model),
          UpdateExpression: `ADD ${adds.join(', ')} SET #team = :team, #model = :model, #day = :day`,
          ExpressionAttributeNames: { ...names, '#team': 'teamId', '#model': 'model', '#day': 'day' },
          ExpressionAttributeValues: { ...values, ':team': record.teamId, ':model': record.model, ':day': day },
        },
      },
      {
        Update: {
          TableName: this.tableName,
          Key: itemKeys.monthAggregate(record.teamId, month),
          UpdateExpression: `ADD ${monthAdds.join(', ')} SET #team = :team, #month = :month`,
          ExpressionAttributeNames: { ...monthNames, '#team': 'teamId', '#month': 'month' },
          ExpressionAttributeValues: { ...monthValues, ':team': record.teamId, ':month': month },
        },
      },
      ...(settlement?.items ?? []),
    ];
  }
}
