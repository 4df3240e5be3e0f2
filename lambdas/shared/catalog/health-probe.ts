import { matchesModelPattern } from '../policy/model-access';
import type { GatewayConfig, ModelEntry } from './schema';

/**
 * What the health probe covers, read by the maintenance function and by the CDK app (its
 * schedule, IAM, dashboard), so this module stays pure: no SDK, no Powertools.
 */

/** The maintenance event that runs the probe (its own 5-minute rule's input). */
export const HEALTH_PROBE_JOB = 'health-probe';

/**
 * The chat models a config's `healthProbe` names, in catalog order (none without one). Embedding
 * models are left out: a chat request is what the probe sends.
 *
 * @example
 * probedModels(config).map((m) => m.id) // ['claude-sonnet-4-6', 'gpt']
 */
export function probedModels(config: Pick<GatewayConfig, 'models' | 'healthProbe'>): ModelEntry[] {
  const patterns = config.healthProbe?.models;
  if (!patterns) return [];
  return config.models.filter(
    (model) => model.kind === 'chat' && patterns.some((pattern) => matchesModelPattern(model.id, pattern)),
  );
}
