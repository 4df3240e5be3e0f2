import type { ModelEntry } from '../../catalog/schema';
import type { RequestDemand, Strategy } from './types';

/** Whether a deployment's output cap and context window hold the request (no window declared: assumed to). */
export function fits(model: ModelEntry, demand: RequestDemand): boolean {
  return (
    model.maxOutputTokens >= demand.maxOutputTokens &&
    (model.contextTokens === undefined || model.contextTokens >= demand.promptTokens + demand.maxOutputTokens)
  );
}

/**
 * The request's worst-case price at a deployment's catalog prices, in µ$ × million tokens: only
 * compared, never billed (billing is exact, in `cost/`).
 */
function priceOf(model: ModelEntry, demand: RequestDemand): number {
  return (
    demand.promptTokens * model.prices.inputMicrosPerMTok + demand.maxOutputTokens * model.prices.outputMicrosPerMTok
  );
}

/**
 * The cheapest candidate that fits the request (output cap, context window); capabilities (tools,
 * images, provider features) were filtered before. Ties and a request nothing fits keep config order.
 */
export const cost: Strategy<'cost'> = (_config, { candidates, demand }) => {
  let best = -1;
  let bestPrice = Infinity;
  candidates.forEach((candidate, index) => {
    if (!fits(candidate.model, demand)) return;
    const price = priceOf(candidate.model, demand);
    if (price < bestPrice) {
      best = index;
      bestPrice = price;
    }
  });
  return Math.max(best, 0);
};
