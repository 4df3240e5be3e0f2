import { formatMicros, formatPicos, microsToPicos, picosOf, usdToMicros } from '../../lambdas/shared/cost/money';
import { lineItemPicos, priceUsage } from '../../lambdas/shared/cost/pricing';

describe('usdToMicros', () => {
  it('converts human prices to exact integer micro-dollars', () => {
    expect(usdToMicros(3)).toBe(3_000_000);
    expect(usdToMicros(0.0375)).toBe(37_500);
    expect(usdToMicros(0.000001)).toBe(1);
    expect(usdToMicros(0)).toBe(0);
  });

  it('refuses amounts finer than a micro-dollar instead of rounding them', () => {
    expect(() => usdToMicros(0.0000001)).toThrow(/precision/);
  });

  it('refuses negative and non-finite amounts', () => {
    expect(() => usdToMicros(-1)).toThrow(RangeError);
    expect(() => usdToMicros(Number.NaN)).toThrow(RangeError);
    expect(() => usdToMicros(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('formatMicros', () => {
  it('prints six decimals without float arithmetic', () => {
    expect(formatMicros(1_234_567)).toBe('1.234567');
    expect(formatMicros(7)).toBe('0.000007');
    expect(formatMicros(0)).toBe('0.000000');
    expect(formatMicros(-1_500_000)).toBe('-1.500000');
    expect(formatMicros(9_007_199_254_740_991)).toBe('9007199254.740991');
  });
});

describe('formatPicos', () => {
  it('prints the exact amount: six decimals at least, up to twelve, never rounded', () => {
    expect(formatPicos(0n)).toBe('0.000000');
    expect(formatPicos(1n)).toBe('0.000000000001');
    expect(formatPicos(35_000n)).toBe('0.000000035');
    expect(formatPicos(1_000_000n)).toBe('0.000001');
    expect(formatPicos(1_234_567_000_000n)).toBe('1.234567');
    expect(formatPicos(1_234_567_800_000n)).toBe('1.2345678');
    expect(formatPicos(-500_000n)).toBe('-0.0000005');
    // far past 2^53 p$ (about $9,007): still exact
    expect(formatPicos(123_456_789_012_345_678_901_234n)).toBe('123456789012.345678901234');
  });
});

describe('picosOf', () => {
  it('reads what DynamoDB and the JSON views hold, exactly', () => {
    expect(picosOf(undefined)).toBe(0n);
    expect(picosOf(35)).toBe(35n);
    expect(picosOf(9_007_199_254_740_993n)).toBe(9_007_199_254_740_993n);
    expect(picosOf('123456789012345678901234')).toBe(123_456_789_012_345_678_901_234n);
    expect(microsToPicos(3)).toBe(3_000_000n);
  });

  it('refuses anything that is not a whole number of pico-dollars', () => {
    for (const bad of [1.5, Number.NaN, 2 ** 60, '1e3', 'x', {}]) expect(() => picosOf(bad)).toThrow(RangeError);
  });
});

describe('pricing', () => {
  const prices = {
    inputMicrosPerMTok: 3_000_000,
    outputMicrosPerMTok: 15_000_000,
    cacheReadMicrosPerMTok: 300_000,
    cacheWriteMicrosPerMTok: 3_750_000,
  };

  it('prices each line item in pico-dollars and sums them exactly', () => {
    const cost = priceUsage(
      { inputTokens: 1_000, outputTokens: 500, cacheReadTokens: 10_000, cacheWriteTokens: 2_000 },
      prices,
    );
    expect(cost).toEqual({
      inputPicos: 3_000_000_000n,
      outputPicos: 7_500_000_000n,
      cacheReadPicos: 3_000_000_000n,
      cacheWritePicos: 7_500_000_000n,
      totalPicos: 21_000_000_000n,
    });
  });

  it('keeps the cost of a few tokens of the cheapest model, which micro-dollars rounded to 0', () => {
    // 1 token at $0.035/MTok is 0.035 µ$; a million such calls are $0.035, not $0.
    expect(lineItemPicos(1, 35_000)).toBe(35_000n);
    let month = 0n;
    for (let call = 0; call < 1_000_000; call++) month += lineItemPicos(1, 35_000);
    expect(formatPicos(month)).toBe('0.035000');
    expect(lineItemPicos(7, 60_000)).toBe(420_000n);
  });

  it('stays exact where tokens × price passes 2^53', () => {
    // 10^7 tokens at the catalog's highest price ($100,000/MTok): $1,000,000 exactly.
    expect(formatPicos(lineItemPicos(10_000_000, 100_000_000_000))).toBe('1000000.000000');
  });

  it('refuses negative or fractional token counts and prices', () => {
    expect(() => lineItemPicos(-1, 1)).toThrow(RangeError);
    expect(() => lineItemPicos(1.5, 1)).toThrow(RangeError);
    expect(() => lineItemPicos(1, -1)).toThrow(RangeError);
  });
});
