import { isNetworkError } from '../../http/network-errors';
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
    upstreamStatus: status,
    cause: error,
  });
}
