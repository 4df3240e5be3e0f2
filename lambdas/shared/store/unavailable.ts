import { ERROR_CODES, GatewayError } from '../http/errors';
import { isNetworkError } from '../http/network-errors';

/** DynamoDB's names for refusing work it cannot take right now. */
const THROTTLED = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalServerError',
]);

/**
 * Whether an error is DynamoDB being unavailable after the SDK's own retries: throttled, failing
 * on its side, or unreachable. Such a request fails closed: no provider is called unmetered.
 *
 * @example
 * if (isStoreUnavailable(error)) return errorResponse(storeUnavailable());
 */
export function isStoreUnavailable(error: unknown): boolean {
  const e = error as { name?: string; $fault?: string; $metadata?: unknown } | undefined;
  if (!e || typeof e !== 'object') return false;
  if (e.$metadata !== undefined && (e.$fault === 'server' || THROTTLED.has(e.name ?? ''))) return true;
  return e.name === 'TimeoutError' || isNetworkError(error);
}

/** 503 for {@link isStoreUnavailable}: nothing happened, the client may retry. */
export function storeUnavailable(): GatewayError {
  return new GatewayError(
    503,
    'server_error',
    'The gateway cannot reach its storage right now; nothing was done or charged. Retry shortly.',
    { code: ERROR_CODES.storeUnavailable },
  );
}
