import { ERROR_CODES, GatewayError } from '../http/errors';
import { RATE_LIMIT_HEADERS } from '../http/headers';
import type { ProviderError } from '../providers/errors';

/** Upstream messages are passed on for 400s (they explain what to fix) but cut to this length. */
const MAX_UPSTREAM_MESSAGE = 500;

/**
 * The client-facing error for a provider failure: throttling 429, invalid request 400,
 * unavailable 503, timeout 504, anything else 502. Only the provider's own validation message
 * is passed through; other failures get a generic message, because upstream errors can name
 * internal resources.
 *
 * @example
 * catch (error) { if (error instanceof ProviderError) throw toClientError(error, 'bedrock'); }
 */
export function toClientError(error: ProviderError, provider: string): GatewayError {
  switch (error.failure) {
    case 'throttled':
      return new GatewayError(
        429,
        'requests',
        `The provider ${provider} is rate limiting the gateway. Retry shortly.`,
        {
          code: ERROR_CODES.upstreamRateLimited,
          headers:
            error.retryAfterMs !== undefined
              ? { [RATE_LIMIT_HEADERS.retryAfter]: String(Math.ceil(error.retryAfterMs / 1000)) }
              : undefined,
        },
      );
    case 'invalid_request':
      return new GatewayError(
        400,
        'invalid_request_error',
        `The provider ${provider} rejected the request: ${error.message.slice(0, MAX_UPSTREAM_MESSAGE)}`,
        {
          code: ERROR_CODES.upstreamInvalidRequest,
        },
      );
    case 'unavailable':
      return new GatewayError(503, 'server_error', `The provider ${provider} is unavailable. Retry later.`, {
        code: ERROR_CODES.upstreamUnavailable,
      });
    case 'timeout':
      return new GatewayError(504, 'server_error', `The provider ${provider} did not answer in time.`, {
        code: ERROR_CODES.upstreamTimeout,
      });
    default:
      return new GatewayError(502, 'server_error', `The provider ${provider} failed to answer.`, {
        code: ERROR_CODES.upstreamError,
      });
  }
}
