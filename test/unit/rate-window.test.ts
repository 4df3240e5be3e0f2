import { formatResetDuration, msUntilWindowReset, windowStartSeconds } from '../../lambdas/shared/quota/rate-window';

describe('rate windows', () => {
  it('aligns windows to the UTC minute', () => {
    const at = Date.parse('2026-01-01T00:00:42.500Z');
    expect(windowStartSeconds(at)).toBe(Date.parse('2026-01-01T00:00:00Z') / 1000);
    expect(msUntilWindowReset(at)).toBe(17_500);
  });

  it('formats reset durations like OpenAI', () => {
    expect(formatResetDuration(250)).toBe('250ms');
    expect(formatResetDuration(17_500)).toBe('18s');
    expect(formatResetDuration(60_000)).toBe('1m0s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
    expect(formatResetDuration(3_723_000)).toBe('1h2m3s');
  });
});
