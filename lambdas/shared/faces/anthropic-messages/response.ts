import { randomBytes } from 'node:crypto';
import type { ChatCompletion, FinishReason, TokenUsage } from '../../chat/types';

/** A fresh message id in Anthropic's style. */
export function newMessageId(): string {
  return `msg_${randomBytes(18).toString('base64url')}`;
}

/**
 * Anthropic's `stop_reason` for the gateway's finish reason: a stop sequence says which, a block
 * by the policy is a refusal (what Claude's own refusals are).
 *
 * @example
 * stopReasonOf('tool_calls') // 'tool_use'
 */
export function stopReasonOf(reason: FinishReason, stopSequence?: string): string {
  switch (reason) {
    case 'stop':
      return stopSequence !== undefined ? 'stop_sequence' : 'end_turn';
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
  }
}

/**
 * Anthropic's `usage` object: input tokens exclude cache reads and writes, which are their own
 * fields, exactly as the gateway counts them.
 *
 * @example
 * anthropicUsage({ inputTokens: 10, outputTokens: 5, cacheReadTokens: 90, cacheWriteTokens: 0 })
 * // { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 90 }
 */
export function anthropicUsage(usage: TokenUsage) {
  return {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
    cache_read_input_tokens: usage.cacheReadTokens,
  };
}

/** Tool arguments as the object Anthropic's `input` is (text a model left unparseable is wrapped, not lost). */
export function toolInputOf(args: string): unknown {
  try {
    const input: unknown = JSON.parse(args === '' ? '{}' : args);
    return input !== null && typeof input === 'object' && !Array.isArray(input) ? input : { value: input };
  } catch {
    return { arguments: args };
  }
}

/**
 * A completion as Anthropic's `message` object: reasoning blocks, then the text, then tool calls.
 *
 * @example
 * toAnthropicMessage({ id: newMessageId(), model: 'claude-sonnet-4-6', completion })
 */
export function toAnthropicMessage(options: { id: string; model: string; completion: ChatCompletion }) {
  const { completion } = options;
  return {
    id: options.id,
    type: 'message',
    role: 'assistant',
    model: options.model,
    content: [
      ...(completion.thinking ?? []),
      ...(completion.text !== '' ? [{ type: 'text', text: completion.text }] : []),
      ...completion.toolCalls.map((call) => ({
        type: 'tool_use',
        id: call.id,
        name: call.name,
        input: toolInputOf(call.arguments),
      })),
    ],
    stop_reason: stopReasonOf(completion.finishReason, completion.stopSequence),
    stop_sequence: completion.stopSequence ?? null,
    usage: anthropicUsage(completion.usage),
  };
}
