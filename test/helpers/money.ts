import { picosOf } from '../../lambdas/shared/cost/money';
import type { CostBreakdown } from '../../lambdas/shared/cost/pricing';

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
