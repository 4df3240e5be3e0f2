export { failureOfStatus, ProviderError, type ProviderFailure } from './errors';
export {
  providerConnectionSchema,
  type ConnectionOf,
  type ProviderAdapterId,
  type ProviderConnection,
} from './options';
export { adapterFor, PROVIDER_ADAPTERS } from './registry';
export type { ProviderAdapter, ProviderCallOptions, ProviderTarget } from './types';
