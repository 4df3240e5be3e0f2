import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { invalidRequest } from '../http/errors';
import { BY_DECISION_INDEX, itemKeys } from '../store/schema';
import type { TransactItem } from '../store/transactions';
import type { AuditRecord } from './record';

/** A page of audit records, newest first. */
export interface AuditPage {
  records: AuditRecord[];
  /** Opaque; pass back for the next page. */
  nextCursor?: string;
}

/** What an admin search may filter on. */
export interface AuditSearch {
  teamId?: string;
  keyId?: string;
  decision?: AuditRecord['decision'];
  /** ISO timestamps, inclusive. */
  from: string;
  to: string;
  limit: number;
  cursor?: string;
}

const DAY_MS = 86_400_000;

interface Cursor {
  /** The partition (team month or decision day) the next page continues in. */
  p: string;
  /** DynamoDB's LastEvaluatedKey within it. */
  k?: Record<string, unknown>;
}

function encodeCursor(cursor: Cursor | undefined): string | undefined {
  return cursor ? Buffer.from(JSON.stringify(cursor)).toString('base64url') : undefined;
}

function decodeCursor(
  cursor: string | undefined,
  partitions: readonly string[],
): { start: number; key?: Record<string, unknown> } {
  if (!cursor) return { start: 0 };
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Cursor;
    const start = partitions.indexOf(parsed.p);
    if (start < 0) throw new Error('foreign cursor');
    return { start, ...(parsed.k ? { key: parsed.k } : {}) };
  } catch {
    throw invalidRequest('The cursor is not valid for this listing.', { param: 'cursor' });
  }
}

/** Months (`YYYY-MM`) from `to` back to `from`, newest first. */
function monthsNewestFirst(from: string, to: string): string[] {
  const months: string[] = [];
  const cursor = new Date(`${to.slice(0, 7)}-01T00:00:00Z`);
  const first = from.slice(0, 7);
  while (cursor.toISOString().slice(0, 7) >= first) {
    months.push(cursor.toISOString().slice(0, 7));
    cursor.setUTCMonth(cursor.getUTCMonth() - 1);
  }
  return months;
}

/** Days (`YYYY-MM-DD`) from `to` back to `from`, newest first. */
function daysNewestFirst(from: string, to: string): string[] {
  const days: string[] = [];
  for (
    let t = Date.parse(`${to.slice(0, 10)}T00:00:00Z`);
    t >= Date.parse(`${from.slice(0, 10)}T00:00:00Z`);
    t -= DAY_MS
  ) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

function strip(item: Record<string, unknown>): AuditRecord {
  const { pk: _pk, sk: _sk, decisionDay: _decisionDay, expiresAt: _expiresAt, ...record } = item;
  return record as unknown as AuditRecord;
}

/**
 * The request audit trail in DynamoDB: one record per request, partitioned by team and month
 * (newest first within), expiring after the configured retention; requests a policy did not
 * simply allow are also indexed by decision and day, for cross-team searches.
 */
export class AuditLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  private item(record: AuditRecord) {
    return {
      ...itemKeys.auditEntry(record.teamId, record.createdAt, record.requestId),
      ...(record.decision !== 'allow'
        ? { decisionDay: itemKeys.auditDecisionDay(record.decision, record.createdAt.slice(0, 10)) }
        : {}),
      expiresAt: Math.floor(Date.parse(record.createdAt) / 1000) + this.retentionDays * 86_400,
      ...record,
    };
  }

  /** The transaction item that writes a record (with the request's usage, in one transaction). */
  entryItem(record: AuditRecord): TransactItem {
    return { Put: { TableName: this.tableName, Item: this.item(record) } };
  }

  /** Writes a record on its own (a request blocked before it was admitted). */
  async put(record: AuditRecord): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: this.item(record) }));
  }

  /**
   * Records of one team (optionally one key, one decision) between two instants, newest first.
   *
   * @example
   * const { records, nextCursor } = await audit.team({ teamId, from, to, limit: 50 });
   */
  async team(search: AuditSearch & { teamId: string }): Promise<AuditPage> {
    const partitions = monthsNewestFirst(search.from, search.to).map((m) => itemKeys.auditPartition(search.teamId, m));
    const filters: string[] = [];
    const values: Record<string, unknown> = {};
    if (search.keyId) {
      filters.push('keyId = :keyId');
      values[':keyId'] = search.keyId;
    }
    if (search.decision) {
      filters.push('decision = :decision');
      values[':decision'] = search.decision;
    }
    return this.page(partitions, 'pk', undefined, search, filters, values);
  }

  /**
   * Records with one decision (not `allow`) across every team, newest first.
   *
   * @example
   * const { records } = await audit.byDecision({ decision: 'block', from, to, limit: 50 });
   */
  async byDecision(search: AuditSearch & { decision: Exclude<AuditRecord['decision'], 'allow'> }): Promise<AuditPage> {
    const partitions = daysNewestFirst(search.from, search.to).map((d) =>
      itemKeys.auditDecisionDay(search.decision, d),
    );
    const filters = search.keyId ? ['keyId = :keyId'] : [];
    return this.page(
      partitions,
      'decisionDay',
      BY_DECISION_INDEX,
      search,
      filters,
      search.keyId ? { ':keyId': search.keyId } : {},
    );
  }

  /** Walks partitions newest first, filling one page; the cursor says where to resume. */
  private async page(
    partitions: readonly string[],
    partitionKey: string,
    indexName: string | undefined,
    search: AuditSearch,
    filters: readonly string[],
    filterValues: Record<string, unknown>,
  ): Promise<AuditPage> {
    const records: AuditRecord[] = [];
    const resume = decodeCursor(search.cursor, partitions);
    let startKey = resume.key;
    for (let i = resume.start; i < partitions.length; i++) {
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            ...(indexName ? { IndexName: indexName } : {}),
            KeyConditionExpression: `${partitionKey} = :p AND sk BETWEEN :from AND :to`,
            ...(filters.length ? { FilterExpression: filters.join(' AND ') } : {}),
            ExpressionAttributeValues: {
              ':p': partitions[i],
              ':from': search.from,
              ':to': `${search.to}~`,
              ...filterValues,
            },
            ScanIndexForward: false,
            Limit: search.limit - records.length,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        records.push(...(page.Items ?? []).map(strip));
        startKey = page.LastEvaluatedKey;
        if (records.length >= search.limit) {
          const next = startKey
            ? { p: partitions[i]!, k: startKey }
            : partitions[i + 1]
              ? { p: partitions[i + 1]! }
              : undefined;
          const nextCursor = encodeCursor(next);
          return { records, ...(nextCursor ? { nextCursor } : {}) };
        }
      } while (startKey);
      startKey = undefined;
    }
    return { records };
  }
}
