import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { FakeHttpServer, lastUserMessageText, randomBase62, sleep, writeChunk } from './fake-http-server';

/** A request the fake received, decoded. */
export interface FakeAnthropicRequest {
  method: string;
  /** The path without the query string, e.g. '/v1/messages'. */
  path: string;
  /** The query parameters (the SDK's beta resources add `?beta=true`). */
  query?: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body ({} when the body is empty or not JSON). */
  body: Record<string, unknown>;
  /** The body exactly as received. */
  raw?: string;
}

/** The `anthropic-beta` values of a request: the header's comma-separated list, trimmed ([] without one). */
export function betasOf(request: { headers: IncomingHttpHeaders }): string[] {
  const header = request.headers['anthropic-beta'];
  const joined = Array.isArray(header) ? header.join(',') : (header ?? '');
  return joined
    .split(',')
    .map((beta) => beta.trim())
    .filter(Boolean);
}

/** A token count block as Anthropic reports it. */
export interface FakeAnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

/** A `tool_use` content block the fake answers with. */
export interface FakeAnthropicToolUse {
  id: string;
  name: string;
  input: Record<string, unknown>;
}

/**
 * One content block of an answer, as the API returns it. `thinking` blocks stream as
 * thinking_delta pieces then one signature_delta; `redacted_thinking` blocks arrive whole in
 * their content_block_start, without deltas.
 */
export type FakeAnthropicBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'redacted_thinking'; data: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

/** What the fake answers: a Message (JSON or streamed), or an Anthropic error. */
export type FakeAnthropicReply =
  | {
      kind: 'message';
      /**
       * The content blocks, in order (thinking, redacted_thinking, text, tool_use). When given,
       * `text` and `toolUses` are ignored.
       */
      blocks?: FakeAnthropicBlock[];
      /** One text block when non-empty; default ''. */
      text?: string;
      toolUses?: FakeAnthropicToolUse[];
      /** Default: 'tool_use' if toolUses else 'end_turn'. */
      stopReason?: 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';
      /**
       * The `stop_sequence` field. Default: null, except with stopReason 'stop_sequence', where it is
       * the request's first `stop_sequences` entry (null when it has none).
       */
      stopSequence?: string | null;
      usage: FakeAnthropicUsage;
      /** Default: the request's model. */
      model?: string;
      /** Default: a fresh 'msg_01…' id. */
      id?: string;
      /** Before headers. */
      delayMs?: number;
      /** Streaming: between events. */
      chunkDelayMs?: number;
      /**
       * Streaming: after this many content_block_delta events, destroy the socket abruptly (no
       * message_delta / message_stop). A count above the number of deltas cuts after the last one.
       */
      cutAfterDeltas?: number;
      /**
       * Streaming: after this many content_block_delta events, send an `event: error`
       * (`streamError`, default overloaded_error) and end the response. A count above the number
       * of deltas sends it after the last one, in place of message_delta.
       */
      errorAfterDeltas?: number;
      /** Streaming: text and thinking in deltas of this many characters (default: word-sized), to split words across deltas. */
      deltaChars?: number;
      /** The in-stream error `errorAfterDeltas` sends; default overloaded_error "Overloaded". */
      streamError?: { type: string; message: string };
      /**
       * Streaming: also repeat the cumulative input_tokens and cache counters in message_delta's
       * usage (the API documents them as cumulative and may send them there); by default
       * message_delta carries only output_tokens and the input counters come in message_start.
       */
      cumulativeDeltaUsage?: boolean;
      /** Extra response headers (e.g. anthropic-ratelimit-*). */
      headers?: Record<string, string>;
    }
  | {
      kind: 'error';
      /** 400, 401, 403, 404, 429, 500, 529, ... */
      status: number;
      /** 'rate_limit_error', 'overloaded_error', 'invalid_request_error', ... */
      type: string;
      message: string;
      /** Sent as the `retry-after` header. */
      retryAfterSeconds?: number;
      delayMs?: number;
      /** Extra response headers (e.g. x-should-retry). */
      headers?: Record<string, string>;
    };

/** The message kind of {@link FakeAnthropicReply}, which the Bedrock fake renders too (InvokeModel). */
export type FakeAnthropicMessageReply = Extract<FakeAnthropicReply, { kind: 'message' }>;
type MessageReply = FakeAnthropicMessageReply;

/** One server-sent event as Anthropic writes it: `event: <name>\ndata: <json>\n\n`. */
export interface FakeAnthropicEvent {
  event: string;
  data: Record<string, unknown>;
}

/** An id shaped like Anthropic's: `<prefix>_01` then 22 base62 characters. */
function anthropicId(prefix: string): string {
  return `${prefix}_01${randomBase62(22)}`;
}

/** A fresh tool_use id ('toolu_01…'), for building replies. */
export function newToolUseId(): string {
  return anthropicId('toolu');
}

/** The text of the request's last user message (string content or its text blocks), or ''. */
export function lastUserText(request: FakeAnthropicRequest): string {
  return lastUserMessageText(request.body);
}

/** The default responder: a short message echoing the last user text. */
export function echoResponder(request: FakeAnthropicRequest): FakeAnthropicReply {
  const said = lastUserText(request);
  const text = `Echo: ${said}`;
  return {
    kind: 'message',
    text,
    usage: {
      input_tokens: Math.max(1, Math.ceil(said.length / 4)),
      output_tokens: text.split(/\s+/).filter(Boolean).length,
    },
  };
}

function requestModel(request: FakeAnthropicRequest): string {
  const model = request.body['model'];
  return typeof model === 'string' ? model : 'claude-unknown';
}

function stopFields(
  reply: MessageReply,
  request: FakeAnthropicRequest,
): { stop_reason: string; stop_sequence: string | null } {
  const hasToolUse = replyBlocks(reply).some((block) => block.type === 'tool_use');
  const stopReason = reply.stopReason ?? (hasToolUse ? 'tool_use' : 'end_turn');
  let stopSequence = reply.stopSequence ?? null;
  if (reply.stopSequence === undefined && stopReason === 'stop_sequence') {
    const sequences = request.body['stop_sequences'];
    if (Array.isArray(sequences) && typeof sequences[0] === 'string') stopSequence = sequences[0];
  }
  return { stop_reason: stopReason, stop_sequence: stopSequence };
}

/** The usage object as the API returns it (cache counters always present, 0 when unused). */
function usageObject(usage: FakeAnthropicUsage, outputTokens: number): Record<string, unknown> {
  const cacheCreation = usage.cache_creation_input_tokens ?? 0;
  return {
    input_tokens: usage.input_tokens,
    cache_creation_input_tokens: cacheCreation,
    cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
    cache_creation: { ephemeral_5m_input_tokens: cacheCreation, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

/** The reply's content blocks, in order: `blocks`, else the text block then the tool uses. */
export function replyBlocks(reply: MessageReply): FakeAnthropicBlock[] {
  if (reply.blocks) return reply.blocks;
  const blocks: FakeAnthropicBlock[] = [];
  if (reply.text) blocks.push({ type: 'text', text: reply.text });
  for (const tool of reply.toolUses ?? []) blocks.push({ type: 'tool_use', ...tool });
  return blocks;
}

function contentBlocks(reply: MessageReply): Record<string, unknown>[] {
  return replyBlocks(reply).map((block) => ({ ...block }));
}

/** The non-streamed Message object for a reply, as `POST /v1/messages` returns it. */
export function anthropicMessage(
  reply: MessageReply,
  request: FakeAnthropicRequest,
  id: string = reply.id ?? anthropicId('msg'),
): Record<string, unknown> {
  return {
    id,
    type: 'message',
    role: 'assistant',
    model: reply.model ?? requestModel(request),
    content: contentBlocks(reply),
    ...stopFields(reply, request),
    usage: usageObject(reply.usage, reply.usage.output_tokens),
  };
}

/** Splits text into word-sized deltas ("Hello ", "world"), or deltas of `size` characters, that join back to the text. */
function textChunks(text: string, size?: number): string[] {
  if (size === undefined) return text.split(/(?<=\s)(?=\S)/);
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
  return chunks;
}

/** Splits serialized JSON into small fragments, after the empty first fragment the API sends. */
function jsonChunks(json: string): string[] {
  const chunks = [''];
  for (let i = 0; i < json.length; i += 12) chunks.push(json.slice(i, i + 12));
  return chunks;
}

/**
 * The full event sequence of a streamed reply (without cuts or errors): message_start, then per
 * block content_block_start / content_block_delta… / content_block_stop (a ping after the first
 * content_block_start), message_delta and message_stop.
 */
export function anthropicStreamEvents(
  reply: MessageReply,
  request: FakeAnthropicRequest,
  id: string = reply.id ?? anthropicId('msg'),
): FakeAnthropicEvent[] {
  const events: FakeAnthropicEvent[] = [];
  const usage = reply.usage;
  events.push({
    event: 'message_start',
    data: {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: reply.model ?? requestModel(request),
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usageObject(usage, Math.min(1, usage.output_tokens)),
      },
    },
  });
  const ping: FakeAnthropicEvent = { event: 'ping', data: { type: 'ping' } };
  let index = 0;
  const block = (start: Record<string, unknown>, deltas: Record<string, unknown>[]): void => {
    events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: start } });
    if (index === 0) events.push(ping);
    for (const delta of deltas) {
      events.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta } });
    }
    events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    index++;
  };
  for (const content of replyBlocks(reply)) {
    switch (content.type) {
      case 'thinking':
        block({ type: 'thinking', thinking: '', signature: '' }, [
          ...textChunks(content.thinking, reply.deltaChars).map((thinking) => ({ type: 'thinking_delta', thinking })),
          { type: 'signature_delta', signature: content.signature },
        ]);
        break;
      case 'redacted_thinking':
        block({ type: 'redacted_thinking', data: content.data }, []);
        break;
      case 'text':
        block(
          { type: 'text', text: '' },
          textChunks(content.text, reply.deltaChars).map((text) => ({ type: 'text_delta', text })),
        );
        break;
      case 'tool_use':
        block(
          { type: 'tool_use', id: content.id, name: content.name, input: {} },
          jsonChunks(JSON.stringify(content.input)).map((partial_json) => ({ type: 'input_json_delta', partial_json })),
        );
        break;
    }
  }
  if (index === 0) events.push(ping);
  const deltaUsage: Record<string, unknown> = reply.cumulativeDeltaUsage
    ? {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
        cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
        output_tokens: usage.output_tokens,
      }
    : { output_tokens: usage.output_tokens };
  events.push({
    event: 'message_delta',
    data: { type: 'message_delta', delta: stopFields(reply, request), usage: deltaUsage },
  });
  events.push({ event: 'message_stop', data: { type: 'message_stop' } });
  return events;
}

/**
 * How a streamed reply goes out: the events to write, in order, and how the stream then ends:
 * `complete` (message_stop was the last event), `error` (the last event is an `error` event, after
 * which the response ends) or `cut` (the connection is to be dropped after the last event).
 * `cutAfterDeltas` and `errorAfterDeltas` fire before the next content_block_delta once that many
 * were sent, or at the latest in place of message_delta.
 */
export function plannedStreamEvents(
  reply: MessageReply,
  request: FakeAnthropicRequest,
  id?: string,
): { events: FakeAnthropicEvent[]; ending: 'complete' | 'cut' | 'error' } {
  const all = anthropicStreamEvents(reply, request, id);
  const events: FakeAnthropicEvent[] = [];
  let deltas = 0;
  for (const event of all) {
    if (event.event === 'content_block_delta' || event.event === 'message_delta') {
      if (reply.cutAfterDeltas !== undefined && deltas >= reply.cutAfterDeltas) return { events, ending: 'cut' };
      if (reply.errorAfterDeltas !== undefined && deltas >= reply.errorAfterDeltas) {
        const error = reply.streamError ?? { type: 'overloaded_error', message: 'Overloaded' };
        events.push({ event: 'error', data: { type: 'error', error } });
        return { events, ending: 'error' };
      }
    }
    events.push(event);
    if (event.event === 'content_block_delta') deltas++;
  }
  return { events, ending: 'complete' };
}

/**
 * A deterministic token count of a request, as count_tokens and the default usage report it:
 * about one token per four characters of the messages, system prompt and tools (at least 1), so
 * it grows with the input.
 */
export function estimateInputTokens(body: Record<string, unknown>): number {
  const counted = JSON.stringify([body['system'] ?? null, body['messages'] ?? null, body['tools'] ?? null]);
  return Math.max(1, Math.ceil(counted.length / 4));
}

/** `{"type":"error","error":{"type","message"},"request_id"}`, the body of every API error. */
export function anthropicErrorBody(type: string, message: string, requestId: string | null): Record<string, unknown> {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

/** One event on the wire: `event: <name>\ndata: <json>\n\n`. */
export function sseFrame(event: FakeAnthropicEvent): string {
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/** API versions from this one on reject the removed sampling parameters. */
const SAMPLING_REMOVED_IN = '2026-10-21';

/** Checks a request the way the API does before the model runs; returns the 4xx to send, if any. */
function rejection(request: FakeAnthropicRequest, bodyIsJson: boolean): FakeAnthropicReply | undefined {
  const invalid = (message: string): FakeAnthropicReply => ({
    kind: 'error',
    status: 400,
    type: 'invalid_request_error',
    message,
  });
  const countTokens = request.path === '/v1/messages/count_tokens';
  if (request.method !== 'POST' || (request.path !== '/v1/messages' && !countTokens)) {
    return { kind: 'error', status: 404, type: 'not_found_error', message: 'Not found' };
  }
  const apiKey = request.headers['x-api-key'];
  const authorization = request.headers['authorization'];
  // The API takes the key as `x-api-key` or, since the SDKs for API version 2026-10-21 send it so,
  // as `Authorization: Bearer <key>`.
  const hasKey = (typeof apiKey === 'string' && apiKey !== '') || /^Bearer \S+/.test(authorization ?? '');
  if (!hasKey) {
    return { kind: 'error', status: 401, type: 'authentication_error', message: 'x-api-key header is required' };
  }
  const version = request.headers['anthropic-version'];
  if (typeof version !== 'string' || version === '') return invalid('anthropic-version: header is required');
  if (!bodyIsJson) return invalid('There was an error parsing the body of your request: invalid JSON');
  const body = request.body;
  if (body['model'] === undefined) return invalid('model: Field required');
  if (typeof body['model'] !== 'string' || body['model'] === '')
    return invalid('model: Input should be a valid string');
  const maxTokens = body['max_tokens'];
  if (countTokens) {
    // count_tokens takes the Messages body without the generation controls.
    for (const name of ['max_tokens', 'stream']) {
      if (name in body) return invalid(`${name}: Extra inputs are not permitted`);
    }
  } else {
    if (maxTokens === undefined) return invalid('max_tokens: Field required');
    if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens)) {
      return invalid('max_tokens: Input should be a valid integer');
    }
    if (maxTokens < 1) return invalid('max_tokens: Input should be greater than or equal to 1');
  }
  const messages = body['messages'];
  if (messages === undefined) return invalid('messages: Field required');
  if (!Array.isArray(messages)) return invalid('messages: Input should be a valid list');
  if (messages.length === 0) return invalid('messages: at least one message is required');
  if (version >= SAMPLING_REMOVED_IN) {
    for (const name of ['temperature', 'top_p', 'top_k']) {
      if (name in body) return invalid(`${name}: Extra inputs are not permitted`);
    }
  }
  return undefined;
}

/**
 * A local stand-in for Anthropic's Messages API (`POST /v1/messages`) that speaks its wire format
 * over HTTP/1.1: the Message object as JSON, or (with `stream: true`) the named server-sent events
 * message_start, content_block_start, ping, content_block_delta, content_block_stop,
 * message_delta and message_stop; errors as `{"type":"error","error":{type,message}}` with the
 * matching HTTP status, a `request-id` header (and `retry-after` when asked), or as an in-stream
 * `event: error`. It checks the key, the version header and the required body fields like the API.
 */
export class FakeAnthropic extends FakeHttpServer<FakeAnthropicRequest, FakeAnthropicReply> {
  /** The `input_tokens` count_tokens answers; default {@link estimateInputTokens}. */
  private countTokens: (request: FakeAnthropicRequest) => number = (request) => estimateInputTokens(request.body);

  constructor(respond: (request: FakeAnthropicRequest) => FakeAnthropicReply = echoResponder) {
    super(respond);
  }

  /** Replaces what `POST /v1/messages/count_tokens` answers (per test). */
  setTokenCounter(count: (request: FakeAnthropicRequest) => number): void {
    this.countTokens = count;
  }

  /** The `/v1/messages` requests received (count_tokens calls and others left out). */
  get messageRequests(): FakeAnthropicRequest[] {
    return this.requests.filter((request) => request.path === '/v1/messages');
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    let body: Record<string, unknown> = {};
    let bodyIsJson = true;
    if (raw !== '') {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
        else bodyIsJson = false;
      } catch {
        bodyIsJson = false;
      }
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: FakeAnthropicRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams.entries()),
      headers: req.headers,
      body,
      raw,
    };
    this.received(request);

    let reply = rejection(request, bodyIsJson);
    if (!reply && request.path === '/v1/messages/count_tokens') {
      const requestId = anthropicId('req');
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': requestId });
      res.end(JSON.stringify({ input_tokens: this.countTokens(request) }));
      return;
    }
    if (!reply) {
      try {
        reply = this.respond(request);
      } catch (error) {
        reply = { kind: 'error', status: 500, type: 'api_error', message: `fake responder failed: ${String(error)}` };
      }
    }
    const requestId = anthropicId('req');
    await sleep(reply.delayMs ?? 0);
    if (res.destroyed) return;

    if (reply.kind === 'error') {
      const headers: OutgoingHttpHeaders = {
        'content-type': 'application/json',
        'request-id': requestId,
        ...reply.headers,
      };
      if (reply.retryAfterSeconds !== undefined) headers['retry-after'] = String(reply.retryAfterSeconds);
      res.writeHead(reply.status, headers);
      res.end(JSON.stringify(anthropicErrorBody(reply.type, reply.message, requestId)));
      return;
    }

    if (request.body['stream'] !== true) {
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': requestId, ...reply.headers });
      res.end(JSON.stringify(anthropicMessage(reply, request)));
      return;
    }

    await this.stream(reply, request, res, requestId);
  }

  private async stream(
    reply: MessageReply,
    request: FakeAnthropicRequest,
    res: ServerResponse,
    requestId: string,
  ): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': requestId,
      ...reply.headers,
    });
    const { events, ending } = plannedStreamEvents(reply, request);
    let first = true;
    for (const event of events) {
      if (!first) await sleep(reply.chunkDelayMs ?? 0);
      first = false;
      if (res.destroyed || !this.running) return;
      await writeChunk(res, sseFrame(event));
    }
    if (ending === 'cut') {
      await sleep(reply.chunkDelayMs ?? 0);
      res.socket?.destroy();
      return;
    }
    res.end();
  }
}
