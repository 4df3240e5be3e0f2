import { AdminService } from '../shared/admin';
import { loadCatalog } from '../shared/catalog/load';
import { loadEnvironment } from '../shared/config/environment';
import { ApiKeyRepository } from '../shared/keys/repository';
import { createDocumentClient } from '../shared/store/client';
import { TeamRepository } from '../shared/teams/repository';
import { createAuthHandler } from './handler';

const env = loadEnvironment(['identity']);
const db = createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint });

/** Entry point of the auth (admin) Lambda. */
export const handler = createAuthHandler({
  admin: new AdminService({
    teams: new TeamRepository(db, env.tables.identity),
    keys: new ApiKeyRepository(db, env.tables.identity),
    teamDefaults: loadCatalog().config.teamDefaults,
  }),
});
