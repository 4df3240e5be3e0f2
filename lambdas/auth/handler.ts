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
  type KeyScope,
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
import { ssoVerifierOf, type SsoVerifier } from '../shared/sso/verifier';
import {
  createGuardedRouter,
  jsonResponse,
  httpErrors,
  parseJsonBody,
  parseWith,
  requestIdHeader,
  type AdminPrincipal,
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
  /** Signed-in users, by role (the config's `sso`); none without it. */
  sso?: SsoVerifier;
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

/** The teams whose keys an admin may change: a signed-in team admin's own; an IAM or platform admin's, all. */
function keyScopeOf(admin: AdminPrincipal): KeyScope {
  return (teamId) => admin.access.can('keys.manage', teamId);
}

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

  async function listTeams({ request, admin }: RouteContext<'GET /v1/admin/teams'>) {
    const teams = (await deps.admin.listTeams()).filter((team) => admin.access.can('teams.read', team.teamId));
    return ok(request, { object: 'list', data: teams.map(teamView) });
  }

  async function createTeam({ request, admin }: RouteContext<'POST /v1/admin/teams'>) {
    const team = await deps.admin.createTeam(parseWith(createTeamInputSchema, parseJsonBody(request)), admin.actor);
    return ok(request, { team: teamView(team) }, 201);
  }

  async function getTeam({ request, params }: RouteContext<'GET /v1/admin/teams/{teamId}'>) {
    return ok(request, { team: teamView(await deps.admin.getTeam(params.teamId)) });
  }

  async function updateTeam({ request, params, admin }: RouteContext<'PATCH /v1/admin/teams/{teamId}'>) {
    const patch = parseWith(updateTeamInputSchema, parseJsonBody(request));
    const team = await deps.admin.updateTeam(params.teamId, patch, admin.actor);
    return ok(request, { team: teamView(team) });
  }

  async function listKeys({ request, params }: RouteContext<'GET /v1/admin/teams/{teamId}/keys'>) {
    const keys = await deps.admin.listKeys(params.teamId);
    return ok(request, { object: 'list', data: keys.map(keyView) });
  }

  async function createKey({ request, params, admin }: RouteContext<'POST /v1/admin/teams/{teamId}/keys'>) {
    const input = parseWith(createKeyInputSchema, parseJsonBody(request));
    const { record, plaintext } = await deps.admin.issueKey(params.teamId, input, admin.actor);
    return ok(
      request,
      { key: plaintext, key_info: keyView(record), note: 'Store this key now: it is shown only once.' },
      201,
      NO_STORE,
    );
  }

  async function revokeKey({ request, params, admin }: RouteContext<'POST /v1/admin/keys/{keyId}/revoke'>) {
    const record = await deps.admin.revokeKey(params.keyId, admin.actor, keyScopeOf(admin));
    return ok(request, { key_info: keyView(record) });
  }

  async function rotateKey({ request, params, admin }: RouteContext<'POST /v1/admin/keys/{keyId}/rotate'>) {
    const body = request.body?.trim() ? parseJsonBody(request) : {};
    const { grace_period_seconds } = parseWith(rotateKeyInputSchema, body);
    const { record, plaintext } = await deps.admin.rotateKey(
      params.keyId,
      grace_period_seconds,
      admin.actor,
      keyScopeOf(admin),
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
    // A signed-in user's role already allowed this (a team admin of the team); the named approvers are IAM principals.
    const approvers = deps.approversOf(team.policyProfile);
    if (
      !admin.user &&
      approvers.length > 0 &&
      !isAdminPrincipal(admin.actor, parseAdminAllowList(formatAdminAllowList(approvers)))
    ) {
      throw forbidden(`${admin.actor} is not an approver of team ${params.teamId}.`, ERROR_CODES.adminNotAllowed);
    }
    const approval = await deps.approvals.decide(params.teamId, params.approvalId, decision, admin.actor);
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
    { admins: deps.admins, sso: deps.sso },
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
  config: Pick<GatewayConfig, 'teamDefaults' | 'policies' | 'sso'>;
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
    sso: ssoVerifierOf(settings.config.sso, settings.now),
    now: settings.now,
  };
}
