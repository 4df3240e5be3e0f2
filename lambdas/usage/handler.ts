import middy from '@middy/core';
import { z } from 'zod';
import {
  createRouter,
  ERROR_CODES,
  jsonResponse,
  notFound,
  openAiErrors,
  parseWith,
  presentedApiKey,
  requestIdHeader,
  requireAdmin,
  type HttpRequest,
  type HttpResponse,
  type RouteKeyOf,
} from '../shared/http';
import type { ApiKeyAuthenticator } from '../shared/keys/authenticator';
import type { TeamRepository } from '../shared/teams/repository';
import type { TeamRecord } from '../shared/teams/schema';
import { budgetView, dayOf, usageReportView, type UsageReader } from '../shared/usage';

/** What the usage Lambda needs. */
export interface UsageHandlerDeps {
  authenticator: ApiKeyAuthenticator;
  teams: TeamRepository;
  reader: UsageReader;
  now?: () => number;
}

/** Query of the usage routes: the last `days` UTC days, today included. */
const usageQuerySchema = z.strictObject({
  days: z.coerce.number().int().min(1).max(366).default(30),
});

const DAY_MS = 86_400_000;

/**
 * The usage Lambda: a team's usage from the pre-aggregated rows, with where its month stands
 * against its budget. On the team route the team comes from the caller's key, never from a
 * parameter, so no key can read another team's numbers; admins name the team in the path.
 *
 * @example
 * export const handler = createUsageHandler({ authenticator, teams, reader });
 */
export function createUsageHandler(deps: UsageHandlerDeps) {
  const now = deps.now ?? Date.now;

  async function report(request: HttpRequest, team: TeamRecord) {
    const { days } = parseWith(usageQuerySchema, request.query);
    const today = dayOf(new Date(now()).toISOString());
    const from = dayOf(new Date(Date.parse(today) - (days - 1) * DAY_MS).toISOString());
    const [usage, spend] = await Promise.all([
      deps.reader.teamUsage(team.teamId, from, today),
      deps.reader.monthSpend(team.teamId, today.slice(0, 7)),
    ]);
    return jsonResponse(200, usageReportView(usage, budgetView(spend, team)), requestIdHeader(request.apiRequestId));
  }

  async function ownUsage(request: HttpRequest) {
    parseWith(usageQuerySchema, request.query);
    const caller = await deps.authenticator.authenticate(presentedApiKey(request));
    return report(request, caller.team);
  }

  async function teamUsage(request: HttpRequest) {
    requireAdmin(request);
    const teamId = request.pathParameters['teamId'] ?? '';
    const team = await deps.teams.get(teamId);
    if (!team) throw notFound(`No team with id '${teamId}'.`, ERROR_CODES.notFound, 'teamId');
    return report(request, team);
  }

  const route = createRouter<RouteKeyOf<'usage'>, HttpResponse>('usage', {
    'GET /v1/usage': ownUsage,
    'GET /v1/admin/teams/{teamId}/usage': teamUsage,
  });
  return middy(route).use(openAiErrors());
}
