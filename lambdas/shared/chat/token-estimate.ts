import { inflateSync } from 'node:zlib';
import type { ChatMessage, ChatRequest, ContentPart, ToolDefinition } from './types';

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
          tokens += partTokens(part, textTokens, IMAGE_TOKEN_ESTIMATE, PDF_PAGE_TOKEN_ESTIMATE);
        break;
      case 'assistant':
        tokens += textTokens(message.content) + thinkingBytes(message) / BYTES_PER_TOKEN;
        for (const call of message.toolCalls) tokens += textTokens(call.name) + textTokens(call.arguments);
        break;
      case 'tool':
        tokens += textTokens(message.content) + (message.images?.length ?? 0) * IMAGE_TOKEN_ESTIMATE;
        break;
      default:
        tokens += textTokens(message.content);
    }
  }
  // JSON.stringify recurses (RangeError past a few thousand levels); the parameters come from a
  // body `parseJsonBody` refused beyond MAX_JSON_DEPTH levels, so this stays far from that.
  for (const tool of request.tools ?? []) tokens += Math.ceil(toolBytes(tool) / BYTES_PER_TOKEN);
  return Math.ceil(tokens);
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
        for (const part of message.content) tokens += partTokens(part, bytes, IMAGE_TOKEN_BOUND, PDF_PAGE_TOKEN_BOUND);
        break;
      case 'assistant':
        tokens += bytes(message.content) + thinkingBytes(message);
        for (const call of message.toolCalls) tokens += bytes(call.id) + bytes(call.name) + bytes(call.arguments);
        break;
      case 'tool':
        tokens +=
          bytes(message.toolCallId) + bytes(message.content) + (message.images?.length ?? 0) * IMAGE_TOKEN_BOUND;
        break;
      default:
        tokens += bytes(message.content);
    }
  }
  // JSON.stringify is bounded: the body's depth was checked before parsing (http/json-depth.ts).
  for (const tool of request.tools ?? []) {
    tokens += toolBytes(tool) + (tool.anthropicType ? ANTHROPIC_TOOL_BOUND : 0);
  }
  if (request.responseFormat?.type === 'json_schema') {
    tokens += bytes(request.responseFormat.name) + bytes(JSON.stringify(request.responseFormat.schema));
  }
  return tokens;
}

/**
 * Tokens at most that an Anthropic-defined tool (bash, text editor, computer, memory) adds beyond
 * its declaration: Anthropic documents a few hundred for each (computer use: under 1,300).
 */
export const ANTHROPIC_TOOL_BOUND = 1_500;

/**
 * Pages assumed for a PDF whose page objects cannot be found: Anthropic's and Bedrock's
 * per-request limit is 100 pages.
 */
export const PDF_MAX_PAGES = 100;

/**
 * Tokens per PDF page: the text providers extract (Anthropic documents 1,500-3,000 for a typical
 * page; this allows 5,000) plus the page read as an image. The page count is exact; the text per
 * page is the one part of the prompt bound that rests on documented typical pages rather than
 * arithmetic (a page's extracted text is not bounded by the file's bytes, which are compressed).
 */
export const PDF_PAGE_TOKEN_ESTIMATE = 3_000 + IMAGE_TOKEN_ESTIMATE;
export const PDF_PAGE_TOKEN_BOUND = 5_000 + IMAGE_TOKEN_BOUND;

/** Inflated bytes read at most while looking for page objects, so a compression bomb costs little. */
const PDF_INFLATE_LIMIT = 16 * 1024 * 1024;

/**
 * The pages of a base64 PDF, counted from its page objects (`/Type /Page`, not `/Pages`), also
 * inside compressed object streams; a PDF without any is assumed at the providers' maximum.
 *
 * @example
 * pdfPages(base64OfATwoPagePdf) // 2
 */
export function pdfPages(base64: string): number {
  const raw = Buffer.from(base64, 'base64');
  const pageObject = /\/Type\s*\/Page(?![a-zA-Z])/g;
  const text = raw.toString('latin1');
  let pages = text.match(pageObject)?.length ?? 0;
  let budget = PDF_INFLATE_LIMIT;
  for (const match of text.matchAll(/stream\r?\n/g)) {
    if (pages >= PDF_MAX_PAGES || budget <= 0) break;
    const start = match.index + match[0].length;
    const end = text.indexOf('endstream', start);
    if (end < 0) break;
    try {
      const inflated = inflateSync(raw.subarray(start, end), { maxOutputLength: budget }).toString('latin1');
      budget -= inflated.length;
      pages += inflated.match(pageObject)?.length ?? 0;
    } catch {
      // Not a Flate stream (an image, a font), truncated, or over the limit: no pages in it.
    }
  }
  return pages > 0 ? Math.min(pages, PDF_MAX_PAGES) : PDF_MAX_PAGES;
}

/**
 * One user content part: text by the given measure; an image at its fixed cost; a document by
 * its text (plain text) or, for a PDF, by its pages.
 */
function partTokens(part: ContentPart, text: (s: string) => number, imageTokens: number, pageTokens: number): number {
  switch (part.type) {
    case 'text':
      return text(part.text);
    case 'image':
      return imageTokens;
    case 'document': {
      const framing = text(part.title ?? '') + text(part.context ?? '');
      if (part.source.kind === 'text') return framing + text(part.source.text);
      return framing + part.source.pages * pageTokens;
    }
  }
}

/** UTF-8 bytes of the reasoning blocks an assistant turn passes back. */
function thinkingBytes(message: Extract<ChatMessage, { role: 'assistant' }>): number {
  let bytes = 0;
  for (const block of message.thinking ?? []) {
    bytes += Buffer.byteLength(block.type === 'thinking' ? block.thinking : block.data, 'utf8');
  }
  return bytes;
}

/** UTF-8 bytes of a tool's declaration as the provider receives it. */
function toolBytes(tool: ToolDefinition): number {
  const declared = tool.anthropicType ? tool.anthropicType.definition : tool.parameters;
  return (
    Buffer.byteLength(tool.name, 'utf8') +
    Buffer.byteLength(tool.description ?? '', 'utf8') +
    Buffer.byteLength(JSON.stringify(declared), 'utf8')
  );
}
