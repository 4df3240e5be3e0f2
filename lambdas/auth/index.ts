import { loadCatalog } from '../shared/catalog/load';
import { loadAdminAllowList, loadEnvironment } from '../shared/config/environment';
import { FUNCTION_TABLES } from '../shared/config/function-tables';
import { createDocumentClient } from '../shared/store/client';
import { authDependencies, createAuthHandler } from './handler';

const env = loadEnvironment(FUNCTION_TABLES.auth);

/** Entry point of the auth (admin) Lambda. */
export const handler = createAuthHandler(
  authDependencies({
    db: createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint }),
    tables: env.tables,
    config: loadCatalog().config,
    admins: loadAdminAllowList(),
  }),
);
