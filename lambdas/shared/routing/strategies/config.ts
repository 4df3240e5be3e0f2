import * as z from 'zod';

/**
 * How a catalog entry orders its deployments (the entry itself, then its `fallbacks`) for one
 * request: the strategy picks the deployment tried first, and the others stay as fallbacks in
 * their config order. Validated with the rest of the config, at synth and at Lambda start.
 */

/** Catalog model ids, as the catalog schema spells them. */
const deploymentId = z.string().min(1).max(128);

/** Today's behaviour and the default: the entry, then its fallbacks, in config order. */
const fallbackConfig = z.strictObject({ strategy: z.literal('fallback') });

/** Split by integer weights per deployment id; a deployment without a weight is only a fallback. */
const weightedConfig = z.strictObject({
  strategy: z.literal('weighted'),
  weights: z
    .record(deploymentId, z.number().int().nonnegative().max(1_000_000))
    .refine((weights) => Object.values(weights).some((w) => w > 0), 'at least one weight must be positive'),
});

/** Each deployment first in turn (per Lambda instance). */
const roundRobinConfig = z.strictObject({ strategy: z.literal('round-robin') });

/** The deployment with the lowest moving average of observed latency (per Lambda instance). */
const leastLatencyConfig = z.strictObject({ strategy: z.literal('least-latency') });

/** The cheapest deployment, by catalog prices, whose output cap and context window fit the request. */
const costConfig = z.strictObject({ strategy: z.literal('cost') });

/** Prompts of at least `minPromptTokens` (the gateway's estimate) go to `model` first. */
const contextConfig = z.strictObject({
  strategy: z.literal('context'),
  rules: z
    .array(z.strictObject({ minPromptTokens: z.number().int().positive(), model: deploymentId }))
    .min(1)
    .max(20),
});

/** The routing policy of one catalog entry. */
export const routingConfigSchema = z.discriminatedUnion('strategy', [
  fallbackConfig,
  weightedConfig,
  roundRobinConfig,
  leastLatencyConfig,
  costConfig,
  contextConfig,
]);

/** A validated routing policy. */
export type RoutingConfig = z.output<typeof routingConfigSchema>;
/** The strategies' names. */
export type StrategyName = RoutingConfig['strategy'];
/** The policy of one strategy. */
export type StrategyConfig<N extends StrategyName> = Extract<RoutingConfig, { strategy: N }>;

/** What an entry without `routing` does: today's ordered fallbacks. */
export const DEFAULT_ROUTING: RoutingConfig = { strategy: 'fallback' };

/**
 * The deployment ids a policy names (weights, context rules), for the config's cross-check that
 * each is one of the entry's deployments.
 *
 * @example
 * namedDeployments({ strategy: 'weighted', weights: { a: 1 } }) // [['weights', 'a']]
 */
export function namedDeployments(routing: RoutingConfig): [path: (string | number)[], id: string][] {
  switch (routing.strategy) {
    case 'weighted':
      return Object.keys(routing.weights).map((id) => [['weights', id], id]);
    case 'context':
      return routing.rules.map((rule, index) => [['rules', index, 'model'], rule.model]);
    default:
      return [];
  }
}
