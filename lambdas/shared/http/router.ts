import type { Context } from 'aws-lambda';
import type { AdminAllowList } from '../config/admin-principals';
import type { AuthenticatedCaller } from '../keys/authenticator';
import { Access, type Permission } from '../sso/access';
import { looksLikeJwt, type SsoUser, type SsoVerifier } from '../sso/verifier';
import { teamIdSchema } from '../teams/schema';
import { ERROR_CODES, forbidden, invalidRequest, notFound } from './errors';
import { GATEWAY_REQUEST_HEADERS } from './headers';
import { parsePathParameters, type PathParametersOf } from './path-parameters';
import { presentedApiKey, requireAdmin, toHttpRequest, type GatewayEvent, type HttpRequest } from './request';
import {
  matchRoute,
  routeByKey,
  routeKey,
  type FunctionName,
  type RouteAuth,
  type RouteAuthOf,
  type RouteDefinition,
  type RouteKey,
  type RouteKeyOf,
} from './routes';

/**
 * The request of an event, its route key resolved: HTTP API events carry it, REST API events
 * (the streaming door) carry the method and resource template, which {@link toHttpRequest} turns
 * into the same key; events without a route (`$default`: a Function URL, the HTTP API's default
 * route) are matched against the route table, and only routes of `serves` are accepted.
 */
function resolveRequest(serves: FunctionName, event: GatewayEvent, context: Context | undefined): HttpRequest {
  const request = toHttpRequest(event, context);
  if (request.routeKey !== '$default') return request;
  const matched = matchRoute(request.method, request.path);
  if (!matched || matched.route.function !== serves) return request;
  return { ...request, routeKey: routeKey(matched.route), pathParameters: matched.pathParameters };
}

/** Checks a presented team key (or a signed-in user's team): the key authenticator, or anything with its methods. */
export interface KeyAuthenticator {
  authenticate(presented: string | undefined): Promise<AuthenticatedCaller>;
  authenticateUser(user: SsoUser, teamId: string): Promise<AuthenticatedCaller>;
}

/** What the router checks callers with. */
export interface RouteGuards {
  /** For `key` routes. */
  authenticator: KeyAuthenticator;
  /** For `iam` routes: the admin allow-list (the config's `admins`). */
  admins: AdminAllowList;
  /** Single sign-on tokens, on `key` and `iam` routes; absent (no `sso` in the config), tokens are refused. */
  sso?: SsoVerifier;
}

/**
 * Who passed an `iam` route's check: an IAM admin (a platform admin, with the principal ARN as
 * the actor the audit trail records) or a signed-in user (`sso:<user>`, with their roles).
 */
export interface AdminPrincipal {
  actor: string;
  access: Access;
  user?: SsoUser;
}

/** The guards a set of routes needs: an authenticator only with `key` routes, the allow-list only with `iam` ones. */
export type RouteGuardsFor<K extends RouteKey> = Pick<RouteGuards, 'sso'> &
  ([Extract<RouteAuthOf<K>, 'key'>] extends [never] ? unknown : Pick<RouteGuards, 'authenticator'>) &
  ([Extract<RouteAuthOf<K>, 'iam'>] extends [never] ? unknown : Pick<RouteGuards, 'admins'>);

/**
 * A request as a route handler sees it: path parameters are left out, so the only way to read
 * one is the validated `params` of its {@link RouteContext}.
 */
export type RouteRequest = Omit<HttpRequest, 'pathParameters'>;

/** Who the route's `auth` proved the caller to be: the key's caller, the admin principal, or nobody. */
type PrincipalOf<A extends RouteAuth> = A extends 'key'
  ? { caller: AuthenticatedCaller }
  : A extends 'iam'
    ? { admin: AdminPrincipal }
    : unknown;

/**
 * What a handler of route `K` is given: the request, its validated path parameters, and the
 * principal its `auth` requires (`caller` for `key` routes, `admin` for `iam` routes: its actor
 * is what the audit trail records, its access what the caller may read on routes that span
 * teams). A handler cannot run unchecked.
 */
export type RouteContext<K extends RouteKey> = {
  request: RouteRequest;
  params: PathParametersOf<K>;
} & PrincipalOf<RouteAuthOf<K>>;

/** Handles route `K`. */
export type GuardedRouteHandler<K extends RouteKey, R> = (context: RouteContext<K>) => Promise<R>;

/** One handler for each route a Lambda serves: no more (the API must have it), no fewer. */
export type GuardedRouteHandlers<F extends FunctionName, R> = {
  [K in RouteKeyOf<F>]: GuardedRouteHandler<K, R>;
};

/**
 * The principal a route's `auth` requires, or the refusal: a team key is authenticated (format
 * and checksum first, so a malformed key costs no database read; a refusal is an
 * `ApiKeyRefusedError` that the `httpErrors` middleware counts), an admin must have signed the request
 * and be on the allow-list ({@link requireAdmin}), and a signed-in user's token must verify
 * ({@link SsoVerifier}) and their roles allow the route ({@link checkRoles}). Runs before
 * anything reads the body.
 *
 * @example
 * const principal = await authorizeRoute(route, request, guards); // { caller }
 */
export async function authorizeRoute(
  route: Pick<RouteDefinition, 'auth' | 'permissions'>,
  request: HttpRequest,
  guards: Partial<RouteGuards>,
): Promise<{ caller?: AuthenticatedCaller; admin?: AdminPrincipal }> {
  const { auth } = route;
  const { authenticator, admins, sso } = guards;
  if (auth === 'none') return {};
  const missing = missingGuard(auth, guards);
  // A wiring mistake, which createGuardedRouter refuses at cold start: fail closed (a logged 500).
  if (missing) throw new Error(`${request.routeKey} ${missing}`);
  const presented = presentedApiKey(request);
  const user = sso && !request.iamPrincipal && looksLikeJwt(presented) ? await sso.verify(presented) : undefined;
  if (auth === 'key') {
    if (!user) return { caller: await authenticator!.authenticate(presented) };
    return { caller: await authenticator!.authenticateUser(user, teamActedFor(user.access, route, request)) };
  }
  if (!user) return { admin: { actor: requireAdmin(request, admins!), access: Access.platform() } };
  return { admin: { actor: `sso:${user.name}`, access: user.access, user } };
}

/**
 * The team a signed-in user acts for on a `key` route: the one named in `x-gateway-team`, or else
 * the only team where their roles allow the route. A team they have no role in is a 404 (as if it
 * did not exist), a role that does not allow the route a 403, several teams and none named a 400.
 */
function teamActedFor(access: Access, route: Pick<RouteDefinition, 'permissions'>, request: HttpRequest): string {
  const permissions = route.permissions ?? [];
  const named = request.headers[GATEWAY_REQUEST_HEADERS.team];
  if (named !== undefined) {
    // Checked before it names a table key: a platform admin may name any team, not any string.
    if (!teamIdSchema.safeParse(named).success) {
      throw invalidRequest(`${GATEWAY_REQUEST_HEADERS.team} is not a team id.`, {
        param: GATEWAY_REQUEST_HEADERS.team,
      });
    }
    checkRoles(access, permissions, named);
    return named;
  }
  const teams = new Set(
    permissions.flatMap((permission) => {
      const where = access.teamsWith(permission);
      return where === 'all' ? [] : where;
    }),
  );
  if (teams.size === 1) return [...teams][0]!;
  if (teams.size === 0) {
    throw forbidden(
      access.platformAdmin
        ? `A platform admin acts for a team only when naming it in the ${GATEWAY_REQUEST_HEADERS.team} header.`
        : 'Your roles do not allow this route in any team.',
      ERROR_CODES.roleNotAllowed,
    );
  }
  throw invalidRequest(
    `Your roles allow this route in several teams: name one in the ${GATEWAY_REQUEST_HEADERS.team} header.`,
    { code: ERROR_CODES.teamRequired, param: GATEWAY_REQUEST_HEADERS.team },
  );
}

/**
 * Refuses a signed-in user whose roles allow none of `permissions`: in `teamId` when the route
 * names one (a team they have no role in is a 404, as if it did not exist, so ids of other teams
 * reveal nothing), else in at least one team (the handler narrows to those).
 *
 * @example
 * checkRoles(access, ['keys.manage'], 'payments'); // throws 403 for a viewer of payments
 */
export function checkRoles(access: Access, permissions: readonly Permission[], teamId: string | undefined): void {
  const allowed =
    teamId === undefined
      ? permissions.some((permission) => access.canSomewhere(permission))
      : permissions.some((permission) => access.can(permission, teamId));
  if (allowed) return;
  if (teamId !== undefined && !access.belongsTo(teamId)) {
    throw notFound(`No team with id '${teamId}'.`, ERROR_CODES.notFound, 'teamId');
  }
  throw forbidden('Your roles do not allow this route for this team.', ERROR_CODES.roleNotAllowed);
}

/** What a route's `auth` needs that `guards` lacks, as the end of an error message; undefined if nothing. */
function missingGuard(auth: RouteAuth, guards: Partial<RouteGuards>): string | undefined {
  if (auth === 'key' && !guards.authenticator) return 'needs a key authenticator';
  if (auth === 'iam' && !guards.admins) return 'needs the admin allow-list';
  return undefined;
}

/**
 * Dispatches an API Gateway event to the handler of its route, after the checks the shared
 * route table declares for it: the route's `auth` first ({@link authorizeRoute}: a key route
 * without a valid key is a 401, an admin route without an allowed principal a 403, before the
 * handler runs), then its path parameters ({@link parsePathParameters}: a bad one is a 400 naming
 * it). The handler gets a typed {@link RouteContext}, so it cannot forget the check nor read an
 * unchecked parameter. Events are resolved by {@link resolveRequest} (HTTP API, REST API,
 * `$default`). Needs an authenticator only if it serves `key` routes, the allow-list only with
 * `iam` routes; a missing one fails at cold start, not on a request.
 *
 * @example
 * const route = createGuardedRouter('usage', {
 *   'GET /v1/usage': ({ request, caller }) => report(request, caller.team),
 *   'GET /v1/admin/teams/{teamId}/usage': ({ request, params }) => teamReport(request, params.teamId),
 *   …
 * }, { authenticator, admins });
 * export const handler = middy(route).use(httpErrors());
 */
export function createGuardedRouter<F extends FunctionName, R>(
  serves: F,
  handlers: GuardedRouteHandlers<F, R>,
  guards: RouteGuardsFor<RouteKeyOf<F>>,
): (event: GatewayEvent, context?: Context) => Promise<R> {
  const given = guards as Partial<RouteGuards>;
  const table = new Map<string, { route: RouteDefinition; handle: (context: UntypedContext) => Promise<R> }>();
  for (const [key, handle] of Object.entries(handlers) as [string, (context: UntypedContext) => Promise<R>][]) {
    const route = routeByKey(key);
    if (!route || route.function !== serves) throw new Error(`The ${serves} Lambda cannot serve ${key}`);
    const missing = missingGuard(route.auth, given);
    if (missing) throw new Error(`${key} ${missing}`);
    table.set(key, { route, handle });
  }
  return async function routeGuarded(event, context) {
    const resolved = resolveRequest(serves, event, context);
    const entry = table.get(resolved.routeKey);
    if (!entry) throw notFound(`Unknown route: ${resolved.method} ${resolved.path}`);
    const principal = await authorizeRoute(entry.route, resolved, given);
    const { pathParameters, ...request } = resolved;
    const params = parsePathParameters(resolved.routeKey as RouteKey, pathParameters);
    // A signed-in admin's roles, in the route's team when it names one (key routes chose theirs above).
    if (principal.admin?.user) checkRoles(principal.admin.access, entry.route.permissions ?? [], params['teamId']);
    return entry.handle({ request, params, ...principal });
  };
}

/** A route context as the dispatcher builds it, before the route key narrows its type. */
interface UntypedContext {
  request: RouteRequest;
  params: Readonly<Record<string, string>>;
  caller?: AuthenticatedCaller;
  admin?: AdminPrincipal;
}
