import type {
  ContentBlock,
  ImageBlock,
  ConverseCommandInput,
  ImageFormat,
  Message,
  SystemContentBlock,
  Tool,
  ToolChoice as BedrockToolChoice,
} from '@aws-sdk/client-bedrock-runtime';
import type { DocumentType } from '@smithy/types';
import type { ChatRequest, ImageMediaType, ImagePart, ToolChoice } from '../../chat/types';
import { ProviderError } from '../errors';

const IMAGE_FORMATS: Record<ImageMediaType, ImageFormat> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

function imageBlock(part: ImagePart): { image: ImageBlock } {
  return { image: { format: IMAGE_FORMATS[part.mediaType], source: { bytes: Buffer.from(part.base64, 'base64') } } };
}

function parseToolArguments(text: string): DocumentType {
  try {
    return JSON.parse(text === '' ? '{}' : text) as DocumentType;
  } catch {
    // The model produced invalid JSON earlier; hand it back as a string rather than failing the turn.
    return { arguments: text };
  }
}

function toolChoiceOf(choice: ToolChoice | undefined): BedrockToolChoice | undefined {
  if (choice === undefined || choice === 'auto' || choice === 'none')
    return choice === 'auto' ? { auto: {} } : undefined;
  if (choice === 'required') return { any: {} };
  return { tool: { name: choice.name } };
}

/**
 * Maps the gateway's request to a Converse request. Converse wants system text apart, tool
 * results inside user turns, and strictly alternating roles, so consecutive turns of the same
 * role (e.g. several tool results) are merged into one message.
 *
 * @example
 * const input = toConverseInput(request, 'us.amazon.nova-lite-v1:0');
 */
export function toConverseInput(request: ChatRequest, modelId: string): ConverseCommandInput {
  const system: SystemContentBlock[] = [];
  const messages: Message[] = [];
  const push = (role: 'user' | 'assistant', blocks: ContentBlock[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content!.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
        system.push({ text: message.content });
        break;
      case 'user':
        push(
          'user',
          message.content.map((part): ContentBlock => {
            if (part.type === 'text') return { text: part.text };
            // Refused before admission (providers/capabilities.ts): never sent to Converse.
            if (part.type === 'document')
              throw new ProviderError('invalid_request', 'Converse: document blocks are not supported');
            return imageBlock(part);
          }),
        );
        break;
      case 'assistant':
        push('assistant', [
          ...(message.content ? [{ text: message.content }] : []),
          ...message.toolCalls.map((call): ContentBlock => ({
            toolUse: { toolUseId: call.id, name: call.name, input: parseToolArguments(call.arguments) },
          })),
        ]);
        break;
      case 'tool':
        push('user', [
          {
            toolResult: {
              toolUseId: message.toolCallId,
              content: [{ text: message.content }, ...(message.images ?? []).map(imageBlock)],
              status: message.isError ? 'error' : undefined,
            },
          },
        ]);
        break;
    }
  }
  // Converse has no "none" tool choice: with `none` the tools are left out, unless the history
  // holds tool turns, which Converse only accepts alongside a tool configuration.
  const historyHasTools = request.messages.some(
    (m) => m.role === 'tool' || (m.role === 'assistant' && m.toolCalls.length > 0),
  );
  const offeredTools = request.toolChoice === 'none' && !historyHasTools ? undefined : request.tools;
  const tools: Tool[] | undefined = offeredTools?.map((tool) => ({
    toolSpec: {
      name: tool.name,
      description: tool.description,
      inputSchema: { json: tool.parameters as DocumentType },
    },
  }));
  const toolChoice = toolChoiceOf(request.toolChoice);
  return {
    modelId,
    messages,
    system: system.length > 0 ? system : undefined,
    inferenceConfig: {
      maxTokens: request.maxOutputTokens,
      temperature: request.temperature,
      topP: request.topP,
      stopSequences: request.stop,
    },
    toolConfig: tools && tools.length > 0 ? { tools, toolChoice } : undefined,
  };
}
