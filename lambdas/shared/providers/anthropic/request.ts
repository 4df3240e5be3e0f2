import type {
  CacheControl,
  ChatMessage,
  ChatRequest,
  ContentPart,
  ImagePart,
  ThinkingConfig,
  ToolChoice,
} from '../../chat/types';

type Block = Record<string, unknown>;

function parseInput(text: string): unknown {
  try {
    return JSON.parse(text === '' ? '{}' : text);
  } catch {
    return { arguments: text };
  }
}

function toolChoiceOf(choice: ToolChoice | undefined, parallel: boolean | undefined) {
  const single = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined) return parallel === false ? { type: 'auto', ...single } : undefined;
  if (choice === 'auto') return { type: 'auto', ...single };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any', ...single };
  return { type: 'tool', name: choice.name, ...single };
}

function thinkingOf(thinking: ThinkingConfig | undefined) {
  if (!thinking) return undefined;
  if (thinking.type === 'disabled') return { type: 'disabled' };
  const display = thinking.display ? { display: thinking.display } : {};
  if (thinking.type === 'adaptive') return { type: 'adaptive', ...display };
  return { type: 'enabled', budget_tokens: thinking.budgetTokens, ...display };
}

/** `cache_control` when the block carries one. */
function cached(cacheControl: CacheControl | undefined): Block {
  return cacheControl ? { cache_control: cacheControl } : {};
}

function imageBlock(part: ImagePart): Block {
  return {
    type: 'image',
    source: { type: 'base64', media_type: part.mediaType, data: part.base64 },
    ...cached(part.cacheControl),
  };
}

function contentBlock(part: ContentPart): Block {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text, ...cached(part.cacheControl) };
    case 'image':
      return imageBlock(part);
    case 'document':
      return {
        type: 'document',
        source:
          part.source.kind === 'pdf'
            ? { type: 'base64', media_type: 'application/pdf', data: part.source.base64 }
            : { type: 'text', media_type: 'text/plain', data: part.source.text },
        ...(part.title !== undefined ? { title: part.title } : {}),
        ...(part.context !== undefined ? { context: part.context } : {}),
        ...(part.citations !== undefined ? { citations: { enabled: part.citations } } : {}),
        ...cached(part.cacheControl),
      };
  }
}

/** The blocks of an assistant turn: reasoning first, then text, then tool calls; the breakpoint on the last. */
function assistantBlocks(message: Extract<ChatMessage, { role: 'assistant' }>): Block[] {
  const blocks: Block[] = [
    ...(message.thinking ?? []).map((block): Block => ({ ...block })),
    ...(message.content ? [{ type: 'text', text: message.content }] : []),
    ...message.toolCalls.map((call) => ({
      type: 'tool_use',
      id: call.id,
      name: call.name,
      input: parseInput(call.arguments),
    })),
  ];
  const last = blocks[blocks.length - 1];
  if (last && message.cacheControl) last.cache_control = message.cacheControl;
  return blocks;
}

function toolResultBlock(message: Extract<ChatMessage, { role: 'tool' }>): Block {
  const images = message.images ?? [];
  return {
    type: 'tool_result',
    tool_use_id: message.toolCallId,
    content:
      images.length === 0 && !message.contentAsBlocks
        ? message.content
        : [...(message.content ? [{ type: 'text', text: message.content }] : []), ...images.map(imageBlock)],
    ...(message.isError ? { is_error: true } : {}),
    ...cached(message.cacheControl),
  };
}

/**
 * A turn that is one text the caller sent as a bare string, as that string; a marker block
 * merged with other blocks (consecutive turns of one role) is an ordinary text block.
 */
function bareText(content: Block[]): string | undefined {
  const [only] = content;
  if (content.length === 1 && only?.bare === true) return only.text as string;
  for (const block of content) delete block.bare;
  return undefined;
}

/** The system prompt: one string, or blocks when a breakpoint must sit on one of them. */
function systemOf(request: ChatRequest): string | Block[] | undefined {
  const system = request.messages.filter((m) => m.role === 'system');
  if (system.length === 0) return undefined;
  if (!system.some((m) => m.cacheControl)) return system.map((m) => m.content).join('\n\n');
  return system.map((m) => ({ type: 'text', text: m.content, ...cached(m.cacheControl) }));
}

/**
 * Maps the gateway's request to the body of Anthropic's Messages API, shared by Anthropic's own
 * API and Claude on Bedrock (InvokeModel): system apart, images and documents as base64 sources,
 * tool calls as `tool_use` blocks, tool results as `tool_result` blocks in user turns, earlier
 * reasoning blocks unchanged, cache breakpoints where the caller put them, and consecutive turns
 * of one role merged (the API wants them alternating).
 *
 * @example
 * const body = anthropicMessagesBody(request); // + model and stream (Anthropic) or anthropic_version (Bedrock)
 */
export function anthropicMessagesBody(request: ChatRequest): Record<string, unknown> {
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
        break;
      case 'user': {
        const only = message.content[0];
        const bare = message.contentAsString && message.content.length === 1 && only?.type === 'text';
        push(
          'user',
          bare && !only.cacheControl
            ? [{ type: 'text', text: only.text, bare: true }]
            : message.content.map(contentBlock),
        );
        break;
      }
      case 'assistant':
        push('assistant', assistantBlocks(message));
        break;
      case 'tool':
        push('user', [toolResultBlock(message)]);
        break;
    }
  }
  return {
    max_tokens: request.maxOutputTokens,
    messages: messages.map(({ role, content }) => ({ role, content: bareText(content) ?? content })),
    system: systemOf(request),
    temperature: request.temperature,
    top_p: request.topP,
    top_k: request.topK,
    stop_sequences: request.stop,
    tools: request.tools?.map((tool) =>
      tool.anthropicType
        ? tool.anthropicType.definition
        : {
            name: tool.name,
            description: tool.description,
            input_schema: tool.parameters,
            ...cached(tool.cacheControl),
          },
    ),
    tool_choice: request.tools ? toolChoiceOf(request.toolChoice, request.parallelToolCalls) : undefined,
    thinking: thinkingOf(request.thinking),
  };
}

/**
 * The body for Anthropic's own API: the Messages body with the model, the end user and the
 * Messages parameters the gateway forwards without modelling them.
 *
 * @example
 * const body = toAnthropicBody(request, 'claude-sonnet-4-20250514', true);
 */
export function toAnthropicBody(request: ChatRequest, model: string, stream: boolean) {
  return {
    model,
    ...anthropicMessagesBody(request),
    metadata: request.user ? { user_id: request.user } : undefined,
    ...request.anthropicExtras,
    stream: stream || undefined,
  };
}

/**
 * The body of Anthropic's count_tokens: what the model would read (messages, system, tools, tool
 * choice, thinking), without the generation controls it refuses.
 *
 * @example
 * countTokensBody(request, 'claude-sonnet-4-6') // { model, messages, system, tools, ... }
 */
export function countTokensBody(request: ChatRequest, model: string): Record<string, unknown> {
  const { messages, system, tools, tool_choice, thinking } = anthropicMessagesBody(request);
  return { model, messages, system, tools, tool_choice, thinking };
}
