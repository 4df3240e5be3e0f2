import { createHash } from 'node:crypto';
import type { ChatRequest } from '../chat/types';

/**
 * JSON with object keys sorted at every level and `undefined` members left out, so two requests
 * that mean the same thing serialize to the same text whatever order their fields were built in.
 *
 * @example
 * canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] }) // '{"a":[{"d":2}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const members = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, member]) => `${JSON.stringify(name)}:${canonicalJson(member)}`);
  return `{${members.join(',')}}`;
}

/**
 * The request as far as it decides the answer: everything the provider is sent, without the
 * caller's end-user id (OpenAI's `user`, for abuse tracking) and without the markers that only
 * remember how a face spelled a turn (a bare string or blocks), so the same question asked through
 * the OpenAI and the Anthropic face finds the same answer: the cache holds the neutral completion
 * and each face formats it.
 */
function answerDeciding(chat: ChatRequest): unknown {
  const messages = chat.messages.map((message) => {
    if (message.role === 'user') return { ...message, contentAsString: undefined };
    if (message.role === 'tool') return { ...message, contentAsBlocks: undefined };
    return message;
  });
  return { ...chat, user: undefined, messages };
}

/**
 * The cache key of a chat request: SHA-256 (hex) of the resolved catalog model (after aliasing)
 * and the request as it goes upstream (after the policy's redaction), canonically serialized.
 * The team is not in the hash but in the item's partition key (see `itemKeys.responseCache`).
 *
 * @example
 * responseCacheKey('mock-small', exchange.upstream) // '3f5a…' (64 hex digits)
 */
export function responseCacheKey(modelId: string, chat: ChatRequest): string {
  return createHash('sha256')
    .update(canonicalJson({ model: modelId, request: answerDeciding(chat) }))
    .digest('hex');
}
