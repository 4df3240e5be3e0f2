import type { Readable } from 'node:stream';
import type { GatewayError } from './errors';
import { errorBody, type ErrorShape } from './error-shapes';
import { GATEWAY_HEADERS } from './headers';

/** A buffered HTTP API (payload 2.0) response. */
export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A response of the streaming function: the body may be a stream, written as it is produced. */
export interface StreamingHttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | Readable;
}

/**
 * A JSON response.
 *
 * @example
 * return jsonResponse(200, { status: 'ok' });
 */
export function jsonResponse(statusCode: number, payload: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    statusCode,
    // Object.assign, not a spread: the gateway's header maps have computed keys, which a spread copies slowly.
    headers: Object.assign({ 'content-type': 'application/json' }, headers),
    body: JSON.stringify(payload),
  };
}

/**
 * The response for a gateway error: the route's error body (OpenAI's unless the route is
 * Anthropic's Messages face), the error's own headers (such as `retry-after`) and any context
 * headers the caller adds.
 *
 * @example
 * return errorResponse(error, { 'x-request-id': requestId });
 */
export function errorResponse(
  error: GatewayError,
  headers: Record<string, string> = {},
  shape: ErrorShape = 'openai',
): HttpResponse {
  const requestId = headers[GATEWAY_HEADERS.requestId];
  // Anthropic's SDKs read the request id from `request-id`.
  const named: Record<string, string> = shape === 'anthropic' && requestId ? { 'request-id': requestId } : {};
  return jsonResponse(error.status, errorBody(error, shape, requestId), { ...headers, ...named, ...error.headers });
}

/** Header naming the request, added to every response the handlers produce. */
export function requestIdHeader(requestId: string): Record<string, string> {
  return { [GATEWAY_HEADERS.requestId]: requestId };
}
