import type { ChatRequest } from './types';

/** Tokens assumed per image: enough for a ~1 megapixel image on every provider the gateway serves. */
export const IMAGE_TOKEN_ESTIMATE = 1_600;

/** Tokens assumed per message for role markers and separators. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** UTF-8 bytes per token the estimate assumes; real tokenizers average ~4 for English, fewer for code and CJK. */
export const BYTES_PER_TOKEN = 3;

function textTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / BYTES_PER_TOKEN);
}

/**
 * A deliberately generous estimate of a request's prompt tokens, made before the provider says
 * the real count: UTF-8 bytes / 3 for text (tokenizers average ~4 bytes per token in English and
 * ~3 for CJK, so this rarely undercounts), a fixed cost per image, per message and per tool
 * definition. It needs no tokenizer, so it is the same for every provider and costs microseconds.
 * It only feeds admission (token limits, budget reservations); billing uses the provider's count.
 *
 * @example
 * estimatePromptTokens(request) // ≥ the provider's prompt tokens for typical text
 */
export function estimatePromptTokens(request: Pick<ChatRequest, 'messages' | 'tools'>): number {
  let tokens = 0;
  for (const message of request.messages) {
    tokens += MESSAGE_OVERHEAD_TOKENS;
    switch (message.role) {
      case 'user':
        for (const part of message.content)
          tokens += part.type === 'text' ? textTokens(part.text) : IMAGE_TOKEN_ESTIMATE;
        break;
      case 'assistant':
        tokens += textTokens(message.content);
        for (const call of message.toolCalls) tokens += textTokens(call.name) + textTokens(call.arguments);
        break;
      default:
        tokens += textTokens(message.content);
    }
  }
  for (const tool of request.tools ?? []) {
    // JSON.stringify recurses (RangeError past a few thousand levels); the parameters come from a
    // body `parseJsonBody` refused beyond MAX_JSON_DEPTH levels, so this stays far from that.
    tokens += textTokens(tool.name) + textTokens(tool.description ?? '') + textTokens(JSON.stringify(tool.parameters));
  }
  return tokens;
}

/**
 * Tokens at most per message beyond its text: role markers, separators and turn delimiters of
 * every chat template the gateway's providers use (a handful each; OpenAI documents 3-4).
 */
export const MESSAGE_OVERHEAD_BOUND = 16;

/**
 * Tokens at most per image. Every provider the gateway serves downscales images before it counts
 * them: Anthropic to about 1.15 megapixels (about 1,600 tokens), OpenAI's high detail to 2048 x
 * 768 tiles (at most 1,445 tokens), Nova likewise. This is the one part of the bound that rests on
 * providers' documented image handling rather than on arithmetic.
 */
export const IMAGE_TOKEN_BOUND = 2_000;

/**
 * Tokens at most that a provider adds when a request carries tools or a structured output schema:
 * the tool-use system prompt (Anthropic documents up to 346 tokens; Bedrock and OpenAI add
 * comparable preambles), plus the request's own framing.
 */
export const REQUEST_OVERHEAD_BOUND = 1_000;

/**
 * A true upper bound of a request's prompt tokens, for every text and every provider the gateway
 * serves: byte-level tokenizers (BPE with byte fallback) never produce more tokens than the UTF-8
 * bytes they encode, so each text counts its bytes; each message, image and the request's tool
 * framing add their stated maximum. Budgets reserve with this, so no prompt, however it tokenizes
 * (symbols, rare scripts, emoji: one token per byte), can cost more than was reserved.
 *
 * @example
 * promptTokenBound(request) // >= what any supported provider bills as input for it
 */
export function promptTokenBound(request: Pick<ChatRequest, 'messages' | 'tools' | 'responseFormat'>): number {
  const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
  let tokens = REQUEST_OVERHEAD_BOUND;
  for (const message of request.messages) {
    tokens += MESSAGE_OVERHEAD_BOUND;
    switch (message.role) {
      case 'user':
        for (const part of message.content) tokens += part.type === 'text' ? bytes(part.text) : IMAGE_TOKEN_BOUND;
        break;
      case 'assistant':
        tokens += bytes(message.content);
        for (const call of message.toolCalls) tokens += bytes(call.id) + bytes(call.name) + bytes(call.arguments);
        break;
      case 'tool':
        tokens += bytes(message.toolCallId) + bytes(message.content);
        break;
      default:
        tokens += bytes(message.content);
    }
  }
  // JSON.stringify is bounded: the body's depth was checked before parsing (http/json-depth.ts).
  for (const tool of request.tools ?? []) {
    tokens += bytes(tool.name) + bytes(tool.description ?? '') + bytes(JSON.stringify(tool.parameters));
  }
  if (request.responseFormat?.type === 'json_schema') {
    tokens += bytes(request.responseFormat.name) + bytes(JSON.stringify(request.responseFormat.schema));
  }
  return tokens;
}
