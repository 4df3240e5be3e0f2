import type { ConverseCommandOutput, StopReason, TokenUsage as BedrockUsage } from '@aws-sdk/client-bedrock-runtime';
import type { ChatCompletion, FinishReason, TokenUsage, ToolCall } from '../../chat/types';

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
  const blocks = output.output?.message?.content ?? [];
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
