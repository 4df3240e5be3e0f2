import { loadEnvironment } from '../shared/config/environment';
import { createAuthenticator } from '../shared/keys/authenticator';
import { createDocumentClient } from '../shared/store/client';
import { TeamRepository } from '../shared/teams/repository';
import { UsageReader } from '../shared/usage/reader';
import { createUsageHandler } from './handler';

const env = loadEnvironment(['identity', 'usage']);
const db = createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint });

/** Entry point of the usage Lambda. */
export const handler = createUsageHandler({
  authenticator: createAuthenticator(db, env.tables.identity, env.identityCacheTtlMs),
  teams: new TeamRepository(db, env.tables.identity),
  reader: new UsageReader(db, env.tables.usage),
});
