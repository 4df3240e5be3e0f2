import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import type { ChatRequest } from '../../chat/types';
import type { ProviderAdapter, ProviderCallOptions, ProviderTarget } from '../types';
import { toProviderError } from './errors';
import type { BedrockOptions } from './options';
import { toConverseInput } from './request';
import { fromConverseOutput } from './response';

const clients = new Map<string, BedrockRuntimeClient>();

/**
 * One client per connection (region + endpoint), created on first use and reused by every
 * request of the Lambda instance so connections stay warm. The SDK's own retries are off: the
 * gateway's router retries with a deadline and may fall back to another provider instead.
 */
function clientFor(options: BedrockOptions): BedrockRuntimeClient {
  const cacheKey = `${options.region ?? ''}|${options.endpoint ?? ''}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = new BedrockRuntimeClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      maxAttempts: 1,
    });
    clients.set(cacheKey, client);
  }
  return client;
}

/** Amazon Bedrock through the Converse API: any model Converse serves, by model id, inference profile id or ARN. */
export const bedrockAdapter: ProviderAdapter<'bedrock'> = {
  id: 'bedrock',
  async complete(request: ChatRequest, target: ProviderTarget<'bedrock'>, options: ProviderCallOptions) {
    try {
      const output = await clientFor(target.connection).send(
        new ConverseCommand(toConverseInput(request, target.upstreamModel)),
        { abortSignal: options.signal },
      );
      return fromConverseOutput(output);
    } catch (error) {
      throw toProviderError(error);
    }
  },
};
