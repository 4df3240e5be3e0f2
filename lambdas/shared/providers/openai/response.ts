import type { ChatCompletion, ChatStreamEvent, FinishReason, TokenUsage } from '../../chat/types';
import { ProviderError } from '../errors';

/** OpenAI's usage object (chat completions). */
export interface OpenAiUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

interface OpenAiToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

/** The parts of a `chat.completion` the gateway reads. */
export interface OpenAiCompletion {
  choices?: {
    message?: { content?: string | null; tool_calls?: OpenAiToolCall[] | null };
    finish_reason?: string | null;
  }[];
  usage?: OpenAiUsage | null;
}

/** The parts of a `chat.completion.chunk` the gateway reads. */
export interface OpenAiChunk {
  choices?: {
    delta?: { content?: string | null; tool_calls?: OpenAiToolCall[] | null };
    finish_reason?: string | null;
  }[];
  usage?: OpenAiUsage | null;
}

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  content_filter: 'content_filter',
};

/** The gateway's finish reason for an OpenAI one (unknown values read as `stop`). */
export function finishReasonOf(reason: string | null | undefined): FinishReason {
  return (reason && FINISH_REASONS[reason]) || 'stop';
}

/**
 * The gateway's usage for OpenAI's: `prompt_tokens` includes cached tokens, which the gateway
 * bills as their own line item, so they are taken out of the input count.
 *
 * @example
 * usageOf({ prompt_tokens: 100, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 90 } })
 * // { inputTokens: 10, outputTokens: 5, cacheReadTokens: 90, cacheWriteTokens: 0 }
 */
export function usageOf(usage: OpenAiUsage | null | undefined): TokenUsage {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    inputTokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
    outputTokens: usage?.completion_tokens ?? 0,
    cacheReadTokens: cached,
    cacheWriteTokens: 0,
  };
}

/**
 * Maps a `chat.completion` to the gateway's completion. An answer without a choice and its
 * message is malformed (502 to the client, nothing served), not an empty answer.
 */
export function fromOpenAiCompletion(body: OpenAiCompletion): ChatCompletion {
  const choice = body?.choices?.[0];
  if (typeof choice?.message !== 'object' || choice.message === null) {
    throw new ProviderError('upstream_error', 'OpenAI: malformed answer (no choice with a message)');
  }
  return {
    text: choice?.message?.content ?? '',
    toolCalls: (choice?.message?.tool_calls ?? []).map((call) => ({
      id: call.id ?? '',
      name: call.function?.name ?? '',
      arguments: call.function?.arguments ?? '',
    })),
    finishReason: finishReasonOf(choice?.finish_reason),
    usage: usageOf(body.usage),
  };
}

/**
 * The gateway's stream events for one `chat.completion.chunk`. Stateless: OpenAI already
 * numbers tool calls the way the gateway does.
 *
 * @example
 * for (const event of fromOpenAiChunk(JSON.parse(data))) yield event;
 */
export function fromOpenAiChunk(chunk: OpenAiChunk): ChatStreamEvent[] {
  const events: ChatStreamEvent[] = [];
  const choice = chunk.choices?.[0];
  if (choice?.delta?.content) events.push({ type: 'text', text: choice.delta.content });
  for (const call of choice?.delta?.tool_calls ?? []) {
    const index = call.index ?? 0;
    if (call.id || call.function?.name) {
      events.push({ type: 'tool_call_start', index, id: call.id ?? '', name: call.function?.name ?? '' });
    }
    if (call.function?.arguments) events.push({ type: 'tool_call_delta', index, arguments: call.function.arguments });
  }
  if (choice?.finish_reason) events.push({ type: 'finish', finishReason: finishReasonOf(choice.finish_reason) });
  if (chunk.usage) events.push({ type: 'usage', usage: usageOf(chunk.usage) });
  return events;
}
