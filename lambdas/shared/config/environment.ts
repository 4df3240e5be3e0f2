import * as z from 'zod';
import { TABLES, type TableId } from '../store/schema';
import { parseAdminAllowList, type AdminAllowList } from './admin-principals';
import { ENVIRONMENT_VARIABLES } from './constants';

/** Raised at start-up when the environment lacks or garbles a setting. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.url().optional());

const VARS = ENVIRONMENT_VARIABLES;

const baseSchema = z.object({
  [VARS.region]: z.string().min(1).default('us-east-1'),
  /** DynamoDB Local in tests and the local runtime; unset in AWS. */
  [VARS.dynamodbEndpoint]: optionalUrl,
  /**
   * How long a Lambda instance trusts a key or team it has read. It bounds how long a revoked
   * key keeps working (see README), so it is kept short.
   */
  [VARS.identityCacheTtlSeconds]: z.coerce.number().int().min(0).max(300).default(30),
  /** Longest wait for a provider; must stay under the API's timeout (30 s on an HTTP API). */
  [VARS.providerTimeoutMs]: z.coerce.number().int().min(100).max(900_000).default(25_000),
  /** EventBridge bus for budget alerts; unset (local runtime) means alerts are only logged. */
  [VARS.eventBusName]: z.string().min(1).optional(),
});

/** The environment a Lambda runs with, checked; `T` are the tables it was asked to require. */
export interface GatewayEnvironment<T extends TableId = TableId> {
  region: string;
  dynamodbEndpoint: string | undefined;
  tables: Record<T, string>;
  identityCacheTtlMs: number;
  providerTimeoutMs: number;
  eventBusName: string | undefined;
}

/**
 * Reads and checks a Lambda's environment once, at start-up, failing with every problem listed
 * rather than with `undefined` table names on the first request. A Lambda asks for the tables
 * `FUNCTION_TABLES` gives it, the same list the CDK binds.
 *
 * @example
 * const env = loadEnvironment(FUNCTION_TABLES.maintenance);
 */
export function loadEnvironment<T extends TableId>(
  requiredTables: readonly T[],
  source: NodeJS.ProcessEnv = process.env,
): GatewayEnvironment<T> {
  const problems: string[] = [];
  const parsed = baseSchema.safeParse(source);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
  }
  const tables: Partial<Record<T, string>> = {};
  for (const id of requiredTables) {
    const name = source[TABLES[id].envVar];
    if (!name) problems.push(`${TABLES[id].envVar}: required (name of the ${id} table)`);
    else tables[id] = name;
  }
  if (problems.length > 0 || !parsed.success) {
    throw new EnvironmentError(`invalid environment:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    region: parsed.data[VARS.region],
    dynamodbEndpoint: parsed.data[VARS.dynamodbEndpoint],
    tables: tables as Record<T, string>,
    identityCacheTtlMs: parsed.data[VARS.identityCacheTtlSeconds] * 1000,
    providerTimeoutMs: parsed.data[VARS.providerTimeoutMs],
    eventBusName: parsed.data[VARS.eventBusName],
  };
}

/** Where the usage replay queue is, when the function has one. */
export interface ReplayQueueEnvironment {
  queueUrl: string | undefined;
  endpoint: string | undefined;
}

/**
 * Reads where the usage replay queue is (gateway functions send to it, maintenance counts it).
 *
 * @example
 * const { queueUrl, endpoint } = loadReplayQueue();
 */
export function loadReplayQueue(source: NodeJS.ProcessEnv = process.env): ReplayQueueEnvironment {
  const parsed = z.object({ queueUrl: optionalUrl, endpoint: optionalUrl }).safeParse({
    queueUrl: source[ENVIRONMENT_VARIABLES.usageReplayQueueUrl],
    endpoint: source[ENVIRONMENT_VARIABLES.sqsEndpoint],
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new EnvironmentError(`invalid environment:\n  - ${problems.join('\n  - ')}`);
  }
  return { queueUrl: parsed.data.queueUrl, endpoint: parsed.data.endpoint };
}

/**
 * Reads the admin allow-list of a Lambda that serves admin routes. The variable must be present
 * (the CDK always sets it, empty when nobody is allowed): a missing one means the function was
 * deployed without it, and admitting everyone or nobody by accident is worse than failing loudly.
 *
 * @example
 * const admins = loadAdminAllowList(); // from GATEWAY_ADMIN_PRINCIPALS
 */
export function loadAdminAllowList(source: NodeJS.ProcessEnv = process.env): AdminAllowList {
  const name = ENVIRONMENT_VARIABLES.adminPrincipals;
  const value = source[name];
  if (value === undefined) {
    throw new EnvironmentError(`invalid environment:\n  - ${name}: required (the admin allow-list; may be empty)`);
  }
  try {
    return parseAdminAllowList(value);
  } catch (error) {
    throw new EnvironmentError(`invalid environment:\n  - ${name}: ${(error as Error).message}`);
  }
}
