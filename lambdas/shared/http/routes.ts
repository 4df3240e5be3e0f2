import type { Permission } from '../sso/access';
import type { ErrorShape } from './error-shapes';

/**
 * The public HTTP contract, defined once. The CDK app creates exactly these API routes, the local
 * runtime matches requests against them, and each Lambda dispatches on their route keys.
 */

/** The Lambdas behind the API. */
export type FunctionName = 'gateway' | 'auth' | 'usage';

/**
 * How a route is protected: `none` (public), `key` (a team API key, or a signed-in user's token)
 * or `iam` (admin: API Gateway's IAM authorizer, SigV4-signed requests, whose principal must also
 * be on the admin allow-list; the local runtime emulates the authorizer with an admin token; or,
 * with single sign-on, a signed-in user's token on the console door). A signed-in user must also
 * hold one of the route's `permissions` (in the route's `{teamId}`, when it has one). The Lambdas'
 * router enforces all of it from this table before any handler runs (see `createGuardedRouter`),
 * so no handler checks a key, a principal or a role by hand; handlers of routes that span teams
 * narrow what they read to the caller's teams.
 */
export type RouteAuth = 'none' | 'key' | 'iam';

/** One API route. */
export interface RouteDefinition {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API Gateway path template; `{name}` segments become path parameters. */
  path: string;
  function: FunctionName;
  auth: RouteAuth;
  /** The shape of the route's error bodies; OpenAI's when absent. */
  errors?: ErrorShape;
  /** What a signed-in user needs (any one of) to use a `key` or `iam` route. */
  permissions?: readonly Permission[];
}

/** Every route of the API. */
export const ROUTES = [
  { method: 'GET', path: '/health', function: 'gateway', auth: 'none' },
  { method: 'GET', path: '/v1/models', function: 'gateway', auth: 'key', permissions: ['models.call'] },
  { method: 'POST', path: '/v1/chat/completions', function: 'gateway', auth: 'key', permissions: ['models.call'] },
  { method: 'POST', path: '/v1/chat', function: 'gateway', auth: 'key', permissions: ['models.call'] },
  { method: 'POST', path: '/v1/embeddings', function: 'gateway', auth: 'key', permissions: ['models.call'] },
  {
    method: 'POST',
    path: '/v1/messages',
    function: 'gateway',
    auth: 'key',
    errors: 'anthropic',
    permissions: ['models.call'],
  },
  {
    method: 'POST',
    path: '/v1/messages/count_tokens',
    function: 'gateway',
    auth: 'key',
    errors: 'anthropic',
    permissions: ['models.call'],
  },
  { method: 'GET', path: '/v1/usage', function: 'usage', auth: 'key', permissions: ['usage.own', 'usage.team'] },
  { method: 'GET', path: '/v1/audit', function: 'usage', auth: 'key', permissions: ['audit.read'] },
  { method: 'GET', path: '/v1/admin/teams', function: 'auth', auth: 'iam', permissions: ['teams.read'] },
  { method: 'POST', path: '/v1/admin/teams', function: 'auth', auth: 'iam', permissions: ['teams.manage'] },
  { method: 'GET', path: '/v1/admin/teams/{teamId}', function: 'auth', auth: 'iam', permissions: ['teams.read'] },
  { method: 'PATCH', path: '/v1/admin/teams/{teamId}', function: 'auth', auth: 'iam', permissions: ['teams.manage'] },
  { method: 'GET', path: '/v1/admin/teams/{teamId}/keys', function: 'auth', auth: 'iam', permissions: ['keys.manage'] },
  {
    method: 'POST',
    path: '/v1/admin/teams/{teamId}/keys',
    function: 'auth',
    auth: 'iam',
    permissions: ['keys.manage'],
  },
  {
    method: 'POST',
    path: '/v1/admin/keys/{keyId}/revoke',
    function: 'auth',
    auth: 'iam',
    permissions: ['keys.manage'],
  },
  {
    method: 'POST',
    path: '/v1/admin/keys/{keyId}/rotate',
    function: 'auth',
    auth: 'iam',
    permissions: ['keys.manage'],
  },
  { method: 'GET', path: '/v1/admin/changes', function: 'auth', auth: 'iam', permissions: ['changes.read'] },
  {
    method: 'GET',
    path: '/v1/admin/teams/{teamId}/approvals',
    function: 'auth',
    auth: 'iam',
    permissions: ['approvals.decide'],
  },
  {
    method: 'POST',
    path: '/v1/admin/teams/{teamId}/approvals/{approvalId}/approve',
    function: 'auth',
    auth: 'iam',
    permissions: ['approvals.decide'],
  },
  {
    method: 'POST',
    path: '/v1/admin/teams/{teamId}/approvals/{approvalId}/reject',
    function: 'auth',
    auth: 'iam',
    permissions: ['approvals.decide'],
  },
  {
    method: 'GET',
    path: '/v1/admin/teams/{teamId}/usage',
    function: 'usage',
    auth: 'iam',
    permissions: ['usage.team'],
  },
  { method: 'GET', path: '/v1/admin/audit', function: 'usage', auth: 'iam', permissions: ['audit.read'] },
  { method: 'GET', path: '/v1/admin/chargeback', function: 'usage', auth: 'iam', permissions: ['chargeback.read'] },
  { method: 'GET', path: '/v1/admin/export', function: 'usage', auth: 'iam', permissions: ['audit.read'] },
] as const satisfies readonly RouteDefinition[];

type Route = (typeof ROUTES)[number];
type KeyOf<R> = R extends Route ? `${R['method']} ${R['path']}` : never;

/** API Gateway's route key, e.g. `POST /v1/chat/completions`. */
export type RouteKey = KeyOf<Route>;

/** Route keys served by one Lambda. */
export type RouteKeyOf<F extends FunctionName> = KeyOf<Extract<Route, { function: F }>>;

/** The route definition behind a route key, so types can follow what the table says of it. */
export type RouteOf<K extends RouteKey> = K extends `${infer M} ${infer P}`
  ? Extract<Route, { method: M; path: P }>
  : never;

/** How the route behind a route key is protected, read from the table (a union for a union of keys). */
export type RouteAuthOf<K extends RouteKey> = RouteOf<K>['auth'];

/** The `{name}` segments of a path template, e.g. `'teamId'` for `/v1/admin/teams/{teamId}/keys`. */
type ParameterNamesIn<P extends string> = P extends `${string}{${infer N}}${infer Rest}`
  ? N | ParameterNamesIn<Rest>
  : never;

/** The path parameter names of a route key (`never` for a route without any). */
export type PathParameterNameOf<K extends RouteKey> = ParameterNamesIn<RouteOf<K>['path']>;

/** Every path parameter name the API uses: each needs a schema, which the compiler checks. */
export type PathParameterName = PathParameterNameOf<RouteKey>;

/**
 * The route key of a route definition.
 *
 * @example
 * routeKey({ method: 'GET', path: '/health' }) // 'GET /health'
 */
export function routeKey(route: Pick<RouteDefinition, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

const compiledRoutes = ROUTES.map((route: RouteDefinition) => {
  const names: string[] = [];
  const pattern = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route: route as RouteDefinition, names, regex: new RegExp(`^${pattern}$`) };
});

const routesByKey = new Map<string, RouteDefinition>(
  ROUTES.map((route: RouteDefinition) => [routeKey(route), route] as const),
);

/**
 * The route definition of a route key as events carry it, or undefined for a key the API does
 * not have (`$default`, a stale key): the router reads a route's `auth` from here.
 *
 * @example
 * routeByKey('GET /v1/usage')?.auth // 'key'
 */
export function routeByKey(key: string): RouteDefinition | undefined {
  return routesByKey.get(key);
}

/**
 * The names of a path template's `{name}` segments, in order.
 *
 * @example
 * pathParameterNames('/v1/admin/teams/{teamId}/keys') // ['teamId']
 */
export function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
}

/**
 * The route a method and path match, with its path parameters, as API Gateway resolves them.
 * The local runtime's servers match requests with it, and the router resolves events that carry
 * no route (`$default`) with it.
 *
 * @example
 * matchRoute('POST', '/v1/admin/teams/payments/keys') // { route, pathParameters: { teamId: 'payments' } }
 */
export function matchRoute(
  method: string,
  path: string,
): { route: RouteDefinition; pathParameters: Record<string, string> } | undefined {
  for (const { route, names, regex } of compiledRoutes) {
    if (route.method !== method) continue;
    const match = regex.exec(path);
    if (!match) continue;
    let pathParameters: Record<string, string>;
    try {
      pathParameters = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1]!)]));
    } catch {
      return undefined; // malformed percent-encoding: no route, as API Gateway would answer
    }
    return { route, pathParameters };
  }
  return undefined;
}
