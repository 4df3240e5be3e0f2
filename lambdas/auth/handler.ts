import middy from '@middy/core';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  AdminChangeLog,
  createAdminService,
  createKeyInputSchema,
  createTeamInputSchema,
  keyView,
  rotateKeyInputSchema,
  teamView,
  updateTeamInputSchema,
  type AdminService,
} from '../shared/admin';
import type { GatewayConfig } from '../shared/catalog/schema';
import type { AdminAllowList } from '../shared/config/admin-principals';
import {
  createRouter,
  jsonResponse,
  openAiErrors,
  parseJsonBody,
  parseWith,
  requestIdHeader,
  requireAdmin,
  type HttpRequest,
  type HttpResponse,
  type RouteKeyOf,
} from '../shared/http';

/** What the auth (admin) Lambda needs. */
export interface AuthHandlerDeps {
  admin: AdminService;
  changes: AdminChangeLog;
  /** Who may use these routes (the config's `admins`, from the environment). */
  admins: AdminAllowList;
  now?: () => number;
}

/** Query of `GET /v1/admin/changes`. */
const changesQuerySchema = z.strictObject({
  month: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'month is YYYY-MM')
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(2_000).optional(),
});

/** Secrets in a response must not be cached by anything between the gateway and the admin. */
const NO_STORE = { 'cache-control': 'no-store' };

/**
 * The auth Lambda: admin-only routes for teams, keys and the admin audit trail. Every route
 * first requires the IAM principal API Gateway's authorizer attached, and that it is on the
 * admin allow-list; the principal is what the audit trail records as the actor.
 *
 * @example
 * export const handler = createAuthHandler({ admin, changes, admins });
 */
export function createAuthHandler(deps: AuthHandlerDeps) {
  const now = deps.now ?? Date.now;
  const ok = (request: HttpRequest, payload: unknown, status = 200, headers: Record<string, string> = {}) =>
    jsonResponse(status, payload, { ...requestIdHeader(request.apiRequestId), ...headers });

  async function listTeams(request: HttpRequest) {
    requireAdmin(request, deps.admins);
    return ok(request, { object: 'list', data: (await deps.admin.listTeams()).map(teamView) });
  }

  async function createTeam(request: HttpRequest) {
    const actor = requireAdmin(request, deps.admins);
    const team = await deps.admin.createTeam(parseWith(createTeamInputSchema, parseJsonBody(request)), actor);
    return ok(request, { team: teamView(team) }, 201);
  }

  async function getTeam(request: HttpRequest) {
    requireAdmin(request, deps.admins);
    return ok(request, { team: teamView(await deps.admin.getTeam(request.pathParameters['teamId'] ?? '')) });
  }

  async function updateTeam(request: HttpRequest) {
    const actor = requireAdmin(request, deps.admins);
    const patch = parseWith(updateTeamInputSchema, parseJsonBody(request));
    const team = await deps.admin.updateTeam(request.pathParameters['teamId'] ?? '', patch, actor);
    return ok(request, { team: teamView(team) });
  }

  async function listKeys(request: HttpRequest) {
    requireAdmin(request, deps.admins);
    const keys = await deps.admin.listKeys(request.pathParameters['teamId'] ?? '');
    return ok(request, { object: 'list', data: keys.map(keyView) });
  }

  async function createKey(request: HttpRequest) {
    const actor = requireAdmin(request, deps.admins);
    const input = parseWith(createKeyInputSchema, parseJsonBody(request));
    const { record, plaintext } = await deps.admin.issueKey(request.pathParameters['teamId'] ?? '', input, actor);
    return ok(
      request,
      { key: plaintext, key_info: keyView(record), note: 'Store this key now: it is shown only once.' },
      201,
      NO_STORE,
    );
  }

  async function revokeKey(request: HttpRequest) {
    const actor = requireAdmin(request, deps.admins);
    const record = await deps.admin.revokeKey(request.pathParameters['keyId'] ?? '', actor);
    return ok(request, { key_info: keyView(record) });
  }

  async function rotateKey(request: HttpRequest) {
    const actor = requireAdmin(request, deps.admins);
    const body = request.body?.trim() ? parseJsonBody(request) : {};
    const { grace_period_seconds } = parseWith(rotateKeyInputSchema, body);
    const { record, plaintext } = await deps.admin.rotateKey(
      request.pathParameters['keyId'] ?? '',
      grace_period_seconds,
      actor,
    );
    return ok(
      request,
      {
        key: plaintext,
        key_info: keyView(record),
        note: `Store this key now: it is shown only once. The previous secret works until ${record.previousHashExpiresAt}.`,
      },
      200,
      NO_STORE,
    );
  }

  async function listChanges(request: HttpRequest) {
    requireAdmin(request, deps.admins);
    const query = parseWith(changesQuerySchema, request.query);
    const month = query.month ?? new Date(now()).toISOString().slice(0, 7);
    const page = await deps.changes.list(month, {
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return ok(request, { object: 'list', month, data: page.changes, next_cursor: page.nextCursor ?? null });
  }

  const route = createRouter<RouteKeyOf<'auth'>, HttpResponse>('auth', {
    'GET /v1/admin/teams': listTeams,
    'POST /v1/admin/teams': createTeam,
    'GET /v1/admin/teams/{teamId}': getTeam,
    'PATCH /v1/admin/teams/{teamId}': updateTeam,
    'GET /v1/admin/teams/{teamId}/keys': listKeys,
    'POST /v1/admin/teams/{teamId}/keys': createKey,
    'POST /v1/admin/keys/{keyId}/revoke': revokeKey,
    'POST /v1/admin/keys/{keyId}/rotate': rotateKey,
    'GET /v1/admin/changes': listChanges,
  });
  return middy(route).use(openAiErrors());
}

/**
 * Wires the auth Lambda's dependencies; `index.ts`, the local runtime and the tests share it.
 *
 * @example
 * createAuthHandler(authDependencies({ db, tables, config: catalog.config, admins: loadAdminAllowList() }))
 */
export function authDependencies(settings: {
  db: DynamoDBDocumentClient;
  tables: { identity: string; audit: string };
  config: Pick<GatewayConfig, 'teamDefaults' | 'policies'>;
  admins: AdminAllowList;
  now?: () => number;
}): AuthHandlerDeps {
  return {
    admin: createAdminService(settings),
    changes: new AdminChangeLog(settings.db, settings.tables.audit),
    admins: settings.admins,
    ...(settings.now ? { now: settings.now } : {}),
  };
}
