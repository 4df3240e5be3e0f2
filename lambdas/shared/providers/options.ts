import * as z from 'zod';
import { anthropicOptionsSchema } from './anthropic/options';
import { bedrockOptionsSchema } from './bedrock/options';
import { mockOptionsSchema } from './mock/options';
import { openAiOptionsSchema } from './openai/options';

/**
 * Every provider connection the config may declare, discriminated by `adapter`. This module is
 * pure (schemas only) so the CDK app can validate the config without loading any SDK client; the
 * adapters themselves are registered in `registry.ts`, which the compiler keeps in step with this
 * union.
 */
export const providerConnectionSchema = z.discriminatedUnion('adapter', [
  mockOptionsSchema,
  bedrockOptionsSchema,
  openAiOptionsSchema,
  anthropicOptionsSchema,
]);

/** A parsed provider connection. */
export type ProviderConnection = z.infer<typeof providerConnectionSchema>;

/** Ids of the adapters the gateway ships, derived from the connection union. */
export type ProviderAdapterId = ProviderConnection['adapter'];

/** The connection options of one adapter. */
export type ConnectionOf<A extends ProviderAdapterId> = Extract<ProviderConnection, { adapter: A }>;

/**
 * The Secrets Manager secret a connection reads its API key from, if any.
 *
 * @example
 * secretOf({ adapter: 'openai', apiKeySecret: 'llm-gateway/openai', ... }) // 'llm-gateway/openai'
 */
export function secretOf(connection: ProviderConnection): string | undefined {
  return 'apiKeySecret' in connection ? connection.apiKeySecret : undefined;
}

/**
 * Adapters that can embed text (`embedders.ts` registers one embedder for each, which the
 * compiler checks); the config refuses an embedding model on any other connection.
 */
export const EMBEDDING_ADAPTER_IDS = ['mock', 'bedrock', 'openai'] as const satisfies readonly ProviderAdapterId[];

/** An adapter that can embed text. */
export type EmbeddingAdapterId = (typeof EMBEDDING_ADAPTER_IDS)[number];
