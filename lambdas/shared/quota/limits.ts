import { RATE_LIMIT_HEADERS } from '../http/headers';
import { formatResetDuration } from './rate-window';

/** The per-minute limits that apply to one call: the team's, and the key's when narrower. */
export interface QuotaLimits {
  teamRequestsPerMinute: number;
  teamTokensPerMinute: number;
  keyRequestsPerMinute?: number;
  keyTokensPerMinute?: number;
}

/** Where the binding limits stand, for OpenAI's rate-limit headers. */
export interface RateLimitStatus {
  requests: { limit: number; remaining: number };
  tokens: { limit: number; remaining: number };
  resetMs: number;
}

/** Usage of the current window as counted in DynamoDB. */
export interface WindowCounts {
  teamRequests: number;
  keyRequests: number;
  teamTokens: number;
  keyTokens: number;
}

/** The binding (smaller remaining) of a team limit and an optional narrower key limit. */
function binding(teamLimit: number, teamUsed: number, keyLimit: number | undefined, keyUsed: number) {
  const team = { limit: teamLimit, remaining: Math.max(0, teamLimit - teamUsed) };
  if (keyLimit === undefined) return team;
  const key = { limit: keyLimit, remaining: Math.max(0, keyLimit - keyUsed) };
  return key.remaining < team.remaining ? key : team;
}

/**
 * The status OpenAI's headers report: for requests and for tokens, whichever of the team's and
 * the key's limits has less room left.
 *
 * @example
 * rateLimitStatus(limits, counts, 12_000).requests // { limit: 60, remaining: 41 }
 */
export function rateLimitStatus(limits: QuotaLimits, counts: WindowCounts, resetMs: number): RateLimitStatus {
  return {
    requests: binding(
      limits.teamRequestsPerMinute,
      counts.teamRequests,
      limits.keyRequestsPerMinute,
      counts.keyRequests,
    ),
    tokens: binding(limits.teamTokensPerMinute, counts.teamTokens, limits.keyTokensPerMinute, counts.keyTokens),
    resetMs,
  };
}

/**
 * OpenAI's rate-limit headers for a status (on every response, as OpenAI sends them).
 *
 * @example
 * rateLimitHeaders(status)['x-ratelimit-reset-tokens'] // '12s'
 */
export function rateLimitHeaders(status: RateLimitStatus): Record<string, string> {
  const reset = formatResetDuration(status.resetMs);
  return {
    [RATE_LIMIT_HEADERS.limitRequests]: String(status.requests.limit),
    [RATE_LIMIT_HEADERS.remainingRequests]: String(status.requests.remaining),
    [RATE_LIMIT_HEADERS.resetRequests]: reset,
    [RATE_LIMIT_HEADERS.limitTokens]: String(status.tokens.limit),
    [RATE_LIMIT_HEADERS.remainingTokens]: String(status.tokens.remaining),
    [RATE_LIMIT_HEADERS.resetTokens]: reset,
  };
}
