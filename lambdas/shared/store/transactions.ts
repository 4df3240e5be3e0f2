import {
  TransactionCanceledException,
  TransactionConflictException,
  TransactWriteItemsCommand,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import {
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs } from '../time/backoff';
import { transactionClientOf } from './client';

/** Longest wait between two tries of a write that met a concurrent transaction. */
const CONFLICT_BACKOFF_CAP_MS = 1_000;

/** One item of a write transaction. */
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Raised when a transaction is cancelled for a reason other than a retryable conflict. */
export class TransactionCancelledError extends Error {
  constructor(
    /** DynamoDB's cancellation code per item, in request order (`None` for items that were fine). */
    readonly reasons: readonly string[],
    options?: {
      cause?: unknown;
      /** Per item, the item as it was, when it failed its condition and asked for `ALL_OLD`. */
      items?: readonly (Record<string, unknown> | undefined)[];
    },
  ) {
    super(`transaction cancelled: ${reasons.join(', ')}`, options);
    this.name = 'TransactionCancelledError';
    this.items = options?.items ?? [];
  }

  /** Per item, the item as it was when it failed its condition (with `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`). */
  readonly items: readonly (Record<string, unknown> | undefined)[];

  /** Whether the item at `index` failed its condition. */
  conditionFailedAt(index: number): boolean {
    return this.reasons[index] === 'ConditionalCheckFailed';
  }
}

/** How a transaction retries when DynamoDB reports a conflict with a concurrent transaction. */
export interface ConflictRetryOptions {
  maxAttempts?: number;
  baseDelayMs?: number;
}

/**
 * Writes items in one DynamoDB transaction. DynamoDB cancels a transaction that touches an item
 * another transaction is writing at the same moment (`TransactionConflict`); the SDK does not
 * retry that, so this does, with full-jitter backoff, because hot counters (one busy team) make
 * such conflicts routine. Condition failures are final and surface as a
 * {@link TransactionCancelledError} naming which item failed.
 *
 * @example
 * await transactWrite(db, [{ Put: {...} }, { Update: {...} }]);
 */
export async function transactWrite(
  db: DynamoDBDocumentClient,
  items: TransactItem[],
  options: ConflictRetryOptions = {},
): Promise<void> {
  const maxAttempts = options.maxAttempts ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 10;
  const lowLevel = transactionClientOf(db);
  // Marshalled once, however many attempts.
  const marshalled = lowLevel && marshalledItems(items);
  for (let attempt = 1; ; attempt++) {
    try {
      if (lowLevel) await lowLevel.send(new TransactWriteItemsCommand({ TransactItems: marshalled }));
      else await db.send(new TransactWriteCommand({ TransactItems: items }));
      return;
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
      const conflictOnly =
        reasons.some((r) => r === 'TransactionConflict') && !reasons.includes('ConditionalCheckFailed');
      if (!conflictOnly || attempt >= maxAttempts) {
        const items = (error.CancellationReasons ?? []).map((reason) =>
          reason.Item ? unmarshall(reason.Item) : undefined,
        );
        throw new TransactionCancelledError(reasons, { cause: error, items });
      }
      await sleep(backoffDelayMs(attempt - 1, baseDelayMs, CONFLICT_BACKOFF_CAP_MS));
    }
  }
}

/** What lib-dynamodb's marshalling makes of a document client's `undefined` values: nothing. */
const MARSHALL_OPTIONS = { removeUndefinedValues: true };

const marshalledMap = (map: Record<string, unknown> | undefined) =>
  map === undefined ? undefined : marshall(map, MARSHALL_OPTIONS);

/**
 * Transaction items in DynamoDB's low-level form: items, keys and expression values marshalled as
 * lib-dynamodb's TransactWriteCommand marshals them, the rest (expressions, names, table) as is.
 *
 * @example
 * marshalledItems([{ Put: { TableName: 't', Item: { pk: 'a', n: 1n } } }]) // [{ Put: { TableName: 't', Item: { pk: { S: 'a' }, n: { N: '1' } } } }]
 */
export function marshalledItems(items: TransactItem[]): TransactWriteItem[] {
  return items.map((item) => {
    const kind = TRANSACT_KINDS.find((name) => item[name] !== undefined);
    if (!kind) throw new Error('a transaction item must be a Put, Update, Delete or ConditionCheck');
    const body = item[kind] as TransactBody;
    return {
      [kind]: {
        ...body,
        ...(body.Item ? { Item: marshall(body.Item, MARSHALL_OPTIONS) } : {}),
        ...(body.Key ? { Key: marshall(body.Key, MARSHALL_OPTIONS) } : {}),
        ExpressionAttributeValues: marshalledMap(body.ExpressionAttributeValues),
      },
    } as TransactWriteItem;
  });
}

/** The kinds of item a write transaction holds: a Put carries an `Item`, the others a `Key`. */
const TRANSACT_KINDS = ['Put', 'Update', 'Delete', 'ConditionCheck'] as const;

/** What marshalling touches in any kind of transaction item. */
type TransactBody = {
  Item?: Record<string, unknown>;
  Key?: Record<string, unknown>;
  ExpressionAttributeValues?: Record<string, unknown>;
};

/**
 * Runs a single-item write, retrying when DynamoDB refuses it because a transaction is writing
 * the same item at that moment (`TransactionConflictException`, which the SDK does not retry).
 * Counters that transactions also touch (rate windows, month budgets) meet this routinely.
 *
 * @example
 * await withConflictRetry(() => db.send(new UpdateCommand(input)));
 */
export async function withConflictRetry<T>(write: () => Promise<T>, options: ConflictRetryOptions = {}): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 10;
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof TransactionConflictException) || attempt >= maxAttempts) throw error;
      await sleep(backoffDelayMs(attempt - 1, baseDelayMs, CONFLICT_BACKOFF_CAP_MS));
    }
  }
}
