import { anthropicAdapter } from './anthropic/adapter';
import { bedrockAdapter } from './bedrock/adapter';
import { mockAdapter } from './mock/adapter';
import { openAiAdapter } from './openai/adapter';
import type { ProviderAdapterId } from './options';
import type { ProviderAdapter } from './types';

/**
 * Every adapter, by id. The mapped type makes the compiler insist on exactly one adapter per
 * connection type declared in `options.ts`.
 */
export const PROVIDER_ADAPTERS: { readonly [A in ProviderAdapterId]: ProviderAdapter<A> } = {
  mock: mockAdapter,
  bedrock: bedrockAdapter,
  openai: openAiAdapter,
  anthropic: anthropicAdapter,
};

/**
 * The adapter for a connection type.
 *
 * @example
 * adapterFor(connection.adapter).complete(request, target, { signal })
 */
export function adapterFor<A extends ProviderAdapterId>(id: A): ProviderAdapter<A> {
  return PROVIDER_ADAPTERS[id] as ProviderAdapter<A>;
}
