import { BYTES_PER_TOKEN, MESSAGE_OVERHEAD_BOUND } from '../chat/token-estimate';

/**
 * A true upper bound of the input tokens any provider can bill for embedding these texts:
 * byte-level tokenizers never produce more tokens than the UTF-8 bytes they encode, and each
 * text adds at most a handful of special tokens (start and end markers, Cohere's input-type
 * prefix), bounded like a chat message's framing. Budget reservations and token limits use it.
 *
 * @example
 * embeddingTokenBound(['hello', 'world']) // 10 + 2 * 16
 */
export function embeddingTokenBound(inputs: readonly string[]): number {
  return inputs.reduce((tokens, text) => tokens + Buffer.byteLength(text, 'utf8') + MESSAGE_OVERHEAD_BOUND, 0);
}

/**
 * The gateway's usual generous estimate of the input tokens (UTF-8 bytes / 3 per text), billed
 * when a provider reports no count, as for a chat prompt; the profile's prompt-size limit uses it.
 *
 * @example
 * estimateEmbeddingTokens(['hello world']) // 4
 */
export function estimateEmbeddingTokens(inputs: readonly string[]): number {
  return inputs.reduce((tokens, text) => tokens + Math.ceil(Buffer.byteLength(text, 'utf8') / BYTES_PER_TOKEN), 0);
}
