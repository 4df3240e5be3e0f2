import { Catalog } from '../../lambdas/shared/catalog/catalog';
import { parseGatewayConfig, type GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { createHealthProbeJob, isHealthProbeJob, probedModels } from '../../lambdas/maintenance/health-probe';
import { adapterFor } from '../../lambdas/shared/providers/registry';
import { NO_SECRETS } from '../../lambdas/shared/providers/secrets';
import type { ProviderAdapter } from '../../lambdas/shared/providers/types';
import { captureEmf } from '../helpers/emf';
import { testConfig } from '../helpers/config';

const config = (healthProbe?: GatewayConfigInput['healthProbe']) =>
  parseGatewayConfig({
    ...testConfig,
    providers: { ...testConfig.providers, 'mock-hung': { adapter: 'mock', latencyMs: 5_000 } },
    models: [
      ...testConfig.models,
      { id: 'mock-hung', provider: 'mock-hung', upstreamModel: 'mock-hung', prices: { input: 1, output: 1 } },
      { id: 'mock-embed', kind: 'embedding', provider: 'mock', upstreamModel: 'e', prices: { input: 1, output: 0 } },
    ],
    ...(healthProbe ? { healthProbe } : {}),
  });

describe('health probe', () => {
  it('probes nothing without a healthProbe config, and only the chat models its patterns name', () => {
    expect(probedModels(config())).toEqual([]);
    expect(probedModels(config({ models: ['mock-s*', 'mock-down'] })).map((m) => m.id)).toEqual([
      'mock-small',
      'mock-slow',
      'mock-down',
    ]);
    expect(probedModels(config({ models: ['*'] })).map((m) => m.id)).not.toContain('mock-embed');
  });

  it('sends each model a one-token request and records healthy, failed and timed-out deployments', async () => {
    const sent: { model: string; maxOutputTokens: number }[] = [];
    const observing = (id: Parameters<typeof adapterFor>[0]): ProviderAdapter => {
      const adapter = adapterFor(id);
      return {
        ...adapter,
        complete: (request, target, options) => {
          sent.push({ model: target.upstreamModel, maxOutputTokens: request.maxOutputTokens });
          return adapter.complete(request, target, options);
        },
      } as ProviderAdapter;
    };
    const probe = createHealthProbeJob({
      catalog: new Catalog(config({ models: ['mock-small', 'mock-down', 'mock-hung'], timeoutMs: 1_000 })),
      secrets: NO_SECRETS,
      adapters: observing,
    });
    let results: Awaited<ReturnType<typeof probe>> = [];
    const docs = await captureEmf(async () => {
      results = await probe();
    });
    expect(sent.every((call) => call.maxOutputTokens === 1)).toBe(true);
    expect(results.map(({ model, healthy, failure }) => ({ model, healthy, failure }))).toEqual([
      { model: 'mock-small', healthy: true, failure: undefined },
      { model: 'mock-down', healthy: false, failure: 'unavailable' },
      { model: 'mock-hung', healthy: false, failure: 'timeout' },
    ]);
    // The hung deployment was given up at the timeout, not waited for.
    expect(results[2]!.latencyMs).toBeLessThan(4_000);
    expect(docs.map((doc) => [doc['model'], doc['DeploymentHealthy']])).toEqual([
      ['mock-small', 1],
      ['mock-down', 0],
      ['mock-hung', 0],
    ]);
  });

  it('runs only for its own event', () => {
    expect(isHealthProbeJob({ job: 'health-probe' })).toBe(true);
    expect(isHealthProbeJob({ job: 'model-lifecycle' })).toBe(false);
    expect(isHealthProbeJob(undefined)).toBe(false);
  });
});
