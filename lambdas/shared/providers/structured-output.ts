import type { ChatCompletion, ChatRequest, ChatStreamEvent } from '../chat/types';
import { ProviderError } from './errors';

/** Name of the tool that carries a JSON answer when no schema name is given (`json_object`). */
export const JSON_RESPONSE_TOOL = 'json_response';

/**
 * For providers without a native JSON mode (Bedrock Converse, Anthropic Messages), OpenAI's
 * `response_format` is honoured by forcing one tool whose input schema is the requested schema:
 * the model must answer with arguments that match it, and the adapter returns those arguments as
 * the message text. Returns the rewritten request and the tool's name, or the request unchanged.
 *
 * @example
 * const { request: forced, toolName } = withStructuredOutputTool(request);
 */
export function withStructuredOutputTool(request: ChatRequest): { request: ChatRequest; toolName?: string } {
  const format = request.responseFormat;
  if (!format || format.type === 'text') return { request };
  if (request.tools && request.tools.length > 0) {
    throw new ProviderError(
      'invalid_request',
      'response_format together with tools is not supported by this provider; send one or the other',
    );
  }
  const toolName = format.type === 'json_schema' ? format.name : JSON_RESPONSE_TOOL;
  const parameters = format.type === 'json_schema' ? format.schema : { type: 'object' };
  return {
    toolName,
    request: {
      ...request,
      tools: [{ name: toolName, description: 'Respond with a JSON value that matches this schema.', parameters }],
      toolChoice: { name: toolName },
    },
  };
}

/**
 * The completion with the forced tool's arguments as its text, as OpenAI returns a JSON-mode answer.
 *
 * @example
 * return toolName ? structuredOutputAsText(completion, toolName) : completion;
 */
export function structuredOutputAsText(completion: ChatCompletion, toolName: string): ChatCompletion {
  const call = completion.toolCalls.find((c) => c.name === toolName);
  if (!call) return completion;
  return {
    ...completion,
    text: completion.text + call.arguments,
    toolCalls: completion.toolCalls.filter((c) => c !== call),
    finishReason: completion.finishReason === 'tool_calls' ? 'stop' : completion.finishReason,
  };
}

/**
 * The streamed counterpart: the forced tool's argument fragments become text deltas.
 *
 * @example
 * yield* structuredStreamAsText(events, toolName);
 */
export async function* structuredStreamAsText(
  events: AsyncIterable<ChatStreamEvent>,
  toolName: string,
): AsyncGenerator<ChatStreamEvent> {
  const forcedIndexes = new Set<number>();
  for await (const event of events) {
    if (event.type === 'tool_call_start' && event.name === toolName) {
      forcedIndexes.add(event.index);
    } else if (event.type === 'tool_call_delta' && forcedIndexes.has(event.index)) {
      yield { type: 'text', text: event.arguments };
    } else if (event.type === 'finish' && event.finishReason === 'tool_calls' && forcedIndexes.size > 0) {
      yield { type: 'finish', finishReason: 'stop' };
    } else {
      yield event;
    }
  }
}
