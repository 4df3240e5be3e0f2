/**
 * The gateway's own chat shape: what the OpenAI-compatible front end parses requests into and
 * what every provider adapter consumes and produces. Keeping one neutral shape means no provider
 * knows about OpenAI's wire format unless it is the OpenAI adapter.
 */

/** One piece of message content. Images arrive as data URIs and are carried decoded. */
export type ContentPart = { type: 'text'; text: string } | { type: 'image'; mediaType: ImageMediaType; base64: string };

/** Image types every supported provider accepts. */
export type ImageMediaType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

/** A tool call made by the model; `arguments` is the JSON text the model produced. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A conversation turn. OpenAI's `developer` role is folded into `system`. */
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: ContentPart[] }
  | { role: 'assistant'; content: string; toolCalls: ToolCall[] }
  | { role: 'tool'; toolCallId: string; content: string };

/** A function the model may call; `parameters` is a JSON Schema object. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/** Which tool use the caller allows. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** Structured output request. */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict: boolean };

/** A validated chat request in the gateway's shape. */
export interface ChatRequest {
  messages: ChatMessage[];
  /** Always set: the caller's limit capped by the catalog, so cost has a known upper bound. */
  maxOutputTokens: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
  /** End-user id passed by the caller, forwarded where the provider supports it. */
  user?: string;
}

/** Why generation stopped, in OpenAI's vocabulary. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

/**
 * Tokens of one call. `inputTokens` excludes cache reads and writes, which are billed as their
 * own line items (Bedrock and Anthropic report them that way; OpenAI's `prompt_tokens` includes
 * `cached_tokens` and its adapter subtracts them).
 */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

/** A finished, non-streamed completion. */
export interface ChatCompletion {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage: TokenUsage;
}

/**
 * One event of a streamed completion, in the gateway's shape. Usage events carry cumulative
 * counts for the fields they name (providers report input tokens first and output tokens
 * last), so a consumer keeps the latest value of each field.
 */
export type ChatStreamEvent =
  | { type: 'text'; text: string }
  | { type: 'tool_call_start'; index: number; id: string; name: string }
  | { type: 'tool_call_delta'; index: number; arguments: string }
  | { type: 'finish'; finishReason: FinishReason }
  | { type: 'usage'; usage: Partial<TokenUsage> };

/** Every token a call processed: what tokens-per-minute limits count. */
export function totalTokens(usage: TokenUsage): number {
  return usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
}

/** A usage object with every count at zero. */
export const ZERO_USAGE: Readonly<TokenUsage> = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
});
