/**
 * The public HTTP contract, defined once. The CDK app creates exactly these API routes, the local
 * runtime matches requests against them, and each Lambda dispatches on their route keys.
 */

/** The Lambdas behind the API. */
export type FunctionName = 'gateway' | 'auth' | 'usage';

/**
 * How a route is protected: `none` (public), `key` (a team API key, checked by the Lambda) or
 * `iam` (admin: API Gateway's IAM authorizer, SigV4-signed requests; the local runtime emulates
 * it with an admin token).
 */
export type RouteAuth = 'none' | 'key' | 'iam';

/** One API route. */
export interface RouteDefinition {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API Gateway path template; `{name}` segments become path parameters. */
  path: string;
  function: FunctionName;
  auth: RouteAuth;
}

/** Every route of the API. */
export const ROUTES = [
  { method: 'GET', path: '/health', function: 'gateway', auth: 'none' },
  { method: 'GET', path: '/v1/models', function: 'gateway', auth: 'key' },
  { method: 'POST', path: '/v1/chat/completions', function: 'gateway', auth: 'key' },
  { method: 'POST', path: '/v1/chat', function: 'gateway', auth: 'key' },
  { method: 'GET', path: '/v1/usage', function: 'usage', auth: 'key' },
  { method: 'GET', path: '/v1/audit', function: 'usage', auth: 'key' },
  { method: 'GET', path: '/v1/admin/teams', function: 'auth', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/teams', function: 'auth', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/teams/{teamId}', function: 'auth', auth: 'iam' },
  { method: 'PATCH', path: '/v1/admin/teams/{teamId}', function: 'auth', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/teams/{teamId}/keys', function: 'auth', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/teams/{teamId}/keys', function: 'auth', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/keys/{keyId}/revoke', function: 'auth', auth: 'iam' },
  { method: 'POST', path: '/v1/admin/keys/{keyId}/rotate', function: 'auth', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/changes', function: 'auth', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/teams/{teamId}/usage', function: 'usage', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/audit', function: 'usage', auth: 'iam' },
  { method: 'GET', path: '/v1/admin/chargeback', function: 'usage', auth: 'iam' },
] as const satisfies readonly RouteDefinition[];

type Route = (typeof ROUTES)[number];
type KeyOf<R> = R extends Route ? `${R['method']} ${R['path']}` : never;

/** API Gateway's route key, e.g. `POST /v1/chat/completions`. */
export type RouteKey = KeyOf<Route>;

/** Route keys served by one Lambda. */
export type RouteKeyOf<F extends FunctionName> = KeyOf<Extract<Route, { function: F }>>;

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

/**
 * The route a method and path match, with its path parameters, as API Gateway resolves them.
 * Lambda Function URLs have no routes (their events say `$default`), so the streaming function
 * resolves routes with this too.
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
