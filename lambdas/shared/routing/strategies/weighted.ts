import type { Strategy } from './types';

/**
 * Picks a deployment with probability proportional to its weight among the candidates (a
 * deployment the caller may not use, or that cannot serve the request, is not a candidate, so
 * its share goes to the others). With no weighted candidate left, config order.
 */
export const weighted: Strategy<'weighted'> = (config, { candidates, random }) => {
  const weights = candidates.map((candidate) => config.weights[candidate.model.id] ?? 0);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  if (total === 0) return 0;
  let draw = random() * total;
  for (let index = 0; index < weights.length; index++) {
    draw -= weights[index]!;
    if (draw < 0) return index;
  }
  // random() < 1, so only rounding gets here: the last weighted candidate.
  return weights.findLastIndex((weight) => weight > 0);
};
