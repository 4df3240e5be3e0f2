import type { ChatRequest, ResponseFormat, ToolChoice } from '../../chat/types';
import type { OpenAiOptions } from './options';
import { ProviderError } from '../errors';

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
/** A request part this API cannot take, should one get past the capability check. */
function unsupportedPart(feature: string): ProviderError {
  return new ProviderError('invalid_request', `OpenAI-format providers do not support ${feature}`);
}

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
              : message.content.map((part) => {
                  if (part.type === 'text') return { type: 'text', text: part.text };
                  // Refused before admission (providers/capabilities.ts): never sent to this API.
                  if (part.type === 'document') throw unsupportedPart('document blocks');
                  return { type: 'image_url', image_url: { url: `data:${part.mediaType};base64,${part.base64}` } };
                }),
        };
      case 'assistant':
        return {
          role: 'assistant',
          content: message.content === '' && message.toolCalls.length > 0 ? null : message.content,
          tool_calls:
            message.toolCalls.length > 0
              ? message.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                }))
              : undefined,
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
    temperature: request.temperature,
    top_p: request.topP,
    stop: request.stop,
    tools: request.tools?.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.parameters },
    })),
    tool_choice: toolChoice,
    response_format: responseFormat,
    user: request.user,
    stream: stream || undefined,
    stream_options: stream ? { include_usage: true } : undefined,
  };
}
