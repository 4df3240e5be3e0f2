/**
 * The gateway's own chat shape: what the OpenAI-compatible front end parses requests into and
 * what every provider adapter consumes and produces. Keeping one neutral shape means no provider
 * knows about OpenAI's wire format unless it is the OpenAI adapter.
 */

/**
 * A prompt-cache breakpoint on a block (Anthropic's `cache_control`): the provider caches the
 * prompt up to and including it. Providers without explicit breakpoints ignore it.
 */
export interface CacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
  /** Fields of newer betas, passed on as the caller sent them. */
  [field: string]: unknown;
}

/** An image, carried decoded from its data URI or base64 source. */
export interface ImagePart {
  type: 'image';
  mediaType: ImageMediaType;
  base64: string;
  cacheControl?: CacheControl;
}

/**
 * A document the model reads (Anthropic's `document` block): a base64 PDF, or plain text, which
 * the policy checks like any other text.
 */
export interface DocumentPart {
  type: 'document';
  /**
   * A PDF carries its page count, read once when the request is parsed: the prompt estimate and
   * bound both need it, and counting means inflating the file's streams.
   */
  source: { kind: 'pdf'; base64: string; pages: number } | { kind: 'text'; text: string };
  title?: string;
  context?: string;
  citations?: boolean;
  cacheControl?: CacheControl;
}

/** One piece of message content. */
export type ContentPart = { type: 'text'; text: string; cacheControl?: CacheControl } | ImagePart | DocumentPart;

/** Image types every supported provider accepts. */
export type ImageMediaType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

/** A tool call made by the model; `arguments` is the JSON text the model produced. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * A block of the model's reasoning, passed back unchanged on the next turn: providers check the
 * signature (or decrypt the redacted data), so the gateway never alters either.
 */
export type ThinkingBlock =
  { type: 'thinking'; thinking: string; signature: string } | { type: 'redacted_thinking'; data: string };

/**
 * A conversation turn. OpenAI's `developer` role is folded into `system`. `cacheControl` on a
 * turn whose content is one string marks its last block as a cache breakpoint.
 */
export type ChatMessage =
  | { role: 'system'; content: string; cacheControl?: CacheControl }
  | {
      role: 'user';
      content: ContentPart[];
      /** Form only: the caller sent the turn as a bare string (Anthropic's API is sent it back so). */
      contentAsString?: boolean;
    }
  | {
      role: 'assistant';
      content: string;
      toolCalls: ToolCall[];
      /** Reasoning blocks the model produced before this turn's text and tool calls. */
      thinking?: ThinkingBlock[];
      cacheControl?: CacheControl;
    }
  | {
      role: 'tool';
      toolCallId: string;
      content: string;
      /** The tool failed (Anthropic's `is_error`). */
      isError?: boolean;
      /** Images the tool returned with its text. */
      images?: ImagePart[];
      /** Form only: the caller sent the result as content blocks, not a string (Anthropic's API is sent it back so). */
      contentAsBlocks?: boolean;
      cacheControl?: CacheControl;
    };

/** A function the model may call; `parameters` is a JSON Schema object. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
  cacheControl?: CacheControl;
  /**
   * An Anthropic-defined client tool (`bash_20250124`, `text_editor_…`, `computer_…`, `memory_…`)
   * as the caller declared it: the client runs it, only Anthropic's models know its schema.
   */
  anthropicType?: { type: string; definition: Record<string, unknown> };
}

/**
 * Extended thinking (Anthropic's `thinking`): `enabled` with a token budget (part of the output
 * cap), `adaptive` where the model decides, or `disabled`.
 */
export type ThinkingConfig =
  | { type: 'enabled'; budgetTokens: number; display?: 'summarized' | 'omitted' }
  | { type: 'adaptive'; display?: 'summarized' | 'omitted' }
  | { type: 'disabled' };

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
  /** Only sample from the K most likely tokens (Anthropic, Bedrock Claude). */
  topK?: number;
  /** False: at most one tool call per turn. */
  parallelToolCalls?: boolean;
  thinking?: ThinkingConfig;
  /** `anthropic-beta` values the caller asked for (each provider passes those its connection allows). */
  betas?: string[];
  /**
   * Parameters of Anthropic's Messages API the gateway does not model but forwards to Anthropic's
   * own API unchanged (`context_management`, `output_config`, `service_tier`); other providers
   * do not receive them.
   */
  anthropicExtras?: Record<string, unknown>;
  /**
   * The caller spoke Anthropic's Messages API: a Claude model on Bedrock is then called with the
   * same Messages body (InvokeModel) rather than through Converse, so thinking blocks, cache
   * breakpoints and betas reach the model as sent.
   */
  anthropicNative?: boolean;
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
  /** Reasoning blocks, before the text (Anthropic models with thinking on). */
  thinking?: ThinkingBlock[];
  /** The stop sequence that ended the answer (finish reason `stop`). */
  stopSequence?: string;
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
  | { type: 'finish'; finishReason: FinishReason; stopSequence?: string }
  | { type: 'usage'; usage: Partial<TokenUsage> }
  /** Reasoning text; a thinking block runs until its signature. */
  | { type: 'thinking'; text: string }
  /** The signature that closes the current thinking block. */
  | { type: 'thinking_signature'; signature: string }
  /** A whole redacted thinking block. */
  | { type: 'redacted_thinking'; data: string };

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
