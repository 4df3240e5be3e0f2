import type { TokenUsage } from '../chat/types';
import type { ModelPrices } from '../catalog/schema';
import { divideRoundHalfUp, TOKENS_PER_PRICE_UNIT } from './money';

/** The cost of one call, each line item and the total in integer micro-dollars. */
export interface CostBreakdown {
  inputMicros: number;
  outputMicros: number;
  cacheReadMicros: number;
  cacheWriteMicros: number;
  totalMicros: number;
}

const PRICE_UNIT = BigInt(TOKENS_PER_PRICE_UNIT);

/**
 * Micro-dollars for `tokens` at `microsPerMTok` µ$ per million tokens, rounded half up once per
 * line item. The ledger stores these integers and every report sums them, so reports reconcile
 * with the ledger exactly whatever the rounding rule.
 *
 * @example
 * lineItemMicros(1_000, 3_000_000) // 3_000 µ$ = $0.003 for 1k tokens at $3/MTok
 */
export function lineItemMicros(tokens: number, microsPerMTok: number): number {
  if (!Number.isSafeInteger(tokens) || tokens < 0) throw new RangeError(`invalid token count ${tokens}`);
  return divideRoundHalfUp(BigInt(tokens) * BigInt(microsPerMTok), PRICE_UNIT);
}

/**
 * Micro-dollars for `tokens` at `microsPerMTok`, rounded up: what a reservation must hold so that
 * the priced line item can never exceed it.
 *
 * @example
 * lineItemCeilMicros(1, 40_000) // 1 (0.04 µ$ rounds up to one micro-dollar)
 */
export function lineItemCeilMicros(tokens: number, microsPerMTok: number): number {
  if (!Number.isSafeInteger(tokens) || tokens < 0) throw new RangeError(`invalid token count ${tokens}`);
  const product = BigInt(tokens) * BigInt(microsPerMTok);
  const result = Number((product + PRICE_UNIT - 1n) / PRICE_UNIT);
  if (!Number.isSafeInteger(result)) throw new RangeError(`amount ${result} is too large`);
  return result;
}

/**
 * How far a priced call can exceed its exact cost: each of its four line items (input, output,
 * cache read, cache write) is rounded half up once, so by at most half a micro-dollar each.
 */
export const ROUNDING_ALLOWANCE_MICROS = 2;

/**
 * Prices a call's token usage with a model's prices.
 *
 * @example
 * priceUsage({ inputTokens: 1000, outputTokens: 500, cacheReadTokens: 0, cacheWriteTokens: 0 }, model.prices)
 */
export function priceUsage(usage: TokenUsage, prices: ModelPrices): CostBreakdown {
  const inputMicros = lineItemMicros(usage.inputTokens, prices.inputMicrosPerMTok);
  const outputMicros = lineItemMicros(usage.outputTokens, prices.outputMicrosPerMTok);
  const cacheReadMicros = lineItemMicros(usage.cacheReadTokens, prices.cacheReadMicrosPerMTok);
  const cacheWriteMicros = lineItemMicros(usage.cacheWriteTokens, prices.cacheWriteMicrosPerMTok);
  return {
    inputMicros,
    outputMicros,
    cacheReadMicros,
    cacheWriteMicros,
    totalMicros: inputMicros + outputMicros + cacheReadMicros + cacheWriteMicros,
  };
}
