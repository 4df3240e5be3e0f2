import type { ChatCompletion, ChatStreamEvent, ThinkingBlock, ToolCall } from '../chat/types';
import { ZERO_USAGE } from '../chat/types';

/**
 * Builds the completion a stream delivered from its events, so a streamed answer is stored in
 * the same neutral shape as a non-streamed one (and a face can serve it either way).
 *
 * @example
 * const answer = new StreamedAnswer();
 * for (const event of events) answer.add(event);
 * answer.completion() // { text, toolCalls, finishReason, usage, thinking? }
 */
export class StreamedAnswer {
  private text = '';
  private readonly toolCalls: ToolCall[] = [];
  private readonly thinking: ThinkingBlock[] = [];
  private openThinking = '';
  private finish: Extract<ChatStreamEvent, { type: 'finish' }> | undefined;
  private usage = { ...ZERO_USAGE };

  add(event: ChatStreamEvent): void {
    switch (event.type) {
      case 'text':
        this.text += event.text;
        return;
      case 'tool_call_start':
        this.toolCalls[event.index] = { id: event.id, name: event.name, arguments: '' };
        return;
      case 'tool_call_delta': {
        const call = this.toolCalls[event.index];
        if (call) call.arguments += event.arguments;
        return;
      }
      case 'thinking':
        this.openThinking += event.text;
        return;
      case 'thinking_signature':
        this.thinking.push({ type: 'thinking', thinking: this.openThinking, signature: event.signature });
        this.openThinking = '';
        return;
      case 'redacted_thinking':
        this.thinking.push({ type: 'redacted_thinking', data: event.data });
        return;
      case 'finish':
        this.finish = event;
        return;
      case 'usage':
        // Usage events carry cumulative counts of the fields they name.
        this.usage = { ...this.usage, ...event.usage };
        return;
    }
  }

  /** The completion, or undefined when the stream never said how it finished (it broke off). */
  completion(): ChatCompletion | undefined {
    if (!this.finish) return undefined;
    return {
      text: this.text,
      toolCalls: this.toolCalls.filter((call) => call !== undefined),
      finishReason: this.finish.finishReason,
      usage: this.usage,
      ...(this.thinking.length > 0 ? { thinking: this.thinking } : {}),
      ...(this.finish.stopSequence !== undefined ? { stopSequence: this.finish.stopSequence } : {}),
    };
  }
}

/**
 * A stored completion as the stream events a provider would have sent: reasoning blocks, the
 * text, the tool calls, the finish. No usage events: a replay processes no tokens.
 *
 * @example
 * for (const event of replayEvents(cached)) yield event;
 */
export function replayEvents(completion: ChatCompletion): ChatStreamEvent[] {
  const events: ChatStreamEvent[] = [];
  for (const block of completion.thinking ?? []) {
    if (block.type === 'thinking') {
      events.push(
        { type: 'thinking', text: block.thinking },
        { type: 'thinking_signature', signature: block.signature },
      );
    } else {
      events.push({ type: 'redacted_thinking', data: block.data });
    }
  }
  if (completion.text !== '') events.push({ type: 'text', text: completion.text });
  completion.toolCalls.forEach((call, index) => {
    events.push({ type: 'tool_call_start', index, id: call.id, name: call.name });
    if (call.arguments !== '') events.push({ type: 'tool_call_delta', index, arguments: call.arguments });
  });
  events.push({
    type: 'finish',
    finishReason: completion.finishReason,
    ...(completion.stopSequence !== undefined ? { stopSequence: completion.stopSequence } : {}),
  });
  return events;
}
