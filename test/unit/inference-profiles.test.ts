import { gatewayConfig } from '../../gateway.config';
import {
  geographiesOfRegion,
  INFERENCE_GEOGRAPHIES,
  inferenceProfileId,
  InferenceProfileError,
  type InferenceGeography,
  type ModelAvailability,
} from '../../lambdas/shared/catalog/inference-profiles';
import { lifecycleTargets } from '../../lambdas/shared/catalog/model-lifecycle';
import { needsRegion, resolveCatalog } from '../../lambdas/shared/catalog/resolve';
import { GatewayConfigError, parseGatewayConfig, type GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { Catalog } from '../../lambdas/shared/catalog/catalog';

const MODEL = 'anthropic.claude-example-v1:0';
const everywhere: ModelAvailability = { geographies: INFERENCE_GEOGRAPHIES, global: true, inRegion: true };

describe('inference profile prefix from the deploy region', () => {
  it.each<[string, InferenceGeography]>([
    ['us-east-1', 'us'],
    ['us-west-2', 'us'],
    ['us-gov-west-1', 'us-gov'],
    ['eu-west-1', 'eu'],
    ['eu-central-2', 'eu'],
    ['ap-southeast-1', 'apac'],
    ['me-central-1', 'apac'],
    ['ap-northeast-1', 'jp'],
    ['ap-northeast-3', 'jp'],
    ['ap-southeast-2', 'au'],
    ['ap-southeast-4', 'au'],
  ])('serves a geo model from %s through the %s. profile', (region, geography) => {
    expect(inferenceProfileId(MODEL, 'geo', region, everywhere)).toBe(`${geography}.${MODEL}`);
  });

  it('falls back to the wider geography when the most local one does not offer the model', () => {
    const apacOnly: ModelAvailability = { geographies: ['apac'], global: false, inRegion: false };
    expect(inferenceProfileId(MODEL, 'geo', 'ap-northeast-1', apacOnly)).toBe(`apac.${MODEL}`);
    expect(inferenceProfileId(MODEL, 'geo', 'ap-southeast-2', apacOnly)).toBe(`apac.${MODEL}`);
    expect(geographiesOfRegion('ap-northeast-1')).toEqual(['jp', 'apac']);
  });

  it('serves the ca. geography only where a region is known to call it, and says so otherwise', () => {
    // No stored source maps a region to the Canada geography: a Canadian deploy fails with the reason.
    expect(() => inferenceProfileId(MODEL, 'geo', 'ca-central-1', everywhere)).toThrow(
      /has no geographic inference profile that ca-central-1 can call \(ca-central-1 calls: no known geography/,
    );
  });

  it('refuses a region whose geographies do not offer the model, naming the alternatives', () => {
    const usEu: ModelAvailability = { geographies: ['us', 'eu'], global: true, inRegion: false };
    const attempt = () => inferenceProfileId(MODEL, 'geo', 'ap-southeast-1', usEu);
    expect(attempt).toThrow(InferenceProfileError);
    expect(attempt).toThrow(/ap-southeast-1 calls: apac; the model is offered in: us, eu, global/);
    expect(attempt).toThrow(/inferenceProfile: 'global'/);
    expect(() => inferenceProfileId(MODEL, 'geo', 'sa-east-1', usEu)).toThrow(/sa-east-1 calls: no known geography/);
  });

  it('uses the global profile from any commercial region, and only when the model has one', () => {
    expect(inferenceProfileId(MODEL, 'global', 'eu-west-1', everywhere)).toBe(`global.${MODEL}`);
    expect(inferenceProfileId(MODEL, 'global', 'sa-east-1', everywhere)).toBe(`global.${MODEL}`);
    expect(() =>
      inferenceProfileId(MODEL, 'global', 'eu-west-1', { geographies: ['eu'], global: false, inRegion: true }),
    ).toThrow(/has no global inference profile/);
    expect(() => inferenceProfileId(MODEL, 'global', 'us-gov-west-1', everywhere)).toThrow(
      /not offered in us-gov-west-1/,
    );
  });

  it('uses the model in-region only when it is offered without a profile', () => {
    expect(inferenceProfileId(MODEL, 'none', 'eu-west-1', everywhere)).toBe(MODEL);
    expect(() =>
      inferenceProfileId(MODEL, 'none', 'eu-west-1', { geographies: ['eu'], global: true, inRegion: false }),
    ).toThrow(/cannot be invoked in-region/);
  });

  it('refuses something that is not a region name (an unresolved CDK token)', () => {
    expect(() => inferenceProfileId(MODEL, 'geo', '${Token[AWS.Region.8]}', everywhere)).toThrow(
      /not an AWS region name/,
    );
  });
});

describe('the catalog as deployed', () => {
  const repository = parseGatewayConfig(gatewayConfig);

  it('derives the repository models prefixes from the region: eu. in eu-west-1, us. in us-east-1, jp. in Tokyo', () => {
    const ids = (region: string) =>
      Object.fromEntries(
        resolveCatalog(repository, { region, includeMockModels: false }).models.map((m) => [m.id, m.upstreamModel]),
      );
    expect(ids('eu-west-1')).toEqual({
      'claude-sonnet-4-6': 'eu.anthropic.claude-sonnet-4-6',
      'claude-haiku-4-5': 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
      'nova-lite': 'eu.amazon.nova-lite-v1:0',
    });
    expect(ids('us-east-1')).toEqual({
      'claude-sonnet-4-6': 'us.anthropic.claude-sonnet-4-6',
      'claude-haiku-4-5': 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
      'nova-lite': 'us.amazon.nova-lite-v1:0',
    });
    // Nova Lite has no jp. (or apac.) profile in the sources: Tokyo fails, saying which model and why.
    expect(() => ids('ap-northeast-1')).toThrow(GatewayConfigError);
    expect(() => ids('ap-northeast-1')).toThrow(
      /nova-lite: amazon\.nova-lite-v1:0 has no geographic inference profile/,
    );
    expect(() => ids('ap-northeast-1')).not.toThrow(/claude-haiku-4-5:/);
  });

  it('leaves no inferenceProfile behind, so Lambdas, IAM and lifecycle checks read one final id', () => {
    const deployed = resolveCatalog(repository, { region: 'eu-west-1', includeMockModels: false });
    expect(deployed.models.every((m) => m.inferenceProfile === undefined && m.geographies === undefined)).toBe(true);
    expect(needsRegion(repository)).toBe(true);
    expect(needsRegion(deployed)).toBe(false);
    expect(lifecycleTargets(deployed, 'eu-west-1')).toEqual([
      { modelId: 'claude-sonnet-4-6', foundationModelId: 'anthropic.claude-sonnet-4-6', region: 'eu-west-1' },
      {
        modelId: 'claude-haiku-4-5',
        foundationModelId: 'anthropic.claude-haiku-4-5-20251001-v1:0',
        region: 'eu-west-1',
      },
      { modelId: 'nova-lite', foundationModelId: 'amazon.nova-lite-v1:0', region: 'eu-west-1' },
    ]);
  });

  it('drops mock connections and models unless enabled, and keeps the models that fell back to them valid', () => {
    const config = parseGatewayConfig({
      providers: { mock: { adapter: 'mock' }, bedrock: { adapter: 'bedrock' } },
      models: [
        { id: 'mock-small', provider: 'mock', upstreamModel: 'mock-small', prices: { input: 1, output: 1 } },
        {
          id: 'haiku',
          provider: 'bedrock',
          upstreamModel: 'anthropic.claude-haiku-4-5-20251001-v1:0',
          inferenceProfile: 'geo',
          prices: { input: 1, output: 5 },
          fallbacks: ['mock-small', 'nova'],
        },
        {
          id: 'nova',
          provider: 'bedrock',
          upstreamModel: 'us.amazon.nova-lite-v1:0', // a full profile id works as before
          prices: { input: 1, output: 1 },
          fallbacks: ['mock-small'],
        },
      ],
    } satisfies GatewayConfigInput);
    const deployed = resolveCatalog(config, { region: 'us-west-2', includeMockModels: false });
    expect(Object.keys(deployed.providers)).toEqual(['bedrock']);
    expect(deployed.models.map((m) => [m.id, m.upstreamModel, m.fallbacks])).toEqual([
      ['haiku', 'us.anthropic.claude-haiku-4-5-20251001-v1:0', ['nova']],
      ['nova', 'us.amazon.nova-lite-v1:0', []],
    ]);
    // What is deployed still validates as a config, and routes.
    const catalog = new Catalog(parseGatewayConfig(JSON.parse(JSON.stringify(toInput(deployed)))));
    expect(catalog.routeOf(catalog.findModel('haiku')!).map((m) => m.id)).toEqual(['haiku', 'nova']);

    const withMocks = resolveCatalog(config, { region: 'us-west-2', includeMockModels: true });
    expect(withMocks.models.map((m) => m.id)).toEqual(['mock-small', 'haiku', 'nova']);
    expect(withMocks.models[1]!.fallbacks).toEqual(['mock-small', 'nova']);
  });

  it('refuses to deploy a catalog of mock models only, saying how to enable them', () => {
    const mocksOnly = parseGatewayConfig({
      providers: { mock: { adapter: 'mock' } },
      models: [{ id: 'm', provider: 'mock', upstreamModel: 'm', prices: { input: 1, output: 1 } }],
    });
    expect(() => resolveCatalog(mocksOnly, { region: 'eu-west-1', includeMockModels: false })).toThrow(
      /only mock models are configured.*enableMockModels/s,
    );
  });

  it('resolves a Bedrock connection with its own region for that region, and needs no deploy region for it', () => {
    const config = parseGatewayConfig({
      providers: { frankfurt: { adapter: 'bedrock', region: 'eu-central-1' } },
      models: [
        {
          id: 'h',
          provider: 'frankfurt',
          upstreamModel: 'anthropic.claude-haiku-4-5-20251001-v1:0',
          inferenceProfile: 'geo',
          prices: { input: 1, output: 5 },
        },
      ],
    });
    expect(resolveCatalog(config, { region: undefined, includeMockModels: false }).models[0]!.upstreamModel).toBe(
      'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
    );
  });

  it('uses the geographies a catalog entry states for a model the shipped table does not know', () => {
    const config = parseGatewayConfig({
      providers: { bedrock: { adapter: 'bedrock' } },
      models: [
        {
          id: 'x',
          provider: 'bedrock',
          upstreamModel: 'vendor.new-model-v1:0',
          inferenceProfile: 'geo',
          geographies: ['apac'],
          prices: { input: 1, output: 1 },
        },
      ],
    });
    expect(resolveCatalog(config, { region: 'ap-south-1', includeMockModels: false }).models[0]!.upstreamModel).toBe(
      'apac.vendor.new-model-v1:0',
    );
    expect(() => resolveCatalog(config, { region: undefined, includeMockModels: false })).toThrow(
      /x: no region to derive its inference profile from/,
    );
  });

  it('refuses inferenceProfile on a keyed provider or with an id that already has a prefix', () => {
    expect(() =>
      parseGatewayConfig({
        providers: { openai: { adapter: 'openai', apiKeySecret: 's' }, bedrock: { adapter: 'bedrock' } },
        models: [
          {
            id: 'a',
            provider: 'openai',
            upstreamModel: 'gpt',
            inferenceProfile: 'geo',
            prices: { input: 1, output: 1 },
          },
          {
            id: 'b',
            provider: 'bedrock',
            upstreamModel: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
            inferenceProfile: 'geo',
            prices: { input: 1, output: 1 },
          },
        ],
      }),
    ).toThrow(
      /models\.0\.inferenceProfile: inferenceProfile is for Bedrock models.*models\.1\.upstreamModel: with inferenceProfile, give the base model id/s,
    );
  });
});

/** A validated config back in the shape a human writes (prices in USD), to validate it again. */
function toInput(config: ReturnType<typeof parseGatewayConfig>): GatewayConfigInput {
  return {
    ...config,
    models: config.models.map(({ prices, ...model }) => ({
      ...model,
      prices: {
        input: prices.inputMicrosPerMTok / 1e6,
        output: prices.outputMicrosPerMTok / 1e6,
        cacheRead: prices.cacheReadMicrosPerMTok / 1e6,
        cacheWrite: prices.cacheWriteMicrosPerMTok / 1e6,
      },
    })),
  } as GatewayConfigInput;
}
