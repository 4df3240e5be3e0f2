import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queryAll } from '../../lambdas/shared/store/query-all';
import { itemKeys } from '../../lambdas/shared/store/schema';
import type { UsageRecord } from '../../lambdas/shared/usage/record';

/**
 * Every ledger entry of a team on one UTC day, read from every shard of the day (a request's
 * entry is in the shard its id hashes to), each shard to its last page.
 *
 * @example
 * const entries = await ledgerEntries(store.db, store.tables.usage, teamId, '2026-11-29');
 */
export async function ledgerEntries(
  db: DynamoDBDocumentClient,
  tableName: string,
  teamId: string,
  day: string,
): Promise<UsageRecord[]> {
  const shards = await Promise.all(
    itemKeys.ledgerPartitions(teamId, day).map((pk) =>
      queryAll(db, {
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
      }),
    ),
  );
  return shards.flat() as unknown as UsageRecord[];
}
