import { gatewayConfig } from '../../gateway.config';
import {
  bedrockFoundationModelLister,
  createModelLifecycleJob,
  isModelLifecycleJob,
} from '../../lambdas/maintenance/model-lifecycle';
import { lifecycleTargets, MODEL_LIFECYCLE_JOB } from '../../lambdas/shared/catalog/model-lifecycle';
import { resolveCatalog } from '../../lambdas/shared/catalog/resolve';
import { parseGatewayConfig } from '../../lambdas/shared/catalog/schema';
import { logger } from '../../lambdas/shared/observability/logger';
import { FakeBedrock } from '../fakes/bedrock-server';

/** The JSON lines (log lines and EMF documents) written to stdout and stderr while `fn` runs. */
async function captureOutput(fn: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const { stdout, stderr } = process;
  const [out, err] = [stdout.write, stderr.write];
  const capture = ((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  const metricsDisabled = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  logger.setLogLevel('INFO');
  stdout.write = capture;
  stderr.write = capture;
  try {
    await fn();
  } finally {
    stdout.write = out;
    stderr.write = err;
    process.env.POWERTOOLS_METRICS_DISABLED = metricsDisabled;
    logger.setLogLevel((process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT') as 'SILENT');
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const HAIKU = 'anthropic.claude-haiku-4-5-20251001-v1:0';
const SONNET = 'anthropic.claude-sonnet-4-6';
const NOVA = 'amazon.nova-lite-v1:0';

describe('the daily Bedrock model lifecycle check (maintenance Lambda, against the Bedrock fake)', () => {
  const bedrock = new FakeBedrock(() => {
    throw new Error('no runtime calls expected');
  });
  let endpoint: string;
  // The repository catalog as deployed in eu-west-1: eu. profiles, no mock models.
  const deployed = resolveCatalog(parseGatewayConfig(gatewayConfig), { region: 'eu-west-1', includeMockModels: false });

  beforeAll(async () => {
    endpoint = await bedrock.startControlPlane();
  });
  afterAll(async () => {
    await bedrock.stop();
  });

  function job() {
    return createModelLifecycleJob({
      targets: lifecycleTargets(deployed, 'eu-west-1'),
      list: bedrockFoundationModelLister({ endpoint }),
    });
  }

  it('logs a warning naming a Legacy model and its end-of-life date, and counts it in LegacyModels', async () => {
    bedrock.setFoundationModels([
      {
        modelId: HAIKU,
        providerName: 'Anthropic',
        status: 'LEGACY',
        startOfLifeTime: new Date('2025-10-16T00:00:00Z'),
        legacyTime: new Date('2026-11-01T00:00:00Z'),
        publicExtendedAccessTime: new Date('2027-02-01T00:00:00Z'),
        endOfLifeTime: new Date('2027-05-01T00:00:00Z'),
      },
      {
        modelId: SONNET,
        providerName: 'Anthropic',
        status: 'ACTIVE',
        startOfLifeTime: new Date('2026-02-17T00:00:00Z'),
      },
      { modelId: NOVA, providerName: 'Amazon', status: 'ACTIVE' },
    ]);
    let report: Awaited<ReturnType<ReturnType<typeof job>>> | undefined;
    const lines = await captureOutput(async () => {
      report = await job()();
    });

    // The SDK's ListFoundationModels reached the fake, signed for the catalog's region.
    expect(bedrock.listFoundationModelsRequests.at(-1)?.region).toBe('eu-west-1');
    expect(report?.checked).toBe(3);
    expect(report?.legacy.map((f) => f.modelId)).toEqual(['claude-haiku-4-5']);

    const warnings = lines.filter((l) => l['message'] === 'catalog model is legacy on bedrock');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 'WARN',
      modelId: 'claude-haiku-4-5',
      foundationModelId: HAIKU,
      region: 'eu-west-1',
      endOfLife: '2027-05-01T00:00:00.000Z',
      legacySince: '2026-11-01T00:00:00.000Z',
      extendedAccessFrom: '2027-02-01T00:00:00.000Z',
    });

    const emf = lines.filter((l) => '_aws' in l);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ LegacyModels: 1, model: 'claude-haiku-4-5', service: 'llm-gateway' });
    const directive = (emf[0]!['_aws'] as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
      .CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe('LlmGateway');
    expect(directive.Dimensions).toEqual([['service'], ['service', 'model']]);
  });

  it('says nothing and counts nothing when every catalog model is Active', async () => {
    bedrock.setFoundationModels([
      { modelId: HAIKU, status: 'ACTIVE' },
      { modelId: SONNET, status: 'ACTIVE' },
      { modelId: NOVA, status: 'ACTIVE' },
    ]);
    const lines = await captureOutput(() => job()());
    expect(lines.filter((l) => l['level'] === 'WARN')).toEqual([]);
    expect(lines.filter((l) => '_aws' in l)).toEqual([]);
    expect(lines.find((l) => l['message'] === 'model lifecycle checked')).toMatchObject({
      checked: 3,
      legacy: 0,
      unlisted: 0,
    });
  });

  it('reports a Legacy model without dates (each is optional in the API) and a model the region no longer lists', async () => {
    bedrock.setFoundationModels([
      { modelId: HAIKU, status: 'LEGACY' },
      { modelId: SONNET, status: 'ACTIVE', regions: ['us-east-1'] },
      { modelId: NOVA, status: 'ACTIVE' },
    ]);
    const lines = await captureOutput(() => job()());
    expect(lines.find((l) => l['message'] === 'catalog model is legacy on bedrock')).toMatchObject({
      modelId: 'claude-haiku-4-5',
      endOfLife: 'not given by Bedrock',
    });
    expect(lines.find((l) => l['message'] === 'catalog model not listed by bedrock')).toMatchObject({
      modelId: 'claude-sonnet-4-6',
      foundationModelId: SONNET,
      region: 'eu-west-1',
    });
  });

  it('runs only when the daily rule asks for it', () => {
    expect(isModelLifecycleJob({ job: MODEL_LIFECYCLE_JOB })).toBe(true);
    // The 5-minute rule's scheduled event runs the sweep.
    expect(isModelLifecycleJob({ 'detail-type': 'Scheduled Event', source: 'aws.events' })).toBe(false);
    expect(isModelLifecycleJob(undefined)).toBe(false);
  });
});
