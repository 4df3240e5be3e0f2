/**
 * How an upstream call failed, in provider-neutral terms. Adapters translate their provider's
 * errors into these; the router decides on retries and fallback from them, and the HTTP layer
 * maps them to OpenAI error types and status codes.
 */
export type ProviderFailure =
  /** The provider throttled us (429 / ThrottlingException). Retryable. */
  | 'throttled'
  /** The provider refused the request as invalid (400 / ValidationException). Final. */
  | 'invalid_request'
  /** The provider is down or overloaded (503). Retryable. */
  | 'unavailable'
  /** No answer within the deadline. Retryable while the overall deadline allows. */
  | 'timeout'
  /** The provider failed (5xx). Retryable. */
  | 'upstream_error'
  /** Our side is wrong: credentials, permissions or a model id the provider does not know. Final. */
  | 'misconfigured';

const RETRYABLE: ReadonlySet<ProviderFailure> = new Set(['throttled', 'unavailable', 'timeout', 'upstream_error']);

/** A failed upstream call. */
export class ProviderError extends Error {
  readonly failure: ProviderFailure;
  readonly upstreamStatus: number | undefined;
  /** Upstream's `retry-after`, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    failure: ProviderFailure,
    message: string,
    options: { upstreamStatus?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProviderError';
    this.failure = failure;
    this.upstreamStatus = options.upstreamStatus;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Whether trying again (here or on another provider) may succeed. */
  get retryable(): boolean {
    return RETRYABLE.has(this.failure);
  }
}

/**
 * The failure an HTTP status from an upstream means.
 *
 * @example
 * failureOfStatus(429) // 'throttled'
 */
export function failureOfStatus(status: number): ProviderFailure {
  if (status === 429) return 'throttled';
  if (status === 408 || status === 504) return 'timeout';
  if (status === 503 || status === 529) return 'unavailable';
  if (status === 401 || status === 403 || status === 404) return 'misconfigured';
  if (status >= 400 && status < 500) return 'invalid_request';
  return 'upstream_error';
}
