/**
 * Money is integer micro-dollars (1 USD = 1_000_000 µ$) everywhere in the gateway: in the
 * ledger, in aggregates, in budgets. Floats are used only at the edges, to read a price a human
 * wrote in the config and to print a number for a human.
 */

/** Micro-dollars per US dollar. */
export const MICROS_PER_USD = 1_000_000;

/** Tokens in the "per million tokens" unit that model prices are quoted in. */
export const TOKENS_PER_PRICE_UNIT = 1_000_000;

/**
 * Converts a USD amount written by a human (e.g. `3.75`) to integer micro-dollars.
 *
 * Refuses amounts with more than six decimals instead of silently rounding them, so a price
 * typo in the config fails at synth time rather than billing the wrong amount.
 *
 * @example
 * usdToMicros(0.0375) // 37_500
 */
export function usdToMicros(usd: number): number {
  if (!Number.isFinite(usd) || usd < 0) {
    throw new RangeError(`amount must be a non-negative finite number, got ${usd}`);
  }
  const micros = Math.round(usd * MICROS_PER_USD);
  if (Math.abs(micros - usd * MICROS_PER_USD) > 1e-6 * Math.max(1, micros)) {
    throw new RangeError(`amount ${usd} has more precision than one micro-dollar`);
  }
  if (!Number.isSafeInteger(micros)) {
    throw new RangeError(`amount ${usd} is too large`);
  }
  return micros;
}

/**
 * Formats micro-dollars as a USD decimal string with six decimals, exactly (no float maths).
 *
 * @example
 * formatMicros(1_234_567) // "1.234567"
 */
export function formatMicros(micros: number): string {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`not an integer amount: ${micros}`);
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / MICROS_PER_USD);
  const fraction = String(abs % MICROS_PER_USD).padStart(6, '0');
  return `${sign}${whole}.${fraction}`;
}

/**
 * Divides two non-negative integers and rounds half up, in BigInt so that no product of tokens
 * and prices can lose precision. Used to turn (tokens × µ$ per million tokens) into micro-dollars.
 *
 * @example
 * divideRoundHalfUp(1_500_000n, 1_000_000n) // 2
 */
export function divideRoundHalfUp(numerator: bigint, denominator: bigint): number {
  if (numerator < 0n || denominator <= 0n) {
    throw new RangeError(`cannot divide ${numerator} by ${denominator}`);
  }
  const quotient = numerator / denominator;
  const rounded = (numerator % denominator) * 2n >= denominator ? quotient + 1n : quotient;
  const result = Number(rounded);
  if (!Number.isSafeInteger(result)) throw new RangeError(`amount ${rounded} is too large`);
  return result;
}
