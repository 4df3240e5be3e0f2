import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { failureOfStatus, ProviderError } from './errors';

/** Upstream error bodies are quoted in errors only up to this length. */
const MAX_ERROR_TEXT = 500;
/** An error body is read up to this size for its message; beyond it the message is lost. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/**
 * A provider's JSON answer may be this large. Chat answers are far smaller (a 128 K-token answer
 * is about 0.5 MB); a batch of embeddings is the largest (2,048 vectors of 3,072 floats as JSON,
 * about 130 MB, is beyond any one Lambda answer anyway).
 */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Response headers as Node.js gives them (lower-case names), or a fetch `Headers`. */
export type ResponseHeaders = Headers | IncomingHttpHeaders;

/** One header's value (the first, when repeated), or undefined. */
function headerOf(headers: ResponseHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * How long the upstream asks us to wait, from `retry-after-ms` (OpenAI), or `retry-after` in
 * seconds or as an HTTP date.
 *
 * @example
 * retryAfterMs({ 'retry-after': '2' }) // 2000
 */
export function retryAfterMs(headers: ResponseHeaders, now: number = Date.now()): number | undefined {
  const ms = headerOf(headers, 'retry-after-ms');
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = headerOf(headers, 'retry-after');
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The human message in a provider's JSON error body (`error.message` for OpenAI and Anthropic). */
function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof body.error === 'object' ? body.error?.message : (body.error ?? body.message);
    if (typeof message === 'string') return message.slice(0, MAX_ERROR_TEXT);
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, MAX_ERROR_TEXT);
}

/** Turns a failed call (network error, abort, timeout) into a provider error. */
export function callFailure(provider: string, error: unknown, signal: AbortSignal): ProviderError {
  if (error instanceof ProviderError) return error;
  if (signal.aborted) {
    return new ProviderError(
      'timeout',
      `${provider}: call aborted (${String((signal.reason as Error)?.name ?? 'aborted')})`,
      {
        cause: error,
      },
    );
  }
  return new ProviderError('unavailable', `${provider}: ${(error as Error).message ?? String(error)}`, {
    cause: error,
  });
}

/** How long a pooled connection may sit idle (as fetch's pool): less than providers' own idle timeouts. */
const IDLE_MS = 4_000;

/**
 * Connections to providers stay open between calls, one pool per instance. An idle connection
 * is closed after {@link IDLE_MS}, before a provider's own idle timeout can close it under a
 * request.
 */
const AGENTS = {
  'http:': new HttpAgent({ keepAlive: true, timeout: IDLE_MS }),
  'https:': new HttpsAgent({ keepAlive: true, timeout: IDLE_MS }),
};

/** When each pooled connection was last handed back, by the wall clock. */
const idleSince = new WeakMap<Socket, number>();
for (const agent of Object.values(AGENTS)) agent.on('free', (socket: Socket) => idleSince.set(socket, Date.now()));

/**
 * Closes pooled connections idle for longer than {@link IDLE_MS} by the wall clock. Their own idle
 * timers close them, unless the Lambda environment was frozen meanwhile: timers do not run while
 * it is frozen and fire only after the next request has taken a connection, which the provider has
 * most likely closed. A request on it would fail, and be retried as a failed attempt.
 */
function closeStaleConnections(agent: HttpAgent, now: number): void {
  for (const sockets of Object.values(agent.freeSockets)) {
    for (const socket of sockets ?? []) {
      if (now - (idleSince.get(socket) ?? now) > IDLE_MS) socket.destroy();
    }
  }
}

/** A successful provider answer: its status and headers, and its body read once, as JSON or as a stream. */
export interface ProviderResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The whole body parsed as JSON; rejects on a body that is not JSON or breaks off. */
  json(): Promise<unknown>;
  /** The body as it arrives (a stream's events). */
  body: AsyncIterable<Buffer>;
}

/** Reads a whole body, refusing one over `limit` bytes (the connection is then dropped). */
async function readBody(response: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      response.destroy();
      throw new Error(`response body over ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * POSTs JSON to a provider and returns the response if it is a success, or throws a
 * {@link ProviderError} classified from the status, carrying `retry-after` and the provider's
 * own message. Node.js's `http`/`https` with a keep-alive pool, not `fetch`: fetch wraps each call
 * in web streams, an abort controller and a copy of the request, about 0.2 ms of CPU per call
 * more (`npm run bench`, "Provider HTTP client").
 *
 * @example
 * const response = await postJson('OpenAI', url, body, headers, signal);
 */
export async function postJson(
  provider: string,
  url: string,
  body: unknown,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<ProviderResponse> {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new ProviderError('misconfigured', `${provider}: the connection's URL is not http(s)`);
  }
  const payload = JSON.stringify(body);
  let response: IncomingMessage;
  try {
    signal.throwIfAborted();
    const agent = AGENTS[target.protocol as keyof typeof AGENTS];
    closeStaleConnections(agent, Date.now());
    response = await new Promise<IncomingMessage>((resolve, reject) => {
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(target, {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', ...headers, 'content-length': Buffer.byteLength(payload) },
        // Aborting destroys the request, and the response with it if it has begun.
        signal,
      });
      request.once('response', resolve);
      request.once('error', reject);
      request.end(payload);
    });
  } catch (error) {
    throw callFailure(provider, error, signal);
  }
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) {
    return {
      status,
      headers: response.headers,
      json: async () => JSON.parse((await readBody(response, MAX_RESPONSE_BYTES)).toString('utf8')) as unknown,
      body: response as AsyncIterable<Buffer>,
    };
  }
  if (status >= 300 && status < 400) {
    // A provider's API does not redirect. Following one would send the credential headers (an
    // `x-api-key`, an `api-key`) to wherever it points; Node.js's client follows none.
    response.destroy();
    throw new ProviderError(
      'misconfigured',
      `${provider}: answered with a redirect (${status}), which is not followed (check the connection's base URL)`,
      { upstreamStatus: status },
    );
  }
  let text = '';
  try {
    text = (await readBody(response, MAX_ERROR_BODY_BYTES)).toString('utf8');
  } catch {
    // the body is lost or too long; the status still classifies the failure
  }
  throw new ProviderError(failureOfStatus(status), `${provider} ${status}: ${errorMessage(text)}`, {
    upstreamStatus: status,
    retryAfterMs: retryAfterMs(response.headers),
  });
}

/**
 * The server-sent events of a streaming response, parsed by `eventsource-parser`. A body that
 * breaks off mid-stream surfaces as an `upstream_error` provider error; one whose call was
 * aborted (the deadline, the client gone) as the abort's failure.
 *
 * @example
 * for await (const event of serverSentEvents('Anthropic', response, signal)) handle(event.event, event.data);
 */
export async function* serverSentEvents(
  provider: string,
  response: ProviderResponse,
  signal: AbortSignal,
): AsyncGenerator<EventSourceMessage> {
  const parsed: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => parsed.push(event) });
  const decoder = new TextDecoder();
  const chunks = response.body[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (error) {
        if (signal.aborted) throw callFailure(provider, error, signal);
        throw new ProviderError('upstream_error', `${provider}: stream broke off: ${(error as Error).message}`, {
          cause: error,
        });
      }
      parser.feed(next.done ? decoder.decode() : decoder.decode(next.value, { stream: true }));
      // Events are handed on one at a time, so a consumer that stops early stops the read.
      while (parsed.length > 0) yield parsed.shift()!;
      if (next.done) return;
    }
  } finally {
    // Ends the read when the consumer stopped early: the connection is dropped, not reused.
    await chunks.return?.();
  }
}

/** Parses one JSON payload of a stream, as a provider error when it is not JSON. */
export function parseEventJson<T>(provider: string, data: string): T {
  try {
    return JSON.parse(data) as T;
  } catch (error) {
    throw new ProviderError('upstream_error', `${provider}: malformed stream event`, { cause: error });
  }
}
