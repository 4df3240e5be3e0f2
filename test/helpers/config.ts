import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';

/**
 * A small catalog for tests: a fast mock, an expensive mock with cache prices, a slow mock (for
 * deadlines), a broken one (for error mapping) and one with round prices (for budgets).
 */
export const testConfig = {
  providers: {
    mock: { adapter: 'mock' },
    'mock-slow': { adapter: 'mock', latencyMs: 2_000 },
    'mock-down': { adapter: 'mock', failureRate: 1, failStatus: 503 },
  },
  models: [
    { id: 'mock-small', provider: 'mock', upstreamModel: 'mock-small', prices: { input: 0.1, output: 0.4 } },
    {
      id: 'mock-large',
      provider: 'mock',
      upstreamModel: 'mock-large',
      prices: { input: 2, output: 8, cacheRead: 0.5, cacheWrite: 2.5 },
      maxOutputTokens: 1000,
    },
    { id: 'mock-slow', provider: 'mock-slow', upstreamModel: 'mock-slow', prices: { input: 1, output: 1 } },
    { id: 'mock-down', provider: 'mock-down', upstreamModel: 'mock-down', prices: { input: 1, output: 1 } },
    // Free input, $1000 per million output tokens: one output token costs exactly 1_000 µ$.
    {
      id: 'mock-pricey',
      provider: 'mock',
      upstreamModel: 'mock-pricey',
      prices: { input: 0, output: 1000 },
      maxOutputTokens: 100,
    },
  ],
  teamDefaults: { requestsPerMinute: 1000, tokensPerMinute: 1_000_000, softAlertPercent: 80, allowedModels: ['*'] },
} satisfies GatewayConfigInput;

/** Team defaults high enough that end-to-end tests never meet a rate limit they did not set. */
export const GENEROUS_TEAM_DEFAULTS = {
  requestsPerMinute: 10_000,
  tokensPerMinute: 10_000_000,
  softAlertPercent: 80,
  allowedModels: ['*'],
};
