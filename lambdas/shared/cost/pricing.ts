import type { TokenUsage } from '../chat/types';
import type { ModelPrices } from '../catalog/schema';

/** The cost of one call, each line item and the total, in exact pico-dollars. */
export interface CostBreakdown {
  inputPicos: bigint;
  outputPicos: bigint;
  cacheReadPicos: bigint;
  cacheWritePicos: bigint;
  totalPicos: bigint;
}

/**
 * Pico-dollars for `tokens` at `microsPerMTok` µ$ per million tokens: exactly tokens × price,
 * since 1 µ$ per million tokens is 1 p$ per token. Nothing is rounded, so a call of a few tokens
 * of the cheapest model costs what the provider bills, not zero.
 *
 * @example
 * lineItemPicos(1_000, 3_000_000) // 3_000_000_000n p$ = $0.003 for 1k tokens at $3/MTok
 * lineItemPicos(1, 35_000)        // 35_000n p$ = $0.000000035 for 1 token at $0.035/MTok
 */
export function lineItemPicos(tokens: number, microsPerMTok: number): bigint {
  if (!Number.isSafeInteger(tokens) || tokens < 0) throw new RangeError(`invalid token count ${tokens}`);
  if (!Number.isSafeInteger(microsPerMTok) || microsPerMTok < 0) throw new RangeError(`invalid price ${microsPerMTok}`);
  return BigInt(tokens) * BigInt(microsPerMTok);
}

/**
 * Prices a call's token usage with a model's prices.
 *
 * @example
 * priceUsage({ inputTokens: 1000, outputTokens: 500, cacheReadTokens: 0, cacheWriteTokens: 0 }, model.prices)
 */
export function priceUsage(usage: TokenUsage, prices: ModelPrices): CostBreakdown {
  const inputPicos = lineItemPicos(usage.inputTokens, prices.inputMicrosPerMTok);
  const outputPicos = lineItemPicos(usage.outputTokens, prices.outputMicrosPerMTok);
  const cacheReadPicos = lineItemPicos(usage.cacheReadTokens, prices.cacheReadMicrosPerMTok);
  const cacheWritePicos = lineItemPicos(usage.cacheWriteTokens, prices.cacheWriteMicrosPerMTok);
  return {
    inputPicos,
    outputPicos,
    cacheReadPicos,
    cacheWritePicos,
    totalPicos: inputPicos + outputPicos + cacheReadPicos + cacheWritePicos,
  };
}
