import middy from '@middy/core';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  checkRoles,
  createGuardedRouter,
  ERROR_CODES,
  invalidRequest,
  jsonResponse,
  notFound,
  httpErrors,
  parseWith,
  requestIdHeader,
  type AdminPrincipal,
  type HttpResponse,
  type RouteContext,
  type RouteRequest,
} from '../shared/http';
import { adminAuditQuerySchema, auditRange, auditView, ownAuditQuerySchema, type AuditPage } from '../shared/audit';
import { AuditLog } from '../shared/audit/audit-log';
import { AuditExport, EXPORT_FORMATS, EXPORT_HEADERS, exportPeriod, exportQuerySchema } from '../shared/audit/export';
import { AdminChangeLog } from '../shared/admin/change-log';
import type { GatewayConfig } from '../shared/catalog/schema';
import type { AdminAllowList } from '../shared/config/admin-principals';
import { logger } from '../shared/observability/logger';
import type { Permission } from '../shared/sso/access';
import { ssoVerifierOf, type SsoVerifier } from '../shared/sso/verifier';
import { createAuthenticator, type ApiKeyAuthenticator } from '../shared/keys/authenticator';
import type { TableNames } from '../shared/store/schema';
import { TeamRepository } from '../shared/teams/repository';
import type { TeamRecord } from '../shared/teams/schema';
import {
  budgetView,
  buildChargeback,
  CHARGEBACK_GROUPINGS,
  chargebackCsv,
  chargebackView,
  dayOf,
  monthDays,
  usageReportView,
  UsageReader,
} from '../shared/usage';

/** What the usage Lambda needs. */
export interface UsageHandlerDeps {
  authenticator: ApiKeyAuthenticator;
  /** Single sign-on tokens (the config's `sso`); none without it. */
  sso?: SsoVerifier;
  teams: TeamRepository;
  reader: UsageReader;
  audit: AuditLog;
  /** The compliance export: request records and admin changes, page by page. */
  exports: AuditExport;
  /** How far back audit records exist (the config's retention). */
  auditRetentionDays: number;
  /** Who may use the admin routes (the config's `admins`, from the environment). */
  admins: AdminAllowList;
  now?: () => number;
}

/** Query of the usage routes: the last `days` UTC days, today included. */
const usageQuerySchema = z.strictObject({
  days: z.coerce.number().int().min(1).max(366).default(30),
});

const DAY_MS = 86_400_000;

/**
 * Query of the chargeback route: a UTC month (default the current one), lines per team × model
 * (default) or per team × end user, JSON or CSV.
 */
const chargebackQuerySchema = z.strictObject({
  month: z
    .string()
    .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected YYYY-MM')
    .optional(),
  format: z.enum(['json', 'csv']).default('json'),
  group_by: z.enum(CHARGEBACK_GROUPINGS).default('team'),
});

/**
 * Refuses a cross-team read a signed-in user may not make: a platform admin may read every team
 * (or all at once); anyone else must name one team their roles allow (`team`), as a 400 when
 * they name none and a 403/404 for a team not theirs.
 */
function teamInScope(admin: AdminPrincipal, permission: Permission, team: string | undefined): void {
  if (admin.access.platformAdmin) return;
  if (team === undefined) {
    throw invalidRequest('Name the team (`team`): your roles allow reading only your own teams.', { param: 'team' });
  }
  checkRoles(admin.access, [permission], team);
}

/** An audit page as the API returns it: newest first, with the cursor of the next page. */
function auditPageView(page: AuditPage) {
  return {
    object: 'list' as const,
    data: page.records.map(auditView),
    has_more: page.nextCursor !== undefined,
    next_cursor: page.nextCursor ?? null,
  };
}

/**
 * The usage Lambda: a team's usage from the pre-aggregated rows, with where its month stands
 * against its budget, and the request audit trail. On the team routes the team comes from the
 * caller's key, never from a parameter, so no key can read another team's numbers or events;
 * admins name the team (or search across teams by decision).
 *
 * @example
 * export const handler = createUsageHandler({ authenticator, teams, reader, audit, auditRetentionDays, admins });
 *
 * A table of small route functions (each a few lines: parse, read, format).
 */
export function createUsageHandler(deps: UsageHandlerDeps) {
  const now = deps.now ?? Date.now;

  /**
   * A team's usage over the asked days, with its month against the budget; or, for `endUser`,
   * only that user's requests, without the team's budget (a member sees their own usage, not the
   * team's money).
   */
  async function report(request: RouteRequest, team: TeamRecord, endUser?: string) {
    const { days } = parseWith(usageQuerySchema, request.query);
    const today = dayOf(new Date(now()).toISOString());
    const from = dayOf(new Date(Date.parse(today) - (days - 1) * DAY_MS).toISOString());
    const [usage, spend] = await Promise.all([
      deps.reader.teamUsage(team.teamId, from, today, endUser !== undefined ? { endUser } : undefined),
      endUser === undefined ? deps.reader.monthSpend(team.teamId, today.slice(0, 7)) : undefined,
    ]);
    const view = usageReportView(usage, spend ? budgetView(spend, team) : null);
    return jsonResponse(
      200,
      endUser !== undefined ? { ...view, user: endUser } : view,
      requestIdHeader(request.apiRequestId),
    );
  }

  /** A key's team's usage; a signed-in user's team's when their role reads it, else their own. */
  async function ownUsage({ request, caller }: RouteContext<'GET /v1/usage'>) {
    const { user, team } = caller;
    const ownOnly = user !== undefined && !user.access.can('usage.team', team.teamId);
    return report(request, team, ownOnly ? user.name : undefined);
  }

  async function teamUsage({ request, params: { teamId } }: RouteContext<'GET /v1/admin/teams/{teamId}/usage'>) {
    const team = await deps.teams.get(teamId);
    if (!team) throw notFound(`No team with id '${teamId}'.`, ERROR_CODES.notFound, 'teamId');
    return report(request, team);
  }

  async function ownAudit({ request, caller }: RouteContext<'GET /v1/audit'>) {
    const query = parseWith(ownAuditQuerySchema, request.query);
    const page = await deps.audit.team({
      teamId: caller.team.teamId,
      ...auditRange(query, now(), deps.auditRetentionDays),
      limit: query.limit,
      decision: query.decision,
      cursor: query.cursor,
    });
    return jsonResponse(200, auditPageView(page), requestIdHeader(request.apiRequestId));
  }

  async function searchAudit({ request, admin }: RouteContext<'GET /v1/admin/audit'>) {
    const query = parseWith(adminAuditQuerySchema, request.query);
    teamInScope(admin, 'audit.read', query.team);
    const search = {
      ...auditRange(query, now(), deps.auditRetentionDays),
      limit: query.limit,
      keyId: query.key,
      cursor: query.cursor,
    };
    const page =
      query.team !== undefined
        ? await deps.audit.team({
            ...search,
            teamId: query.team,
            decision: query.decision,
          })
        : await deps.audit.byDecision({ ...search, decision: query.decision as 'alert' | 'redact' | 'block' });
    return jsonResponse(200, auditPageView(page), requestIdHeader(request.apiRequestId));
  }

  async function chargeback({ request, admin }: RouteContext<'GET /v1/admin/chargeback'>): Promise<HttpResponse> {
    const query = parseWith(chargebackQuerySchema, request.query);
    const month = query.month ?? new Date(now()).toISOString().slice(0, 7);
    const { from, to } = monthDays(month);
    // A signed-in team admin or viewer sees their teams' lines only (and totals of those).
    const teams = (await deps.teams.list()).filter((team) => admin.access.can('chargeback.read', team.teamId));
    const usage = await deps.reader.teamsUsage(
      teams.map((team) => team.teamId),
      from,
      to,
    );
    const report = buildChargeback(month, teams, usage, query.group_by);
    if (query.format === 'csv') {
      return {
        statusCode: 200,
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="chargeback-${month}.csv"`,
          ...requestIdHeader(request.apiRequestId),
        },
        body: chargebackCsv(report),
      };
    }
    return jsonResponse(200, chargebackView(report), requestIdHeader(request.apiRequestId));
  }

  /**
   * A page of the compliance export (see `shared/audit/export.ts` for why pages): the body in the
   * asked format, and in headers how many records it holds and the cursor of the next page.
   */
  async function exportAudit({ request, admin }: RouteContext<'GET /v1/admin/export'>): Promise<HttpResponse> {
    const query = parseWith(exportQuerySchema, request.query);
    teamInScope(admin, 'audit.read', query.team);
    const format = EXPORT_FORMATS[query.format];
    if (query.team !== undefined && !(await deps.teams.get(query.team))) {
      throw notFound(`No team with id '${query.team}'.`, ERROR_CODES.notFound, 'team');
    }
    const page = await deps.exports.page({
      ...exportPeriod(query),
      teamId: query.team,
      limit: query.limit,
      cursor: query.cursor,
      format,
    });
    logger.info('audit export page', {
      requestId: request.apiRequestId,
      team: query.team ?? null,
      format: query.format,
      records: page.records,
      more: page.nextCursor !== undefined,
    });
    return {
      statusCode: 200,
      headers: {
        'content-type': format.contentType,
        [EXPORT_HEADERS.records]: String(page.records),
        ...(page.nextCursor ? { [EXPORT_HEADERS.nextCursor]: page.nextCursor } : {}),
        ...requestIdHeader(request.apiRequestId),
      },
      body: page.body,
    };
  }

  const route = createGuardedRouter<'usage', HttpResponse>(
    'usage',
    {
      'GET /v1/admin/chargeback': chargeback,
      'GET /v1/usage': ownUsage,
      'GET /v1/admin/teams/{teamId}/usage': teamUsage,
      'GET /v1/audit': ownAudit,
      'GET /v1/admin/audit': searchAudit,
      'GET /v1/admin/export': exportAudit,
    },
    { authenticator: deps.authenticator, admins: deps.admins, sso: deps.sso },
  );
  return middy(route).use(httpErrors());
}

/**
 * Wires the usage Lambda's dependencies; `index.ts`, the local runtime and the tests share it.
 *
 * @example
 * createUsageHandler(usageDependencies({ db, tables, config, identityCacheTtlMs: 30_000, admins: loadAdminAllowList() }))
 */
export function usageDependencies(settings: {
  db: DynamoDBDocumentClient;
  tables: Pick<TableNames, 'identity' | 'usage' | 'audit'>;
  config: Pick<GatewayConfig, 'audit' | 'sso'>;
  identityCacheTtlMs: number;
  admins: AdminAllowList;
  now?: () => number;
}): UsageHandlerDeps {
  const { db, tables, config } = settings;
  const teams = new TeamRepository(db, tables.identity);
  const audit = new AuditLog(db, tables.audit, config.audit.retentionDays);
  return {
    authenticator: createAuthenticator(db, tables.identity, settings.identityCacheTtlMs, settings.now),
    sso: ssoVerifierOf(config.sso, settings.now),
    teams,
    reader: new UsageReader(db, tables.usage),
    audit,
    exports: new AuditExport({ audit, changes: new AdminChangeLog(db, tables.audit), teams }),
    auditRetentionDays: config.audit.retentionDays,
    admins: settings.admins,
    now: settings.now,
  };
}
