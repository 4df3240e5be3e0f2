/**
 * Which Bedrock cross-Region inference profile serves a model from a given deploy region. Pure
 * data and functions (no CDK, no SDK): the CDK construct resolves the catalog with them at synth,
 * the local runtime at start-up, and the tests directly.
 */

/** Geographies of Bedrock's system-defined (geographic) cross-Region inference profiles. */
export const INFERENCE_GEOGRAPHIES = ['us', 'us-gov', 'eu', 'apac', 'jp', 'au', 'ca'] as const;

/** One geography; its id is also the profile id's prefix (`eu.` + model id). */
export type InferenceGeography = (typeof INFERENCE_GEOGRAPHIES)[number];

/**
 * How a catalog entry with a base model id is served:
 * - `geo`: the geographic profile of the deploy region (`eu.anthropic…` from eu-west-1): the data
 *   stays in that geography;
 * - `global`: the global profile (`global.anthropic…`): any commercial region, cheapest for the
 *   Claude 4.5+ models, no residency guarantee;
 * - `none`: the foundation model in the deploy region itself (only models offered in-region).
 */
export const INFERENCE_PROFILE_MODES = ['geo', 'global', 'none'] as const;
export type InferenceProfileMode = (typeof INFERENCE_PROFILE_MODES)[number];

/**
 * Which geographic profiles a source region may call, most local first. Source: the region lists
 * of AWS CDK's `CrossRegionInferenceProfileRegion` (aws/aws-cdk,
 * packages/@aws-cdk/aws-bedrock-alpha/bedrock/inference-profiles/cross-region-inference-profile.ts,
 * seen 2026-11-29), which follow the Bedrock user guide's "Supported Regions and models for
 * inference profiles". `ca` (Canada) is not in that source: no region maps to it, so a `geo`
 * model deployed in Canada fails synth until this table and the model's geographies say otherwise.
 */
const REGION_GEOGRAPHIES: Readonly<Record<string, readonly InferenceGeography[]>> = {
  'us-east-1': ['us'],
  'us-east-2': ['us'],
  'us-west-1': ['us'],
  'us-west-2': ['us'],
  'us-gov-east-1': ['us-gov'],
  'us-gov-west-1': ['us-gov'],
  'eu-central-1': ['eu'],
  'eu-central-2': ['eu'],
  'eu-west-1': ['eu'],
  'eu-west-2': ['eu'],
  'eu-west-3': ['eu'],
  'eu-north-1': ['eu'],
  'eu-south-1': ['eu'],
  'eu-south-2': ['eu'],
  'ap-northeast-1': ['jp', 'apac'],
  'ap-northeast-3': ['jp', 'apac'],
  'ap-southeast-2': ['au', 'apac'],
  'ap-southeast-4': ['au', 'apac'],
  'ap-northeast-2': ['apac'],
  'ap-south-1': ['apac'],
  'ap-south-2': ['apac'],
  'ap-southeast-1': ['apac'],
  'ap-southeast-3': ['apac'],
  'ap-southeast-5': ['apac'],
  'ap-southeast-7': ['apac'],
  'ap-east-2': ['apac'],
  'me-central-1': ['apac'],
};

/** Where a model is offered: its geographic profiles, and whether a global profile exists. */
export interface ModelAvailability {
  geographies: readonly InferenceGeography[];
  global: boolean;
  /** Whether the foundation model itself can be invoked in-region (on demand, no profile). */
  inRegion: boolean;
}

/** An AWS region name such as `eu-west-1` (a CDK token or an empty string is not one). */
const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Raised when a catalog entry cannot be served from the deploy region; the message says why and what to do. */
export class InferenceProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InferenceProfileError';
  }
}

/**
 * The geographies whose profiles a region may call, most local first (empty: none known).
 *
 * @example
 * geographiesOfRegion('ap-northeast-1') // ['jp', 'apac']
 */
export function geographiesOfRegion(region: string): readonly InferenceGeography[] {
  return REGION_GEOGRAPHIES[region] ?? [];
}

/**
 * The model id to send to Bedrock for a base model id served in `mode` from `region`: the
 * geographic profile (the region's most local geography the model is offered in), the global
 * profile, or the base id itself. Throws {@link InferenceProfileError} when the model is not
 * offered that way from that region, naming the model, the region and the alternatives.
 *
 * @example
 * inferenceProfileId('anthropic.claude-haiku-4-5-20251001-v1:0', 'geo', 'eu-west-1', availability)
 * // 'eu.anthropic.claude-haiku-4-5-20251001-v1:0'
 */
export function inferenceProfileId(
  baseModelId: string,
  mode: InferenceProfileMode,
  region: string,
  availability: ModelAvailability,
): string {
  if (!REGION_NAME.test(region)) {
    throw new InferenceProfileError(`"${region}" is not an AWS region name (such as eu-west-1)`);
  }
  const offered = [
    ...availability.geographies,
    ...(availability.global ? ['global'] : []),
    ...(availability.inRegion ? ['in-region'] : []),
  ].join(', ');
  if (mode === 'global') {
    if (region.startsWith('us-gov-') || region.startsWith('cn-')) {
      throw new InferenceProfileError(`${baseModelId}: global inference profiles are not offered in ${region}`);
    }
    if (!availability.global) {
      throw new InferenceProfileError(
        `${baseModelId} has no global inference profile (offered: ${offered || 'nothing known'})`,
      );
    }
    return `global.${baseModelId}`;
  }
  if (mode === 'none') {
    if (!availability.inRegion) {
      throw new InferenceProfileError(
        `${baseModelId} cannot be invoked in-region, only through an inference profile (offered: ${offered || 'nothing known'}); use inferenceProfile 'geo' or 'global'`,
      );
    }
    return baseModelId;
  }
  const regionGeographies = geographiesOfRegion(region);
  const geography = regionGeographies.find((g) => availability.geographies.includes(g));
  if (!geography) {
    throw new InferenceProfileError(
      `${baseModelId} has no geographic inference profile that ${region} can call ` +
        `(${region} calls: ${regionGeographies.join(', ') || 'no known geography'}; the model is offered in: ${offered || 'nothing known'}). ` +
        `Deploy to a region of one of its geographies, set inferenceProfile: 'global' if your data may leave the geography, or remove the model`,
    );
  }
  return `${geography}.${baseModelId}`;
}
