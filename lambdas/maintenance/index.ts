import { loadEnvironment } from '../shared/config/environment';
import { alertPublisherFor } from '../shared/quota/eventbridge-publisher';
import { createDocumentClient } from '../shared/store/client';
import { createMaintenanceHandler, maintenanceDependencies } from './handler';

const env = loadEnvironment(['identity', 'usage', 'counters']);

/** Entry point of the maintenance Lambda (EventBridge schedule). */
export const handler = createMaintenanceHandler(
  maintenanceDependencies({
    db: createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint }),
    tables: env.tables,
    alerts: alertPublisherFor(env.eventBusName),
  }),
);
