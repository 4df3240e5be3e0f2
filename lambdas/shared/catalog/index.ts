export { Catalog } from './catalog';
export { loadCatalog } from './load';
export {
  defineGatewayConfig,
  GatewayConfigError,
  gatewayConfigSchema,
  parseGatewayConfig,
  type GatewayConfig,
  type GatewayConfigInput,
  type ModelEntry,
  type ModelPrices,
} from './schema';
export { BEDROCK_MODEL_AVAILABILITY } from './bedrock-models';
export {
  geographiesOfRegion,
  INFERENCE_GEOGRAPHIES,
  INFERENCE_PROFILE_MODES,
  inferenceProfileId,
  InferenceProfileError,
  type InferenceGeography,
  type InferenceProfileMode,
  type ModelAvailability,
} from './inference-profiles';
export {
  checkModelLifecycle,
  lifecycleTargets,
  MODEL_LIFECYCLE_JOB,
  type FoundationModelLifecycleView,
  type LegacyFinding,
  type LifecycleReport,
  type LifecycleTarget,
} from './model-lifecycle';
export { needsRegion, resolveCatalog, type CatalogTarget } from './resolve';
