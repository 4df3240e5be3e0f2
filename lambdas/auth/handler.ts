import middy from '@middy/core';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  AdminChangeLog,
  changeView,
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
import {
  formatAdminAllowList,
  isAdminPrincipal,
  parseAdminAllowList,
  type AdminAllowList,
} from '../shared/config/admin-principals';
import { approvalView, ApprovalStore } from '../shared/approvals/store';
import { ERROR_CODES, forbidden } from '../shared/http/errors';
import { PolicyEngine } from '../shared/policy/engine';
import {
  createGuardedRouter,
  jsonResponse,
  httpErrors,
  parseJsonBody,
  parseWith,
  requestIdHeader,
  type HttpResponse,
  type RouteContext,
  type RouteRequest,
} from '../shared/http';

/** What the auth (admin) Lambda needs. */
export interface AuthHandlerDeps {
  admin: AdminService;
  changes: AdminChangeLog;
  approvals: ApprovalStore;
  /** Who may decide a team's held tool calls besides any admin: its policy profile's `approvals.approvers`. */
  approversOf(policyProfile: string | undefined): readonly string[];
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
 * is `iam` in the route table, so the router requires the IAM principal API Gateway's
 * authorizer attached, and that it is on the admin allow-list, before a handler runs; the
 * handler gets that principal as `admin`, which the audit trail records as the actor.
 *
 * @example
 * export const handler = createAuthHandler({ admin, changes, admins });
 *
 * A table of small route functions (each a few lines: parse, call the admin service, format).
 */
export function createAuthHandler(deps: AuthHandlerDeps) {
  const now = deps.now ?? Date.now;
  const ok = (request: RouteRequest, payload: unknown, status = 200, headers: Record<string, string> = {}) =>
    jsonResponse(status, payload, { ...requestIdHeader(request.apiRequestId), ...headers });

  async function listTeams({ request }: RouteContext<'GET /v1/admin/teams'>) {
    return ok(request, { object: 'list', data: (await deps.admin.listTeams()).map(teamView) });
  }

  async function createTeam({ request, admin }: RouteContext<'POST /v1/admin/teams'>) {
    const team = await deps.admin.createTeam(parseWith(createTeamInputSchema, parseJsonBody(request)), admin);
    return ok(request, { team: teamView(team) }, 201);
  }

  async function getTeam({ request, params }: RouteContext<'GET /v1/admin/teams/{teamId}'>) {
    return ok(request, { team: teamView(await deps.admin.getTeam(params.teamId)) });
  }

  async function updateTeam({ request, params, admin }: RouteContext<'PATCH /v1/admin/teams/{teamId}'>) {
    const patch = parseWith(updateTeamInputSchema, parseJsonBody(request));
    const team = await deps.admin.updateTeam(params.teamId, patch, admin);
    return ok(request, { team: teamView(team) });
  }

  async function listKeys({ request, params }: RouteContext<'GET /v1/admin/teams/{teamId}/keys'>) {
    const keys = await deps.admin.listKeys(params.teamId);
    return ok(request, { object: 'list', data: keys.map(keyView) });
  }

  async function createKey({ request, params, admin }: RouteContext<'POST /v1/admin/teams/{teamId}/keys'>) {
    const input = parseWith(createKeyInputSchema, parseJsonBody(request));
    const { record, plaintext } = await deps.admin.issueKey(params.teamId, input, admin);
    return ok(
      request,
      { key: plaintext, key_info: keyView(record), note: 'Store this key now: it is shown only once.' },
      201,
      NO_STORE,
    );
  }

  async function revokeKey({ request, params, admin }: RouteContext<'POST /v1/admin/keys/{keyId}/revoke'>) {
    const record = await deps.admin.revokeKey(params.keyId, admin);
    return ok(request, { key_info: keyView(record) });
  }

  async function rotateKey({ request, params, admin }: RouteContext<'POST /v1/admin/keys/{keyId}/rotate'>) {
    const body = request.body?.trim() ? parseJsonBody(request) : {};
    const { grace_period_seconds } = parseWith(rotateKeyInputSchema, body);
    const { record, plaintext } = await deps.admin.rotateKey(params.keyId, grace_period_seconds, admin);
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

  async function listApprovals({ request, params }: RouteContext<'GET /v1/admin/teams/{teamId}/approvals'>) {
    await deps.admin.getTeam(params.teamId); // an unknown team is a 404
    const data = (await deps.approvals.list(params.teamId)).map((a) => ({
      ...approvalView(a, now()),
      // The approver decides on what the call would do.
      arguments: a.call.arguments,
    }));
    return ok(request, { object: 'list', data });
  }

  /** Approves or rejects a held call, if the admin is one of the team's approvers (any admin when none are named). */
  async function decide(
    context: RouteContext<
      | 'POST /v1/admin/teams/{teamId}/approvals/{approvalId}/approve'
      | 'POST /v1/admin/teams/{teamId}/approvals/{approvalId}/reject'
    >,
    decision: 'approved' | 'rejected',
  ) {
    const { request, params, admin } = context;
    const team = await deps.admin.getTeam(params.teamId);
    const approvers = deps.approversOf(team.policyProfile);
    if (approvers.length > 0 && !isAdminPrincipal(admin, parseAdminAllowList(formatAdminAllowList(approvers)))) {
      throw forbidden(`${admin} is not an approver of team ${params.teamId}.`, ERROR_CODES.adminNotAllowed);
    }
    const approval = await deps.approvals.decide(params.teamId, params.approvalId, decision, admin);
    return ok(request, { approval: approvalView(approval, now()) });
  }

  async function listChanges({ request }: RouteContext<'GET /v1/admin/changes'>) {
    const query = parseWith(changesQuerySchema, request.query);
    const month = query.month ?? new Date(now()).toISOString().slice(0, 7);
    const page = await deps.changes.list(month, { limit: query.limit, cursor: query.cursor });
    return ok(request, {
      object: 'list',
      month,
      data: page.changes.map(changeView),
      next_cursor: page.nextCursor ?? null,
    });
  }

  const route = createGuardedRouter<'auth', HttpResponse>(
    'auth',
    {
      'GET /v1/admin/teams': listTeams,
      'POST /v1/admin/teams': createTeam,
      'GET /v1/admin/teams/{teamId}': getTeam,
      'PATCH /v1/admin/teams/{teamId}': updateTeam,
      'GET /v1/admin/teams/{teamId}/keys': listKeys,
      'POST /v1/admin/teams/{teamId}/keys': createKey,
      'POST /v1/admin/keys/{keyId}/revoke': revokeKey,
      'POST /v1/admin/keys/{keyId}/rotate': rotateKey,
      'GET /v1/admin/changes': listChanges,
      'GET /v1/admin/teams/{teamId}/approvals': listApprovals,
      'POST /v1/admin/teams/{teamId}/approvals/{approvalId}/approve': (context) => decide(context, 'approved'),
      'POST /v1/admin/teams/{teamId}/approvals/{approvalId}/reject': (context) => decide(context, 'rejected'),
    },
    { admins: deps.admins },
  );
  return middy(route).use(httpErrors());
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
  const changes = new AdminChangeLog(settings.db, settings.tables.audit);
  const policies = new PolicyEngine(settings.config.policies);
  return {
    admin: createAdminService(settings),
    changes,
    approvals: new ApprovalStore(settings.db, settings.tables.audit, changes, settings.now),
    approversOf: (profile) => policies.profileFor(profile).profile.approvals.approvers,
    admins: settings.admins,
    now: settings.now,
  };
}
