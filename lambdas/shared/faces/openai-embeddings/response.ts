import type { TokenUsage } from '../../chat/types';

/**
 * A vector as OpenAI's `encoding_format: 'base64'` sends it: its components as little-endian
 * float32, base64-encoded (what OpenAI's SDKs decode by default).
 *
 * @example
 * float32Base64([1]) // 'AACAPw=='
 */
export function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString('base64');
}

/**
 * OpenAI's embeddings answer, exactly: `{ object: 'list', data, model, usage }` with one
 * `embedding` object per input, in input order.
 *
 * @example
 * jsonResponse(200, toEmbeddingsResponse({ model: 'mock-embed', vectors, usage, encoding: 'float' }))
 */
export function toEmbeddingsResponse(args: {
  model: string;
  vectors: readonly (readonly number[])[];
  usage: TokenUsage;
  encoding: 'float' | 'base64';
}) {
  return {
    object: 'list' as const,
    data: args.vectors.map((vector, index) => ({
      object: 'embedding' as const,
      index,
      embedding: args.encoding === 'base64' ? float32Base64(vector) : vector,
    })),
    model: args.model,
    usage: { prompt_tokens: args.usage.inputTokens, total_tokens: args.usage.inputTokens },
  };
}
