import type { FinishReason, TokenUsage } from '../../chat/types';
import type { ServedStreamEvent } from '../../exchange/metered-stream';
import { anthropicErrorBody } from '../../http/error-shapes';
import { anthropicUsage, stopReasonOf } from './response';

/** One server-sent event as Anthropic frames them: the event's type as `event:`, its JSON as `data:`. */
export function anthropicFrame(event: { type: string } & Record<string, unknown>): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** What the encoder needs to know about the message it streams. */
export interface MessageEncoderOptions {
  id: string;
  /** The catalog model that serves the stream. */
  model: string;
  requestId: string;
}

/** The content block being streamed: its index, kind, and (a thinking block) whether it is signed. */
interface OpenBlock {
  index: number;
  kind: 'text' | 'thinking' | 'tool_use';
  signed?: boolean;
  /** The gateway's index of the tool call (tool_use blocks). */
  toolIndex?: number;
}

/**
 * Encodes the exchange core's stream events as Anthropic's streaming events: `message_start`
 * (sent with the first content, so it carries the input tokens a provider reports up front) and
 * a `ping`; one `content_block_start/delta/stop` run per block (`thinking_delta` then
 * `signature_delta`; `text_delta`; `input_json_delta`); a `message_delta` with the stop reason
 * and the usage billed; `message_stop`. A failure mid-stream is an `error` event, as at Anthropic.
 *
 * @example
 * const encode = createMessageEncoder({ id: newMessageId(), model: 'claude-sonnet-4-6', requestId });
 * for await (const event of start.events) for (const frame of encode(event)) write(frame);
 */
export function createMessageEncoder(options: MessageEncoderOptions): (event: ServedStreamEvent) => string[] {
  let started = false;
  let usage: Partial<TokenUsage> = {};
  let nextIndex = 0;
  let open: OpenBlock | undefined;
  const toolBlocks = new Map<number, number>();
  let finish: { reason: FinishReason; stopSequence?: string } | undefined;

  const start = (frames: string[]) => {
    if (started) return;
    started = true;
    frames.push(
      anthropicFrame({
        type: 'message_start',
        message: {
          id: options.id,
          type: 'message',
          role: 'assistant',
          model: options.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: anthropicUsage({
            inputTokens: usage.inputTokens ?? 0,
            outputTokens: usage.outputTokens ?? 0,
            cacheReadTokens: usage.cacheReadTokens ?? 0,
            cacheWriteTokens: usage.cacheWriteTokens ?? 0,
          }),
        },
      }),
      anthropicFrame({ type: 'ping' }),
    );
  };
  const close = (frames: string[]) => {
    if (open) frames.push(anthropicFrame({ type: 'content_block_stop', index: open.index }));
    open = undefined;
  };
  /** Opens a block unless the right one is open; returns its index. */
  const ensure = (frames: string[], kind: 'text' | 'thinking'): number => {
    start(frames);
    if (open && open.kind === kind && !open.signed) return open.index;
    close(frames);
    open = { index: nextIndex++, kind };
    const block = kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
    frames.push(anthropicFrame({ type: 'content_block_start', index: open.index, content_block: block }));
    return open.index;
  };
  const delta = (index: number, payload: Record<string, unknown>) =>
    anthropicFrame({ type: 'content_block_delta', index, delta: payload });

  return function encode(event) {
    const frames: string[] = [];
    switch (event.type) {
      case 'usage':
        usage = { ...usage, ...event.usage };
        break;
      case 'thinking':
        frames.push(delta(ensure(frames, 'thinking'), { type: 'thinking_delta', thinking: event.text }));
        break;
      case 'thinking_signature': {
        frames.push(delta(ensure(frames, 'thinking'), { type: 'signature_delta', signature: event.signature }));
        open!.signed = true;
        break;
      }
      case 'redacted_thinking': {
        start(frames);
        close(frames);
        const index = nextIndex++;
        frames.push(
          anthropicFrame({
            type: 'content_block_start',
            index,
            content_block: { type: 'redacted_thinking', data: event.data },
          }),
          anthropicFrame({ type: 'content_block_stop', index }),
        );
        break;
      }
      case 'text':
        frames.push(delta(ensure(frames, 'text'), { type: 'text_delta', text: event.text }));
        break;
      case 'tool_call_start': {
        start(frames);
        close(frames);
        open = { index: nextIndex++, kind: 'tool_use', toolIndex: event.index };
        toolBlocks.set(event.index, open.index);
        frames.push(
          anthropicFrame({
            type: 'content_block_start',
            index: open.index,
            content_block: { type: 'tool_use', id: event.id, name: event.name, input: {} },
          }),
        );
        break;
      }
      case 'tool_call_delta': {
        const index = toolBlocks.get(event.index);
        if (index !== undefined) frames.push(delta(index, { type: 'input_json_delta', partial_json: event.arguments }));
        break;
      }
      case 'finish':
        finish = { reason: event.finishReason, stopSequence: event.stopSequence };
        break;
      case 'settled': {
        start(frames);
        close(frames);
        const reason = finish?.reason ?? 'stop';
        frames.push(
          anthropicFrame({
            type: 'message_delta',
            delta: {
              stop_reason: stopReasonOf(reason, finish?.stopSequence),
              stop_sequence: finish?.stopSequence ?? null,
            },
            usage: anthropicUsage(event.usage),
          }),
          anthropicFrame({ type: 'message_stop' }),
        );
        break;
      }
      case 'failed':
        frames.push(anthropicFrame(anthropicErrorBody(event.error, options.requestId)));
        break;
    }
    return frames;
  };
}
