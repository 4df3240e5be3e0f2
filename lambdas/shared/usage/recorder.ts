import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { itemKeys } from '../store/schema';
import { TransactionCancelledError, transactWrite, type TransactItem } from '../store/transactions';
import { dayOf, monthOf, TOTAL_FIELDS, totalsOf, type UsageRecord } from './record';

const ledgerEntryDoesNotExist = 'attribute_not_exists(pk)';

/**
 * Writes a request's ledger entry and adds it to its aggregates (team × model × day and
 * team × month) in one DynamoDB transaction. Either all of it lands or none of it does, so the
 * aggregates always equal the sum of the ledger; the ledger entry's existence condition makes a
 * retried write a no-op instead of a double count.
 */
export class UsageRecorder {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Records one request. Resolves once DynamoDB has it; a second call for the same request id
   * and timestamp changes nothing.
   *
   * @example
   * await recorder.record(usageRecord); // before the response is returned
   */
  async record(record: UsageRecord): Promise<void> {
    try {
      await transactWrite(this.db, this.transactItems(record));
    } catch (error) {
      if (error instanceof TransactionCancelledError && error.conditionFailedAt(0)) return; // already recorded
      throw error;
    }
  }

  /** The transaction's items: ledger put first, then aggregate increments. */
  transactItems(record: UsageRecord): TransactItem[] {
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
          UpdateExpression: `ADD ${adds.join(', ')} SET #team = :team, #month = :month`,
          ExpressionAttributeNames: { ...names, '#team': 'teamId', '#month': 'month' },
          ExpressionAttributeValues: { ...values, ':team': record.teamId, ':month': month },
        },
      },
    ];
  }
}
