import { randomUUID } from 'node:crypto';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { cursorJson } from '../http/cursor';
import { invalidRequest } from '../http/errors';
import { itemKeys } from '../store/schema';
import type { TransactItem } from '../store/transactions';
import { monthOf, monthsBetween } from '../time/calendar';

/** What an admin did. */
export type AdminAction =
  'team.create' | 'team.update' | 'key.create' | 'key.revoke' | 'key.rotate' | 'approval.approve' | 'approval.reject';

/** One entry of the admin audit trail: who did what, when, with the state before and after. */
export interface AdminChange {
  changeId: string;
  at: string;
  /** The IAM principal (or local admin) that made the change. */
  actor: string;
  action: AdminAction;
  teamId: string;
  keyId?: string;
  /** Admin API views of the record (never a key's hash or secret); null when created. */
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

/** A page of changes, newest first. */
export interface ChangePage {
  changes: AdminChange[];
  /** Opaque; pass back to get the next page. */
  nextCursor?: string;
}

function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

/**
 * A page's LastEvaluatedKey as a cursor carries it: exactly the table's key. The sort key is an
 * ISO instant of the month and a change id; anything else DynamoDB would refuse (a 500) or read
 * from somewhere the listing does not cover.
 */
const cursorKeySchema = z.strictObject({
  pk: z.string(),
  sk: z.string().regex(/^\d{4}-\d{2}-\d{2}T[0-9:.]+Z#[0-9a-f-]{36}$/),
});

/** A cursor that is not one of this listing's: the client's 400 naming it. */
function invalidCursor() {
  return invalidRequest('The cursor is not valid for this listing.', { param: 'cursor' });
}

/**
 * The key to resume a month's listing from: the cursor's key if it is one of this month's
 * partition, else a 400 naming the cursor (never handed to DynamoDB as it came).
 */
function decodeCursor(cursor: string, month: string): Record<string, unknown> {
  const key = cursorJson(cursor, cursorKeySchema, invalidCursor);
  if (key.pk !== itemKeys.adminChangePartition(month) || !key.sk.startsWith(month)) throw invalidCursor();
  return { pk: key.pk, sk: key.sk };
}

/** What {@link AdminChangeLog.period} reads: the changes between two instants, optionally of one team. */
export interface ChangePeriod {
  /** ISO instants, inclusive. */
  from: string;
  to: string;
  teamId?: string;
  limit: number;
  cursor?: string;
}

/** Where a period listing continues: a month of the period and the sort key of the last change read in it. */
const periodCursorSchema = z.strictObject({
  m: z.string(),
  sk: cursorKeySchema.shape.sk.optional(),
});

/**
 * Where a period listing resumes: the cursor's month, which must be one of the period's, and the
 * key after which to read in it, which must be a change key of that month inside the period
 * (DynamoDB refuses, a 500, a start key outside the key condition).
 */
function decodePeriodCursor(
  cursor: string | undefined,
  months: readonly string[],
  period: ChangePeriod,
): { start: number; after?: Record<string, unknown> } {
  if (cursor === undefined) return { start: 0 };
  const { m, sk } = cursorJson(cursor, periodCursorSchema, invalidCursor);
  const start = months.indexOf(m);
  if (start < 0) throw invalidCursor();
  if (sk === undefined) return { start };
  if (!sk.startsWith(m) || sk < period.from || sk > `${period.to}~`) throw invalidCursor();
  return { start, after: { pk: itemKeys.adminChangePartition(m), sk } };
}

function changeOf(item: Record<string, unknown>): AdminChange {
  const { pk: _pk, sk: _sk, ...change } = item;
  return change as unknown as AdminChange;
}

/**
 * The admin audit trail in the audit table, one partition per UTC month. Changes are written in
 * the same DynamoDB transaction as the change itself, so there is no change without its entry.
 * Entries do not expire.
 */
export class AdminChangeLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * The transaction item that records a change.
   *
   * @example
   * await transactWrite(db, [teams.createItem(team), changes.entryItem({ actor, action: 'team.create', ... })]);
   */
  entryItem(change: Omit<AdminChange, 'changeId'>): TransactItem {
    const changeId = randomUUID();
    return {
      Put: {
        TableName: this.tableName,
        Item: { ...itemKeys.adminChange(monthOf(change.at), change.at, changeId), changeId, ...change },
      },
    };
  }

  /**
   * One month's changes, newest first.
   *
   * @example
   * const { changes, nextCursor } = await log.list('2026-11', { limit: 50 });
   */
  async list(month: string, options: { limit: number; cursor?: string }): Promise<ChangePage> {
    const page = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': itemKeys.adminChangePartition(month) },
        ScanIndexForward: false,
        Limit: options.limit,
        ExclusiveStartKey: options.cursor ? decodeCursor(options.cursor, month) : undefined,
      }),
    );
    const changes = (page.Items ?? []).map(changeOf);
    const nextCursor = encodeCursor(page.LastEvaluatedKey);
    return { changes, nextCursor };
  }

  /**
   * The changes between two instants, oldest first (as they happened: an export reads forward),
   * optionally only those of one team, month partition after month partition. A team's changes
   * are filtered from its months' partitions: reads continue until the page is full or the period
   * is read.
   *
   * @example
   * const { changes, nextCursor } = await log.period({ from, to, teamId: 'payments', limit: 100 });
   */
  async period(period: ChangePeriod): Promise<ChangePage> {
    const months = monthsBetween(period.from, period.to);
    const resume = decodePeriodCursor(period.cursor, months, period);
    const changes: AdminChange[] = [];
    let after = resume.after;
    for (let i = resume.start; i < months.length; i++) {
      const month = months[i]!;
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            FilterExpression: period.teamId !== undefined ? 'teamId = :team' : undefined,
            ExpressionAttributeValues: {
              ':pk': itemKeys.adminChangePartition(month),
              ':from': period.from,
              ':to': `${period.to}~`,
              // no placeholder without the filter: DynamoDB rejects an unused value
              ...(period.teamId !== undefined ? { ':team': period.teamId } : {}),
            },
            ScanIndexForward: true,
            // Never more than the page still needs, so the page ends exactly at DynamoDB's key.
            Limit: period.limit - changes.length,
            ExclusiveStartKey: after,
          }),
        );
        changes.push(...(page.Items ?? []).map(changeOf));
        after = page.LastEvaluatedKey;
        if (changes.length >= period.limit) {
          const next = after ? { m: month, sk: after['sk'] } : i + 1 < months.length ? { m: months[i + 1] } : undefined;
          return { changes, nextCursor: encodeCursor(next) };
        }
      } while (after);
    }
    return { changes };
  }
}
