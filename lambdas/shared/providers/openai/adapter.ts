import type { ChatRequest, ChatStreamEvent } from '../../chat/types';
import { ProviderError } from '../errors';
import { parseEventJson, postJson, serverSentEvents } from '../http';
import { readApiKey } from '../secrets';
import type { ProviderAdapter, ProviderCallOptions, ProviderTarget } from '../types';
import { toOpenAiBody } from './request';
import { fromOpenAiChunk, fromOpenAiCompletion, type OpenAiChunk, type OpenAiCompletion } from './response';

export const PROVIDER = 'OpenAI';

/** URL and headers of a call to `path` (`/chat/completions`, `/embeddings`), with the API key read from Secrets Manager. */
export async function endpoint(target: ProviderTarget<'openai'>, options: ProviderCallOptions, path: string) {
  const connection = target.connection;
  const url = new URL(`${connection.baseUrl.replace(/\/+$/, '')}${path}`);
  for (const [name, value] of Object.entries(connection.query ?? {})) url.searchParams.set(name, value);
  const headers: Record<string, string> = { ...connection.headers };
  if (connection.apiKeySecret) {
    const key = await readApiKey(PROVIDER, connection.apiKeySecret, options.secrets);
    if (connection.authHeader === 'api-key') headers['api-key'] = key;
    else headers['authorization'] = `Bearer ${key}`;
  }
  return { url: url.toString(), headers };
}

/**
 * OpenAI and any OpenAI-compatible server (Azure OpenAI, vLLM, Ollama, ...): Chat Completions
 * over HTTPS (`postJson`), streams as server-sent events with the usage chunk always requested.
 */
export const openAiAdapter: ProviderAdapter<'openai'> = {
  id: 'openai',

  async complete(request: ChatRequest, target: ProviderTarget<'openai'>, options: ProviderCallOptions) {
    const { url, headers } = await endpoint(target, options, '/chat/completions');
    const body = toOpenAiBody(request, target.upstreamModel, target.connection, false);
    const response = await postJson(PROVIDER, url, body, headers, options.signal);
    let json: OpenAiCompletion;
    try {
      json = (await response.json()) as OpenAiCompletion;
    } catch (error) {
      throw new ProviderError('upstream_error', `${PROVIDER}: unreadable response`, { cause: error });
    }
    return fromOpenAiCompletion(json);
  },

  async *stream(request: ChatRequest, target: ProviderTarget<'openai'>, options: ProviderCallOptions) {
    const { url, headers } = await endpoint(target, options, '/chat/completions');
    const body = toOpenAiBody(request, target.upstreamModel, target.connection, true);
    const response = await postJson(PROVIDER, url, body, { ...headers, accept: 'text/event-stream' }, options.signal);
    let finished = false;
    for await (const message of serverSentEvents(PROVIDER, response, options.signal)) {
      if (message.data === '[DONE]') {
        finished = true;
        break;
      }
      const chunk = parseEventJson<OpenAiChunk & { error?: { message?: string } }>(PROVIDER, message.data);
      if (chunk.error)
        throw new ProviderError('upstream_error', `${PROVIDER}: ${chunk.error.message ?? 'stream error'}`);
      yield* fromOpenAiChunk(chunk) satisfies ChatStreamEvent[];
    }
    if (!finished) throw new ProviderError('upstream_error', `${PROVIDER}: stream ended without [DONE]`);
  },
};
