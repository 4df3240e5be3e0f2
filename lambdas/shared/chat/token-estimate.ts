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
