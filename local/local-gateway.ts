import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { gatewayConfig as repositoryConfig } from '../gateway.config';
import { AdminService } from '../lambdas/shared/admin/admin-service';
import { parseGatewayConfig, type GatewayConfigInput } from '../lambdas/shared/catalog/schema';
import type { FunctionName } from '../lambdas/shared/http/routes';
import { ApiKeyRepository } from '../lambdas/shared/keys/repository';
import { createDocumentClient } from '../lambdas/shared/store/client';
import { TABLES, type TableId, type TableNames } from '../lambdas/shared/store/schema';
import { TeamRepository } from '../lambdas/shared/teams/repository';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { createLocalServer, type HttpLambdaHandler } from './server';
import { createTables, tableNames } from './tables';

/** What each Lambda's `index.ts` exports. */
type HandlerModule = { handler: HttpLambdaHandler };

/** Options of the local runtime; `npm start` uses the defaults. */
export interface LocalGatewayOptions {
  /** Port of the API; 0 picks a free one. Default 8080. */
  port?: number;
  host?: string;
  /** Use this DynamoDB (Local) instead of starting one. */
  dynamodbEndpoint?: string;
  tablePrefix?: string;
  /** Config to serve; default the repository's `gateway.config.ts`. */
  config?: GatewayConfigInput;
  /** Replace Bedrock connections by the mock when no AWS credentials are found. Default true. */
  mockWithoutCredentials?: boolean;
  adminToken?: string;
  /** Extra environment for the handlers (e.g. `IDENTITY_CACHE_TTL_SECONDS`). */
  environment?: Record<string, string>;
}

/** A running local gateway. */
export interface LocalGateway {
  url: string;
  demoKey: string;
  demoTeamId: string;
  adminToken: string;
  dynamodbEndpoint: string;
  tables: TableNames;
  /** Connections that were replaced by the mock for lack of credentials. */
  mockedProviders: string[];
  stop(): Promise<void>;
}

/** Whether the AWS SDK's default credential chain has something to find, without calling AWS. */
export function hasAwsCredentials(env: NodeJS.ProcessEnv = process.env): boolean {
  if (
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_PROFILE ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_FULL_URI
  ) {
    return true;
  }
  const awsDir = path.join(homedir(), '.aws');
  return existsSync(path.join(awsDir, 'credentials')) || existsSync(path.join(awsDir, 'config'));
}

/**
 * The config with every connection that needs credentials we lack replaced by the mock, so
 * every catalog model still answers locally (and says `provider: mock`-backed in its response).
 */
export function withMockProviders(config: GatewayConfigInput, hasCredentials: boolean) {
  const mocked: string[] = [];
  const providers = Object.fromEntries(
    Object.entries(config.providers).map(([name, connection]) => {
      if (connection.adapter === 'bedrock' && !hasCredentials) {
        mocked.push(name);
        return [name, { adapter: 'mock' as const }];
      }
      return [name, connection];
    }),
  );
  return { config: { ...config, providers }, mocked };
}

/**
 * Starts the whole gateway on this machine: DynamoDB Local (unless given one), the tables from
 * the shared schema, a seeded demo team and key, and an HTTP server that calls the same
 * handlers the Lambdas export with the events API Gateway would send.
 *
 * @example
 * const gateway = await startLocalGateway({ port: 0 });
 * // ... call gateway.url with gateway.demoKey ...
 * await gateway.stop();
 */
export async function startLocalGateway(options: LocalGatewayOptions = {}): Promise<LocalGateway> {
  let dynamodb: DynamoDbLocal | undefined;
  const dynamodbEndpoint = options.dynamodbEndpoint ?? (dynamodb = await startDynamoDbLocal()).endpoint;
  try {
    const prefix = options.tablePrefix ?? 'llm-gateway';
    const tables = tableNames(prefix);
    const region = process.env.AWS_REGION ?? 'us-east-1';
    const admin = new DynamoDBClient({
      endpoint: dynamodbEndpoint,
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await createTables(admin, tables);
    admin.destroy();

    const { config, mocked } =
      options.mockWithoutCredentials === false
        ? { config: options.config ?? repositoryConfig, mocked: [] }
        : withMockProviders(options.config ?? repositoryConfig, hasAwsCredentials());
    const validated = parseGatewayConfig(config);
    // The Lambdas read their config from a global that esbuild defines in AWS; define it here.
    (globalThis as { __GATEWAY_CONFIG__?: unknown }).__GATEWAY_CONFIG__ = config;
    Object.assign(process.env, {
      AWS_REGION: region,
      DYNAMODB_ENDPOINT: dynamodbEndpoint,
      ...Object.fromEntries((Object.keys(TABLES) as TableId[]).map((id) => [TABLES[id].envVar, tables[id]])),
      ...options.environment,
    });

    const db = createDocumentClient({ region, endpoint: dynamodbEndpoint });
    const adminService = new AdminService({
      teams: new TeamRepository(db, tables.identity),
      keys: new ApiKeyRepository(db, tables.identity),
      teamDefaults: validated.teamDefaults,
    });
    const demoTeamId = 'demo';
    await adminService.createTeam({ id: demoTeamId, name: 'Demo team', cost_center: 'demo', allowed_models: ['*'] });
    const { plaintext: demoKey } = await adminService.issueKey(demoTeamId, { name: 'demo key' }, 'local-runtime');

    // Loaded only now: each Lambda's index.ts reads its environment when it is first loaded,
    // exactly as in AWS at cold start.
    const handlers: Record<FunctionName, HttpLambdaHandler> = {
      gateway: (require('../lambdas/gateway/index') as HandlerModule).handler,
      auth: (require('../lambdas/auth/index') as HandlerModule).handler,
      usage: (require('../lambdas/usage/index') as HandlerModule).handler,
    };
    const adminToken = options.adminToken ?? `gwadmin_${randomBytes(24).toString('base64url')}`;
    const server = createLocalServer({ handlers, adminToken });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolve());
    });
    const address = server.address() as AddressInfo;
    return {
      url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
      demoKey,
      demoTeamId,
      adminToken,
      dynamodbEndpoint,
      tables,
      mockedProviders: mocked,
      stop: async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        db.destroy();
        await dynamodb?.stop();
      },
    };
  } catch (error) {
    await dynamodb?.stop();
    throw error;
  }
}
