import { loadCatalog } from '../shared/catalog/load';
import { loadSecretResolver } from '../shared/providers/secrets-manager';
import { lifecycleTargets } from '../shared/catalog/model-lifecycle';
import { loadEnvironment, loadReplayQueue } from '../shared/config/environment';
import { FUNCTION_TABLES } from '../shared/config/function-tables';
import { alertPublisherFor } from '../shared/quota/eventbridge-publisher';
import { createDocumentClient } from '../shared/store/client';
import { SqsUsageSpool } from '../shared/usage/sqs-spool';
import { createMaintenanceHandler, maintenanceDependencies } from './handler';
import { createHealthProbeJob, isHealthProbeJob } from './health-probe';
import { bedrockFoundationModelLister, createModelLifecycleJob, isModelLifecycleJob } from './model-lifecycle';

const env = loadEnvironment(FUNCTION_TABLES.maintenance);
const queue = loadReplayQueue();

const sweep = createMaintenanceHandler(
  maintenanceDependencies({
    db: createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint }),
    tables: env.tables,
    alerts: alertPublisherFor(env.eventBusName),
    pendingWrites: queue.queueUrl
      ? new SqsUsageSpool(queue.queueUrl, { region: env.region, endpoint: queue.endpoint })
      : undefined,
  }),
);
const catalog = loadCatalog();
const modelLifecycle = createModelLifecycleJob({
  targets: lifecycleTargets(catalog.config, env.region),
  list: bedrockFoundationModelLister(),
});
const healthProbe = createHealthProbeJob({ catalog, secrets: loadSecretResolver() });

/**
 * Entry point of the maintenance Lambda: the 5-minute rule runs the reservation sweep and
 * budget alerts; the daily rule's `{ "job": "model-lifecycle" }` runs the Bedrock lifecycle check;
 * the health probe's rule (only with a `healthProbe` config) sends `{ "job": "health-probe" }`.
 */
export const handler = async (event: unknown) =>
  isModelLifecycleJob(event) ? modelLifecycle() : isHealthProbeJob(event) ? healthProbe() : sweep();
