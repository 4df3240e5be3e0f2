import { loadCatalog } from '../shared/catalog/load';
import { loadAdminAllowList, loadEnvironment } from '../shared/config/environment';
import { createDocumentClient } from '../shared/store/client';
import { authDependencies, createAuthHandler } from './handler';

const env = loadEnvironment(['identity', 'audit']);

/** Entry point of the auth (admin) Lambda. */
export const handler = createAuthHandler(
  authDependencies({
    db: createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint }),
    tables: env.tables,
    config: loadCatalog().config,
    admins: loadAdminAllowList(),
  }),
);
