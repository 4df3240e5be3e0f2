import { bedrockEmbedder } from './bedrock/embeddings';
import { mockEmbedder } from './mock/embeddings';
import { openAiEmbedder } from './openai/embeddings';
import type { EmbeddingAdapterId, ProviderAdapterId } from './options';
import type { EmbeddingAdapter } from './types';

/**
 * Every embedder, by adapter id. The mapped type makes the compiler insist on exactly one per
 * id of `EMBEDDING_ADAPTER_IDS`, the list the config checks embedding models against.
 */
export const EMBEDDERS: { readonly [A in EmbeddingAdapterId]: EmbeddingAdapter<A> } = {
  mock: mockEmbedder,
  bedrock: bedrockEmbedder,
  openai: openAiEmbedder,
};

/**
 * The embedder of a connection type, or undefined for one that cannot embed (the config keeps
 * embedding models off those, so the request path never meets one).
 *
 * @example
 * embedderFor(connection.adapter)?.embed(request, target, { signal, secrets })
 */
export function embedderFor(id: ProviderAdapterId): EmbeddingAdapter | undefined {
  return (EMBEDDERS as Partial<Record<ProviderAdapterId, EmbeddingAdapter>>)[id];
}
