/**
 * Money in the gateway has two resolutions, both integers:
 * - prices and budgets are micro-dollars (1 USD = 10^6 µ$), as humans write them (at most six
 *   decimals), held as `number`;
 * - costs are pico-dollars (1 USD = 10^12 p$), held as `bigint`. Prices are µ$ per million
 *   tokens, so tokens × price is a whole number of pico-dollars: every cost is exact, however cheap
 *   the model and short the call, and nothing is rounded when it is recorded, summed or compared
 *   with a budget. Sums are bigint because a month of a busy team passes 2^53 p$ (about $9,007);
 *   DynamoDB numbers hold 38 digits, and the AWS SDK reads an integer beyond 2^53 as a
 *   bigint, so they come back without loss.
 * Floats appear only at the edges: reading a price a human wrote, and metrics and log fields.
 */

/** Micro-dollars per US dollar. */
export const MICROS_PER_USD = 1_000_000;

/** Pico-dollars per micro-dollar. */
export const PICOS_PER_MICRO = 1_000_000n;

/** Pico-dollars per US dollar. */
export const PICOS_PER_USD = 1_000_000_000_000n;

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
 * Micro-dollars (a budget, a price) as pico-dollars.
 *
 * @example
 * microsToPicos(1) // 1_000_000n
 */
export function microsToPicos(micros: number): bigint {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`not an integer amount: ${micros}`);
  return BigInt(micros) * PICOS_PER_MICRO;
}

/**
 * A pico-dollar amount as DynamoDB hands it back (a number while it is a safe integer, a bigint
 * beyond), or as a JSON view spells it (a string of digits). Absent is 0.
 *
 * @example
 * picosOf(item.costPicos) // 35n
 */
export function picosOf(value: unknown): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d{1,40}$/.test(value)) return BigInt(value);
  throw new RangeError(`not an integer amount of pico-dollars: ${String(value)}`);
}

/**
 * Formats micro-dollars as a USD decimal string with six decimals, exactly (no float maths):
 * prices and budgets, which are whole micro-dollars.
 *
 * @example
 * formatMicros(1_234_567) // "1.234567"
 */
export function formatMicros(micros: number): string {
  if (!Number.isSafeInteger(micros)) throw new RangeError(`not an integer amount: ${micros}`);
  return formatPicos(microsToPicos(micros));
}

/**
 * Formats pico-dollars as a USD decimal string, exactly: never rounded, at least six decimals
 * (whole micro-dollars read as before) and up to twelve when the amount has them.
 *
 * @example
 * formatPicos(1_234_567_000_000n) // "1.234567"
 * formatPicos(35_000n)            // "0.000000035"
 */
export function formatPicos(picos: bigint): string {
  const sign = picos < 0n ? '-' : '';
  const abs = picos < 0n ? -picos : picos;
  const whole = abs / PICOS_PER_USD;
  const fraction = String(abs % PICOS_PER_USD)
    .padStart(12, '0')
    .replace(/0{1,6}$/, '');
  return `${sign}${whole}.${fraction.padEnd(6, '0')}`;
}

/**
 * Pico-dollars as a fractional number of micro-dollars, for metrics and log fields only:
 * CloudWatch values are doubles, and money of record is the ledger, never a metric.
 *
 * @example
 * picosToMicrosApprox(35_000n) // 0.035
 */
export function picosToMicrosApprox(picos: bigint): number {
  return Number(picos) / Number(PICOS_PER_MICRO);
}
