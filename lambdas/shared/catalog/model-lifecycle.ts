import type { GatewayConfig } from './schema';

/**
 * The maintenance job that checks the catalog's Bedrock models against Bedrock's lifecycle
 * states. The daily EventBridge rule sends `{ "job": "model-lifecycle" }`; the 5-minute rule
 * sends nothing of the kind and runs the reservation sweep.
 */
export const MODEL_LIFECYCLE_JOB = 'model-lifecycle';

/** One catalog Bedrock model to check: which foundation model, listed in which region. */
export interface LifecycleTarget {
  /** The catalog's public id. */
  modelId: string;
  foundationModelId: string;
  region: string;
}

/** What Bedrock's ListFoundationModels says of one model (the fields the check reads). */
export interface FoundationModelLifecycleView {
  modelId?: string | undefined;
  modelLifecycle?:
    | {
        status?: string | undefined;
        endOfLifeTime?: Date | undefined;
        legacyTime?: Date | undefined;
        publicExtendedAccessTime?: Date | undefined;
      }
    | undefined;
}

/** A catalog model Bedrock lists as LEGACY, with the dates the API gave. */
export interface LegacyFinding extends LifecycleTarget {
  endOfLife: string | undefined;
  legacySince: string | undefined;
  extendedAccessFrom: string | undefined;
}

/** What one lifecycle check found. */
export interface LifecycleReport {
  checked: number;
  legacy: LegacyFinding[];
  /** Catalog models the region's list does not contain (past end of life, or never offered there). */
  unlisted: LifecycleTarget[];
}

const PROFILE_PREFIX = /^(us|us-gov|eu|apac|jp|au|ca|global)\./;

/**
 * The catalog's Bedrock models as foundation models per region: the profile prefix removed
 * (`eu.anthropic.x` is `anthropic.x`, listed in the source region). ARNs are skipped: which
 * model an application inference profile or provisioned throughput wraps is not in the config.
 *
 * @example
 * lifecycleTargets(loadCatalog().config, 'eu-west-1')
 */
export function lifecycleTargets(config: GatewayConfig, defaultRegion: string): LifecycleTarget[] {
  const targets: LifecycleTarget[] = [];
  for (const model of config.models) {
    const connection = config.providers[model.provider];
    if (connection?.adapter !== 'bedrock' || model.upstreamModel.startsWith('arn:')) continue;
    targets.push({
      modelId: model.id,
      foundationModelId: model.upstreamModel.replace(PROFILE_PREFIX, ''),
      region: connection.region ?? defaultRegion,
    });
  }
  return targets;
}

/**
 * Reads each region's foundation models once and reports the catalog models in the LEGACY
 * state, with the end-of-life, legacy and public-extended-access dates the API returns (each
 * optional in the API).
 *
 * @example
 * const report = await checkModelLifecycle(targets, (region) => listFoundationModels(region));
 */
export async function checkModelLifecycle(
  targets: readonly LifecycleTarget[],
  listFoundationModels: (region: string) => Promise<readonly FoundationModelLifecycleView[]>,
): Promise<LifecycleReport> {
  const byRegion = new Map<string, Map<string, FoundationModelLifecycleView>>();
  for (const region of new Set(targets.map((t) => t.region))) {
    const summaries = await listFoundationModels(region);
    byRegion.set(region, new Map(summaries.map((s) => [s.modelId ?? '', s])));
  }
  const report: LifecycleReport = { checked: targets.length, legacy: [], unlisted: [] };
  for (const target of targets) {
    const summary = byRegion.get(target.region)?.get(target.foundationModelId);
    if (!summary) {
      report.unlisted.push(target);
      continue;
    }
    const lifecycle = summary.modelLifecycle;
    if (lifecycle?.status !== 'LEGACY') continue;
    report.legacy.push({
      ...target,
      endOfLife: lifecycle.endOfLifeTime?.toISOString(),
      legacySince: lifecycle.legacyTime?.toISOString(),
      extendedAccessFrom: lifecycle.publicExtendedAccessTime?.toISOString(),
    });
  }
  return report;
}
