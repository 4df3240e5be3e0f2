import { createHash } from 'node:crypto';
import type { EmbeddingRequest } from '../../embeddings/types';
import type { EmbeddingAdapter, ProviderCallOptions, ProviderTarget } from '../types';
import { mockTokens, simulateUpstream } from './adapter';

/** The mock's vector size when the request names none. */
export const MOCK_EMBEDDING_DIMENSIONS = 256;

/**
 * The mock's vector for a text: a pure function of the text and the size, unit length, so the
 * same text always embeds to the same vector and tests can compute it. Its components come from
 * SHA-256 of the text in counter mode (16 bits each, mapped to [-1, 1]), then normalized.
 *
 * @example
 * mockEmbedding('hello', 8) // the same 8 numbers on every call, with a Euclidean norm of 1
 */
export function mockEmbedding(text: string, dimensions: number): number[] {
  const raw: number[] = [];
  for (let block = 0; raw.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 1 < digest.length && raw.length < dimensions; i += 2) {
      raw.push(digest.readUInt16BE(i) / 32_767.5 - 1);
    }
  }
  const norm = Math.hypot(...raw) || 1;
  return raw.map((value) => value / norm);
}

/**
 * The mock's embeddings: deterministic unit vectors ({@link mockEmbedding}), one token per four
 * characters of each input (as the mock's chat counts them), the connection's latency and
 * failures; no network, no credentials.
 */
export const mockEmbedder: EmbeddingAdapter<'mock'> = {
  id: 'mock',

  async embed(request: EmbeddingRequest, target: ProviderTarget<'mock'>, options: ProviderCallOptions) {
    await simulateUpstream(request.inputs, target, options.signal);
    const dimensions = request.dimensions ?? MOCK_EMBEDDING_DIMENSIONS;
    return {
      vectors: request.inputs.map((text) => mockEmbedding(text, dimensions)),
      inputTokens: request.inputs.reduce((tokens, text) => tokens + mockTokens(text), 0),
    };
  },
};
