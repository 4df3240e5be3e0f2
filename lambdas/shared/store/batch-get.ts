import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { backoffDelayMs } from '../time/backoff';
import { storeUnavailable } from './unavailable';

/** Keys DynamoDB takes in one BatchGetItem. */
const KEYS_PER_BATCH = 100;

/** Tries to get keys DynamoDB left unprocessed (it does under throttling) before giving up. */
const UNPROCESSED_ATTEMPTS = 6;

/**
 * The items of `keys` in one table that exist (in no particular order), in as few BatchGetItem
 * calls as DynamoDB allows. Keys DynamoDB leaves unprocessed are asked for again after a jittered
 * backoff, as its documentation asks; if some are still left the read fails (503) rather than
 * return a partial answer, since callers sum what they read.
 *
 * @example
 * const rows = await batchGetAll(db, table, itemKeys.monthAggregates('payments', '2026-11'), true);
 */
export async function batchGetAll(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  consistentRead: boolean,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let start = 0; start < keys.length; start += KEYS_PER_BATCH) {
    let pending: Record<string, unknown>[] = keys.slice(start, start + KEYS_PER_BATCH);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === UNPROCESSED_ATTEMPTS) throw storeUnavailable();
      if (attempt > 0) await sleep(backoffDelayMs(attempt, 50, 1_000));
      const { Responses, UnprocessedKeys } = await db.send(
        new BatchGetCommand({
          RequestItems: { [tableName]: { Keys: pending, ConsistentRead: consistentRead } },
        }),
      );
      items.push(...(Responses?.[tableName] ?? []));
      pending = UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return items;
}
