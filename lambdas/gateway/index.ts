import { loadCatalog } from '../shared/catalog/load';
import { loadEnvironment } from '../shared/config/environment';
import { createDocumentClient } from '../shared/store/client';
import { createGatewayHandler, gatewayDependencies } from './handler';

// Built once per Lambda instance (cold start) and reused by every request it serves.
const env = loadEnvironment(['identity', 'counters', 'usage']);

/** Entry point of the gateway Lambda (HTTP API payload 2.0). */
export const handler = createGatewayHandler(
  gatewayDependencies({
    db: createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint }),
    tables: env.tables,
    catalog: loadCatalog(),
    identityCacheTtlMs: env.identityCacheTtlMs,
    providerTimeoutMs: env.providerTimeoutMs,
  }),
);
