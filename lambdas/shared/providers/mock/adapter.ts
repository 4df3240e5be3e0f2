import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatCompletion, ChatMessage, ChatRequest } from '../../chat/types';
import { failureOfStatus, ProviderError } from '../errors';
import type { ProviderAdapter, ProviderCallOptions, ProviderTarget } from '../types';

/** Tokens the mock charges for a text: one per four characters, like a typical BPE tokenizer. */
export function mockTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Text of a message as the mock sees it. */
function messageText(message: ChatMessage): string {
  if (message.role === 'user') {
    return message.content.map((part) => (part.type === 'text' ? part.text : '[image]')).join('\n');
  }
  return message.content;
}

/** A number in [0, 1) fixed by the request's content, so "random" failures are reproducible. */
function contentFraction(request: ChatRequest): number {
  const digest = createHash('sha256').update(JSON.stringify(request.messages)).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/**
 * The mock's answer to a request: it repeats the last user message, so tests can see exactly
 * what reached the provider, and is cut at `maxOutputTokens` like a real model.
 */
export function mockCompletion(request: ChatRequest, upstreamModel: string): ChatCompletion {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  const fullText = `This is a mock response from ${upstreamModel}. You said: ${lastUser ? messageText(lastUser) : ''}`;
  const maxChars = request.maxOutputTokens * 4;
  const truncated = fullText.length > maxChars;
  let text = truncated ? fullText.slice(0, maxChars) : fullText;
  let finishReason: ChatCompletion['finishReason'] = truncated ? 'length' : 'stop';
  if (!truncated && request.stop) {
    const cut = request.stop.map((s) => text.indexOf(s)).filter((i) => i >= 0);
    if (cut.length > 0) {
      text = text.slice(0, Math.min(...cut));
      finishReason = 'stop';
    }
  }
  const inputTokens = request.messages.reduce((sum, m) => sum + 4 + mockTokens(messageText(m)), 0);
  return {
    text,
    toolCalls: [],
    finishReason,
    usage: { inputTokens, outputTokens: mockTokens(text), cacheReadTokens: 0, cacheWriteTokens: 0 },
  };
}

/**
 * The built-in mock provider: deterministic text, token counts and cost, with configurable
 * latency and failures; no network, no credentials.
 */
export const mockAdapter: ProviderAdapter<'mock'> = {
  id: 'mock',
  async complete(request: ChatRequest, target: ProviderTarget<'mock'>, options: ProviderCallOptions) {
    const { latencyMs, failureRate, failStatus } = target.connection;
    if (latencyMs > 0) {
      try {
        await sleep(latencyMs, undefined, { signal: options.signal });
      } catch (error) {
        throw new ProviderError('timeout', 'mock call aborted before it answered', { cause: error });
      }
    }
    if (failureRate > 0 && contentFraction(request) < failureRate) {
      throw new ProviderError(failureOfStatus(failStatus), `mock failure (status ${failStatus})`, {
        upstreamStatus: failStatus,
      });
    }
    return mockCompletion(request, target.upstreamModel);
  },
};
