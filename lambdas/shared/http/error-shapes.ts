import type { GatewayError } from './errors';

/**
 * The error body shapes the API speaks: OpenAI's on every route but those of Anthropic's
 * Messages face, whose clients (the Anthropic SDKs, Claude Code) read Anthropic's. The route
 * table names each route's shape, so a refusal before any handler runs (a bad key, an unknown
 * path parameter) is in the shape of the route it was meant for.
 */
export type ErrorShape = 'openai' | 'anthropic';

/**
 * Anthropic's error `type` for an HTTP status, as its API uses them (the SDKs pick their
 * exception class by status, and show the type).
 */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    // The gateway's 503 (no provider could take the call now, a guardrail or the store briefly
    // unavailable) is what Anthropic calls overloaded: clients retry it the same way.
    case 503:
    case 529:
      return 'overloaded_error';
    default:
      return status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

/**
 * Anthropic's error body for a gateway error: `{"type":"error","error":{"type","message"},
 * "request_id"}`. The gateway's own machine-readable code has no place in it, so it goes in the
 * message's end only when the status alone does not tell the cause (a spent budget is a 429 like
 * a rate limit).
 *
 * @example
 * anthropicErrorBody(unauthenticated('Invalid API key.'), 'req-1')
 * // { type: 'error', error: { type: 'authentication_error', message: 'Invalid API key.' }, request_id: 'req-1' }
 */
export function anthropicErrorBody(error: GatewayError, requestId: string | undefined) {
  return {
    type: 'error',
    error: { type: anthropicErrorType(error.status), message: error.message },
    ...(requestId ? { request_id: requestId } : {}),
  };
}

/**
 * The body of an error response in a shape.
 *
 * @example
 * errorBody(error, 'anthropic', requestId)
 */
export function errorBody(error: GatewayError, shape: ErrorShape, requestId?: string): unknown {
  return shape === 'anthropic' ? anthropicErrorBody(error, requestId) : error.toBody();
}
