import type { ServedStreamEvent } from '../../exchange/metered-stream';
import { gatewayField, openAiUsage, type GatewayFacts } from './response';
import type { FinishReason } from '../../chat/types';

/** Fixed facts of one streamed response. */
export interface ChunkEncoderOptions {
  id: string;
  created: number;
  model: string;
  /** `stream_options.include_usage`: end with a usage chunk, as OpenAI does. */
  includeUsage: boolean;
  /** The gateway facts known when the stream starts; cost and latency are added at the end. */
  facts: Omit<GatewayFacts, 'costPicos' | 'latencyMs' | 'policy'>;
}

/** One server-sent event line pair, as OpenAI frames them. */
export function sseFrame(data: unknown): string {
  return `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

/**
 * Turns the gateway's stream events into OpenAI `chat.completion.chunk` frames, exactly as
 * OpenAI streams them: a first chunk with the assistant role, content and tool-call deltas, a
 * chunk with the finish reason, the usage chunk (`choices: []`) when asked for, then
 * `data: [DONE]`. A stream that broke off ends with an `error` frame (which OpenAI's SDKs raise)
 * and no `[DONE]`. Pure state machine: feed it events, get frames.
 *
 * @example
 * const encode = createChunkEncoder(options);
 * for await (const event of start.events) for (const frame of encode(event)) write(frame);
 */
export function createChunkEncoder(options: ChunkEncoderOptions): (event: ServedStreamEvent) => string[] {
  let roleSent = false;
  let finishSent = false;
  const base = () => ({
    id: options.id,
    object: 'chat.completion.chunk',
    created: options.created,
    model: options.model,
    system_fingerprint: null,
  });
  const chunk = (delta: Record<string, unknown>, finishReason: FinishReason | null = null) => {
    const frames: string[] = [];
    if (!roleSent) {
      roleSent = true;
      frames.push(
        sseFrame({
          ...base(),
          choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
          usage: options.includeUsage ? null : undefined,
        }),
      );
    }
    frames.push(
      sseFrame({
        ...base(),
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        usage: options.includeUsage ? null : undefined,
      }),
    );
    return frames;
  };

  return function encode(event) {
    switch (event.type) {
      case 'text':
        return chunk({ content: event.text });
      case 'tool_call_start':
        return chunk({
          tool_calls: [
            { index: event.index, id: event.id, type: 'function', function: { name: event.name, arguments: '' } },
          ],
        });
      case 'tool_call_delta':
        return chunk({ tool_calls: [{ index: event.index, function: { arguments: event.arguments } }] });
      case 'finish':
        if (finishSent) return [];
        finishSent = true;
        return chunk({}, event.finishReason);
      // Chat Completions has no place for Anthropic's reasoning blocks (only models behind
      // the Messages face produce them there).
      case 'usage':
      case 'thinking':
      case 'thinking_signature':
      case 'redacted_thinking':
        return [];
      case 'settled': {
        const frames = finishSent ? [] : ((finishSent = true), chunk({}, 'stop'));
        if (options.includeUsage) {
          frames.push(
            sseFrame({
              ...base(),
              choices: [],
              usage: openAiUsage(event.usage),
              gateway: gatewayField({
                ...options.facts,
                costPicos: event.cost.totalPicos,
                latencyMs: event.latencyMs,
                policy: event.policy,
              }),
            }),
          );
        }
        frames.push(sseFrame('[DONE]'));
        return frames;
      }
      case 'failed':
        return [sseFrame(event.error.toBody())];
    }
  };
}
