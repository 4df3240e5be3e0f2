import { BEDROCK_MODEL_AVAILABILITY } from './bedrock-models';
import { inferenceProfileId, InferenceProfileError, type ModelAvailability } from './inference-profiles';
import { GatewayConfigError, type GatewayConfig, type ModelEntry } from './schema';

/** Where and how a validated config is about to run. */
export interface CatalogTarget {
  /**
   * The deploy region (the stack's region at synth; `AWS_REGION` or us-east-1 locally). A Bedrock
   * connection with its own `region` is resolved for that region instead.
   */
  region: string | undefined;
  /**
   * Keep the built-in mock connections and models. Off for a deployment unless explicitly
   * enabled: a mock answers anything for a price, which is only right on a laptop or in tests.
   */
  includeMockModels: boolean;
}

/** Whether the catalog needs a deploy region to be resolved (a Bedrock `geo`/`global`/`none` entry). */
export function needsRegion(config: GatewayConfig): boolean {
  return config.models.some((model) => model.inferenceProfile !== undefined);
}

/**
 * The catalog as it will run: mock connections and models dropped unless enabled (and fallbacks
 * that named them removed, and experiments with a variant among them, so every other model stays
 * valid; a strategy's weight or rule for a dropped deployment has nothing to choose), and every Bedrock entry that
 * names a base model id with `inferenceProfile` rewritten to the exact id to call: the
 * geographic profile of the region (`eu.…` from eu-west-1), the global profile, or the
 * in-region model. The result has no `inferenceProfile` left, so the Lambdas, the IAM policy
 * and the dashboard all read one final model id. Throws {@link GatewayConfigError} listing every
 * model that cannot be served from the region, or when nothing would be left to serve.
 *
 * @example
 * const deployed = resolveCatalog(parseGatewayConfig(gatewayConfig), { region: 'eu-west-1', includeMockModels: false });
 */
export function resolveCatalog(config: GatewayConfig, target: CatalogTarget): GatewayConfig {
  const providers = Object.fromEntries(
    Object.entries(config.providers).filter(
      ([, connection]) => target.includeMockModels || connection.adapter !== 'mock',
    ),
  );
  const kept = config.models.filter((model) => model.provider in providers);
  if (kept.length === 0) {
    throw new GatewayConfigError(
      'invalid gateway config:\n  - models: only mock models are configured, and mock models are not deployed ' +
        '(add a real model, or enable them with the enableMockModels prop or `-c enableMockModels=true`)',
    );
  }
  const keptIds = new Set(kept.map((model) => model.id));
  const problems: string[] = [];
  const models = kept.map((model): ModelEntry => {
    const fallbacks = model.fallbacks.filter((id) => keptIds.has(id));
    const { inferenceProfile, geographies, ...entry } = model;
    // An experiment with a variant not deployed would send its share nowhere: it is not run.
    const experimentKept = model.experiment?.variants.every((variant) => keptIds.has(variant.model));
    const rest = { ...entry, experiment: experimentKept ? model.experiment : undefined };
    if (inferenceProfile === undefined) return { ...rest, fallbacks };
    const connection = providers[model.provider];
    // A mock standing in for Bedrock (the local runtime without AWS credentials) answers any id.
    if (connection?.adapter !== 'bedrock') return { ...rest, fallbacks };
    const region = connection.region ?? target.region;
    if (region === undefined) {
      problems.push(`  - ${model.id}: no region to derive its inference profile from`);
      return { ...rest, fallbacks };
    }
    const availability: ModelAvailability = geographies
      ? { geographies, global: inferenceProfile === 'global', inRegion: inferenceProfile === 'none' }
      : (BEDROCK_MODEL_AVAILABILITY[model.upstreamModel] ?? { geographies: [], global: false, inRegion: false });
    try {
      return {
        ...rest,
        fallbacks,
        upstreamModel: inferenceProfileId(model.upstreamModel, inferenceProfile, region, availability),
      };
    } catch (error) {
      if (!(error instanceof InferenceProfileError)) throw error;
      problems.push(`  - ${model.id}: ${error.message}`);
      return { ...rest, fallbacks };
    }
  });
  if (problems.length > 0) {
    throw new GatewayConfigError(
      `models cannot be served from ${target.region ?? 'an unset region'}:\n${problems.join('\n')}`,
    );
  }
  return { ...config, providers, models };
}
