/** Node's codes for failing to reach an endpoint at all (refused, reset, no route, DNS, HTTP/2 session). */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

const NETWORK_ERROR_TEXT =
  /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ERR_HTTP2_[A-Z_]+)\b/;

type ErrorLike = { code?: unknown; cause?: unknown; message?: unknown; errors?: unknown } | undefined;

/**
 * Whether an outgoing call (a provider, DynamoDB) failed to reach its endpoint at all. The code
 * may sit on the error, on one of its causes, or on each attempt of an AggregateError (Node
 * tries IPv4 and IPv6); the AWS SDK sometimes wraps such errors and keeps the code only in the
 * message, so that is read too.
 *
 * @example
 * isNetworkError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' })) // true
 */
export function isNetworkError(error: unknown, depth = 0): boolean {
  const e = error as ErrorLike;
  if (!e || typeof e !== 'object' || depth > 4) return false;
  if (typeof e.code === 'string' && (NETWORK_ERROR_CODES.has(e.code) || e.code.startsWith('ERR_HTTP2_'))) return true;
  if (typeof e.message === 'string' && NETWORK_ERROR_TEXT.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isNetworkError(inner, depth + 1))) return true;
  return isNetworkError(e.cause, depth + 1);
}
