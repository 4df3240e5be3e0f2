import middy from '@middy/core';
import { createKeyInputSchema, createTeamInputSchema, keyView, teamView, type AdminService } from '../shared/admin';
import {
  createRouter,
  ERROR_CODES,
  forbidden,
  jsonResponse,
  openAiErrors,
  parseJsonBody,
  parseWith,
  requestIdHeader,
  type HttpRequest,
  type HttpResponse,
  type RouteKeyOf,
} from '../shared/http';

/** What the auth (admin) Lambda needs. */
export interface AuthHandlerDeps {
  admin: AdminService;
}

/**
 * The admin principal of a request. Admin routes sit behind API Gateway's IAM authorizer, which
 * puts the caller's IAM ARN in the request context; a request without one did not come through
 * it (or came with a team key) and is refused, whatever headers it carries.
 */
function requireAdmin(request: HttpRequest): string {
  if (!request.iamPrincipal) {
    throw forbidden(
      'Admin routes require an IAM-signed (SigV4) request; team API keys are not accepted here.',
      ERROR_CODES.adminOnly,
    );
  }
  return request.iamPrincipal;
}

/**
 * The auth Lambda: admin-only routes to create teams and issue their keys.
 *
 * @example
 * export const handler = createAuthHandler({ admin });
 */
export function createAuthHandler(deps: AuthHandlerDeps) {
  async function createTeam(request: HttpRequest) {
    requireAdmin(request);
    const team = await deps.admin.createTeam(parseWith(createTeamInputSchema, parseJsonBody(request)));
    return jsonResponse(201, { team: teamView(team) }, requestIdHeader(request.apiRequestId));
  }

  async function createKey(request: HttpRequest) {
    const actor = requireAdmin(request);
    const input = parseWith(createKeyInputSchema, parseJsonBody(request));
    const { record, plaintext } = await deps.admin.issueKey(request.pathParameters['teamId'] ?? '', input, actor);
    return jsonResponse(
      201,
      { key: plaintext, key_info: keyView(record), note: 'Store this key now: it is shown only once.' },
      { ...requestIdHeader(request.apiRequestId), 'cache-control': 'no-store' },
    );
  }

  const route = createRouter<RouteKeyOf<'auth'>, HttpResponse>('auth', {
    'POST /v1/admin/teams': createTeam,
    'POST /v1/admin/teams/{teamId}/keys': createKey,
  });
  return middy(route).use(openAiErrors());
}
