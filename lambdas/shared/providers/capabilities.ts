import type { ChatRequest } from '../chat/types';
import type { ProviderConnection } from './options';
import type { ProviderTarget } from './types';

/**
 * What each provider API can take of a request, decided before the request is admitted: a
 * feature the model's own provider lacks is the caller's 400 (naming the feature), not a failed
 * call; a fallback that lacks it is skipped. Features that only change caching or cost (cache
 * breakpoints, thinking blocks of earlier turns) are dropped where a provider has no use for
 * them, and need no check.
 */

/** Whether a Bedrock model id (base id, inference profile id or ARN) is one of Anthropic's Claude models. */
export function isAnthropicOnBedrock(upstreamModel: string): boolean {
  return /(^|[.:/])anthropic\.claude/.test(upstreamModel);
}

/**
 * Whether a call goes to Anthropic's Messages API as sent: Anthropic's own API, or a Claude model
 * on Bedrock when the caller spoke the Messages API (Bedrock's InvokeModel takes the same body).
 *
 * @example
 * speaksAnthropicMessages(request, target) // true: thinking, documents and betas pass through
 */
export function speaksAnthropicMessages(
  request: ChatRequest,
  target: Pick<ProviderTarget, 'connection' | 'upstreamModel'>,
): boolean {
  const adapter = target.connection.adapter;
  return (
    adapter === 'anthropic' ||
    (adapter === 'bedrock' && request.anthropicNative === true && isAnthropicOnBedrock(target.upstreamModel))
  );
}

/** The request features only Anthropic's Messages API (and the mock) serve, with the name a 400 gives each. */
function anthropicOnlyFeatures(request: ChatRequest): string[] {
  const features: string[] = [];
  if (request.thinking && request.thinking.type !== 'disabled') features.push('thinking');
  if (request.topK !== undefined) features.push('top_k');
  if (request.tools?.some((tool) => tool.anthropicType)) features.push('Anthropic-defined tools');
  if (request.messages.some((m) => m.role === 'user' && m.content.some((part) => part.type === 'document'))) {
    features.push('document blocks');
  }
  return features;
}

/**
 * The features of a request a provider connection cannot serve for a model (empty: it can serve
 * them all).
 *
 * @example
 * unsupportedFeatures(request, { connection: { adapter: 'openai', ... }, upstreamModel: 'gpt-4o' }) // ['thinking']
 */
export function unsupportedFeatures(
  request: ChatRequest,
  target: Pick<ProviderTarget, 'connection' | 'upstreamModel'>,
): string[] {
  const connection: ProviderConnection = target.connection;
  if (connection.adapter === 'mock' || speaksAnthropicMessages(request, target)) return [];
  const missing = anthropicOnlyFeatures(request);
  if (
    connection.adapter === 'openai' &&
    request.messages.some((m) => m.role === 'tool' && (m.images?.length ?? 0) > 0)
  ) {
    missing.push('images in tool results');
  }
  return missing;
}
