import { failureOfStatus, ProviderError, type ProviderFailure } from '../errors';

const FAILURES_BY_NAME: Record<string, ProviderFailure> = {
  ThrottlingException: 'throttled',
  ServiceQuotaExceededException: 'throttled',
  ValidationException: 'invalid_request',
  ModelNotReadyException: 'unavailable',
  ServiceUnavailableException: 'unavailable',
  ModelTimeoutException: 'timeout',
  TimeoutError: 'timeout',
  AbortError: 'timeout',
  InternalServerException: 'upstream_error',
  ModelErrorException: 'upstream_error',
  ModelStreamErrorException: 'upstream_error',
  AccessDeniedException: 'misconfigured',
  ResourceNotFoundException: 'misconfigured',
  UnrecognizedClientException: 'misconfigured',
  CredentialsProviderError: 'misconfigured',
};

const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE']);

const NETWORK_ERROR_TEXT = /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE|ERR_HTTP2_[A-Z_]+)\b/;

/**
 * Whether an error (or one of its causes) is a failure to reach the endpoint at all. The SDK
 * sometimes wraps such errors and keeps the code only in the message, so that is read too.
 */
function isNetworkError(error: unknown): boolean {
  for (
    let e = error as { code?: unknown; cause?: unknown; message?: unknown } | undefined, depth = 0;
    e && depth < 4;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'string' && (NETWORK_ERROR_CODES.has(e.code) || e.code.startsWith('ERR_HTTP2_'))) return true;
    if (typeof e.message === 'string' && NETWORK_ERROR_TEXT.test(e.message)) return true;
  }
  return false;
}

/**
 * Translates an error from the Bedrock runtime client into a {@link ProviderError}: by the
 * exception's name, else by HTTP status, else (no response at all) as an unavailable upstream.
 *
 * @example
 * catch (error) { throw toProviderError(error); }
 */
export function toProviderError(error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const byName = e.name ? FAILURES_BY_NAME[e.name] : undefined;
  const failure: ProviderFailure =
    byName ??
    (status !== undefined && status >= 400 ? failureOfStatus(status) : undefined) ??
    (isNetworkError(error) ? 'unavailable' : 'upstream_error');
  return new ProviderError(failure, `Bedrock: ${e.name ?? 'Error'}: ${e.message ?? 'unknown error'}`, {
    ...(status !== undefined ? { upstreamStatus: status } : {}),
    cause: error,
  });
}
