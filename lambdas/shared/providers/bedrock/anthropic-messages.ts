import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { ChatCompletion, ChatRequest, ChatStreamEvent } from '../../chat/types';
import { anthropicMessagesBody } from '../anthropic/request';
import {
  fromAnthropicMessage,
  fromAnthropicStreamEvent,
  newAnthropicStreamState,
  type AnthropicMessage,
  type AnthropicStreamEvent,
} from '../anthropic/response';
import { acceptedBetas } from '../betas';
import { ProviderError } from '../errors';
import type { ProviderCallOptions, ProviderTarget } from '../types';
import { toProviderError } from './errors';
import { bedrockRuntime } from './runtime';

/** The Messages API version Bedrock's InvokeModel expects in the body. */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

/**
 * The InvokeModel body for a Claude model: Anthropic's Messages body with the version and betas
 * in it (Bedrock takes neither as headers) and without what Bedrock refuses (`model`, `stream`,
 * `metadata` and the parameters only Anthropic's own API knows).
 *
 * @example
 * bedrockAnthropicBody(request, connection) // { anthropic_version: 'bedrock-2023-05-31', messages: [...], ... }
 */
export function bedrockAnthropicBody(request: ChatRequest, target: ProviderTarget<'bedrock'>): Record<string, unknown> {
  const betas = acceptedBetas(target.connection, request.betas);
  return {
    anthropic_version: BEDROCK_ANTHROPIC_VERSION,
    ...(betas.length > 0 ? { anthropic_beta: betas } : {}),
    ...anthropicMessagesBody(request),
  };
}

function invokeInput(request: ChatRequest, target: ProviderTarget<'bedrock'>) {
  return {
    modelId: target.upstreamModel,
    contentType: 'application/json',
    accept: 'application/json',
    body: new TextEncoder().encode(JSON.stringify(bedrockAnthropicBody(request, target))),
  };
}

function parseJson<T>(bytes: Uint8Array | undefined, what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (error) {
    throw new ProviderError('upstream_error', `Bedrock: unreadable ${what}`, { cause: error });
  }
}

/**
 * A Claude model on Bedrock through InvokeModel with the Messages body: the answer is Anthropic's
 * own message JSON.
 *
 * @example
 * const completion = await invokeAnthropic(client, request, target, options);
 */
export async function invokeAnthropic(
  client: BedrockRuntimeClient,
  request: ChatRequest,
  target: ProviderTarget<'bedrock'>,
  options: ProviderCallOptions,
): Promise<ChatCompletion> {
  let output;
  try {
    output = await client.send(new (bedrockRuntime().InvokeModelCommand)(invokeInput(request, target)), {
      abortSignal: options.signal,
    });
  } catch (error) {
    throw toProviderError(error);
  }
  return fromAnthropicMessage(parseJson<AnthropicMessage>(output.body, 'InvokeModel answer'));
}

/**
 * A Claude model on Bedrock through InvokeModelWithResponseStream: each `chunk` of the event
 * stream carries one of Anthropic's streaming events as JSON bytes, decoded as Anthropic's own
 * stream is; the SDK throws the stream's exception events.
 *
 * @example
 * for await (const event of invokeAnthropicStream(client, request, target, options)) send(event);
 */
export async function* invokeAnthropicStream(
  client: BedrockRuntimeClient,
  request: ChatRequest,
  target: ProviderTarget<'bedrock'>,
  options: ProviderCallOptions,
): AsyncGenerator<ChatStreamEvent> {
  let body;
  try {
    ({ body } = await client.send(
      new (bedrockRuntime().InvokeModelWithResponseStreamCommand)(invokeInput(request, target)),
      { abortSignal: options.signal },
    ));
  } catch (error) {
    throw toProviderError(error);
  }
  if (!body)
    throw new ProviderError('upstream_error', 'Bedrock: InvokeModelWithResponseStream answered without a stream');
  const state = newAnthropicStreamState();
  let stopped = false;
  try {
    for await (const part of body) {
      if (!part.chunk) continue;
      const event = parseJson<AnthropicStreamEvent>(part.chunk.bytes, 'stream chunk');
      stopped ||= event.type === 'message_stop';
      yield* fromAnthropicStreamEvent(state, event);
    }
  } catch (error) {
    throw toProviderError(error);
  }
  if (!stopped) {
    throw options.signal?.aborted
      ? toProviderError(options.signal.reason)
      : new ProviderError('upstream_error', 'Bedrock: stream ended without message_stop');
  }
}

/**
 * Bedrock's own count of a Claude request's input tokens (CountTokens with the InvokeModel body
 * the request would be sent as).
 *
 * @example
 * const tokens = await countAnthropicTokens(client, request, target, options);
 */
export async function countAnthropicTokens(
  client: BedrockRuntimeClient,
  request: ChatRequest,
  target: ProviderTarget<'bedrock'>,
  options: ProviderCallOptions,
): Promise<number> {
  const { body } = invokeInput(request, target);
  try {
    const output = await client.send(
      new (bedrockRuntime().CountTokensCommand)({ modelId: target.upstreamModel, input: { invokeModel: { body } } }),
      { abortSignal: options.signal },
    );
    if (typeof output.inputTokens !== 'number')
      throw new ProviderError('upstream_error', 'Bedrock: CountTokens answered no count');
    return output.inputTokens;
  } catch (error) {
    throw toProviderError(error);
  }
}
