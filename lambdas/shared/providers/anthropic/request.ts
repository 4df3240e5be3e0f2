import type { ChatRequest, ToolChoice } from '../../chat/types';

type Block = Record<string, unknown>;

function parseInput(text: string): unknown {
  try {
    return JSON.parse(text === '' ? '{}' : text);
  } catch {
    return { arguments: text };
  }
}

function toolChoiceOf(choice: ToolChoice | undefined) {
  if (choice === undefined) return undefined;
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  return { type: 'tool', name: choice.name };
}

/**
 * Maps the gateway's request to an Anthropic Messages body: system text apart, images as
 * base64 sources, tool calls as `tool_use` blocks, tool results as `tool_result` blocks in user
 * turns, and consecutive turns of one role merged (the API wants them alternating).
 *
 * @example
 * const body = toAnthropicBody(request, 'claude-sonnet-4-20250514', true);
 */
export function toAnthropicBody(request: ChatRequest, model: string, stream: boolean) {
  const system: string[] = [];
  const messages: { role: 'user' | 'assistant'; content: Block[] }[] = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        push(
          'user',
          message.content.map((part) =>
            part.type === 'text'
              ? { type: 'text', text: part.text }
              : { type: 'image', source: { type: 'base64', media_type: part.mediaType, data: part.base64 } },
          ),
        );
        break;
      case 'assistant':
        push('assistant', [
          ...(message.content ? [{ type: 'text', text: message.content }] : []),
          ...message.toolCalls.map((call) => ({
            type: 'tool_use',
            id: call.id,
            name: call.name,
            input: parseInput(call.arguments),
          })),
        ]);
        break;
      case 'tool':
        push('user', [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }]);
        break;
    }
  }
  const toolChoice = toolChoiceOf(request.toolChoice);
  return {
    model,
    max_tokens: request.maxOutputTokens,
    messages,
    system: system.length > 0 ? system.join('\n\n') : undefined,
    temperature: request.temperature,
    top_p: request.topP,
    stop_sequences: request.stop,
    tools: request.tools?.map((tool) => ({
      name: tool.name,
      description: tool.description,
      input_schema: tool.parameters,
    })),
    tool_choice: request.tools ? toolChoice : undefined,
    metadata: request.user ? { user_id: request.user } : undefined,
    stream: stream || undefined,
  };
}
