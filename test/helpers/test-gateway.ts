import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { authDependencies, createAuthHandler } from '../../lambdas/auth/handler';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createGatewayHandler, gatewayDependencies, type GatewaySettings } from '../../lambdas/gateway/handler';
import type { AdminService, CreateKeyInput, CreateTeamInput } from '../../lambdas/shared/admin';
import type { ApiKeyRecord } from '../../lambdas/shared/keys/schema';
import type { TeamRecord } from '../../lambdas/shared/teams/schema';
import { Catalog } from '../../lambdas/shared/catalog/catalog';
import { parseGatewayConfig, type GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { createUsageHandler, usageDependencies } from '../../lambdas/usage/handler';
import { withAfterResponse, type AfterResponse } from '../../lambdas/shared/lifecycle/after-response';
import { formatAdminAllowList, parseAdminAllowList } from '../../lambdas/shared/config/admin-principals';
import { lambdaContext, toHttpApiEvent, type HttpLambdaHandler } from '../../local/server';
import { matchRoute } from '../../lambdas/shared/http/routes';
import { staticSecrets, type SecretResolver } from '../../lambdas/shared/providers/secrets';
import { InMemoryAlertPublisher, type BudgetAlertEvent } from '../../lambdas/shared/quota/budget-alerts';
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

/**
 * A response body as a test reads it: parsed when it is JSON, the text itself otherwise (a CSV
 * report, an export's JSON Lines).
 */
function bodyOf(result: { headers?: Record<string, unknown>; body?: string }): unknown {
  if (!result.body) return undefined;
  const type = String(result.headers?.['content-type'] ?? 'application/json');
  return type.startsWith('application/json') ? JSON.parse(result.body) : result.body;
}

/** Options of an in-process gateway for handler tests. */
export interface TestGatewayOptions {
  config?: GatewayConfigInput;
  now?: () => number;
  identityCacheTtlMs?: number;
  providerTimeoutMs?: number;
  secrets?: SecretResolver;
  /** Tables to use (another "Lambda instance" of an existing test gateway); fresh ones otherwise. */
  store?: TestStore;
  /** The DynamoDB client the handlers use (e.g. one that counts requests); the store's otherwise. */
  db?: DynamoDBDocumentClient;
  /** Adapter lookup override, to observe provider calls. */
  adapters?: GatewaySettings['adapters'];
  guardrails?: GatewaySettings['guardrails'];
  approvalNotifier?: GatewaySettings['approvalNotifier'];
  observe?: GatewaySettings['observe'];
  /** The admin allow-list (ARNs, as the CDK writes them in the environment); default [TEST_ADMIN]. */
  admins?: readonly string[];
  /**
   * The post-response registry the buffered gateway handler defers its records to, as in AWS with
   * the extension; none (the default): records are written before the answer.
   */
  afterResponse?: AfterResponse;
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
export async function createTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const ownsStore = options.store === undefined;
  const store: TestStore = options.store ?? (await createTestStore());
  const db = options.db ?? store.db;
  const catalog = new Catalog(parseGatewayConfig(options.config ?? testConfig));
  const now = options.now ?? Date.now;
  const admins = parseAdminAllowList(formatAdminAllowList(options.admins ?? [TEST_ADMIN]));
  const authDeps = authDependencies({
    db,
    tables: store.tables,
    config: catalog.config,
    admins,
    now,
  });
  const admin = authDeps.admin;
  const identityCacheTtlMs = options.identityCacheTtlMs ?? 0;
  const alerts = new InMemoryAlertPublisher();
  const handlers: Record<FunctionName, HttpLambdaHandler> = {
    gateway: withAfterResponse(
      (defer) =>
        createGatewayHandler(
          gatewayDependencies({
            db,
            tables: store.tables,
            catalog,
            identityCacheTtlMs,
            providerTimeoutMs: options.providerTimeoutMs ?? 5_000,
            secrets: options.secrets ?? staticSecrets({}),
            alerts,
            now,
            ...(options.adapters ? { adapters: options.adapters } : {}),
            ...(options.guardrails ? { guardrails: options.guardrails } : {}),
            ...(options.approvalNotifier ? { approvalNotifier: options.approvalNotifier } : {}),
            ...(options.observe ? { observe: options.observe } : {}),
          }),
          defer,
        ),
      (error) => process.stderr.write(`post-response work failed: ${String(error)}\n`),
      options.afterResponse,
    ) as unknown as HttpLambdaHandler,
    auth: createAuthHandler(authDeps) as unknown as HttpLambdaHandler,
    usage: createUsageHandler(
      usageDependencies({ db, tables: store.tables, config: catalog.config, identityCacheTtlMs, admins, now }),
    ) as unknown as HttpLambdaHandler,
  };

  let teamCounter = 0;

  return {
    store,
    catalog,
    admin,
    handlers,
    /** Budget alerts published so far. */
    alerts: alerts.events,
    /**
     * Calls a route as API Gateway would. `key` goes in `Authorization: Bearer`; `admin` adds the
     * IAM authorizer context API Gateway attaches to SigV4-signed requests (as TEST_ADMIN, or as
     * the principal ARN given).
     */
    async call(
      method: string,
      url: string,
      init: {
        key?: string;
        admin?: boolean | string;
        body?: unknown;
        rawBody?: string;
        headers?: Record<string, string>;
      } = {},
    ): Promise<TestResponse> {
      const path = new URL(url, 'http://localhost').pathname;
      const matched = matchRoute(method, path);
      if (!matched) throw new Error(`no route ${method} ${path}`);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
      if (init.key) headers['authorization'] = `Bearer ${init.key}`;
      const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
      const event = toHttpApiEvent(
        { method, url, headers, receivedAt: now(), ...(body !== undefined ? { body } : {}) },
        matched,
        typeof init.admin === 'string' ? init.admin : init.admin ? TEST_ADMIN : undefined,
      );
      const result = (await handlers[matched.route.function](event, lambdaContext(matched.route.function))) as Exclude<
        APIGatewayProxyResultV2,
        string
      >;
      return {
        status: result.statusCode ?? 200,
        headers: (result.headers ?? {}) as Record<string, string>,
        body: bodyOf(result),
      };
    },
    /** Creates a team (unique id unless given) with the test defaults. */
    async createTeam(input: Partial<CreateTeamInput> = {}) {
      teamCounter += 1;
      return admin.createTeam(
        { id: `team-${teamCounter}-${Date.now() % 100000}`, name: 'Test team', ...input },
        TEST_ADMIN,
      );
    },
    /** Issues a key for a team. */
    issueKey(teamId: string, input: CreateKeyInput = {}) {
      return admin.issueKey(teamId, input, TEST_ADMIN);
    },
    /** Another set of handlers on the same tables: what a second Lambda instance would be. */
    instance(overrides: Omit<TestGatewayOptions, 'store'> = {}) {
      return createTestGateway({ ...options, ...overrides, store });
    },
    destroy: () => {
      if (ownsStore) store.destroy();
    },
  };
}

/** A test gateway: handlers, tables and helpers. */
export interface TestGateway {
  store: TestStore;
  catalog: Catalog;
  admin: AdminService;
  handlers: Record<FunctionName, HttpLambdaHandler>;
  alerts: BudgetAlertEvent[];
  call(
    method: string,
    url: string,
    init?: {
      key?: string;
      admin?: boolean | string;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    },
  ): Promise<TestResponse>;
  createTeam(input?: Partial<CreateTeamInput>): Promise<TeamRecord>;
  issueKey(teamId: string, input?: CreateKeyInput): Promise<{ record: ApiKeyRecord; plaintext: string }>;
  instance(overrides?: Omit<TestGatewayOptions, 'store'>): Promise<TestGateway>;
  destroy(): void;
}
