import middy from '@middy/core';
import { z } from 'zod';
import {
  createRouter,
  jsonResponse,
  openAiErrors,
  parseWith,
  presentedApiKey,
  requestIdHeader,
  type HttpRequest,
  type HttpResponse,
  type RouteKeyOf,
} from '../shared/http';
import type { ApiKeyAuthenticator } from '../shared/keys/authenticator';
import { dayOf, usageReportView, type UsageReader } from '../shared/usage';

/** What the usage Lambda needs. */
export interface UsageHandlerDeps {
  authenticator: ApiKeyAuthenticator;
  reader: UsageReader;
  now?: () => number;
}

/** Query of `GET /v1/usage`: the last `days` UTC days, today included. */
const usageQuerySchema = z.strictObject({
  days: z.coerce.number().int().min(1).max(366).default(30),
});

const DAY_MS = 86_400_000;

/**
 * The usage Lambda: a team's own usage, from the pre-aggregated rows. The team comes from the
 * caller's key, never from a parameter, so no key can read another team's numbers.
 *
 * @example
 * export const handler = createUsageHandler({ authenticator, reader });
 */
export function createUsageHandler(deps: UsageHandlerDeps) {
  const now = deps.now ?? Date.now;

  async function getUsage(request: HttpRequest) {
    const { days } = parseWith(usageQuerySchema, request.query);
    const caller = await deps.authenticator.authenticate(presentedApiKey(request));
    const today = dayOf(new Date(now()).toISOString());
    const from = dayOf(new Date(Date.parse(today) - (days - 1) * DAY_MS).toISOString());
    const report = await deps.reader.teamUsage(caller.team.teamId, from, today);
    return jsonResponse(200, usageReportView(report), requestIdHeader(request.apiRequestId));
  }

  const route = createRouter<RouteKeyOf<'usage'>, HttpResponse>('usage', { 'GET /v1/usage': getUsage });
  return middy(route).use(openAiErrors());
}
