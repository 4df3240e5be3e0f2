import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { picosOf } from '../../lambdas/shared/cost/money';
import type { CostBreakdown } from '../../lambdas/shared/cost/pricing';
import { BUDGET_LEASE_ATTRIBUTES } from '../../lambdas/shared/quota/quota-service';

/**
 * A ledger entry's cost as read back from DynamoDB (numbers while they are safe integers) in the
 * shape the gateway computes it (bigints), so the two compare with `toEqual`.
 *
 * @example
 * expect(exactCost(entry.cost)).toEqual(priceUsage(entry.usage, prices));
 */
export function exactCost(cost: Record<keyof CostBreakdown, unknown>): CostBreakdown {
  return {
    inputPicos: picosOf(cost.inputPicos),
    outputPicos: picosOf(cost.outputPicos),
    cacheReadPicos: picosOf(cost.cacheReadPicos),
    cacheWritePicos: picosOf(cost.cacheWritePicos),
    totalPicos: picosOf(cost.totalPicos),
  };
}

/**
 * What a team's open budget leases still hold (taken and not consumed by a settled request): the
 * part of the budget's committed amount that is not spend.
 *
 * @example
 * expect(usage.body.budget.reserved_picos).toBe(String(await leaseHoldings(db, tables.counters, team)));
 */
export async function leaseHoldings(
  db: DynamoDBDocumentClient,
  countersTable: string,
  teamId: string,
): Promise<bigint> {
  const { Items = [] } = await db.send(
    new ScanCommand({
      TableName: countersTable,
      FilterExpression: 'begins_with(pk, :leases)',
      ExpressionAttributeValues: { ':leases': `LEASE#${teamId}#` },
    }),
  );
  const L = BUDGET_LEASE_ATTRIBUTES;
  return Items.filter((lease) => lease[L.returned] === undefined && lease[L.swept] === undefined).reduce(
    (total, lease) => total + picosOf(lease[L.amount]) - picosOf(lease[L.consumed]),
    0n,
  );
}
