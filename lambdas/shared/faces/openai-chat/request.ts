import * as z from 'zod';
import { invalidRequest } from '../../http/errors';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../http/json-depth';
import { parseWith } from '../../http/validation';
import type { ChatMessage, ContentPart, ImageMediaType, ResponseFormat, ToolChoice } from '../../chat/types';
import type { ExchangeRequest, NeutralChat } from '../../exchange/exchange';

/**
 * OpenAI's Chat Completions request, as the gateway accepts it. Objects are strict: a parameter
 * the gateway does not implement is refused with a 400 naming it, instead of being silently
 * dropped and changing what the caller asked for.
 */
const textPart = z.strictObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.strictObject({
  type: z.literal('image_url'),
  image_url: z.strictObject({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const textContent = z.union([z.string(), z.array(textPart).min(1)]);
const name = z.string().max(64).optional();

const toolCall = z.strictObject({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.strictObject({
    name: z.string().min(1),
    // Adapters parse and re-serialise these (Bedrock, Anthropic): bounded like a body's own JSON.
    arguments: z.string().refine((text) => !exceedsJsonDepth(text), `nests deeper than ${MAX_JSON_DEPTH} levels`),
  }),
});

const message = z.discriminatedUnion('role', [
  z.strictObject({ role: z.literal('system'), content: textContent, name }),
  z.strictObject({ role: z.literal('developer'), content: textContent, name }),
  z.strictObject({
    role: z.literal('user'),
    content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textPart, imagePart])).min(1)]),
    name,
  }),
  z.strictObject({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
    tool_calls: z.array(toolCall).optional(),
    refusal: z.string().nullable().optional(),
    name,
  }),
  z.strictObject({ role: z.literal('tool'), content: textContent, tool_call_id: z.string().min(1) }),
]);

const toolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'tool names are 1-64 letters, digits, _ or -');

const tool = z.strictObject({
  type: z.literal('function'),
  function: z.strictObject({
    name: toolName,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: toolName }) }),
]);

const responseFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    json_schema: z.strictObject({
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

const positiveInt = z.number().int().positive();

/** The request body schema. */
export const chatCompletionRequestSchema = z.strictObject({
  model: z.string().min(1).max(256),
  messages: z.array(message).min(1, 'messages must contain at least one message'),
  max_tokens: positiveInt.nullable().optional(),
  max_completion_tokens: positiveInt.nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  n: z.literal(1, 'n must be 1: the gateway returns one choice per request').nullable().optional(),
  stop: z
    .union([z.string().min(1), z.array(z.string().min(1)).max(4)])
    .nullable()
    .optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  tools: z.array(tool).max(128).optional(),
  tool_choice: toolChoice.optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: responseFormat.optional(),
  user: z.string().max(256).optional(),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .refine((m) => Object.keys(m).length <= 16, 'metadata has at most 16 keys')
    .nullable()
    .optional(),
  // Penalties are accepted only at their neutral value, which clients such as LangChain send by default.
  presence_penalty: z.literal(0, 'presence_penalty is not supported (only 0)').nullable().optional(),
  frequency_penalty: z.literal(0, 'frequency_penalty is not supported (only 0)').nullable().optional(),
});

/** A validated OpenAI request. */
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

/**
 * Validates a parsed JSON body as a Chat Completions request, or throws a 400 naming the first
 * offending parameter.
 *
 * @example
 * const body = parseChatCompletionRequest(parseJsonBody(request));
 */
export function parseChatCompletionRequest(body: unknown): ChatCompletionRequest {
  return parseWith(chatCompletionRequestSchema, body);
}

const DATA_URI = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/]+={0,2})$/;

function textOf(content: string | { text: string }[]): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('\n');
}

function contentParts(content: ChatCompletionRequest['messages'][number]['content'], index: number): ContentPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return content.map((part, partIndex): ContentPart => {
    if (part.type === 'text') return { type: 'text', text: part.text };
    const match = DATA_URI.exec(part.image_url.url);
    if (!match) {
      throw invalidRequest(
        'image_url must be a base64 data URI (data:image/png|jpeg|gif|webp;base64,...); the gateway does not fetch remote images.',
        { param: `messages[${index}].content[${partIndex}].image_url.url` },
      );
    }
    return { type: 'image', mediaType: match[1] as ImageMediaType, base64: match[2]! };
  });
}

function toolChoiceOf(choice: ChatCompletionRequest['tool_choice']): ToolChoice | undefined {
  if (choice === undefined || typeof choice === 'string') return choice;
  return { name: choice.function.name };
}

function responseFormatOf(format: ChatCompletionRequest['response_format']): ResponseFormat | undefined {
  if (!format || format.type !== 'json_schema') return format;
  return {
    type: 'json_schema',
    name: format.json_schema.name,
    schema: format.json_schema.schema ?? {},
    strict: format.json_schema.strict ?? false,
  };
}

/**
 * Maps a validated OpenAI request into the gateway's neutral request: the core never sees
 * OpenAI's field names (it reports the output cap under the caller's own name for it).
 *
 * @example
 * const request = toExchangeRequest(parseChatCompletionRequest(parseJsonBody(http)));
 */
export function toExchangeRequest(body: ChatCompletionRequest): ExchangeRequest {
  const messages = body.messages.map((m, index): ChatMessage => {
    switch (m.role) {
      case 'system':
      case 'developer':
        return { role: 'system', content: textOf(m.content) };
      case 'user':
        return { role: 'user', content: contentParts(m.content, index) };
      case 'assistant':
        return {
          role: 'assistant',
          content: m.content == null ? '' : textOf(m.content),
          toolCalls: (m.tool_calls ?? []).map((c) => ({
            id: c.id,
            name: c.function.name,
            arguments: c.function.arguments,
          })),
        };
      case 'tool':
        return { role: 'tool', toolCallId: m.tool_call_id, content: textOf(m.content) };
    }
  });
  const stop = body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const toolChoice = toolChoiceOf(body.tool_choice);
  const responseFormat = responseFormatOf(body.response_format);
  const chat: NeutralChat = {
    messages,
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    stop: stop && stop.length > 0 ? stop : undefined,
    tools: body.tools?.map((t) => ({
      name: t.function.name,
      // '' is no description: providers are sent none
      description: t.function.description || undefined,
      parameters: t.function.parameters ?? { type: 'object', properties: {} },
    })),
    toolChoice,
    responseFormat,
    // '' is no end-user id: providers are sent none
    user: body.user || undefined,
  };
  const requested = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  return {
    model: body.model,
    chat,
    stream: body.stream === true,
    maxOutputTokens:
      requested != null
        ? { value: requested, param: body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens' }
        : undefined,
  };
}
