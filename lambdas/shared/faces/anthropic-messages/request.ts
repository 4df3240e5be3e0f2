import * as z from 'zod';
import type {
  CacheControl,
  ChatMessage,
  ContentPart,
  ImageMediaType,
  ImagePart,
  ThinkingBlock,
  ThinkingConfig,
  ToolChoice,
  ToolDefinition,
} from '../../chat/types';
import { pdfPages } from '../../chat/token-estimate';
import type { ExchangeRequest, NeutralChat } from '../../exchange/exchange';
import { ERROR_CODES, invalidRequest } from '../../http/errors';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../http/json-depth';
import { parseWith } from '../../http/validation';

/**
 * Anthropic's Messages API request, as the gateway accepts it. The top level is strict, as at
 * Anthropic (an unknown parameter is a 400 naming it); content blocks drop fields they do not
 * need (`citations: null` on a text block an SDK passes back from an earlier answer).
 */
// Loose: newer betas add fields (a cache scope, say), which are passed on as sent.
const cacheControl = z.looseObject({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() });
const cache = { cache_control: cacheControl.nullable().optional() };

const textBlock = z.object({ type: z.literal('text'), text: z.string(), ...cache });
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const imageBlock = z.object({
  type: z.literal('image'),
  source: z.discriminatedUnion('type', [
    z.object({
      type: z.literal('base64'),
      media_type: z.enum(['image/png', 'image/jpeg', 'image/gif', 'image/webp']),
      data: base64,
    }),
    z.object({ type: z.literal('url'), url: z.string() }),
  ]),
  ...cache,
});
const documentBlock = z.object({
  type: z.literal('document'),
  source: z.discriminatedUnion('type', [
    z.object({ type: z.literal('base64'), media_type: z.literal('application/pdf'), data: base64 }),
    z.object({ type: z.literal('text'), media_type: z.literal('text/plain'), data: z.string() }),
    z.object({ type: z.literal('url'), url: z.string() }),
  ]),
  title: z.string().nullable().optional(),
  context: z.string().nullable().optional(),
  citations: z.object({ enabled: z.boolean().optional() }).nullable().optional(),
  ...cache,
});
const toolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textBlock, imageBlock]))]).optional(),
  is_error: z.boolean().optional(),
  ...cache,
});
// Adapters re-serialise tool inputs: bounded like a body's own JSON.
const toolInput = z.record(z.string(), z.unknown());
const toolUseBlock = z.object({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: toolInput,
  ...cache,
});
const thinkingBlock = z.object({ type: z.literal('thinking'), thinking: z.string(), signature: z.string() });
const redactedThinkingBlock = z.object({ type: z.literal('redacted_thinking'), data: z.string() });

const userBlock = z.discriminatedUnion('type', [textBlock, imageBlock, documentBlock, toolResultBlock]);
const assistantBlock = z.discriminatedUnion('type', [textBlock, toolUseBlock, thinkingBlock, redactedThinkingBlock]);

const message = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('user'), content: z.union([z.string(), z.array(userBlock)]) }),
  z.strictObject({ role: z.literal('assistant'), content: z.union([z.string(), z.array(assistantBlock)]) }),
]);

const toolName = z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, 'tool names are 1-128 letters, digits, _ or -');

/**
 * Anthropic-defined tools the client runs (bash, text editor, computer, memory): forwarded to
 * Claude as declared. Server tools (web search, web fetch, code execution, tool search) are
 * refused: Anthropic bills them per use, beyond tokens, which the gateway cannot price.
 */
const CLIENT_TOOL_TYPE = /^(bash|text_editor|computer|memory)_\d{8}$/;

const customTool = z.object({
  type: z.literal('custom').optional(),
  name: toolName,
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()),
  ...cache,
});
const typedTool = z.looseObject({ type: z.string(), name: toolName });

const toolChoice = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
  z.strictObject({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
  z.strictObject({ type: z.literal('tool'), name: toolName, disable_parallel_tool_use: z.boolean().optional() }),
  z.strictObject({ type: z.literal('none') }),
]);

const thinking = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('enabled'),
    budget_tokens: z.number().int().min(1024, 'budget_tokens must be at least 1024'),
    display: z.enum(['summarized', 'omitted']).optional(),
  }),
  z.strictObject({ type: z.literal('adaptive'), display: z.enum(['summarized', 'omitted']).optional() }),
  z.strictObject({ type: z.literal('disabled') }),
]);

const positiveInt = z.number().int().positive();

/** The fields of a request that say what the model reads (shared with count_tokens). */
const promptFields = {
  model: z.string().min(1).max(256),
  messages: z.array(message).min(1, 'messages: at least one message is required'),
  system: z.union([z.string(), z.array(textBlock)]).optional(),
  tools: z
    .array(z.union([customTool, typedTool]))
    .max(512)
    .optional(),
  tool_choice: toolChoice.optional(),
  thinking: thinking.optional(),
};

/**
 * Messages API parameters the gateway forwards to Anthropic's own API without modelling them:
 * none changes what a call can cost beyond its tokens (`context_management` only removes
 * context; `output_config` sets effort within `max_tokens`).
 */
const FORWARDED = ['context_management', 'output_config', 'service_tier'] as const;

/** The request body schema of `POST /v1/messages`. */
export const messagesRequestSchema = z.strictObject({
  ...promptFields,
  max_tokens: positiveInt,
  metadata: z.strictObject({ user_id: z.string().max(256).nullable().optional() }).optional(),
  stop_sequences: z.array(z.string().min(1)).max(16).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: positiveInt.optional(),
  context_management: z.record(z.string(), z.unknown()).optional(),
  output_config: z.record(z.string(), z.unknown()).optional(),
  service_tier: z.enum(['auto', 'standard_only']).optional(),
});

/** The request body schema of `POST /v1/messages/count_tokens`. */
export const countTokensRequestSchema = z.strictObject(promptFields);

/** A validated Messages request. */
export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

/** A validated count_tokens request. */
export type CountTokensRequest = z.infer<typeof countTokensRequestSchema>;

/**
 * Validates a parsed JSON body as a Messages request, or throws a 400 naming the first offending
 * parameter.
 *
 * @example
 * const body = parseMessagesRequest(parseJsonBody(request));
 */
export function parseMessagesRequest(body: unknown): MessagesRequest {
  return parseWith(messagesRequestSchema, body);
}

/**
 * Validates a parsed JSON body as a count_tokens request.
 *
 * @example
 * const body = parseCountTokensRequest(parseJsonBody(request));
 */
export function parseCountTokensRequest(body: unknown): CountTokensRequest {
  return parseWith(countTokensRequestSchema, body);
}

/** The neutral breakpoint of a block's `cache_control`. */
function cacheOf(block: { cache_control?: z.infer<typeof cacheControl> | null }): { cacheControl?: CacheControl } {
  return block.cache_control ? { cacheControl: block.cache_control } : {};
}

function unsupported(message: string, param: string) {
  return invalidRequest(message, { param, code: ERROR_CODES.unsupportedParameter });
}

function imagePart(block: z.infer<typeof imageBlock>, param: string): ImagePart {
  if (block.source.type !== 'base64') {
    throw unsupported('Images must be sent as base64 sources; the gateway does not fetch URLs.', `${param}.source`);
  }
  return {
    type: 'image',
    mediaType: block.source.media_type as ImageMediaType,
    base64: block.source.data,
    ...cacheOf(block),
  };
}

function textOfToolResult(content: z.infer<typeof toolResultBlock>['content']): string {
  if (content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .filter((block) => block.type === 'text')
    .map((block) => block.text)
    .join('\n');
}

/** A user turn: its tool results become tool messages, its other blocks one user message, in order. */
function userMessages(content: MessagesRequest['messages'][number]['content'], index: number): ChatMessage[] {
  if (typeof content === 'string') {
    return [{ role: 'user', content: [{ type: 'text', text: content }], contentAsString: true }];
  }
  const out: ChatMessage[] = [];
  let parts: ContentPart[] = [];
  const flush = () => {
    if (parts.length > 0) out.push({ role: 'user', content: parts });
    parts = [];
  };
  (content as z.infer<typeof userBlock>[]).forEach((block, blockIndex) => {
    const param = `messages[${index}].content[${blockIndex}]`;
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: block.text, ...cacheOf(block) });
        break;
      case 'image':
        parts.push(imagePart(block, param));
        break;
      case 'document': {
        if (block.source.type === 'url') {
          throw unsupported(
            'Documents must be sent as base64 or text sources; the gateway does not fetch URLs.',
            param,
          );
        }
        parts.push({
          type: 'document',
          source:
            block.source.type === 'base64'
              ? { kind: 'pdf', base64: block.source.data, pages: pdfPages(block.source.data) }
              : { kind: 'text', text: block.source.data },
          ...(block.title != null ? { title: block.title } : {}),
          ...(block.context != null ? { context: block.context } : {}),
          ...(block.citations?.enabled !== undefined ? { citations: block.citations.enabled } : {}),
          ...cacheOf(block),
        });
        break;
      }
      case 'tool_result': {
        flush();
        const images =
          typeof block.content === 'string' || block.content === undefined
            ? []
            : block.content.flatMap((inner, innerIndex) =>
                inner.type === 'image' ? [imagePart(inner, `${param}.content[${innerIndex}]`)] : [],
              );
        out.push({
          role: 'tool',
          toolCallId: block.tool_use_id,
          content: textOfToolResult(block.content),
          ...(block.is_error ? { isError: true } : {}),
          ...(images.length > 0 ? { images } : {}),
          ...(Array.isArray(block.content) ? { contentAsBlocks: true } : {}),
          ...cacheOf(block),
        });
        break;
      }
    }
  });
  flush();
  return out;
}

/** An assistant turn: reasoning blocks, text, tool calls; a breakpoint on any block marks the turn's last. */
function assistantMessage(content: MessagesRequest['messages'][number]['content'], index: number): ChatMessage {
  if (typeof content === 'string') return { role: 'assistant', content, toolCalls: [] };
  const blocks = content as z.infer<typeof assistantBlock>[];
  const thinkingBlocks: ThinkingBlock[] = [];
  let text = '';
  let cacheControl: CacheControl | undefined;
  const toolCalls = [];
  for (const [blockIndex, block] of blocks.entries()) {
    switch (block.type) {
      case 'thinking':
        thinkingBlocks.push({ type: 'thinking', thinking: block.thinking, signature: block.signature });
        break;
      case 'redacted_thinking':
        thinkingBlocks.push({ type: 'redacted_thinking', data: block.data });
        break;
      case 'text':
        text += block.text;
        cacheControl = block.cache_control ?? cacheControl;
        break;
      case 'tool_use': {
        const args = JSON.stringify(block.input);
        if (exceedsJsonDepth(args)) {
          throw invalidRequest(`input nests deeper than ${MAX_JSON_DEPTH} levels`, {
            param: `messages[${index}].content[${blockIndex}].input`,
          });
        }
        toolCalls.push({ id: block.id, name: block.name, arguments: args });
        cacheControl = block.cache_control ?? cacheControl;
        break;
      }
    }
  }
  return {
    role: 'assistant',
    content: text,
    toolCalls,
    ...(thinkingBlocks.length > 0 ? { thinking: thinkingBlocks } : {}),
    ...(cacheControl ? { cacheControl } : {}),
  };
}

function toolsOf(tools: CountTokensRequest['tools']): ToolDefinition[] | undefined {
  return tools?.map((tool, index): ToolDefinition => {
    if (tool.type === undefined || tool.type === 'custom') {
      const custom = customTool.parse(tool);
      return {
        name: custom.name,
        description: custom.description || undefined,
        parameters: custom.input_schema,
        ...cacheOf(custom),
      };
    }
    if (!CLIENT_TOOL_TYPE.test(tool.type)) {
      throw unsupported(
        `The tool type '${tool.type}' runs on Anthropic's servers and is billed per use, which the gateway cannot price; only custom tools and Anthropic-defined client tools (bash, text editor, computer, memory) are accepted.`,
        `tools[${index}].type`,
      );
    }
    return { name: tool.name, parameters: {}, anthropicType: { type: tool.type, definition: tool } };
  });
}

function toolChoiceOf(choice: CountTokensRequest['tool_choice']): { toolChoice?: ToolChoice; parallel?: boolean } {
  if (!choice) return {};
  const parallel = 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use ? false : undefined;
  switch (choice.type) {
    case 'auto':
      return { toolChoice: 'auto', parallel };
    case 'any':
      return { toolChoice: 'required', parallel };
    case 'none':
      return { toolChoice: 'none' };
    case 'tool':
      return { toolChoice: { name: choice.name }, parallel };
  }
}

function thinkingOf(config: CountTokensRequest['thinking']): ThinkingConfig | undefined {
  if (!config) return undefined;
  if (config.type === 'enabled') {
    return {
      type: 'enabled',
      budgetTokens: config.budget_tokens,
      ...(config.display ? { display: config.display } : {}),
    };
  }
  if (config.type === 'adaptive') return { type: 'adaptive', ...(config.display ? { display: config.display } : {}) };
  return { type: 'disabled' };
}

/**
 * The neutral conversation of a Messages (or count_tokens) request: system blocks as system
 * turns, user turns split into tool results and content, assistant turns with their reasoning.
 *
 * @example
 * neutralPrompt(parseCountTokensRequest(body)).messages
 */
export function neutralPrompt(body: CountTokensRequest, betas: string[] = []): NeutralChat {
  const system: ChatMessage[] =
    body.system === undefined
      ? []
      : typeof body.system === 'string'
        ? [{ role: 'system', content: body.system }]
        : body.system.map((block) => ({ role: 'system', content: block.text, ...cacheOf(block) }));
  const messages = body.messages.flatMap((m, index): ChatMessage[] =>
    m.role === 'user' ? userMessages(m.content, index) : [assistantMessage(m.content, index)],
  );
  const { toolChoice, parallel } = toolChoiceOf(body.tool_choice);
  const thinkingConfig = thinkingOf(body.thinking);
  return {
    messages: [...system, ...messages],
    tools: toolsOf(body.tools),
    ...(toolChoice ? { toolChoice } : {}),
    ...(parallel === false ? { parallelToolCalls: false } : {}),
    ...(thinkingConfig ? { thinking: thinkingConfig } : {}),
    ...(betas.length > 0 ? { betas } : {}),
    anthropicNative: true,
  };
}

/**
 * Maps a validated Messages request into the gateway's neutral request. `budget_tokens` must
 * stay under `max_tokens` (Anthropic's rule, checked here so the refusal costs nothing), except
 * with interleaved thinking, where the budget spans the turn's tool calls.
 *
 * @example
 * const request = toExchangeRequest(parseMessagesRequest(parseJsonBody(http)), anthropicBetas(http.headers));
 */
export function toExchangeRequest(body: MessagesRequest, betas: string[] = []): ExchangeRequest {
  if (
    body.thinking?.type === 'enabled' &&
    body.thinking.budget_tokens >= body.max_tokens &&
    !betas.some((beta) => beta.startsWith('interleaved-thinking-'))
  ) {
    throw invalidRequest('`max_tokens` must be greater than `thinking.budget_tokens`.', {
      param: 'thinking.budget_tokens',
    });
  }
  const extras = Object.fromEntries(
    FORWARDED.flatMap((name) => (body[name] !== undefined ? [[name, body[name]]] : [])),
  );
  const chat: NeutralChat = {
    ...neutralPrompt(body, betas),
    temperature: body.temperature,
    topP: body.top_p,
    ...(body.top_k !== undefined ? { topK: body.top_k } : {}),
    stop: body.stop_sequences && body.stop_sequences.length > 0 ? body.stop_sequences : undefined,
    // '' is no end-user id: providers are sent none
    user: body.metadata?.user_id || undefined,
    ...(Object.keys(extras).length > 0 ? { anthropicExtras: extras } : {}),
  };
  return {
    model: body.model,
    chat,
    stream: body.stream === true,
    maxOutputTokens: { value: body.max_tokens, param: 'max_tokens' },
  };
}
