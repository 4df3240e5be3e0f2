import type { RouteCandidate } from '../router';
import type { RoutingConfig, StrategyName } from './config';
import { contextRules } from './context';
import { cost } from './cost';
import { fallback } from './fallback';
import { leastLatency } from './least-latency';
import { roundRobin } from './round-robin';
import type { Strategy, StrategyContext } from './types';
import { weighted } from './weighted';

/**
 * The strategies by name: one pure module each. Adding one means a config variant in
 * `config.ts`, a module here and its line below; the compiler insists on both.
 */
const STRATEGIES: { [N in StrategyName]: Strategy<N> } = {
  fallback,
  weighted,
  'round-robin': roundRobin,
  'least-latency': leastLatency,
  cost,
  context: contextRules,
};

/**
 * The candidates in the order they are tried: the one the entry's strategy chooses, then the
 * others in config order, so every strategy keeps the rest of the list as fallbacks.
 *
 * @example
 * orderCandidates({ strategy: 'round-robin' }, context) // [b, a, c] on the second turn
 */
export function orderCandidates(routing: RoutingConfig, context: StrategyContext): RouteCandidate[] {
  const { candidates } = context;
  if (candidates.length < 2) return [...candidates];
  // The registry's type pairs each name with its config; TypeScript cannot follow that pairing through a lookup.
  const strategy = STRATEGIES[routing.strategy] as Strategy<StrategyName>;
  const first = strategy(routing as never, context);
  return [candidates[first]!, ...candidates.filter((_, index) => index !== first)];
}

export {
  DEFAULT_ROUTING,
  namedDeployments,
  routingConfigSchema,
  type RoutingConfig,
  type StrategyName,
} from './config';
export { fits } from './cost';
export type { RequestDemand, StrategyContext } from './types';
