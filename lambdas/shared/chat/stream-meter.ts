import { BYTES_PER_TOKEN } from './token-estimate';
import type { ChatCompletion, ChatStreamEvent, FinishReason, TokenUsage } from './types';

/**
 * Counts what a stream delivered, so that every stream is priced: from the provider's own
 * usage report when the stream completed, and from what reached the client when it did not
 * (upstream cut-off, client gone). Delivered output is estimated generously (UTF-8 bytes / 3,
 * as for prompts), because a provider bills at least what it sent; reported counts are never
 * undercut.
 */
export class StreamMeter {
  private reported: Partial<TokenUsage> = {};
  private deliveredBytes = 0;
  /** The finish reason the upstream gave, if it got that far. */
  finishReason: FinishReason | undefined;

  /** Notes one event that reached the client. */
  observe(event: ChatStreamEvent): void {
    switch (event.type) {
      case 'text':
      case 'thinking':
        // Reasoning is billed as output like the answer's text.
        this.deliveredBytes += Buffer.byteLength(event.text, 'utf8');
        break;
      case 'tool_call_start':
        this.deliveredBytes += Buffer.byteLength(event.name, 'utf8');
        break;
      case 'tool_call_delta':
        this.deliveredBytes += Buffer.byteLength(event.arguments, 'utf8');
        break;
      case 'finish':
        this.finishReason = event.finishReason;
        break;
      case 'usage':
        this.reported = { ...this.reported, ...event.usage };
        break;
    }
  }

  /**
   * The usage to bill. A completed stream with a reported output count is billed as reported;
   * otherwise output is the larger of the reported count and the estimate of what was delivered,
   * and input falls back to the prompt estimate when the provider never said.
   *
   * @example
   * meter.usage(estimatePromptTokens(request), completed)
   */
  usage(promptTokenEstimate: number, completed: boolean): TokenUsage {
    const deliveredEstimate = Math.ceil(this.deliveredBytes / BYTES_PER_TOKEN);
    const reportedOutput = this.reported.outputTokens;
    return {
      inputTokens: this.reported.inputTokens ?? promptTokenEstimate,
      outputTokens:
        completed && reportedOutput !== undefined ? reportedOutput : Math.max(reportedOutput ?? 0, deliveredEstimate),
      cacheReadTokens: this.reported.cacheReadTokens ?? 0,
      cacheWriteTokens: this.reported.cacheWriteTokens ?? 0,
    };
  }
}

/**
 * The usage to bill for a non-streamed answer. A provider that reports no input tokens, or no
 * output tokens for an answer that has text or tool calls, did not say (some OpenAI-compatible
 * servers omit `usage`): those counts fall back to the same generous estimates a stream uses,
 * so an answer is never served for free.
 *
 * @example
 * billedUsage(completion, estimatePromptTokens(request))
 */
export function billedUsage(completion: ChatCompletion, promptTokenEstimate: number): TokenUsage {
  const { usage } = completion;
  const promptReported = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens > 0;
  const answerBytes =
    Buffer.byteLength(completion.text, 'utf8') +
    completion.toolCalls.reduce(
      (bytes, call) => bytes + Buffer.byteLength(call.name, 'utf8') + Buffer.byteLength(call.arguments, 'utf8'),
      0,
    ) +
    (completion.thinking ?? []).reduce(
      (bytes, block) => bytes + Buffer.byteLength(block.type === 'thinking' ? block.thinking : block.data, 'utf8'),
      0,
    );
  return {
    ...usage,
    inputTokens: promptReported ? usage.inputTokens : promptTokenEstimate,
    outputTokens: usage.outputTokens > 0 ? usage.outputTokens : Math.ceil(answerBytes / BYTES_PER_TOKEN),
  };
}
