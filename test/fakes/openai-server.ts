import { randomBytes } from 'node:crypto';
import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { FakeHttpServer, lastUserMessageText, randomBase62, sleep, writeChunk } from './fake-http-server';

/** A request the fake received. */
export interface FakeOpenAiRequest {
  method: string;
  /** Path without the query, e.g. '/v1/chat/completions' or '/openai/deployments/gpt4o/chat/completions'. */
  path: string;
  /** The query string's parameters (e.g. Azure's `api-version`). */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body ({} when the body is empty or not a JSON object). */
  body: Record<string, unknown>;
}

/** A function tool call the fake answers with. */
export interface FakeOpenAiToolCall {
  /** e.g. 'call_…' ({@link newToolCallId}). */
  id: string;
  name: string;
  /** The arguments as the JSON text the model produced. */
  arguments: string;
}

/** Token counts of a reply (`total_tokens` is derived). */
export interface FakeOpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  /** `prompt_tokens_details.cached_tokens` (part of prompt_tokens, as OpenAI counts them); default 0. */
  cached_tokens?: number;
}

/** What the fake answers. It renders a chat.completion JSON, or an SSE stream when the request body has stream: true. */
export type FakeOpenAiReply =
  | {
      kind: 'completion';
      /** Assistant content; default ''. */
      text?: string;
      toolCalls?: FakeOpenAiToolCall[];
      /** Default: 'tool_calls' if toolCalls else 'stop'. */
      finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
      usage: FakeOpenAiUsage;
      /** Default: the request's model (for an Azure deployment path without one, the deployment name). */
      model?: string;
      /** Default: a fresh 'chatcmpl-…' id. */
      id?: string;
      /** Wait before the status line/headers are sent. */
      delayMs?: number;
      /** Streaming: wait between chunks. */
      chunkDelayMs?: number;
      /**
       * Streaming: after this many content/tool-call chunks, destroy the socket abruptly (no
       * finish chunk, no usage chunk, no [DONE]) to simulate an upstream cut-off. Counted chunks are
       * those carrying a content fragment or a tool_calls delta (the first chunk of a tool-only
       * reply carries the first tool call, so it counts; the role chunk of a text reply does not).
       * 0 cuts before the first counted chunk; a count above the number of chunks cuts in place of
       * the finish chunk.
       */
      cutAfterChunks?: number;
      /** Extra response headers (e.g. x-ratelimit-*). */
      headers?: Record<string, string>;
    }
  | {
      kind: 'error';
      status: number;
      /** e.g. 'rate_limit_exceeded' / 'invalid_request_error' / 'server_error' (OpenAI's 429s say 'requests' or 'tokens'). */
      type: string;
      /** Default null. */
      code?: string | null;
      message: string;
      /** Default null. */
      param?: string | null;
      /** Sent as the `retry-after` header. */
      retryAfterSeconds?: number;
      delayMs?: number;
      /** Extra response headers. */
      headers?: Record<string, string>;
    };

/** The completion kind of {@link FakeOpenAiReply}. */
export type FakeOpenAiCompletionReply = Extract<FakeOpenAiReply, { kind: 'completion' }>;

/** A fresh completion id shaped like OpenAI's: 'chatcmpl-' then 29 base62 characters. */
export function newCompletionId(): string {
  return `chatcmpl-${randomBase62(29)}`;
}

/** A fresh tool call id shaped like OpenAI's: 'call_' then 24 base62 characters. */
export function newToolCallId(): string {
  return `call_${randomBase62(24)}`;
}

/** A request id shaped like OpenAI's `x-request-id`: 'req_' then 32 hex digits. */
function newRequestId(): string {
  return `req_${randomBytes(16).toString('hex')}`;
}

/** The text of the request's last user message (string content or its text parts), or ''. */
export function lastUserText(request: FakeOpenAiRequest): string {
  return lastUserMessageText(request.body);
}

/** The default responder: a short completion echoing the last user message text. */
export function echoResponder(request: FakeOpenAiRequest): FakeOpenAiReply {
  const said = lastUserText(request);
  const text = `Echo: ${said}`;
  return {
    kind: 'completion',
    text,
    usage: {
      prompt_tokens: Math.max(1, Math.ceil(said.length / 4)),
      completion_tokens: text.split(/\s+/).filter(Boolean).length,
    },
  };
}

/** The deployment name of an Azure path ('/openai/deployments/<d>/chat/completions'), if any. */
function deploymentOf(path: string): string | undefined {
  const match = /\/openai\/deployments\/([^/]+)\/chat\/completions$/.exec(path);
  return match ? decodeURIComponent(match[1]!) : undefined;
}

function replyModel(reply: FakeOpenAiCompletionReply, request: FakeOpenAiRequest): string {
  if (reply.model !== undefined) return reply.model;
  const model = request.body['model'];
  if (typeof model === 'string' && model !== '') return model;
  return deploymentOf(request.path) ?? 'gpt-4o';
}

function finishReason(reply: FakeOpenAiCompletionReply): string {
  return reply.finishReason ?? ((reply.toolCalls?.length ?? 0) > 0 ? 'tool_calls' : 'stop');
}

/** The usage object as the API returns it. */
export function openAiUsage(usage: FakeOpenAiUsage): Record<string, unknown> {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_tokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** A fixed-looking `system_fingerprint` ('fp_' + 10 hex digits) per server. */
function newFingerprint(): string {
  return `fp_${randomBytes(5).toString('hex')}`;
}

/** The non-streamed `chat.completion` object for a reply, as `POST …/chat/completions` returns it. */
export function openAiCompletion(
  reply: FakeOpenAiCompletionReply,
  request: FakeOpenAiRequest,
  options: { id?: string; created?: number; systemFingerprint?: string } = {},
): Record<string, unknown> {
  const toolCalls = reply.toolCalls ?? [];
  const text = reply.text ?? '';
  const message: Record<string, unknown> = {
    role: 'assistant',
    // Like the API: null when the model only called tools.
    content: toolCalls.length > 0 && text === '' ? null : text,
    refusal: null,
    annotations: [],
  };
  if (toolCalls.length > 0) {
    message['tool_calls'] = toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  return {
    id: options.id ?? reply.id ?? newCompletionId(),
    object: 'chat.completion',
    created: options.created ?? Math.floor(Date.now() / 1000),
    model: replyModel(reply, request),
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(reply) }],
    usage: openAiUsage(reply.usage),
    service_tier: 'default',
    system_fingerprint: options.systemFingerprint ?? newFingerprint(),
  };
}

/** Splits text into word-sized pieces with their leading space ("Hi,", " how", " are"), joining back to the text. */
function textPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** Splits tool arguments into small fragments (about 8 characters, by code point) that join back. */
function argumentPieces(json: string): string[] {
  const chars = Array.from(json);
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += 8) pieces.push(chars.slice(i, i + 8).join(''));
  return pieces;
}

/** One `choices[0].delta` of a stream, and whether it counts for `cutAfterChunks`. */
export interface FakeOpenAiStreamDelta {
  delta: Record<string, unknown>;
  counted: boolean;
}

/**
 * The deltas of a streamed reply, in OpenAI's order (without the finish and usage chunks):
 * - a text reply starts with {role:'assistant', content:'', refusal:null}, then one
 *   {content: piece} per word;
 * - each tool call starts with {tool_calls:[{index, id, type:'function', function:{name,
 *   arguments:''}}]}, then {tool_calls:[{index, function:{arguments: fragment}}]} per fragment;
 * - a tool-only reply carries the role in the first tool call's delta, with content null, as the
 *   API does: {role:'assistant', content:null, tool_calls:[…], refusal:null}.
 */
export function openAiStreamDeltas(reply: FakeOpenAiCompletionReply): FakeOpenAiStreamDelta[] {
  const deltas: FakeOpenAiStreamDelta[] = [];
  const text = reply.text ?? '';
  const toolCalls = reply.toolCalls ?? [];
  const toolOnly = text === '' && toolCalls.length > 0;
  if (!toolOnly) {
    deltas.push({ delta: { role: 'assistant', content: '', refusal: null }, counted: false });
    for (const piece of textPieces(text)) deltas.push({ delta: { content: piece }, counted: true });
  }
  toolCalls.forEach((call, index) => {
    const start = {
      tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
    };
    deltas.push({
      delta: toolOnly && index === 0 ? { role: 'assistant', content: null, ...start, refusal: null } : start,
      counted: true,
    });
    for (const fragment of argumentPieces(call.arguments)) {
      deltas.push({ delta: { tool_calls: [{ index, function: { arguments: fragment } }] }, counted: true });
    }
  });
  return deltas;
}

/** `{"error":{message,type,param,code}}`, the body of every API error. */
export function openAiErrorBody(
  type: string,
  message: string,
  code: string | null = null,
  param: string | null = null,
): Record<string, unknown> {
  return { error: { message, type, param, code } };
}

/** Checks a request the way the API does before the model runs; returns the error to send, if any. */
function rejection(request: FakeOpenAiRequest, bodyIsJson: boolean): FakeOpenAiReply | undefined {
  const invalid = (message: string, param: string | null = null, code: string | null = null): FakeOpenAiReply => ({
    kind: 'error',
    status: 400,
    type: 'invalid_request_error',
    message,
    param,
    code,
  });
  if (request.method !== 'POST' || !request.path.endsWith('/chat/completions')) {
    return {
      kind: 'error',
      status: 404,
      type: 'invalid_request_error',
      message: `Invalid URL (${request.method} ${request.path})`,
    };
  }
  const authorization = request.headers['authorization'];
  const apiKey = request.headers['api-key'];
  const hasKey = /^Bearer\s+\S+/i.test(authorization ?? '') || (typeof apiKey === 'string' && apiKey !== '');
  if (!hasKey) {
    // The API's answer when no key is sent at all (a wrong key gets code 'invalid_api_key').
    return {
      kind: 'error',
      status: 401,
      type: 'invalid_request_error',
      code: null,
      message:
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer " +
        "auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're " +
        'accessing the API from your browser and are prompted for a username and password. You can obtain an API ' +
        'key from https://platform.openai.com/account/api-keys.',
    };
  }
  if (!bodyIsJson) {
    return invalid(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP " +
        'library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you ' +
        'have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)',
    );
  }
  const model = request.body['model'];
  if ((typeof model !== 'string' || model === '') && deploymentOf(request.path) === undefined) {
    return invalid('you must provide a model parameter');
  }
  if (!Array.isArray(request.body['messages'])) {
    return invalid("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  }
  return undefined;
}

/** What the fake answers to `POST …/embeddings`. */
export type FakeOpenAiEmbeddingsReply =
  | { kind: 'embeddings'; vectors: number[][]; promptTokens: number }
  | { kind: 'error'; status: number; type: string; message: string; code?: string | null };

/**
 * The default embeddings answer: for each input, the vector [characters, words, 1] scaled to unit
 * length, and one prompt token per word plus one per input, so tests can predict both.
 */
export function fakeEmbeddingsReply(request: FakeOpenAiRequest): FakeOpenAiEmbeddingsReply {
  const input = request.body['input'];
  const texts = (typeof input === 'string' ? [input] : input) as string[];
  const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
  const dimensions = typeof request.body['dimensions'] === 'number' ? request.body['dimensions'] : 3;
  return {
    kind: 'embeddings',
    vectors: texts.map((text) => {
      const raw = [text.length, words(text), ...Array<number>(Math.max(0, dimensions - 2)).fill(1)];
      const norm = Math.hypot(...raw);
      return raw.map((v) => v / norm);
    }),
    promptTokens: texts.reduce((n, text) => n + words(text) + 1, 0),
  };
}

/**
 * A local stand-in for OpenAI's Chat Completions API (and Azure OpenAI's deployment paths) that
 * speaks its wire format over HTTP/1.1 (and `POST <anything>/embeddings`, see `embeddings`):
 * - `POST <anything>/chat/completions` (`/v1/chat/completions`,
 *   `/openai/deployments/<d>/chat/completions?api-version=…`, `/openai/v1/chat/completions`);
 * - the `chat.completion` object as JSON, or (with `stream: true`) `chat.completion.chunk`
 *   objects as `data: {json}\n\n` server-sent events, the usage chunk (`choices: []`) when
 *   `stream_options.include_usage` is true, and `data: [DONE]`; chunks carry an `obfuscation`
 *   field unless `stream_options.include_obfuscation` is false, like the API's;
 * - errors as `{"error":{message,type,param,code}}` with the HTTP status, `retry-after` when asked;
 * - `x-request-id` (req_…), `openai-processing-ms` and `openai-version` headers on every answer.
 * The key comes as `Authorization: Bearer <key>` or Azure's `api-key: <key>`; its value is not
 * checked, only its presence (a missing key is a 401).
 */
export class FakeOpenAi extends FakeHttpServer<FakeOpenAiRequest, FakeOpenAiReply> {
  private readonly systemFingerprint = newFingerprint();

  constructor(respond: (request: FakeOpenAiRequest) => FakeOpenAiReply = echoResponder) {
    super(respond);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const receivedAt = Date.now();
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
    } else {
      bodyIsJson = false;
    }
    const url = new URL(req.url ?? '/', 'http://fake');
    const request: FakeOpenAiRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
    };
    this.received(request);
    if (request.method === 'POST' && request.path.endsWith('/embeddings')) {
      this.embeddings(request, bodyIsJson, res);
      return;
    }

    let reply = rejection(request, bodyIsJson);
    if (!reply) {
      try {
        reply = this.respond(request);
      } catch (error) {
        reply = {
          kind: 'error',
          status: 500,
          type: 'server_error',
          message: `FakeOpenAi: the responder threw: ${String(error)}`,
        };
      }
    }
    await sleep(reply.delayMs ?? 0);
    if (res.destroyed || !this.running) return;

    const requestId = newRequestId();
    const common: OutgoingHttpHeaders = {
      'x-request-id': requestId,
      'openai-version': '2020-10-01',
      'openai-processing-ms': String(Date.now() - receivedAt),
    };

    if (reply.kind === 'error') {
      const headers: OutgoingHttpHeaders = { 'content-type': 'application/json', ...common, ...reply.headers };
      if (reply.retryAfterSeconds !== undefined) headers['retry-after'] = String(reply.retryAfterSeconds);
      res.writeHead(reply.status, headers);
      res.end(JSON.stringify(openAiErrorBody(reply.type, reply.message, reply.code ?? null, reply.param ?? null)));
      return;
    }

    const id = reply.id ?? newCompletionId();
    const created = Math.floor(Date.now() / 1000);
    if (request.body['stream'] !== true) {
      res.writeHead(200, { 'content-type': 'application/json', ...common, ...reply.headers });
      res.end(
        JSON.stringify(openAiCompletion(reply, request, { id, created, systemFingerprint: this.systemFingerprint })),
      );
      return;
    }
    await this.stream(reply, request, res, { ...common, ...reply.headers }, id, created);
  }

  private async stream(
    reply: FakeOpenAiCompletionReply,
    request: FakeOpenAiRequest,
    res: ServerResponse,
    headers: OutgoingHttpHeaders,
    id: string,
    created: number,
  ): Promise<void> {
    const streamOptions = request.body['stream_options'] as
      { include_usage?: unknown; include_obfuscation?: unknown } | null | undefined;
    const includeUsage = streamOptions?.include_usage === true;
    const obfuscate = streamOptions?.include_obfuscation !== false;
    const model = replyModel(reply, request);
    const chunk = (choices: Record<string, unknown>[], usage?: Record<string, unknown>): string => {
      const data: Record<string, unknown> = {
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        service_tier: 'default',
        system_fingerprint: this.systemFingerprint,
        choices,
      };
      if (includeUsage) data['usage'] = usage ?? null;
      // Random padding that normalizes payload sizes (0 to 15 characters).
      if (obfuscate) data['obfuscation'] = randomBase62(randomBytes(1)[0]! % 16);
      return `data: ${JSON.stringify(data)}\n\n`;
    };
    const choice = (delta: Record<string, unknown>, finish: string | null) => ({
      index: 0,
      delta,
      logprobs: null,
      finish_reason: finish,
    });

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      ...headers,
    });
    const cut = async (): Promise<void> => {
      // Let what was written reach the client, then drop the connection mid-answer.
      await sleep(10);
      res.socket?.destroy();
    };
    let counted = 0;
    let first = true;
    for (const { delta, counted: isCounted } of openAiStreamDeltas(reply)) {
      if (!first) await sleep(reply.chunkDelayMs ?? 0);
      first = false;
      if (res.destroyed || !this.running) return;
      if (isCounted && reply.cutAfterChunks !== undefined && counted >= reply.cutAfterChunks) return cut();
      await writeChunk(res, chunk([choice(delta, null)]));
      if (isCounted) counted++;
    }
    if (reply.cutAfterChunks !== undefined) return cut();
    await sleep(reply.chunkDelayMs ?? 0);
    if (res.destroyed || !this.running) return;
    await writeChunk(res, chunk([choice({}, finishReason(reply))]));
    if (includeUsage) {
      await sleep(reply.chunkDelayMs ?? 0);
      if (res.destroyed || !this.running) return;
      await writeChunk(res, chunk([], openAiUsage(reply.usage)));
    }
    res.end('data: [DONE]\n\n');
  }

  /** Replaces the embeddings reply logic (per test); the default is {@link fakeEmbeddingsReply}. */
  setEmbeddingsResponder(respond: (request: FakeOpenAiRequest) => FakeOpenAiEmbeddingsReply): void {
    this.embeddingsResponder = respond;
  }
  private embeddingsResponder: (request: FakeOpenAiRequest) => FakeOpenAiEmbeddingsReply = fakeEmbeddingsReply;

  /**
   * `POST …/embeddings`: checks the key, the JSON, `model` and `input` as the API does, then
   * answers the `list` of `embedding` objects (floats, or base64 float32 when asked) and usage.
   */
  private embeddings(request: FakeOpenAiRequest, bodyIsJson: boolean, res: ServerResponse): void {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': newRequestId() });
      res.end(JSON.stringify(body));
    };
    const hasKey = /^Bearer\s+\S+/i.test(request.headers['authorization'] ?? '') || Boolean(request.headers['api-key']);
    if (!hasKey) return send(401, openAiErrorBody('invalid_request_error', "You didn't provide an API key."));
    const { model, input } = request.body;
    if (!bodyIsJson || typeof model !== 'string' || model === '') {
      return send(400, openAiErrorBody('invalid_request_error', 'you must provide a model parameter'));
    }
    const texts = typeof input === 'string' ? [input] : input;
    if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string' && t !== '')) {
      return send(400, openAiErrorBody('invalid_request_error', "'$.input' is invalid.", null, 'input'));
    }
    const reply = this.embeddingsResponder(request);
    if (reply.kind === 'error') {
      return send(reply.status, openAiErrorBody(reply.type, reply.message, reply.code ?? null));
    }
    const base64 = request.body['encoding_format'] === 'base64';
    send(200, {
      object: 'list',
      data: reply.vectors.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
      })),
      model,
      usage: { prompt_tokens: reply.promptTokens, total_tokens: reply.promptTokens },
    });
  }
}
