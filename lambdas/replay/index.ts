import { loadEnvironment } from '../shared/config/environment';
import { FUNCTION_TABLES } from '../shared/config/function-tables';
import { createDocumentClient } from '../shared/store/client';
import { createReplayHandler, replayDependencies } from './handler';

const env = loadEnvironment(FUNCTION_TABLES.replay);

/** Entry point of the replay Lambda (SQS event source on the usage replay queue). */
export const handler = createReplayHandler(
  replayDependencies({
    db: createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint }),
    tables: env.tables,
  }),
);
