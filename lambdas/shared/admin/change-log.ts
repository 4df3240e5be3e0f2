import { randomUUID } from 'node:crypto';
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { invalidRequest } from '../http/errors';
import { itemKeys } from '../store/schema';
import type { TransactItem } from '../store/transactions';
import { monthOf } from '../time/calendar';

/** What an admin did. */
export type AdminAction = 'team.create' | 'team.update' | 'key.create' | 'key.revoke' | 'key.rotate';

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

/**
 * The key to resume a month's listing from: the cursor's key if it is one of this month's
 * partition, else a 400 naming the cursor (never handed to DynamoDB as it came).
 */
function decodeCursor(cursor: string, month: string): Record<string, unknown> {
  const invalid = () => invalidRequest('The cursor is not valid for this listing.', { param: 'cursor' });
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const key = cursorKeySchema.safeParse(json);
  if (!key.success || key.data.pk !== itemKeys.adminChangePartition(month) || !key.data.sk.startsWith(month)) {
    throw invalid();
  }
  return { pk: key.data.pk, sk: key.data.sk };
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
    const changes = (page.Items ?? []).map(({ pk: _pk, sk: _sk, ...change }) => change as AdminChange);
    const nextCursor = encodeCursor(page.LastEvaluatedKey);
    return { changes, nextCursor };
  }
}
