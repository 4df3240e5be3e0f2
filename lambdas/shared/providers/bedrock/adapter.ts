import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { ChatRequest, ChatStreamEvent } from '../../chat/types';
import { structuredOutputAsText, structuredStreamAsText, withStructuredOutputTool } from '../structured-output';
import { speaksAnthropicMessages } from '../capabilities';
import { ProviderError } from '../errors';
import { countAnthropicTokens, invokeAnthropic, invokeAnthropicStream } from './anthropic-messages';
import type { ProviderAdapter, ProviderCallOptions, ProviderTarget } from '../types';
import { toProviderError } from './errors';
import type { BedrockOptions } from './options';
import { toConverseInput } from './request';
import { fromConverseOutput, fromConverseStreamEvent, newConverseStreamState } from './response';
import { bedrockRuntime } from './runtime';

const clients = new Map<string, BedrockRuntimeClient>();

/**
 * One client per connection (region + endpoint), created on first use and reused by every
 * request of the Lambda instance so connections stay warm. The SDK's own retries are off: the
 * gateway's router retries with a deadline and may fall back to another provider instead.
 */
export function clientFor(options: BedrockOptions): BedrockRuntimeClient {
  const cacheKey = `${options.region ?? ''}|${options.endpoint ?? ''}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = new (bedrockRuntime().BedrockRuntimeClient)({
      region: options.region,
      endpoint: options.endpoint,
      maxAttempts: 1,
    });
    clients.set(cacheKey, client);
  }
  return client;
}

async function* converseStream(
  request: ChatRequest,
  target: ProviderTarget<'bedrock'>,
  options: ProviderCallOptions,
): AsyncGenerator<ChatStreamEvent> {
  let stream;
  try {
    ({ stream } = await clientFor(target.connection).send(
      new (bedrockRuntime().ConverseStreamCommand)(toConverseInput(request, target.upstreamModel)),
      { abortSignal: options.signal },
    ));
  } catch (error) {
    throw toProviderError(error);
  }
  if (!stream) throw new ProviderError('upstream_error', 'Bedrock: ConverseStream answered without a stream');
  const state = newConverseStreamState();
  let stopped = false;
  try {
    for await (const event of stream) {
      stopped ||= event.messageStop !== undefined;
      yield* fromConverseStreamEvent(state, event);
    }
  } catch (error) {
    throw toProviderError(error);
  }
  // The SDK ends the event stream quietly when its HTTP/2 stream is closed or aborted: without
  // messageStop the answer is incomplete, whatever the reason.
  if (!stopped) {
    throw options.signal?.aborted
      ? toProviderError(options.signal.reason)
      : new ProviderError('upstream_error', 'Bedrock: stream ended without messageStop');
  }
}

/**
 * Amazon Bedrock through the Converse and ConverseStream APIs: any model Converse serves, by
 * model id, inference profile id or ARN. A Claude model asked through Anthropic's Messages API is
 * called with that body through InvokeModel instead, so what Converse cannot carry (thinking
 * blocks, cache breakpoints, betas) reaches it. JSON response formats are served through a
 * forced tool.
 */
export const bedrockAdapter: ProviderAdapter<'bedrock'> = {
  id: 'bedrock',

  async complete(request: ChatRequest, target: ProviderTarget<'bedrock'>, options: ProviderCallOptions) {
    const { request: forced, toolName } = withStructuredOutputTool(request);
    if (speaksAnthropicMessages(forced, target)) {
      const completion = await invokeAnthropic(clientFor(target.connection), forced, target, options);
      return toolName ? structuredOutputAsText(completion, toolName) : completion;
    }
    try {
      const output = await clientFor(target.connection).send(
        new (bedrockRuntime().ConverseCommand)(toConverseInput(forced, target.upstreamModel)),
        { abortSignal: options.signal },
      );
      const completion = fromConverseOutput(output);
      return toolName ? structuredOutputAsText(completion, toolName) : completion;
    } catch (error) {
      throw toProviderError(error);
    }
  },

  /** Claude asked through the Messages API: Bedrock's CountTokens; other models: no count (the estimate). */
  async countTokens(request: ChatRequest, target: ProviderTarget<'bedrock'>, options: ProviderCallOptions) {
    if (!speaksAnthropicMessages(request, target)) return undefined;
    return countAnthropicTokens(clientFor(target.connection), request, target, options);
  },

  stream(request: ChatRequest, target: ProviderTarget<'bedrock'>, options: ProviderCallOptions) {
    const { request: forced, toolName } = withStructuredOutputTool(request);
    const events = speaksAnthropicMessages(forced, target)
      ? invokeAnthropicStream(clientFor(target.connection), forced, target, options)
      : converseStream(forced, target, options);
    return toolName ? structuredStreamAsText(events, toolName) : events;
  },
};
