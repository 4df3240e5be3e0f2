import { ERROR_CODES, GatewayError } from '../http/errors';
import { GATEWAY_HEADERS } from '../http/headers';

/**
 * The four per-minute limits, listed once: the `limitType` of a throttle (metric dimension and
 * log field) and the dashboard's throttle graph, which draws one line per entry.
 */
export const RATE_LIMIT_TYPES = ['team_requests', 'team_tokens', 'key_requests', 'key_tokens'] as const;

/** One of the four per-minute limits. */
export type RateLimitType = (typeof RATE_LIMIT_TYPES)[number];

/**
 * 429 for a spent requests-per-minute or tokens-per-minute window. OpenAI's SDKs honour
 * `retry-after`, so clients back off for exactly as long as the window needs.
 */
export class RateLimitExceededError extends GatewayError {
  constructor(
    message: string,
    kind: 'requests' | 'tokens',
    headers: Record<string, string>,
    /** Which limit refused, for metrics: `team_requests`, `key_tokens`, ... */
    readonly limitType: RateLimitType,
  ) {
    super(429, kind, message, { code: ERROR_CODES.rateLimitExceeded, headers });
    this.name = 'RateLimitExceededError';
  }
}

/**
 * 429 `insufficient_quota` for a team whose monthly budget cannot cover the request. It will not
 * get better by retrying within the month, so it tells OpenAI's SDKs not to retry.
 */
export class BudgetExhaustedError extends GatewayError {
  constructor(message: string) {
    super(429, 'insufficient_quota', message, {
      code: ERROR_CODES.insufficientQuota,
      headers: { [GATEWAY_HEADERS.shouldRetry]: 'false' },
    });
    this.name = 'BudgetExhaustedError';
  }
}
