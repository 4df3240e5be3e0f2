import type { EmbeddingRequest, EmbeddingResult } from '../../embeddings/types';
import { ProviderError } from '../errors';
import { postJson } from '../http';
import type { EmbeddingAdapter, ProviderCallOptions, ProviderTarget } from '../types';
import { endpoint, PROVIDER } from './adapter';

/** The parts of OpenAI's embeddings answer (`object: 'list'`) the gateway reads. */
export interface OpenAiEmbeddingList {
  data?: { index?: number; embedding?: unknown }[];
  usage?: { prompt_tokens?: number } | null;
}

/**
 * OpenAI's embeddings body for the gateway's request. Vectors are always asked for as floats:
 * the gateway encodes base64 for its own caller, whatever the upstream speaks.
 *
 * @example
 * toOpenAiEmbeddingsBody({ inputs: ['hi'], dimensions: 256 }, 'text-embedding-3-small')
 * // { model: 'text-embedding-3-small', input: ['hi'], encoding_format: 'float', dimensions: 256 }
 */
export function toOpenAiEmbeddingsBody(request: EmbeddingRequest, model: string) {
  return {
    model,
    input: request.inputs,
    encoding_format: 'float' as const,
    dimensions: request.dimensions,
    user: request.user,
  };
}

/**
 * The gateway's result for OpenAI's answer: vectors put back in input order by their `index`.
 * An answer without exactly one numeric vector per input is malformed (502, nothing served).
 *
 * @example
 * fromOpenAiEmbeddings({ data: [{ index: 0, embedding: [0.1] }], usage: { prompt_tokens: 1 } }, 1)
 * // { vectors: [[0.1]], inputTokens: 1 }
 */
export function fromOpenAiEmbeddings(body: OpenAiEmbeddingList, inputs: number): EmbeddingResult {
  const vectors: number[][] = new Array<number[]>(inputs);
  for (const [position, item] of (body?.data ?? []).entries()) {
    const index = item.index ?? position;
    if (!isVector(item.embedding) || index < 0 || index >= inputs || vectors[index] !== undefined) {
      throw new ProviderError('upstream_error', `${PROVIDER}: malformed embeddings answer (item ${position})`);
    }
    vectors[index] = item.embedding;
  }
  if (vectors.filter(Boolean).length !== inputs) {
    throw new ProviderError('upstream_error', `${PROVIDER}: embeddings answer has not one vector per input`);
  }
  return { vectors, inputTokens: body.usage?.prompt_tokens ?? 0 };
}

function isVector(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((n) => typeof n === 'number');
}

/** OpenAI and any OpenAI-compatible server: `POST {baseUrl}/embeddings`, all inputs in one call. */
export const openAiEmbedder: EmbeddingAdapter<'openai'> = {
  id: 'openai',

  async embed(request: EmbeddingRequest, target: ProviderTarget<'openai'>, options: ProviderCallOptions) {
    const { url, headers } = await endpoint(target, options, '/embeddings');
    const response = await postJson(
      PROVIDER,
      url,
      toOpenAiEmbeddingsBody(request, target.upstreamModel),
      headers,
      options.signal,
    );
    let json: OpenAiEmbeddingList;
    try {
      json = (await response.json()) as OpenAiEmbeddingList;
    } catch (error) {
      throw new ProviderError('upstream_error', `${PROVIDER}: unreadable response`, { cause: error });
    }
    return fromOpenAiEmbeddings(json, request.inputs.length);
  },
};
