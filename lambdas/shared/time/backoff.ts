/**
 * Exponential backoff with full jitter: a random delay between 0 and `min(cap, base × 2^attempt)`.
 * Full jitter spreads retries of many concurrent Lambdas apart instead of synchronising them.
 *
 * @example
 * backoffDelayMs(2, 100, 2_000) // somewhere in [0, 400)
 */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}
