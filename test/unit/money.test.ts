import { divideRoundHalfUp, formatMicros, usdToMicros } from '../../lambdas/shared/cost/money';
import { lineItemCeilMicros, lineItemMicros, priceUsage } from '../../lambdas/shared/cost/pricing';

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

describe('divideRoundHalfUp', () => {
  it('rounds half up and stays exact for products beyond 2^53', () => {
    expect(divideRoundHalfUp(1_499_999n, 1_000_000n)).toBe(1);
    expect(divideRoundHalfUp(1_500_000n, 1_000_000n)).toBe(2);
    expect(divideRoundHalfUp(0n, 7n)).toBe(0);
    // 10^12 tokens at $100/MTok: the product (10^20) is far beyond 2^53, the result is exact.
    expect(divideRoundHalfUp(1_000_000_000_000n * 100_000_000n, 1_000_000n)).toBe(100_000_000_000_000);
    expect(() => divideRoundHalfUp(10n ** 30n, 1n)).toThrow(/too large/);
  });
});

describe('pricing', () => {
  const prices = {
    inputMicrosPerMTok: 3_000_000,
    outputMicrosPerMTok: 15_000_000,
    cacheReadMicrosPerMTok: 300_000,
    cacheWriteMicrosPerMTok: 3_750_000,
  };

  it('prices each line item in micro-dollars and sums them exactly', () => {
    const cost = priceUsage(
      { inputTokens: 1_000, outputTokens: 500, cacheReadTokens: 10_000, cacheWriteTokens: 2_000 },
      prices,
    );
    expect(cost).toEqual({
      inputMicros: 3_000,
      outputMicros: 7_500,
      cacheReadMicros: 3_000,
      cacheWriteMicros: 7_500,
      totalMicros: 21_000,
    });
  });

  it('rounds each line item half up to the micro-dollar', () => {
    // 1 token at $0.10/MTok is 0.1 µ$ -> 0; 5 tokens is 0.5 µ$ -> 1.
    expect(lineItemMicros(1, 100_000)).toBe(0);
    expect(lineItemMicros(5, 100_000)).toBe(1);
    expect(lineItemMicros(14, 100_000)).toBe(1);
    expect(lineItemMicros(15, 100_000)).toBe(2);
  });

  it('refuses negative or fractional token counts', () => {
    expect(() => lineItemMicros(-1, 1)).toThrow(RangeError);
    expect(() => lineItemMicros(1.5, 1)).toThrow(RangeError);
  });
});

describe('reservations', () => {
  it('round line items up, so a reservation never falls short of what the priced call can be', () => {
    expect(lineItemCeilMicros(1, 40_000)).toBe(1);
    expect(lineItemCeilMicros(1_000, 3_000_000)).toBe(3_000);
    expect(lineItemCeilMicros(0, 3_000_000)).toBe(0);
    for (let tokens = 0; tokens < 2_000; tokens += 37) {
      expect(lineItemCeilMicros(tokens, 1_234_567)).toBeGreaterThanOrEqual(lineItemMicros(tokens, 1_234_567));
    }
  });
});
