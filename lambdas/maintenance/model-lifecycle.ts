import {
  checkModelLifecycle,
  MODEL_LIFECYCLE_JOB,
  type FoundationModelLifecycleView,
  type LifecycleReport,
  type LifecycleTarget,
} from '../shared/catalog/model-lifecycle';
import { logger } from '../shared/observability/logger';
import { observeLegacyModel } from '../shared/observability/metrics';

/** Lists a region's foundation models (Bedrock's control-plane ListFoundationModels). */
export type FoundationModelLister = (region: string) => Promise<readonly FoundationModelLifecycleView[]>;

/**
 * ListFoundationModels through `@aws-sdk/client-bedrock`, loaded on the first daily check only:
 * the 5-minute sweep never pays for loading the control-plane client. One client per region.
 *
 * @example
 * const list = bedrockFoundationModelLister(); // in AWS
 * const list = bedrockFoundationModelLister({ endpoint: await fake.startControlPlane() }); // tests
 */
export function bedrockFoundationModelLister(options: { endpoint?: string } = {}): FoundationModelLister {
  const clients = new Map<string, import('@aws-sdk/client-bedrock').BedrockClient>();
  return async (region) => {
    // Required here, not imported at the top: loaded on the first daily check only. A CommonJS
    // require (not `import()`) because the bundle leaves the SDK to the Lambda runtime, whose
    // copy is found through NODE_PATH, which require() always honours.
    const { BedrockClient, ListFoundationModelsCommand } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by the daily job, from the runtime's SDK copy
      require('@aws-sdk/client-bedrock') as typeof import('@aws-sdk/client-bedrock');
    let client = clients.get(region);
    if (!client) {
      client = new BedrockClient({ region, endpoint: options.endpoint });
      clients.set(region, client);
    }
    const output = await client.send(new ListFoundationModelsCommand({}));
    return output.modelSummaries ?? [];
  };
}

/**
 * The daily lifecycle job: checks the catalog's Bedrock models, logs a warning and counts
 * `LegacyModels` for each one Bedrock lists as LEGACY (the alarm watches it), and logs models
 * the region no longer lists. Returns the report for the logs and the tests.
 *
 * @example
 * const job = createModelLifecycleJob({ targets: lifecycleTargets(config, region), list: bedrockFoundationModelLister() });
 */
export function createModelLifecycleJob(deps: { targets: readonly LifecycleTarget[]; list: FoundationModelLister }) {
  return async function modelLifecycle(): Promise<LifecycleReport> {
    const report = await checkModelLifecycle(deps.targets, deps.list);
    for (const finding of report.legacy) observeLegacyModel(finding);
    for (const target of report.unlisted) {
      logger.warn('catalog model not listed by bedrock', { ...target });
    }
    logger.info('model lifecycle checked', {
      job: MODEL_LIFECYCLE_JOB,
      checked: report.checked,
      legacy: report.legacy.length,
      unlisted: report.unlisted.length,
    });
    return report;
  };
}

/**
 * Whether a maintenance invocation asks for the lifecycle job (the daily rule's input) rather
 * than the default sweep (the 5-minute rule's scheduled event).
 *
 * @example
 * isModelLifecycleJob({ job: 'model-lifecycle' }) // true
 */
export function isModelLifecycleJob(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { job?: unknown }).job === MODEL_LIFECYCLE_JOB;
}
