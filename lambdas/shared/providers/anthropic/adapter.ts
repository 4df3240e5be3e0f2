import type { ChatRequest } from '../../chat/types';
import { acceptedBetas } from '../betas';
import { ProviderError } from '../errors';
import { parseEventJson, postJson, serverSentEvents } from '../http';
import { readApiKey } from '../secrets';
import { structuredOutputAsText, structuredStreamAsText, withStructuredOutputTool } from '../structured-output';
import type { ProviderAdapter, ProviderCallOptions, ProviderTarget } from '../types';
import { countTokensBody, toAnthropicBody } from './request';
import {
  fromAnthropicMessage,
  fromAnthropicStreamEvent,
  newAnthropicStreamState,
  type AnthropicMessage,
  type AnthropicStreamEvent,
} from './response';

const PROVIDER = 'Anthropic';

async function endpoint(
  request: ChatRequest,
  target: ProviderTarget<'anthropic'>,
  options: ProviderCallOptions,
  path = '/v1/messages',
) {
  const connection = target.connection;
  const key = await readApiKey(PROVIDER, connection.apiKeySecret, options.secrets);
  const betas = acceptedBetas(connection, request.betas);
  return {
    url: `${connection.baseUrl.replace(/\/+$/, '')}${path}`,
    headers: {
      ...connection.headers,
      'x-api-key': key,
      'anthropic-version': connection.version,
      ...(betas.length > 0 ? { 'anthropic-beta': betas.join(',') } : {}),
    },
  };
}

async function* messagesStream(
  request: ChatRequest,
  target: ProviderTarget<'anthropic'>,
  options: ProviderCallOptions,
) {
  const { url, headers } = await endpoint(request, target, options);
  const body = toAnthropicBody(request, target.upstreamModel, true);
  const response = await postJson(PROVIDER, url, body, { ...headers, accept: 'text/event-stream' }, options.signal);
  const state = newAnthropicStreamState();
  let stopped = false;
  for await (const message of serverSentEvents(PROVIDER, response, options.signal)) {
    const event = parseEventJson<AnthropicStreamEvent>(PROVIDER, message.data);
    if (event.type === 'message_stop') stopped = true;
    yield* fromAnthropicStreamEvent(state, event);
  }
  if (!stopped) throw new ProviderError('upstream_error', `${PROVIDER}: stream ended without message_stop`);
}

/**
 * Anthropic's Messages API over HTTPS (`postJson`); streams as server-sent events. JSON response
 * formats are served through a forced tool.
 */
export const anthropicAdapter: ProviderAdapter<'anthropic'> = {
  id: 'anthropic',

  async complete(request: ChatRequest, target: ProviderTarget<'anthropic'>, options: ProviderCallOptions) {
    const { request: forced, toolName } = withStructuredOutputTool(request);
    const { url, headers } = await endpoint(forced, target, options);
    const response = await postJson(
      PROVIDER,
      url,
      toAnthropicBody(forced, target.upstreamModel, false),
      headers,
      options.signal,
    );
    let json: AnthropicMessage;
    try {
      json = (await response.json()) as AnthropicMessage;
    } catch (error) {
      throw new ProviderError('upstream_error', `${PROVIDER}: unreadable response`, { cause: error });
    }
    const completion = fromAnthropicMessage(json);
    return toolName ? structuredOutputAsText(completion, toolName) : completion;
  },

  async countTokens(request: ChatRequest, target: ProviderTarget<'anthropic'>, options: ProviderCallOptions) {
    const { url, headers } = await endpoint(request, target, options, '/v1/messages/count_tokens');
    const response = await postJson(
      PROVIDER,
      url,
      countTokensBody(request, target.upstreamModel),
      headers,
      options.signal,
    );
    const json = (await response.json().catch(() => undefined)) as { input_tokens?: unknown } | undefined;
    const tokens = json?.input_tokens;
    if (typeof tokens !== 'number' || !Number.isInteger(tokens) || tokens < 0) {
      throw new ProviderError('upstream_error', `${PROVIDER}: unreadable count_tokens answer`);
    }
    return tokens;
  },

  stream(request: ChatRequest, target: ProviderTarget<'anthropic'>, options: ProviderCallOptions) {
    const { request: forced, toolName } = withStructuredOutputTool(request);
    const events = messagesStream(forced, target, options);
    return toolName ? structuredStreamAsText(events, toolName) : events;
  },
};
