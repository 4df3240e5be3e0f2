import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { gatewayConfig as repositoryConfig } from '../gateway.config';
import { GatewayError } from '../lambdas/shared/http/errors';
import { createAdminService } from '../lambdas/shared/admin/admin-service';
import { formatAdminAllowList } from '../lambdas/shared/config/admin-principals';
import { ENVIRONMENT_VARIABLES } from '../lambdas/shared/config/constants';
import { parseGatewayConfig, type GatewayConfigInput } from '../lambdas/shared/catalog/schema';
import { resolveCatalog } from '../lambdas/shared/catalog/resolve';
import type { FunctionName } from '../lambdas/shared/http/routes';
import { staticSecrets } from '../lambdas/shared/providers/secrets';
import { createDocumentClient } from '../lambdas/shared/store/client';
import { TABLES, type TableId, type TableNames } from '../lambdas/shared/store/schema';
import { startDynamoDbLocal, type DynamoDbLocal } from './dynamodb-local';
import { installAwsLambdaGlobal } from './awslambda';
import {
  createLocalServer,
  createLocalStreamServer,
  type HttpLambdaHandler,
  type StreamingLambdaHandler,
} from './server';
import { createTables, tableNames } from './tables';
import { pollQueue, startLocalQueues, type LocalQueues, type SqsLambdaHandler } from './local-queues';
import { AfterResponse, installAfterResponse } from '../lambdas/shared/lifecycle/after-response';

/** The principal the local runtime's own setup (demo team and key) is recorded under. */
const LOCAL_ADMIN = 'local-runtime';

/**
 * The IAM principal the local server reports for a request with the admin token, and the only
 * entry of the admin allow-list the local handlers get: the token keeps working locally, through
 * the same allow-list check as in AWS.
 */
const LOCAL_ADMIN_PRINCIPAL = 'arn:aws:iam::000000000000:user/local-admin';

/** What each Lambda's entry module exports. */
type HandlerModule<H> = { handler: H };

/**
 * A Lambda's handler, its entry module loaded now: each `index.ts` reads its environment when it
 * is first loaded, exactly as in AWS at cold start, so it is loaded only once that is set.
 */
function loadEntry<H>(modulePath: string): H {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand, after the environment is set
  return (require(modulePath) as HandlerModule<H>).handler;
}

/** Options of the local runtime; `npm start` uses the defaults. */
export interface LocalGatewayOptions {
  /** Port of the API; 0 picks a free one. Default 8080. */
  port?: number;
  /** Port of the streaming door (the REST API's stand-in). Default: the API's port + 1. */
  streamPort?: number;
  host?: string;
  /** Use this DynamoDB (Local) instead of starting one. */
  dynamodbEndpoint?: string;
  tablePrefix?: string;
  /** Config to serve; default the repository's `gateway.config.ts`. */
  config?: GatewayConfigInput;
  /** Replace connections without credentials here by the mock. Default true. */
  mockWithoutCredentials?: boolean;
  adminToken?: string;
  /** Extra environment for the handlers (e.g. `IDENTITY_CACHE_TTL_SECONDS`). */
  environment?: Record<string, string>;
}

/** A running local gateway. */
export interface LocalGateway {
  /** The HTTP API's stand-in: buffered responses (`stream: true` gets a complete SSE body). */
  url: string;
  /**
   * The streaming door's stand-in (the REST API with response streaming, served at the root:
   * the deployed `StreamUrl` ends in its stage name): SSE as it is produced.
   */
  streamUrl: string;
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
 * The environment variable that holds a connection's API key locally: the connection's name in
 * upper case with `_API_KEY` (`openai` → `OPENAI_API_KEY`, `azure-east` → `AZURE_EAST_API_KEY`).
 * In AWS the key is in Secrets Manager instead.
 */
export function localApiKeyVariable(connectionName: string): string {
  return `${connectionName.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_API_KEY`;
}

/**
 * The config as the local runtime serves it: every connection whose credentials are missing
 * here (no AWS credentials for Bedrock; no `<NAME>_API_KEY` for a keyed provider) is replaced by
 * the mock, so every catalog model still answers; keys found in the environment become the
 * secrets the adapters read.
 */
export function localProviders(config: GatewayConfigInput, env: NodeJS.ProcessEnv = process.env, mockMissing = true) {
  const mocked: string[] = [];
  const secretValues: Record<string, string> = {};
  const providers = Object.fromEntries(
    Object.entries(config.providers).map(([name, connection]) => {
      const secretName = 'apiKeySecret' in connection ? connection.apiKeySecret : undefined;
      const apiKey = env[localApiKeyVariable(name)];
      const usable =
        connection.adapter === 'bedrock' ? hasAwsCredentials(env) : secretName === undefined || Boolean(apiKey);
      if (!usable && mockMissing) {
        mocked.push(name);
        return [name, { adapter: 'mock' as const }];
      }
      if (secretName && apiKey) secretValues[secretName] = apiKey;
      return [name, connection];
    }),
  );
  return { config: { ...config, providers }, mocked, secrets: staticSecrets(secretValues) };
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
 *
 * Long because it is the start-up sequence itself (emulators, tables, config, seed, servers), in order,
 * with one clean-up path for every step that can fail.
 */
export async function startLocalGateway(options: LocalGatewayOptions = {}): Promise<LocalGateway> {
  let dynamodb: DynamoDbLocal | undefined;
  let queues: LocalQueues | undefined;
  const dynamodbEndpoint = options.dynamodbEndpoint ?? (dynamodb = await startDynamoDbLocal()).endpoint;
  try {
    // The usage replay queue (SQS in AWS): where usage writes go when DynamoDB will not take them.
    queues = await startLocalQueues();
    const prefix = options.tablePrefix ?? 'llm-gateway';
    const tables = tableNames(prefix);
    const region = process.env.AWS_REGION ?? 'us-east-1';
    await createTables(dynamodbEndpoint, tables, region);

    const { config, mocked, secrets } = localProviders(
      options.config ?? repositoryConfig,
      process.env,
      options.mockWithoutCredentials !== false,
    );
    // Resolved like a deployment (Bedrock profile prefixes from AWS_REGION, else us-east-1), mocks kept.
    const validated = resolveCatalog(parseGatewayConfig(config), { region, includeMockModels: true });
    // The Lambdas read their config from a global that esbuild defines in AWS, and provider keys
    // from Secrets Manager; the local runtime defines the first and stands in for the second.
    (globalThis as { __GATEWAY_CONFIG__?: unknown }).__GATEWAY_CONFIG__ = validated;
    (globalThis as { __GATEWAY_LOCAL_SECRETS__?: unknown }).__GATEWAY_LOCAL_SECRETS__ = secrets;
    installAwsLambdaGlobal();
    Object.assign(process.env, {
      AWS_REGION: region,
      DYNAMODB_ENDPOINT: dynamodbEndpoint,
      ...Object.fromEntries((Object.keys(TABLES) as TableId[]).map((id) => [TABLES[id].envVar, tables[id]])),
      [ENVIRONMENT_VARIABLES.adminPrincipals]: formatAdminAllowList([LOCAL_ADMIN_PRINCIPAL]),
      [ENVIRONMENT_VARIABLES.usageReplayQueueUrl]: queues.queueUrl,
      [ENVIRONMENT_VARIABLES.sqsEndpoint]: queues.endpoint,
      ...options.environment,
    });

    const db = createDocumentClient({ region, endpoint: dynamodbEndpoint });
    const adminService = createAdminService({ db, tables, config: validated });
    const demoTeamId = 'demo';
    try {
      await adminService.createTeam(
        { id: demoTeamId, name: 'Demo team', cost_center: 'demo', allowed_models: ['*'] },
        LOCAL_ADMIN,
      );
    } catch (error) {
      // Another local gateway on the same DynamoDB Local seeded it; this one issues its own key.
      if (!(error instanceof GatewayError && error.status === 409)) throw error;
    }
    const { plaintext: demoKey } = await adminService.issueKey(demoTeamId, { name: 'demo key' }, LOCAL_ADMIN);

    // The post-response extension's part: the buffered door's records are written after the
    // answer (as in AWS, where the extension holds the invocation open until they land); on stop,
    // what is still pending is awaited before DynamoDB Local goes.
    const afterResponse = installAfterResponse(new AfterResponse());
    // Loaded only now: each Lambda's index.ts reads its environment when it is first loaded,
    // exactly as in AWS at cold start.
    const handlers: Record<FunctionName, HttpLambdaHandler> = {
      gateway: loadEntry<HttpLambdaHandler>('../lambdas/gateway/index'),
      auth: loadEntry<HttpLambdaHandler>('../lambdas/auth/index'),
      usage: loadEntry<HttpLambdaHandler>('../lambdas/usage/index'),
    };
    const streamHandler = loadEntry<StreamingLambdaHandler>('../lambdas/gateway/stream');
    // EventBridge runs the maintenance Lambda every five minutes in AWS; locally, every minute.
    const maintenance = loadEntry<() => Promise<unknown>>('../lambdas/maintenance/index');
    const maintenanceTimer = setInterval(() => {
      maintenance().catch((error: unknown) => process.stderr.write(`maintenance failed: ${String(error)}\n`));
    }, 60_000);
    maintenanceTimer.unref();
    // Lambda's SQS event source mapping feeds the replay function; locally, this poller does.
    const replay = loadEntry<SqsLambdaHandler>('../lambdas/replay/index');
    const replayPoller = pollQueue(queues.sqs, queues.queueUrl, replay, {
      onError: (error) => process.stderr.write(`replay poller: ${String(error)}\n`),
    });
    const adminToken = options.adminToken ?? `gwadmin_${randomBytes(24).toString('base64url')}`;
    const host = options.host ?? '127.0.0.1';
    const server = createLocalServer({ handlers, adminToken, adminPrincipal: LOCAL_ADMIN_PRINCIPAL });
    const streamServer = createLocalStreamServer(streamHandler);
    const listen = (target: Server, port: number) =>
      new Promise<number>((resolve, reject) => {
        target.once('error', reject);
        target.listen(port, host, () => resolve((target.address() as AddressInfo).port));
      });
    const port = await listen(server, options.port ?? 8080);
    const streamPort = await listen(streamServer, options.streamPort ?? (options.port === 0 ? 0 : port + 1));
    return {
      url: `http://${host}:${port}`,
      streamUrl: `http://${host}:${streamPort}`,
      demoKey,
      demoTeamId,
      adminToken,
      dynamodbEndpoint,
      tables,
      mockedProviders: mocked,
      stop: async () => {
        clearInterval(maintenanceTimer);
        await replayPoller.stop();
        await Promise.all(
          [server, streamServer].map(
            (target) =>
              new Promise<void>((resolve) => {
                target.close(() => resolve());
                target.closeAllConnections();
              }),
          ),
        );
        await afterResponse.drain();
        db.destroy();
        await queues?.stop();
        await dynamodb?.stop();
      },
    };
  } catch (error) {
    await queues?.stop();
    await dynamodb?.stop();
    throw error;
  }
}
