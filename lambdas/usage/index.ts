import { loadCatalog } from '../shared/catalog/load';
import { loadAdminAllowList, loadEnvironment } from '../shared/config/environment';
import { FUNCTION_TABLES } from '../shared/config/function-tables';
import { createDocumentClient } from '../shared/store/client';
import { createUsageHandler, usageDependencies } from './handler';

const env = loadEnvironment(FUNCTION_TABLES.usage);

/** Entry point of the usage Lambda: usage reports and the audit trail, for teams and admins. */
export const handler = createUsageHandler(
  usageDependencies({
    db: createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint }),
    tables: env.tables,
    config: loadCatalog().config,
    identityCacheTtlMs: env.identityCacheTtlMs,
    admins: loadAdminAllowList(),
  }),
);
