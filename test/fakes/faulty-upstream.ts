import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import {
  anthropicMessage,
  anthropicStreamEvents,
  sseFrame as anthropicSseFrame,
  type FakeAnthropicEvent,
  type FakeAnthropicRequest,
  type FakeAnthropicUsage,
} from './anthropic-server';
import { converseBody, encodeFrame, streamEvents, usageBody, type FakeBedrockUsage } from './bedrock-server';
import { LocalListener, onBody } from './fake-http-server';
import {
  openAiCompletion,
  openAiStreamDeltas,
  openAiUsage,
  type FakeOpenAiRequest,
  type FakeOpenAiUsage,
} from './openai-server';

/**
 * A provider that misbehaves at the HTTP level, for fault-injection tests. What it does is a
 * {@link Fault}, chosen per request (by the upstream model id the gateway sends, so one server
 * can play a different fault for each catalog model). The valid parts of its answers come from
 * the provider fakes' wire formats (`openAiWire`, `anthropicWire`, `bedrockWire` below); the
 * faults are in the framing: headers then silence, bytes trickled, bodies cut, sockets reset,
 * streams stalled.
 *
 * Every request is recorded as a {@link FaultExchange} that says whether the connection (HTTP/1.1:
 * the socket; HTTP/2: the stream) was closed, and by whom, so a test can check that the gateway
 * hangs up on an upstream it has given up on instead of leaving the socket open.
 */
export type Fault =
  /** Read the request, never answer (no status line, no headers). */
  | { kind: 'hang' }
  /** Reset the connection (TCP RST) as soon as the request has been read: not one byte of answer. */
  | { kind: 'reset' }
  /** A complete, well-framed answer with this status and body (e.g. a 200 whose body is not what it should be). */
  | { kind: 'respond'; status?: number; contentType: string; body: string | Uint8Array }
  /**
   * Status and headers at once (with the full Content-Length), then the body one byte every
   * `byteIntervalMs`: a slow-loris upstream whose answer would take far longer than any deadline.
   */
  | { kind: 'trickle'; status?: number; contentType: string; body: string | Uint8Array; byteIntervalMs: number }
  /**
   * Status, headers and the first `sendBytes` bytes of the body, then the connection closes
   * (`fin`: a plain close; `rst`: a TCP reset). `framing: 'content-length'` announces the full
   * length; `chunked` (HTTP/1.1) sends chunked transfer encoding, no length (HTTP/2: no length).
   */
  | {
      kind: 'truncate';
      status?: number;
      contentType: string;
      body: string | Uint8Array;
      sendBytes: number;
      framing: 'content-length' | 'chunked';
      close: 'fin' | 'rst';
    }
  /**
   * A 200 streaming answer: these chunks, `intervalMs` apart, then `end` (a clean end of the
   * body), `stall` (nothing more, connection left open) or `reset` (TCP reset).
   */
  | {
      kind: 'stream';
      contentType: string;
      chunks: (string | Uint8Array)[];
      intervalMs?: number;
      then: 'end' | 'stall' | 'reset';
    };

/** A request as the fault server saw it. */
export interface FaultRequest {
  /** The upstream model: `model` of a JSON body (OpenAI, Anthropic), the `{modelId}` of a Bedrock path. */
  key: string;
  path: string;
  /** Whether the gateway asked for a stream (`stream: true`, or Bedrock's `converse-stream`). */
  stream: boolean;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** One request and what became of its connection. */
export interface FaultExchange {
  request: FaultRequest;
  fault: Fault;
  receivedAt: number;
  /** Response bytes (status line and headers excluded) handed to the socket. */
  bodyBytesSent: number;
  /** When the connection (HTTP/1.1 socket, HTTP/2 stream) closed; unset while it is open. */
  closedAt?: number;
  /**
   * `gateway` when the client side closed it (an abort; for a complete HTTP/1.1 answer, also a
   * later idle keep-alive close), `upstream` when this server did (a planned end or reset).
   */
  closedBy?: 'gateway' | 'upstream';
}

/** Waits `ms` without keeping the process alive. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function bytesOf(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
}

function parseJson(raw: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** What both servers share: the fault lookup, the exchange log and stop(). */
abstract class FaultServer {
  /** Every request received, in order. */
  readonly exchanges: FaultExchange[] = [];
  protected readonly listener = new LocalListener();

  constructor(protected readonly faultFor: (request: FaultRequest) => Fault) {}

  /** The exchanges of one upstream model, in order. */
  exchangesFor(key: string): FaultExchange[] {
    return this.exchanges.filter((exchange) => exchange.request.key === key);
  }

  /**
   * Resolves once every exchange of `key` has its connection closed, or after `withinMs`
   * (whichever comes first); returns the exchanges as they are then.
   */
  async settled(key: string, withinMs: number): Promise<FaultExchange[]> {
    const until = Date.now() + withinMs;
    while (Date.now() < until && this.exchangesFor(key).some((exchange) => exchange.closedAt === undefined)) {
      await delay(10);
    }
    return this.exchangesFor(key);
  }

  protected open(request: FaultRequest): FaultExchange {
    const exchange: FaultExchange = {
      request,
      fault: this.faultFor(request),
      receivedAt: Date.now(),
      bodyBytesSent: 0,
    };
    this.exchanges.push(exchange);
    return exchange;
  }

  /**
   * Records in `exchange` when `connection` closes, and by whom: the gateway, unless the returned
   * function was called first (this server is closing it).
   */
  protected recordClose(exchange: FaultExchange, connection: { once(event: 'close', listener: () => void): unknown }) {
    let closingOurselves = false;
    connection.once('close', () => {
      exchange.closedAt ??= Date.now();
      exchange.closedBy ??= closingOurselves ? 'upstream' : 'gateway';
    });
    return () => {
      closingOurselves = true;
    };
  }

  abstract start(): Promise<string>;

  /** Closes the server, destroying open connections (faults in flight stop playing). */
  stop(): Promise<void> {
    return this.listener.stop();
  }
}

/** Writes part of a body, counted in `bodyBytesSent`; resolves once handed to the socket (or the write failed). */
function writeCounted(
  exchange: FaultExchange,
  out: { write(bytes: Buffer, callback: () => void): unknown },
  bytes: Buffer,
): Promise<void> {
  exchange.bodyBytesSent += bytes.length;
  return new Promise((resolve) => out.write(bytes, () => resolve()));
}

/**
 * The fault server for HTTP/1.1 providers (OpenAI-compatible and Anthropic): `fetch` (undici)
 * on the gateway side. The fault is looked up by the JSON body's `model`.
 */
export class FaultyHttpUpstream extends FaultServer {
  async start(): Promise<string> {
    const server = createHttpServer((req, res) =>
      onBody(req, (raw) => {
        const body = parseJson(raw);
        const exchange = this.open({
          key: typeof body['model'] === 'string' ? body['model'] : '',
          path: new URL(req.url ?? '/', 'http://fault').pathname,
          stream: body['stream'] === true,
          headers: req.headers,
          body,
        });
        void this.play(exchange, req, res).catch(() => req.socket.destroy());
      }),
    );
    return this.listener.listen(server);
  }

  private async play(exchange: FaultExchange, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket;
    const closing = this.recordClose(exchange, socket);
    const gone = () => socket.destroyed || !this.listener.running;
    const close = (how: 'fin' | 'rst') => {
      closing();
      if (how === 'rst' && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else socket.destroy();
    };
    const write = (bytes: Buffer) => writeCounted(exchange, res, bytes);
    const fault = exchange.fault;
    switch (fault.kind) {
      case 'hang':
        return;
      case 'reset':
        close('rst');
        return;
      case 'respond': {
        const body = bytesOf(fault.body);
        res.writeHead(fault.status ?? 200, { 'content-type': fault.contentType, 'content-length': body.length });
        exchange.bodyBytesSent += body.length;
        res.end(body);
        return;
      }
      case 'trickle': {
        const body = bytesOf(fault.body);
        res.writeHead(fault.status ?? 200, { 'content-type': fault.contentType, 'content-length': body.length });
        res.flushHeaders();
        for (let i = 0; i < body.length; i++) {
          await delay(fault.byteIntervalMs);
          if (gone()) return;
          await write(body.subarray(i, i + 1));
        }
        res.end();
        return;
      }
      case 'truncate': {
        const body = bytesOf(fault.body);
        res.writeHead(fault.status ?? 200, {
          'content-type': fault.contentType,
          ...(fault.framing === 'content-length' ? { 'content-length': body.length } : {}),
        });
        await write(body.subarray(0, fault.sendBytes));
        // Let the bytes reach the gateway, then hang up mid-body.
        await delay(20);
        if (!gone()) close(fault.close);
        return;
      }
      case 'stream': {
        res.writeHead(200, { 'content-type': fault.contentType, 'cache-control': 'no-cache' });
        res.flushHeaders();
        for (const [i, chunk] of fault.chunks.entries()) {
          if (i > 0) await delay(fault.intervalMs ?? 0);
          if (gone()) return;
          await write(bytesOf(chunk));
        }
        if (fault.then === 'end') {
          res.end();
        } else if (fault.then === 'reset') {
          await delay(20);
          if (!gone()) close('rst');
        }
        return;
      }
    }
  }
}

/**
 * The fault server for Bedrock: the Bedrock runtime client speaks HTTP/2 (cleartext against an
 * `http://` endpoint) to `POST /model/{modelId}/converse` and `/converse-stream`. The fault is
 * looked up by the model id in the path. A reset destroys the HTTP/2 session's socket (every
 * stream on it dies, as when a TCP connection resets); "closed by the gateway" means the client
 * cancelled the HTTP/2 stream.
 */
export class FaultyBedrockUpstream extends FaultServer {
  async start(): Promise<string> {
    const server = createHttp2Server();
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) =>
      onBody(stream, (raw) => {
        const path = String(headers[':path'] ?? '/');
        const match = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(path);
        if (!match) {
          stream.respond({ ':status': 404, 'x-amzn-errortype': 'UnknownOperationException' });
          stream.end('{}');
          return;
        }
        const exchange = this.open({
          key: decodeURIComponent(match[1]!),
          path,
          stream: match[2] === 'converse-stream',
          headers,
          body: parseJson(raw),
        });
        void this.play(exchange, stream).catch(() => stream.session?.destroy());
      }),
    );
    // stop() destroys the HTTP/2 sessions: each takes its socket and every stream on it along.
    return this.listener.listen(server, 'session');
  }

  private async play(exchange: FaultExchange, stream: ServerHttp2Stream): Promise<void> {
    const closing = this.recordClose(exchange, stream);
    // Swallow the stream's errors (a reset from either side); the close above records it.
    stream.on('error', () => undefined);
    const gone = () => stream.destroyed || stream.closed || !this.listener.running;
    const resetConnection = () => {
      closing();
      const socket = stream.session?.socket as Socket | undefined;
      if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else stream.session?.destroy();
    };
    const headers = (status: number, contentType: string, length?: number) => ({
      ':status': status,
      'content-type': contentType,
      'x-amzn-requestid': 'fault-request',
      ...(length !== undefined ? { 'content-length': length } : {}),
    });
    const write = (bytes: Buffer) => writeCounted(exchange, stream, bytes);
    const fault = exchange.fault;
    switch (fault.kind) {
      case 'hang':
        return;
      case 'reset':
        resetConnection();
        return;
      case 'respond': {
        const body = bytesOf(fault.body);
        stream.respond(headers(fault.status ?? 200, fault.contentType, body.length));
        exchange.bodyBytesSent += body.length;
        closing();
        stream.end(body);
        return;
      }
      case 'trickle': {
        const body = bytesOf(fault.body);
        stream.respond(headers(fault.status ?? 200, fault.contentType, body.length));
        for (let i = 0; i < body.length; i++) {
          await delay(fault.byteIntervalMs);
          if (gone()) return;
          await write(body.subarray(i, i + 1));
        }
        closing();
        stream.end();
        return;
      }
      case 'truncate': {
        const body = bytesOf(fault.body);
        stream.respond(
          headers(fault.status ?? 200, fault.contentType, fault.framing === 'content-length' ? body.length : undefined),
        );
        await write(body.subarray(0, fault.sendBytes));
        await delay(20);
        if (gone()) return;
        // HTTP/2 has no "plain close" of one response: both ways the connection goes.
        resetConnection();
        return;
      }
      case 'stream': {
        stream.respond(headers(200, fault.contentType));
        for (const [i, chunk] of fault.chunks.entries()) {
          if (i > 0) await delay(fault.intervalMs ?? 0);
          if (gone()) return;
          await write(bytesOf(chunk));
        }
        if (fault.then === 'end') {
          closing();
          stream.end();
        } else if (fault.then === 'reset') {
          await delay(20);
          if (!gone()) resetConnection();
        }
        return;
      }
    }
  }
}

/** A provider answer's valid parts, in its wire format, for building faults. */
export interface StreamParts {
  /** What comes before and with the text: the start events and one event per word of text. */
  head: (string | Uint8Array)[];
  /** How many of `head`'s events carry text (the last ones). */
  textEvents: number;
  /** The text each of those events carries, in order. */
  texts: string[];
  /** What ends a complete stream: finish / stop, usage, terminator. */
  tail: (string | Uint8Array)[];
}

/** OpenAI Chat Completions: the `chat.completion` object and `chat.completion.chunk` SSE frames. */
export const openAiWire = {
  contentType: 'application/json',
  streamContentType: 'text/event-stream; charset=utf-8',
  completion(model: string, text: string, usage: FakeOpenAiUsage): string {
    return JSON.stringify(
      openAiCompletion({ kind: 'completion', text, usage, model }, { body: { model } } as unknown as FakeOpenAiRequest),
    );
  },
  stream(model: string, text: string, usage: FakeOpenAiUsage): StreamParts {
    const base = { id: 'chatcmpl-fault', object: 'chat.completion.chunk', created: 1_700_000_000, model };
    const frame = (choices: unknown[], usageField: unknown = null) =>
      `data: ${JSON.stringify({ ...base, choices, usage: usageField })}\n\n`;
    const deltas = openAiStreamDeltas({ kind: 'completion', text, usage });
    const head = deltas.map(({ delta }) => frame([{ index: 0, delta, logprobs: null, finish_reason: null }]));
    return {
      head,
      textEvents: deltas.filter((d) => d.counted).length,
      texts: deltas.filter((d) => d.counted).map(({ delta }) => String(delta['content'])),
      tail: [
        frame([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]),
        frame([], openAiUsage(usage)),
        'data: [DONE]\n\n',
      ],
    };
  },
};

/** Anthropic Messages: the Message object and its named SSE events. */
export const anthropicWire = {
  contentType: 'application/json',
  streamContentType: 'text/event-stream; charset=utf-8',
  message(model: string, text: string, usage: FakeAnthropicUsage): string {
    return JSON.stringify(
      anthropicMessage({ kind: 'message', text, usage, model }, { body: { model } } as unknown as FakeAnthropicRequest),
    );
  },
  stream(model: string, text: string, usage: FakeAnthropicUsage): StreamParts {
    const events: FakeAnthropicEvent[] = anthropicStreamEvents({ kind: 'message', text, usage, model }, {
      body: { model },
    } as unknown as FakeAnthropicRequest);
    // Up to the last text delta; the rest (content_block_stop, message_delta, message_stop) ends it.
    const lastDelta = events.map((e) => e.event).lastIndexOf('content_block_delta');
    return {
      head: events.slice(0, lastDelta + 1).map(anthropicSseFrame),
      textEvents: events.filter((e) => e.event === 'content_block_delta').length,
      texts: events
        .filter((e) => e.event === 'content_block_delta')
        .map((e) => String((e.data['delta'] as { text: string }).text)),
      tail: events.slice(lastDelta + 1).map(anthropicSseFrame),
    };
  },
};

/** Bedrock Converse / ConverseStream: the JSON body and binary event-stream messages. */
export const bedrockWire = {
  contentType: 'application/json',
  streamContentType: 'application/vnd.amazon.eventstream',
  converse(text: string, usage: FakeBedrockUsage): string {
    return JSON.stringify(converseBody({ kind: 'message', text, usage }, 12));
  },
  stream(text: string, usage: FakeBedrockUsage): StreamParts {
    const events = streamEvents({ kind: 'message', text, usage });
    const frames = events.map((event, i) => encodeFrame(event, i));
    const lastDelta = events
      .map((e) => (e.messageType === 'event' ? e.eventType : ''))
      .lastIndexOf('contentBlockDelta');
    const metadata = encodeFrame(
      { messageType: 'event', eventType: 'metadata', payload: { usage: usageBody(usage), metrics: { latencyMs: 9 } } },
      events.length,
    );
    return {
      head: frames.slice(0, lastDelta + 1),
      textEvents: events.filter((e) => e.messageType === 'event' && e.eventType === 'contentBlockDelta').length,
      texts: events
        .filter((e) => e.messageType === 'event' && e.eventType === 'contentBlockDelta')
        .map((e) => String((e.payload['delta'] as { text: string }).text)),
      tail: [...frames.slice(lastDelta + 1), metadata],
    };
  },
  /** A ConverseStream text delta event. */
  textDelta(text: string, sequence = 1): Uint8Array {
    return encodeFrame(
      { messageType: 'event', eventType: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { text } } },
      sequence,
    );
  },
  /**
   * The same message with one payload byte changed: its prelude is intact, its message CRC (the
   * last four bytes) no longer matches.
   */
  withBadMessageCrc(message: Uint8Array): Uint8Array {
    const copy = Buffer.from(message);
    const payloadByte = copy.length - 8;
    copy[payloadByte] = copy[payloadByte]! ^ 0x20;
    return copy;
  },
  /**
   * The same message with its headers-length field (prelude bytes 4-7) changed: the prelude CRC
   * (bytes 8-11) no longer matches. The total length (bytes 0-3) is kept, so a decoder reads the
   * whole message before it finds out.
   */
  withBadPrelude(message: Uint8Array): Uint8Array {
    const copy = Buffer.from(message);
    copy[7] = copy[7]! ^ 0x01;
    return copy;
  },
};
