import * as z from 'zod';
import type { EmbeddingExchangeRequest } from '../../exchange/embedding';
import { invalidRequest } from '../../http/errors';
import { parseWith } from '../../http/validation';

/** The most inputs one request may carry, as at OpenAI. */
export const MAX_EMBEDDING_INPUTS = 2048;

const text = z.string().min(1, 'must not be an empty string');

/**
 * OpenAI's embeddings request, as the gateway accepts it: strict, so a parameter the gateway
 * does not implement is a 400 naming it. `input` is text only (see {@link parseEmbeddingsRequest}).
 */
export const embeddingsRequestSchema = z.strictObject({
  model: z.string().min(1).max(256),
  input: z.union([text, z.array(text).min(1, 'must not be empty').max(MAX_EMBEDDING_INPUTS)]),
  /** `float` (the default) or `base64`: the little-endian float32 array, base64-encoded. */
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().max(256).optional(),
});

/** A validated embeddings request. */
export type EmbeddingsRequest = z.infer<typeof embeddingsRequestSchema>;

/** Whether `input` is OpenAI's token form (an array of integers, or of integer arrays). */
function isTokenInput(input: unknown): boolean {
  return Array.isArray(input) && input.some((item) => typeof item === 'number' || Array.isArray(item));
}

/**
 * Validates a parsed JSON body as an embeddings request, or throws a 400 naming the first
 * offending parameter. Token arrays are refused by name: the gateway's policy checks and
 * providers other than OpenAI need text, and tokens of one tokenizer mean nothing to another.
 *
 * @example
 * const body = parseEmbeddingsRequest(parseJsonBody(request));
 */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsRequest {
  if (isTokenInput((body as { input?: unknown } | null)?.input)) {
    throw invalidRequest('Token arrays are not supported in input: send the text (a string or an array of strings).', {
      param: 'input',
    });
  }
  return parseWith(embeddingsRequestSchema, body);
}

/**
 * The neutral request for a validated OpenAI body: the core never sees OpenAI's field names (it
 * reports `dimensions` under the caller's name for it).
 *
 * @example
 * const request = toEmbeddingExchangeRequest(parseEmbeddingsRequest(parseJsonBody(http)));
 */
export function toEmbeddingExchangeRequest(body: EmbeddingsRequest): EmbeddingExchangeRequest {
  return {
    model: body.model,
    inputs: typeof body.input === 'string' ? [body.input] : body.input,
    dimensions: body.dimensions !== undefined ? { value: body.dimensions, param: 'dimensions' } : undefined,
    // '' is no end-user id: providers are sent none
    user: body.user || undefined,
  };
}
