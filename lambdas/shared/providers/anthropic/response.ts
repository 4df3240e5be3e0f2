import type { ChatCompletion, ChatStreamEvent, FinishReason, ThinkingBlock, TokenUsage } from '../../chat/types';
import { failureOfStatus, ProviderError } from '../errors';

/** Anthropic's usage object. */
export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

/** The parts of a Message the gateway reads. */
export interface AnthropicMessage {
  type?: string;
  content?: {
    type: string;
    text?: string;
    id?: string;
    name?: string;
    input?: unknown;
    thinking?: string;
    signature?: string;
    data?: string;
  }[];
  stop_reason?: string | null;
  stop_sequence?: string | null;
  usage?: AnthropicUsage;
}

const FINISH_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** OpenAI's finish reason for an Anthropic stop reason (unknown values read as `stop`). */
export function finishReasonOf(reason: string | null | undefined): FinishReason {
  return (reason && FINISH_REASONS[reason]) || 'stop';
}

/** The usage fields Anthropic reported, in the gateway's names (cache creation = cache write). */
export function usageOf(usage: AnthropicUsage | undefined): Partial<TokenUsage> {
  const out: Partial<TokenUsage> = {};
  if (usage?.input_tokens != null) out.inputTokens = usage.input_tokens;
  if (usage?.output_tokens != null) out.outputTokens = usage.output_tokens;
  if (usage?.cache_read_input_tokens != null) out.cacheReadTokens = usage.cache_read_input_tokens;
  if (usage?.cache_creation_input_tokens != null) out.cacheWriteTokens = usage.cache_creation_input_tokens;
  return out;
}

/** Maps a Message to the gateway's completion; anything but a message with content is malformed (502). */
export function fromAnthropicMessage(message: AnthropicMessage): ChatCompletion {
  if (!Array.isArray(message?.content) || (message.type ?? 'message') !== 'message') {
    throw new ProviderError('upstream_error', 'Anthropic: malformed answer (not a message with content)');
  }
  const blocks = message.content;
  const usage = usageOf(message.usage);
  return {
    text: blocks
      .filter((b) => b.type === 'text')
      .map((b) => b.text ?? '')
      .join(''),
    toolCalls: blocks
      .filter((b) => b.type === 'tool_use')
      .map((b) => ({ id: b.id ?? '', name: b.name ?? '', arguments: JSON.stringify(b.input ?? {}) })),
    finishReason: finishReasonOf(message.stop_reason),
    usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, ...usage },
    ...thinkingOf(blocks),
    ...(message.stop_sequence ? { stopSequence: message.stop_sequence } : {}),
  };
}

/** The reasoning blocks of a message, unchanged (their signatures must survive), when it has any. */
function thinkingOf(blocks: NonNullable<AnthropicMessage['content']>): { thinking?: ThinkingBlock[] } {
  const thinking = blocks.flatMap((b): ThinkingBlock[] => {
    if (b.type === 'thinking') return [{ type: 'thinking', thinking: b.thinking ?? '', signature: b.signature ?? '' }];
    if (b.type === 'redacted_thinking') return [{ type: 'redacted_thinking', data: b.data ?? '' }];
    return [];
  });
  return thinking.length > 0 ? { thinking } : {};
}

/** What the stream decoder remembers: which content blocks are tool calls. */
export interface AnthropicStreamState {
  toolIndexByBlock: Map<number, number>;
}

/** A fresh decoder state for one stream. */
export function newAnthropicStreamState(): AnthropicStreamState {
  return { toolIndexByBlock: new Map() };
}

/** One parsed server-sent event of a Messages stream. */
export interface AnthropicStreamEvent {
  type: string;
  index?: number;
  message?: AnthropicMessage;
  content_block?: { type: string; id?: string; name?: string; data?: string };
  delta?: {
    type?: string;
    text?: string;
    partial_json?: string;
    thinking?: string;
    signature?: string;
    stop_reason?: string | null;
    stop_sequence?: string | null;
  };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

const ERROR_STATUS: Record<string, number> = {
  overloaded_error: 529,
  rate_limit_error: 429,
  api_error: 500,
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
};

/**
 * The gateway's stream events for one Messages stream event. Input and cache tokens arrive in
 * `message_start`, output tokens (cumulative) in `message_delta`; an `error` event is thrown.
 *
 * @example
 * for await (const m of serverSentEvents(...)) yield* fromAnthropicStreamEvent(state, JSON.parse(m.data));
 */
export function fromAnthropicStreamEvent(state: AnthropicStreamState, event: AnthropicStreamEvent): ChatStreamEvent[] {
  switch (event.type) {
    case 'message_start':
      return [{ type: 'usage', usage: usageOf(event.message?.usage) }];
    case 'content_block_start': {
      const block = event.content_block;
      if (block?.type === 'redacted_thinking') return [{ type: 'redacted_thinking', data: block.data ?? '' }];
      if (block?.type !== 'tool_use') return [];
      const index = state.toolIndexByBlock.size;
      state.toolIndexByBlock.set(event.index ?? index, index);
      return [{ type: 'tool_call_start', index, id: block.id ?? '', name: block.name ?? '' }];
    }
    case 'content_block_delta': {
      const delta = event.delta;
      if (delta?.type === 'text_delta' && delta.text) return [{ type: 'text', text: delta.text }];
      if (delta?.type === 'thinking_delta' && delta.thinking) return [{ type: 'thinking', text: delta.thinking }];
      if (delta?.type === 'signature_delta' && delta.signature) {
        return [{ type: 'thinking_signature', signature: delta.signature }];
      }
      if (delta?.type === 'input_json_delta' && delta.partial_json) {
        const index = state.toolIndexByBlock.get(event.index ?? -1);
        return index === undefined ? [] : [{ type: 'tool_call_delta', index, arguments: delta.partial_json }];
      }
      return [];
    }
    case 'message_delta':
      return [
        ...(event.delta?.stop_reason
          ? [
              {
                type: 'finish' as const,
                finishReason: finishReasonOf(event.delta.stop_reason),
                ...(event.delta.stop_sequence ? { stopSequence: event.delta.stop_sequence } : {}),
              },
            ]
          : []),
        { type: 'usage', usage: usageOf(event.usage) },
      ];
    case 'error': {
      const status = ERROR_STATUS[event.error?.type ?? ''] ?? 500;
      throw new ProviderError(failureOfStatus(status), `Anthropic: ${event.error?.message ?? 'stream error'}`, {
        upstreamStatus: status,
      });
    }
    default:
      return [];
  }
}
