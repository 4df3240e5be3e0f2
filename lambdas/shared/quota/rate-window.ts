/**
 * Fixed one-minute rate windows aligned to the UTC minute. A fixed window keeps the counter to
 * one conditional write per request and makes "N concurrent requests against a limit of L admit
 * exactly min(N, L)" hold; the price is that a client can spend two windows' worth across a
 * minute boundary, which the README states.
 */

/** Length of a rate-limit window. */
export const RATE_WINDOW_SECONDS = 60;

/** Counter items outlive their window by this much before DynamoDB's TTL removes them. */
export const RATE_WINDOW_RETENTION_SECONDS = 3600;

/**
 * Epoch seconds at which the window containing `nowMs` started.
 *
 * @example
 * windowStartSeconds(Date.parse('2026-01-01T00:00:42Z')) // 1767225600
 */
export function windowStartSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000 / RATE_WINDOW_SECONDS) * RATE_WINDOW_SECONDS;
}

/** Milliseconds until the window containing `nowMs` ends. */
export function msUntilWindowReset(nowMs: number): number {
  return (windowStartSeconds(nowMs) + RATE_WINDOW_SECONDS) * 1000 - nowMs;
}

/**
 * A duration in the style of OpenAI's `x-ratelimit-reset-*` headers (`250ms`, `20s`, `6m0s`).
 *
 * @example
 * formatResetDuration(360_000) // '6m0s'
 */
export function formatResetDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const totalSeconds = Math.ceil(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}
