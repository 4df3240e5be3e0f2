import type { InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import type { EmbeddingRequest, EmbeddingResult } from '../../embeddings/types';
import { ProviderError } from '../errors';
import type { EmbeddingAdapter, ProviderCallOptions, ProviderTarget } from '../types';
import { clientFor } from './adapter';
import { toProviderError } from './errors';
import { bedrockRuntime } from './runtime';

/**
 * The InvokeModel body formats of the embedding models the gateway knows on Bedrock, by model id
 * (a base id, a profile id such as `us.cohere.…`, or an ARN ending in one). Cohere Embed v4 and
 * Titan G1 speak other formats and are not served.
 */
export type BedrockEmbeddingFormat = 'titan-v2' | 'cohere-v3';

/** Titan V2 takes one text per call; these many calls run at once for a multi-text request. */
const TITAN_PARALLEL_CALLS = 8;

/** Cohere Embed v3 takes at most 96 texts per call. */
const COHERE_TEXTS_PER_CALL = 96;

/** The input token count Bedrock reports on every InvokeModel answer, whatever the body says. */
const INPUT_TOKEN_HEADER = 'x-amzn-bedrock-input-token-count';

/**
 * The body format of a Bedrock embedding model, or undefined for one the gateway cannot embed with.
 *
 * @example
 * bedrockEmbeddingFormat('amazon.titan-embed-text-v2:0') // 'titan-v2'
 */
export function bedrockEmbeddingFormat(modelId: string): BedrockEmbeddingFormat | undefined {
  if (/(^|[./])amazon\.titan-embed-text-v2(:|$)/.test(modelId)) return 'titan-v2';
  if (/(^|[./])cohere\.embed-(english|multilingual)-v3(:|$)/.test(modelId)) return 'cohere-v3';
  return undefined;
}

/**
 * Titan Text Embeddings V2's body for one text: unit vectors (`normalize`), as OpenAI's are, so
 * a caller's cosine and dot-product similarity agree whichever model served.
 *
 * @example
 * toTitanBody('hello', 256) // { inputText: 'hello', dimensions: 256, normalize: true }
 */
export function toTitanBody(text: string, dimensions: number | undefined) {
  return { inputText: text, dimensions, normalize: true };
}

/** Titan V2's answer: `{ embedding, inputTextTokenCount }`. */
export function fromTitanBody(body: { embedding?: unknown; inputTextTokenCount?: unknown }): {
  vector: number[];
  inputTokens: number;
} {
  if (!isVector(body?.embedding)) throw new ProviderError('upstream_error', 'Bedrock: malformed Titan embedding');
  const tokens = body.inputTextTokenCount;
  return { vector: body.embedding, inputTokens: typeof tokens === 'number' ? tokens : 0 };
}

/**
 * Cohere Embed v3's body for a batch: `search_document`, what documents stored for retrieval are
 * embedded as (OpenAI's API has no input type; queries embedded this way still match them).
 *
 * @example
 * toCohereBody(['a', 'b']) // { texts: ['a', 'b'], input_type: 'search_document' }
 */
export function toCohereBody(texts: readonly string[]) {
  return { texts, input_type: 'search_document' as const };
}

/** Cohere v3's answer: `{ embeddings: number[][], id, response_type: 'embeddings_floats', texts }`. */
export function fromCohereBody(body: { embeddings?: unknown }, texts: number): number[][] {
  const { embeddings } = body ?? {};
  if (!Array.isArray(embeddings) || embeddings.length !== texts || !embeddings.every(isVector)) {
    throw new ProviderError('upstream_error', 'Bedrock: malformed Cohere embeddings (not one vector per text)');
  }
  return embeddings;
}

function isVector(value: unknown): value is number[] {
  return Array.isArray(value) && value.length > 0 && value.every((n) => typeof n === 'number');
}

/** Splits a list into consecutive pieces of at most `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * One InvokeModel call: the parsed JSON answer and the input token count from Bedrock's header
 * (Cohere's body carries none; the SDK's output does not surface response headers, so a
 * middleware of this one command reads it).
 */
async function invoke(
  target: ProviderTarget<'bedrock'>,
  body: unknown,
  signal: AbortSignal,
): Promise<{ json: Record<string, unknown>; headerTokens: number }> {
  const runtime = bedrockRuntime();
  const command: InvokeModelCommand = new runtime.InvokeModelCommand({
    modelId: target.upstreamModel,
    contentType: 'application/json',
    accept: 'application/json',
    body: JSON.stringify(body),
  });
  let headerTokens = 0;
  command.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const headers = (result.response as { headers?: Record<string, string | undefined> }).headers ?? {};
      headerTokens = Number(headers[INPUT_TOKEN_HEADER] ?? 0) || 0;
      return result;
    },
    { step: 'deserialize', name: 'gatewayInputTokenCount' },
  );
  let text: string;
  try {
    const output = await clientFor(target.connection).send(command, { abortSignal: signal });
    text = new TextDecoder().decode(output.body);
  } catch (error) {
    throw toProviderError(error);
  }
  try {
    return { json: JSON.parse(text) as Record<string, unknown>, headerTokens };
  } catch (error) {
    throw new ProviderError('upstream_error', 'Bedrock: unreadable embeddings answer', { cause: error });
  }
}

/**
 * Amazon Bedrock embeddings through InvokeModel: Titan Text Embeddings V2 (one text per call,
 * several calls at once) and Cohere Embed v3 (up to 96 texts per call). A model id of another
 * family is a configuration error, reported as such.
 */
export const bedrockEmbedder: EmbeddingAdapter<'bedrock'> = {
  id: 'bedrock',

  async embed(
    request: EmbeddingRequest,
    target: ProviderTarget<'bedrock'>,
    options: ProviderCallOptions,
  ): Promise<EmbeddingResult> {
    const format = bedrockEmbeddingFormat(target.upstreamModel);
    if (format === 'titan-v2') {
      const results: { vector: number[]; inputTokens: number }[] = [];
      for (const batch of chunks(request.inputs, TITAN_PARALLEL_CALLS)) {
        const answers = await Promise.all(
          batch.map((text) => invoke(target, toTitanBody(text, request.dimensions), options.signal)),
        );
        // The body's count, else the header's: Bedrock bills what it reports either way.
        results.push(
          ...answers.map(({ json, headerTokens }) => {
            const read = fromTitanBody(json);
            return { ...read, inputTokens: read.inputTokens || headerTokens };
          }),
        );
      }
      return {
        vectors: results.map((r) => r.vector),
        inputTokens: results.reduce((tokens, r) => tokens + r.inputTokens, 0),
      };
    }
    if (format === 'cohere-v3') {
      const vectors: number[][] = [];
      let inputTokens = 0;
      for (const batch of chunks(request.inputs, COHERE_TEXTS_PER_CALL)) {
        const { json, headerTokens } = await invoke(target, toCohereBody(batch), options.signal);
        vectors.push(...fromCohereBody(json, batch.length));
        inputTokens += headerTokens;
      }
      return { vectors, inputTokens };
    }
    throw new ProviderError(
      'misconfigured',
      `Bedrock: ${target.upstreamModel} is not an embedding model the gateway can call (Titan Text Embeddings V2, Cohere Embed v3)`,
    );
  },
};
