import type { FunctionName } from '../http/routes';
import type { TableId } from '../store/schema';

/** Every Lambda of the gateway: the three behind the HTTP API, the streaming one, and the two background ones. */
export type GatewayFunctionName = FunctionName | 'stream' | 'maintenance' | 'replay';

/** The tables of both gateway faces (buffered and streaming): keys, rate windows, usage, the request audit. */
const GATEWAY_TABLES = ['identity', 'counters', 'usage', 'audit'] as const;

/**
 * The tables each Lambda is given, stated once: the CDK binds exactly these (the table's name in
 * its environment variable, an IAM grant for the actions it lists beside this map), and each
 * Lambda's `index.ts` loads exactly these with `loadEnvironment`, which fails at start-up when
 * one is missing. Pure data (type-only imports), so the CDK app can read it.
 *
 * @example
 * const env = loadEnvironment(FUNCTION_TABLES.auth); // env.tables.identity, env.tables.audit
 */
export const FUNCTION_TABLES = {
  gateway: GATEWAY_TABLES,
  stream: GATEWAY_TABLES,
  /** Teams, keys, and the admin audit trail. */
  auth: ['identity', 'audit'],
  /** Reports: teams, the ledger and aggregates, the request audit trail. */
  usage: ['identity', 'usage', 'audit'],
  /**
   * Applies queued usage writes: the transaction the gateway faces write, whose items name the
   * counters and audit tables themselves (only the usage table's name is read from the environment).
   */
  replay: ['counters', 'usage', 'audit'],
  /** Reservation sweep and budget alerts: teams, rate windows, month aggregates. */
  maintenance: ['identity', 'counters', 'usage'],
} as const satisfies Record<GatewayFunctionName, readonly TableId[]>;

/** The tables one Lambda is given. */
export type FunctionTables<F extends GatewayFunctionName> = (typeof FUNCTION_TABLES)[F][number];
