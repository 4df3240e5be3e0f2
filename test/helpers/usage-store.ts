import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { installedAfterResponse } from '../../lambdas/shared/lifecycle/after-response';
import { queryAll } from '../../lambdas/shared/store/query-all';
import { itemKeys } from '../../lambdas/shared/store/schema';
import { addTotals, emptyTotals, type UsageRecord, type UsageTotals } from '../../lambdas/shared/usage/record';

/**
 * Every item of the given partitions (shards of one team's day or month), each to its last page.
 * Reads after the local runtime's post-response work has landed: a local gateway in this process
 * records a buffered answer just after sending it, as the Lambda does.
 */
async function partitionItems(
  db: DynamoDBDocumentClient,
  tableName: string,
  partitions: readonly string[],
): Promise<Record<string, unknown>[]> {
  await installedAfterResponse()?.drain();
  const shards = await Promise.all(
    partitions.map((pk) =>
      queryAll(db, {
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
      }),
    ),
  );
  return shards.flat();
}

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
  return (await partitionItems(db, tableName, itemKeys.ledgerPartitions(teamId, day))) as unknown as UsageRecord[];
}

/**
 * A team's aggregate rows for one UTC month, read from every shard: each shard's month row and
 * its day × model rows (a day and model appear once per shard that served a request of them).
 *
 * @example
 * const { monthRows, dayRows } = await aggregateRows(store.db, store.tables.usage, teamId, '2026-11');
 */
export async function aggregateRows(
  db: DynamoDBDocumentClient,
  tableName: string,
  teamId: string,
  month: string,
): Promise<{ monthRows: Record<string, unknown>[]; dayRows: Record<string, unknown>[] }> {
  const rows = await partitionItems(db, tableName, itemKeys.aggregatePartitions(teamId, month));
  return {
    monthRows: rows.filter((row) => row['sk'] === 'MONTH'),
    dayRows: rows.filter((row) => String(row['sk']).startsWith('DAY#')),
  };
}

/**
 * A team's month totals as the reports see them: the exact sum of every aggregate shard's month
 * row; undefined when no shard has one (no request that month).
 *
 * @example
 * const totals = await monthTotals(store.db, store.tables.usage, teamId, '2026-11');
 */
export async function monthTotals(
  db: DynamoDBDocumentClient,
  tableName: string,
  teamId: string,
  month: string,
): Promise<UsageTotals | undefined> {
  const { monthRows } = await aggregateRows(db, tableName, teamId, month);
  if (monthRows.length === 0) return undefined;
  return monthRows.reduce<UsageTotals>((totals, row) => addTotals(totals, row), emptyTotals());
}
