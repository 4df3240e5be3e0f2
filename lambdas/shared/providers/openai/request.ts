import type { ChatRequest, ResponseFormat, ToolChoice } from '../../chat/types';
import type { OpenAiOptions } from './options';

function toolChoiceOf(choice: ToolChoice | undefined) {
  if (choice === undefined || typeof choice === 'string') return choice;
  return { type: 'function' as const, function: { name: choice.name } };
}

function responseFormatOf(format: ResponseFormat | undefined) {
  if (!format || format.type !== 'json_schema') return format;
  return {
    type: 'json_schema' as const,
    json_schema: { name: format.name, schema: format.schema, strict: format.strict },
  };
}

/**
 * Maps the gateway's request back to OpenAI's Chat Completions body (the gateway's shape was
 * parsed from it, so this is nearly the identity). Streams always ask for the usage chunk,
 * whatever the client asked: the gateway meters every stream.
 *
 * @example
 * const body = toOpenAiBody(request, 'gpt-4o-mini', options, true);
 */
export function toOpenAiBody(request: ChatRequest, model: string, options: OpenAiOptions, stream: boolean) {
  const messages = request.messages.map((message) => {
    switch (message.role) {
      case 'system':
        return { role: 'system', content: message.content };
      case 'user':
        return {
          role: 'user',
          content:
            message.content.length === 1 && message.content[0]!.type === 'text'
              ? message.content[0]!.text
              : message.content.map((part) =>
                  part.type === 'text'
                    ? { type: 'text', text: part.text }
                    : { type: 'image_url', image_url: { url: `data:${part.mediaType};base64,${part.base64}` } },
                ),
        };
      case 'assistant':
        return {
          role: 'assistant',
          content: message.content === '' && message.toolCalls.length > 0 ? null : message.content,
          ...(message.toolCalls.length > 0
            ? {
                tool_calls: message.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }
            : {}),
        };
      case 'tool':
        return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    }
  });
  const toolChoice = toolChoiceOf(request.toolChoice);
  const responseFormat = responseFormatOf(request.responseFormat);
  return {
    model,
    messages,
    [options.maxTokensParameter]: request.maxOutputTokens,
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
    ...(request.topP !== undefined ? { top_p: request.topP } : {}),
    ...(request.stop ? { stop: request.stop } : {}),
    ...(request.tools
      ? {
          tools: request.tools.map((tool) => ({
            type: 'function',
            function: {
              name: tool.name,
              ...(tool.description ? { description: tool.description } : {}),
              parameters: tool.parameters,
            },
          })),
        }
      : {}),
    ...(toolChoice ? { tool_choice: toolChoice } : {}),
    ...(responseFormat ? { response_format: responseFormat } : {}),
    ...(request.user ? { user: request.user } : {}),
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  };
}
