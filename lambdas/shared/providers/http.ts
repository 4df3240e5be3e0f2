import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';
import { failureOfStatus, ProviderError } from './errors';

/** Upstream error bodies are quoted in errors only up to this length. */
const MAX_ERROR_TEXT = 500;

/**
 * How long the upstream asks us to wait, from `retry-after-ms` (OpenAI), or `retry-after` in
 * seconds or as an HTTP date.
 *
 * @example
 * retryAfterMs(new Headers({ 'retry-after': '2' })) // 2000
 */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.has('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
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

/** Turns a fetch failure (network error, abort, timeout) into a provider error. */
export function fetchFailure(provider: string, error: unknown, signal: AbortSignal): ProviderError {
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

/**
 * POSTs JSON to a provider and returns the response if it is a success, or throws a
 * {@link ProviderError} classified from the status, carrying `retry-after` and the provider's
 * own message.
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
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal,
      // A provider's API does not redirect. Following one would send the credential headers
      // (an `x-api-key`, an `api-key`) to wherever it points. `error` also spares fetch a copy of
      // the request body per call, which it makes in case a redirect must resend it.
      redirect: 'error',
    });
  } catch (error) {
    if ((error as { cause?: { message?: unknown } }).cause?.message === 'unexpected redirect') {
      throw new ProviderError(
        'misconfigured',
        `${provider}: answered with a redirect, which is not followed (check the connection's base URL)`,
        { cause: error },
      );
    }
    throw fetchFailure(provider, error, signal);
  }
  if (response.ok) return response;
  let text = '';
  try {
    text = await response.text();
  } catch {
    // the body is lost; the status still classifies the failure
  }
  const retryAfter = retryAfterMs(response.headers);
  throw new ProviderError(failureOfStatus(response.status), `${provider} ${response.status}: ${errorMessage(text)}`, {
    upstreamStatus: response.status,
    retryAfterMs: retryAfter,
  });
}

/**
 * The server-sent events of a streaming response, parsed by `eventsource-parser`. A body that
 * breaks off mid-stream surfaces as an `upstream_error` provider error.
 *
 * @example
 * for await (const event of serverSentEvents('Anthropic', response, signal)) handle(event.event, event.data);
 */
export async function* serverSentEvents(
  provider: string,
  response: Response,
  signal: AbortSignal,
): AsyncGenerator<EventSourceMessage> {
  if (!response.body) throw new ProviderError('upstream_error', `${provider}: empty streaming body`);
  const reader = response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        if (signal.aborted) throw fetchFailure(provider, error, signal);
        throw new ProviderError('upstream_error', `${provider}: stream broke off: ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    reader.cancel().catch(() => undefined);
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
