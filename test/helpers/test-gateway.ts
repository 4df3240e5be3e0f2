import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { createAuthHandler } from '../../lambdas/auth/handler';
import { createGatewayHandler, gatewayDependencies } from '../../lambdas/gateway/handler';
import { AdminService, type CreateKeyInput, type CreateTeamInput } from '../../lambdas/shared/admin';
import { Catalog } from '../../lambdas/shared/catalog/catalog';
import { parseGatewayConfig, type GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { ApiKeyRepository } from '../../lambdas/shared/keys/repository';
import { TeamRepository } from '../../lambdas/shared/teams/repository';
import { UsageReader } from '../../lambdas/shared/usage/reader';
import { createUsageHandler } from '../../lambdas/usage/handler';
import { createAuthenticator } from '../../lambdas/shared/keys/authenticator';
import { lambdaContext, toHttpApiEvent, type HttpLambdaHandler } from '../../local/server';
import { matchRoute } from '../../lambdas/shared/http/routes';
import { staticSecrets, type SecretResolver } from '../../lambdas/shared/providers/secrets';
import type { FunctionName } from '../../lambdas/shared/http/routes';
import { testConfig } from './config';
import { createTestStore, type TestStore } from './dynamodb';

/** A response as a test reads it. */
export interface TestResponse {
  status: number;
  headers: Record<string, string>;
  // Tests read arbitrary JSON bodies.
  body: any;
}

/** Options of an in-process gateway for handler tests. */
export interface TestGatewayOptions {
  config?: GatewayConfigInput;
  now?: () => number;
  identityCacheTtlMs?: number;
  providerTimeoutMs?: number;
  secrets?: SecretResolver;
}

/** The IAM principal the tests' admin requests carry. */
export const TEST_ADMIN = 'arn:aws:iam::123456789012:user/test-admin';

/**
 * The three Lambdas' handlers, wired exactly as in AWS but on a fresh set of DynamoDB Local
 * tables, plus helpers to call them with API Gateway events and to set up teams and keys.
 *
 * @example
 * const gw = await createTestGateway();
 * const { plaintext } = await gw.issueKey((await gw.createTeam()).teamId);
 * const res = await gw.call('POST', '/v1/chat/completions', { key: plaintext, body: {...} });
 */
export async function createTestGateway(options: TestGatewayOptions = {}) {
  const store: TestStore = await createTestStore();
  const catalog = new Catalog(parseGatewayConfig(options.config ?? testConfig));
  const now = options.now ?? Date.now;
  const admin = new AdminService({
    teams: new TeamRepository(store.db, store.tables.identity),
    keys: new ApiKeyRepository(store.db, store.tables.identity),
    teamDefaults: catalog.config.teamDefaults,
    now,
  });
  const identityCacheTtlMs = options.identityCacheTtlMs ?? 0;
  const handlers: Record<FunctionName, HttpLambdaHandler> = {
    gateway: createGatewayHandler(
      gatewayDependencies({
        db: store.db,
        tables: store.tables,
        catalog,
        identityCacheTtlMs,
        providerTimeoutMs: options.providerTimeoutMs ?? 5_000,
        secrets: options.secrets ?? staticSecrets({}),
        now,
      }),
    ) as unknown as HttpLambdaHandler,
    auth: createAuthHandler({ admin }) as unknown as HttpLambdaHandler,
    usage: createUsageHandler({
      authenticator: createAuthenticator(store.db, store.tables.identity, identityCacheTtlMs, now),
      reader: new UsageReader(store.db, store.tables.usage),
      now,
    }) as unknown as HttpLambdaHandler,
  };

  let teamCounter = 0;

  return {
    store,
    catalog,
    admin,
    handlers,
    /**
     * Calls a route as API Gateway would. `key` goes in `Authorization: Bearer`; `admin` adds the
     * IAM authorizer context API Gateway attaches to SigV4-signed requests.
     */
    async call(
      method: string,
      url: string,
      init: { key?: string; admin?: boolean; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
    ): Promise<TestResponse> {
      const path = new URL(url, 'http://localhost').pathname;
      const matched = matchRoute(method, path);
      if (!matched) throw new Error(`no route ${method} ${path}`);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
      if (init.key) headers['authorization'] = `Bearer ${init.key}`;
      const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
      const event = toHttpApiEvent(
        { method, url, headers, ...(body !== undefined ? { body } : {}) },
        matched,
        init.admin ? TEST_ADMIN : undefined,
      );
      const result = (await handlers[matched.route.function](event, lambdaContext(matched.route.function))) as Exclude<
        APIGatewayProxyResultV2,
        string
      >;
      return {
        status: result.statusCode ?? 200,
        headers: (result.headers ?? {}) as Record<string, string>,
        body: result.body ? JSON.parse(result.body) : undefined,
      };
    },
    /** Creates a team (unique id unless given) with the test defaults. */
    async createTeam(input: Partial<CreateTeamInput> = {}) {
      teamCounter += 1;
      return admin.createTeam({ id: `team-${teamCounter}-${Date.now() % 100000}`, name: 'Test team', ...input });
    },
    /** Issues a key for a team. */
    issueKey(teamId: string, input: CreateKeyInput = {}) {
      return admin.issueKey(teamId, input, TEST_ADMIN);
    },
    destroy: () => store.destroy(),
  };
}

/** A test gateway. */
export type TestGateway = Awaited<ReturnType<typeof createTestGateway>>;
