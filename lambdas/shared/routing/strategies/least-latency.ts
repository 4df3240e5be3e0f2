import type { Strategy } from './types';

/**
 * The candidate with the lowest moving average of observed latency. A candidate never observed
 * on this instance goes first (in config order), so every deployment gets measured; ties keep
 * config order. The averages are the instance's own (see `LatencyTracker`).
 */
export const leastLatency: Strategy<'least-latency'> = (_config, { candidates, latencyOf }) => {
  let best = 0;
  let bestLatency = Infinity;
  for (let index = 0; index < candidates.length; index++) {
    const latency = latencyOf(candidates[index]!.model.id);
    if (latency === undefined) return index;
    if (latency < bestLatency) {
      best = index;
      bestLatency = latency;
    }
  }
  return best;
};
