import type {
  ConverseCommandOutput,
  ConverseStreamOutput,
  StopReason,
  TokenUsage as BedrockUsage,
} from '@aws-sdk/client-bedrock-runtime';
import type { ChatCompletion, ChatStreamEvent, FinishReason, TokenUsage, ToolCall } from '../../chat/types';
import { ProviderError } from '../errors';
import { toProviderError } from './errors';

const FINISH_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  guardrail_intervened: 'content_filter',
  content_filtered: 'content_filter',
};

/**
 * OpenAI's finish reason for a Converse stop reason; unknown future reasons read as `stop`.
 *
 * @example
 * finishReasonOf('max_tokens') // 'length'
 */
export function finishReasonOf(stopReason: StopReason | string | undefined): FinishReason {
  return (stopReason && FINISH_REASONS[stopReason]) || 'stop';
}

/** The gateway's token usage for Converse usage (which reports cache reads and writes apart). */
export function usageOf(usage: BedrockUsage | undefined): TokenUsage {
  return {
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    cacheReadTokens: usage?.cacheReadInputTokens ?? 0,
    cacheWriteTokens: usage?.cacheWriteInputTokens ?? 0,
  };
}

/**
 * Maps a Converse response to the gateway's completion.
 *
 * @example
 * const completion = fromConverseOutput(await client.send(new ConverseCommand(input)));
 */
export function fromConverseOutput(output: ConverseCommandOutput): ChatCompletion {
  const blocks = output.output?.message?.content;
  if (!Array.isArray(blocks)) {
    throw new ProviderError('upstream_error', 'Bedrock: malformed answer (no output message)');
  }
  const text = blocks.map((block) => block.text ?? '').join('');
  const toolCalls: ToolCall[] = blocks
    .filter((block) => block.toolUse)
    .map((block) => ({
      id: block.toolUse!.toolUseId ?? '',
      name: block.toolUse!.name ?? '',
      arguments: JSON.stringify(block.toolUse!.input ?? {}),
    }));
  return { text, toolCalls, finishReason: finishReasonOf(output.stopReason), usage: usageOf(output.usage) };
}

/** What the stream decoder remembers between events: which content blocks are tool calls. */
export interface ConverseStreamState {
  toolIndexByBlock: Map<number, number>;
}

/** A fresh decoder state for one stream. */
export function newConverseStreamState(): ConverseStreamState {
  return { toolIndexByBlock: new Map() };
}

const STREAM_EXCEPTIONS = [
  'internalServerException',
  'modelStreamErrorException',
  'validationException',
  'throttlingException',
  'serviceUnavailableException',
] as const;

/**
 * The gateway's stream events for one ConverseStream event. Tool calls are numbered in the
 * order they start (OpenAI's `index`), not by Bedrock's content block index, which also counts
 * text blocks. Exceptions delivered as events are thrown as provider errors.
 *
 * @example
 * for await (const event of output.stream) yield* fromConverseStreamEvent(state, event);
 */
export function fromConverseStreamEvent(state: ConverseStreamState, event: ConverseStreamOutput): ChatStreamEvent[] {
  for (const name of STREAM_EXCEPTIONS) {
    const exception = (event as unknown as Record<string, { message?: string } | undefined>)[name];
    if (exception) {
      throw toProviderError({ name: name[0]!.toUpperCase() + name.slice(1), message: exception.message });
    }
  }
  const toolUse = event.contentBlockStart?.start?.toolUse;
  if (toolUse) {
    const index = state.toolIndexByBlock.size;
    state.toolIndexByBlock.set(event.contentBlockStart!.contentBlockIndex ?? index, index);
    return [{ type: 'tool_call_start', index, id: toolUse.toolUseId ?? '', name: toolUse.name ?? '' }];
  }
  const delta = event.contentBlockDelta?.delta;
  if (delta?.text !== undefined) return delta.text ? [{ type: 'text', text: delta.text }] : [];
  if (delta?.toolUse?.input !== undefined) {
    const index = state.toolIndexByBlock.get(event.contentBlockDelta!.contentBlockIndex ?? -1);
    return index === undefined ? [] : [{ type: 'tool_call_delta', index, arguments: delta.toolUse.input }];
  }
  if (event.messageStop) return [{ type: 'finish', finishReason: finishReasonOf(event.messageStop.stopReason) }];
  if (event.metadata?.usage) return [{ type: 'usage', usage: usageOf(event.metadata.usage) }];
  return [];
}
