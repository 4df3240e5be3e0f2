import type { ChatCompletion, ChatStreamEvent } from '../chat/types';
import type { CompiledPolicy } from '../policy/engine';
import { RestoringChannel, type Redactor } from '../policy/redactor';

/**
 * Reversible redaction, the answer's side: values a `redact_reversible` rule replaced in the
 * prompt are put back into the answer's text and tool-call arguments, for the keys the profile
 * names (`restoreFor`). The provider only ever saw the placeholders; the audit keeps them (its
 * excerpts are taken before this step); reasoning blocks keep them too, since their signatures
 * cover the text the model wrote.
 */

/** Whether a request's answer gets its reversibly redacted values back. */
export function restoresAnswer(policy: CompiledPolicy, redactor: Redactor, keyId: string): boolean {
  return redactor.restores && policy.restoresFor(keyId);
}

/**
 * A completion with its placeholders put back.
 *
 * @example
 * restoreCompletion(completion, redactor).text // 'Write to bob@example.com.'
 */
export function restoreCompletion(completion: ChatCompletion, redactor: Redactor): ChatCompletion {
  return {
    ...completion,
    text: redactor.restore(completion.text),
    toolCalls: completion.toolCalls.map((call) => ({ ...call, arguments: redactor.restore(call.arguments) })),
  };
}

/**
 * A stream with its placeholders put back, also those split across deltas: the text and each
 * tool call's arguments are their own channel, flushed before the finish event (and at the end of
 * a stream that has none).
 *
 * @example
 * for await (const event of restoreEvents(filtered, redactor)) send(event);
 */
export async function* restoreEvents(
  events: AsyncIterable<ChatStreamEvent>,
  redactor: Redactor,
): AsyncGenerator<ChatStreamEvent> {
  const text = new RestoringChannel(redactor);
  const tools = new Map<number, RestoringChannel>();
  function* flush(): Generator<ChatStreamEvent> {
    const rest = text.end();
    if (rest) yield { type: 'text', text: rest };
    for (const [index, channel] of tools) {
      const args = channel.end();
      if (args) yield { type: 'tool_call_delta', index, arguments: args };
    }
  }
  for await (const event of events) {
    if (event.type === 'text') {
      const released = text.push(event.text);
      if (released) yield { type: 'text', text: released };
    } else if (event.type === 'tool_call_delta') {
      let channel = tools.get(event.index);
      if (!channel) tools.set(event.index, (channel = new RestoringChannel(redactor)));
      const released = channel.push(event.arguments);
      if (released) yield { ...event, arguments: released };
    } else {
      if (event.type === 'finish') yield* flush();
      yield event;
    }
  }
  yield* flush();
}
