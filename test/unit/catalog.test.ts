import { gatewayConfig } from '../../gateway.config';
import { Catalog } from '../../lambdas/shared/catalog/catalog';
import { GatewayConfigError, parseGatewayConfig } from '../../lambdas/shared/catalog/schema';

describe('gateway config', () => {
  it('accepts the repository config and converts prices to micro-dollars per million tokens', () => {
    const config = parseGatewayConfig(gatewayConfig);
    const sonnet = new Catalog(config).findModel('sonnet');
    expect(sonnet?.id).toBe('claude-sonnet-4-6');
    expect(sonnet?.prices).toEqual({
      inputMicrosPerMTok: 3_300_000,
      outputMicrosPerMTok: 16_500_000,
      cacheReadMicrosPerMTok: 330_000,
      cacheWriteMicrosPerMTok: 4_125_000,
    });
  });

  it('survives being inlined into a bundle as JSON, as validated at synth (the Lambda does not parse it again)', () => {
    const validated = parseGatewayConfig(gatewayConfig);
    const inlined = JSON.parse(JSON.stringify(validated)) as typeof validated;
    expect(inlined).toEqual(validated);
    expect(new Catalog(inlined).listModels()).toEqual(new Catalog(validated).listModels());
  });

  it('charges cache tokens at the input price when a model has no cache prices', () => {
    const config = parseGatewayConfig({
      providers: { mock: { adapter: 'mock' } },
      models: [{ id: 'm', provider: 'mock', upstreamModel: 'm', prices: { input: 1, output: 2 } }],
    });
    expect(config.models[0]!.prices.cacheReadMicrosPerMTok).toBe(1_000_000);
    expect(config.models[0]!.prices.cacheWriteMicrosPerMTok).toBe(1_000_000);
    expect(config.teamDefaults.allowedModels).toEqual(['*']);
  });

  it('lists every problem with its path in one error', () => {
    const attempt = () =>
      parseGatewayConfig({
        providers: { mock: { adapter: 'mock' } },
        models: [
          { id: 'a', provider: 'mock', upstreamModel: 'a', prices: { input: 1, output: 1 } },
          { id: 'a', provider: 'nowhere', upstreamModel: 'a', prices: { input: 0.0000001, output: 1 } },
        ],
      });
    expect(attempt).toThrow(GatewayConfigError);
    expect(attempt).toThrow(/models\.1\.id: duplicate model id "a"/);
    expect(attempt).toThrow(/models\.1\.provider: unknown provider "nowhere"/);
    expect(attempt).toThrow(/models\.1\.prices\.input: .*precision/);
  });

  it('refuses unknown settings instead of ignoring them', () => {
    expect(() =>
      parseGatewayConfig({
        providers: { mock: { adapter: 'mock', latency: 5 } },
        models: [{ id: 'a', provider: 'mock', upstreamModel: 'a', prices: { input: 1, output: 1 } }],
      }),
    ).toThrow(/latency/);
  });

  it('refuses a provider type the gateway has no adapter for', () => {
    expect(() =>
      parseGatewayConfig({
        providers: { x: { adapter: 'carrier-pigeon' } },
        models: [{ id: 'a', provider: 'x', upstreamModel: 'a', prices: { input: 1, output: 1 } }],
      }),
    ).toThrow(/providers\.x/);
  });
});
