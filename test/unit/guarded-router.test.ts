import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { formatAdminAllowList, parseAdminAllowList } from '../../lambdas/shared/config/admin-principals';
import { httpErrors } from '../../lambdas/shared/http/middleware';
import { PATH_PARAMETERS } from '../../lambdas/shared/http/path-parameters';
import { createGuardedRouter, type GuardedRouteHandlers, type RouteContext } from '../../lambdas/shared/http/router';
import { matchRoute, pathParameterNames, ROUTES } from '../../lambdas/shared/http/routes';
import { ApiKeyAuthenticator } from '../../lambdas/shared/keys/authenticator';
import { generateApiKey, generateKeyId, hashApiKey } from '../../lambdas/shared/keys/format';
import type { ApiKeyRepository } from '../../lambdas/shared/keys/repository';
import type { ApiKeyRecord } from '../../lambdas/shared/keys/schema';
import type { TeamRepository } from '../../lambdas/shared/teams/repository';
import type { TeamRecord } from '../../lambdas/shared/teams/schema';
import { lambdaContext, toHttpApiEvent, toRestApiEvent } from '../../local/server';

const ADMIN = 'arn:aws:iam::123456789012:user/alice';
const DEVELOPER = 'arn:aws:iam::123456789012:user/bob';
const admins = parseAdminAllowList(formatAdminAllowList([ADMIN]));

const team: TeamRecord = {
  teamId: 'payments',
  name: 'Payments',
  softAlertPercent: 80,
  requestsPerMinute: 60,
  tokensPerMinute: 10_000,
  allowedModels: ['*'],
  status: 'active',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};
const keyId = generateKeyId();
const plaintext = generateApiKey(keyId);
const key: ApiKeyRecord = { keyId, teamId: team.teamId, hash: hashApiKey(plaintext), createdAt: team.createdAt };

/**
 * The real authenticator over an in-memory key store that counts its reads, so a test can
 * tell a refusal on the checksum (no read) from one on the stored hash.
 */
function authenticatorWithReads() {
  const reads: string[] = [];
  const keys = {
    get: async (id: string) => {
      reads.push(id);
      return id === key.keyId ? key : undefined;
    },
  };
  const teams = { get: async (id: string) => (id === team.teamId ? team : undefined) };
  const authenticator = new ApiKeyAuthenticator({
    keys: keys as unknown as ApiKeyRepository,
    teams: teams as unknown as TeamRepository,
    cacheTtlMs: 0,
  });
  return { authenticator, reads };
}

/** The usage Lambda's routes (two `key`, four `iam`, one with a path parameter), each recording what it was given. */
function usageRouter() {
  const seen: unknown[] = [];
  const record = async <C>(context: C) => {
    seen.push(context);
    return context;
  };
  const handlers: GuardedRouteHandlers<'usage', unknown> = {
    'GET /v1/usage': record,
    'GET /v1/audit': record,
    'GET /v1/admin/teams/{teamId}/usage': record,
    'GET /v1/admin/audit': record,
    'GET /v1/admin/chargeback': record,
    'GET /v1/admin/export': record,
  };
  const { authenticator, reads } = authenticatorWithReads();
  const route = createGuardedRouter('usage', handlers, { authenticator, admins });
  return { route, seen, reads };
}

/** An HTTP API event for a method and URL, with a key and/or the IAM principal the authorizer attached. */
function event(method: string, url: string, auth: { key?: string; principal?: string } = {}): APIGatewayProxyEventV2 {
  const matched = matchRoute(method, new URL(url, 'http://localhost').pathname);
  if (!matched) throw new Error(`no route ${method} ${url}`);
  const headers = auth.key ? { authorization: `Bearer ${auth.key}` } : {};
  return toHttpApiEvent({ method, url, headers }, matched, auth.principal);
}

describe('the guarded router: each route is checked as the route table declares', () => {
  it('refuses a key route without a key with 401 before its handler runs', async () => {
    const { route, seen, reads } = usageRouter();
    await expect(route(event('GET', '/v1/usage'))).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
      reason: 'missing',
    });
    expect(seen).toEqual([]);
    expect(reads).toEqual([]);
  });

  it('refuses a malformed key on its checksum, without reading the key store', async () => {
    const { route, seen, reads } = usageRouter();
    const typo = plaintext.slice(0, -1) + (plaintext.endsWith('A') ? 'B' : 'A');
    await expect(route(event('GET', '/v1/audit', { key: typo }))).rejects.toMatchObject({
      status: 401,
      reason: 'malformed',
    });
    expect(reads).toEqual([]);
    expect(seen).toEqual([]);
  });

  it("refuses a well-formed key that is not the stored one after reading the store, and never runs the route's handler", async () => {
    const { route, seen, reads } = usageRouter();
    const other = generateApiKey(keyId);
    await expect(route(event('GET', '/v1/usage', { key: other }))).rejects.toMatchObject({
      status: 401,
      reason: 'unknown',
    });
    // A mismatch is read once more, in case the key was rotated since: both reads are of this key id.
    expect(reads.length).toBeGreaterThan(0);
    expect(new Set(reads)).toEqual(new Set([keyId]));
    expect(seen).toEqual([]);
  });

  it("hands a key route's handler the caller its key belongs to, and no admin", async () => {
    const { route } = usageRouter();
    const context = (await route(event('GET', '/v1/usage?days=7', { key: plaintext }))) as Record<string, unknown>;
    expect(context).toMatchObject({
      caller: { key: { keyId }, team: { teamId: 'payments' } },
      params: {},
      request: { routeKey: 'GET /v1/usage', query: { days: '7' } },
    });
    expect(context).not.toHaveProperty('admin');
    expect(context['request']).not.toHaveProperty('pathParameters');
  });

  it('refuses an iam route without a principal with 403 admin_only, whatever key it carries', async () => {
    const { route, seen, reads } = usageRouter();
    for (const auth of [{}, { key: plaintext }]) {
      await expect(route(event('GET', '/v1/admin/chargeback', auth))).rejects.toMatchObject({
        status: 403,
        code: 'admin_only',
      });
    }
    expect(seen).toEqual([]);
    expect(reads).toEqual([]);
  });

  it('refuses an iam route signed by a principal off the allow-list with 403 admin_not_allowed', async () => {
    const { route, seen } = usageRouter();
    await expect(route(event('GET', '/v1/admin/audit', { principal: DEVELOPER }))).rejects.toMatchObject({
      status: 403,
      code: 'admin_not_allowed',
    });
    expect(seen).toEqual([]);
  });

  it("hands an iam route's handler the admin principal and its validated path parameters", async () => {
    const { route } = usageRouter();
    const context = await route(event('GET', '/v1/admin/teams/payments/usage', { principal: ADMIN }));
    expect(context).toMatchObject({ admin: { actor: ADMIN }, params: { teamId: 'payments' } });
    expect(context).not.toHaveProperty('caller');
  });

  it('refuses a bad path parameter with a 400 naming it, before the handler runs', async () => {
    const { route, seen } = usageRouter();
    for (const bad of ['Payments', 'x', '../../etc/passwd', 'a'.repeat(41), "' OR 1=1 --"]) {
      const url = `/v1/admin/teams/${encodeURIComponent(bad)}/usage`;
      const refusal = route(event('GET', url, { principal: ADMIN }));
      await expect(refusal).rejects.toMatchObject({ status: 400, type: 'invalid_request_error', param: 'teamId' });
      // The message says what a team id is, never echoes what was sent.
      await expect(refusal).rejects.toThrow(/team ids are/);
      if (bad.length > 3) await expect(refusal).rejects.not.toThrow(bad);
    }
    expect(seen).toEqual([]);
  });

  it('checks who is calling before the path parameters, so a stranger learns nothing about them', async () => {
    const { route } = usageRouter();
    await expect(route(event('GET', '/v1/admin/teams/Not_A_Team/usage'))).rejects.toMatchObject({ status: 403 });
  });

  it('validates key ids: a string no id could be is a 400, an id-like one reaches the handler', async () => {
    const seen: unknown[] = [];
    const record = async <C>(context: C) => {
      seen.push(context);
      return context;
    };
    const route = createGuardedRouter<'auth', unknown>(
      'auth',
      {
        'GET /v1/admin/teams': record,
        'POST /v1/admin/teams': record,
        'GET /v1/admin/teams/{teamId}': record,
        'PATCH /v1/admin/teams/{teamId}': record,
        'GET /v1/admin/teams/{teamId}/keys': record,
        'POST /v1/admin/teams/{teamId}/keys': record,
        'POST /v1/admin/keys/{keyId}/revoke': record,
        'POST /v1/admin/keys/{keyId}/rotate': record,
        'GET /v1/admin/changes': record,
        'GET /v1/admin/teams/{teamId}/approvals': record,
        'POST /v1/admin/teams/{teamId}/approvals/{approvalId}/approve': record,
        'POST /v1/admin/teams/{teamId}/approvals/{approvalId}/reject': record,
      },
      { admins },
    );
    for (const bad of ['a.b', '\u0000', 'ABCDEFGHIJKL', 'key id', 'a'.repeat(65)]) {
      await expect(
        route(event('POST', `/v1/admin/keys/${encodeURIComponent(bad)}/revoke`, { principal: ADMIN })),
      ).rejects.toMatchObject({ status: 400, param: 'keyId' });
    }
    expect(seen).toEqual([]);
    // Unknown but id-like: the admin service answers 404 for it, as for any key that does not exist.
    await expect(route(event('POST', `/v1/admin/keys/${keyId}/rotate`, { principal: ADMIN }))).resolves.toMatchObject({
      admin: { actor: ADMIN },
      params: { keyId },
    });
  });

  it('resolves REST API (payload 1.0) and route-less ($default) events to the same checks and parameters', async () => {
    const { route } = usageRouter();
    const url = '/v1/usage';
    const rest = toRestApiEvent({ method: 'GET', url, headers: {} }, matchRoute('GET', url)!);
    await expect(route(rest)).rejects.toMatchObject({ status: 401 });
    const withKey = toRestApiEvent(
      { method: 'GET', url, headers: { Authorization: `Bearer ${plaintext}` } },
      matchRoute('GET', url)!,
    );
    await expect(route(withKey)).resolves.toMatchObject({ caller: { team: { teamId: 'payments' } } });
    const unrouted = toHttpApiEvent(
      { method: 'GET', url: '/v1/admin/teams/payments/usage', headers: {} },
      undefined,
      ADMIN,
    );
    await expect(route(unrouted)).resolves.toMatchObject({ admin: { actor: ADMIN }, params: { teamId: 'payments' } });
  });

  it('answers 404 for a route this Lambda does not serve, before any check', async () => {
    const { route, seen } = usageRouter();
    await expect(route(event('GET', '/v1/models'))).rejects.toMatchObject({ status: 404 });
    await expect(route(event('GET', '/v1/admin/teams', { principal: ADMIN }))).rejects.toMatchObject({ status: 404 });
    expect(seen).toEqual([]);
  });

  it('checks nothing on a public route: its handler runs without a key', async () => {
    const { authenticator, reads } = authenticatorWithReads();
    // One handler may serve two routes of the same auth, as the gateway's chat routes do.
    const chat = async ({ request, caller }: RouteContext<'POST /v1/chat/completions' | 'POST /v1/chat'>) =>
      `${request.routeKey} for ${caller.key.keyId}`;
    const route = createGuardedRouter<'gateway', string>(
      'gateway',
      {
        'GET /health': async () => 'ok',
        'GET /v1/models': async ({ caller }) => caller.team.teamId,
        'POST /v1/chat/completions': chat,
        'POST /v1/chat': chat,
        'POST /v1/embeddings': async ({ caller }) => caller.key.keyId,
        'POST /v1/messages': async () => 'messages',
        'POST /v1/messages/count_tokens': async () => 'count',
      },
      { authenticator },
    );
    await expect(route(event('GET', '/health'))).resolves.toBe('ok');
    expect(reads).toEqual([]);
    await expect(route(event('GET', '/v1/models', { key: plaintext }))).resolves.toBe('payments');
    await expect(route(event('POST', '/v1/chat', { key: plaintext }))).resolves.toBe(`POST /v1/chat for ${keyId}`);
    await expect(route(event('POST', '/v1/chat/completions'))).rejects.toMatchObject({ status: 401 });
  });

  it('answers a refusal in OpenAI error shape through the error middleware', async () => {
    const { route } = usageRouter();
    const handler = middy(route).use(httpErrors());
    const response = (await handler(
      event('GET', '/v1/usage'),
      lambdaContext('usage'),
    )) as APIGatewayProxyStructuredResultV2;
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body!)).toEqual({
      error: {
        message: expect.stringContaining('Missing API key'),
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
  });

  it('refuses at construction a router whose routes need a guard it was not given', () => {
    const handlers: GuardedRouteHandlers<'usage', unknown> = {
      'GET /v1/usage': async () => undefined,
      'GET /v1/audit': async () => undefined,
      'GET /v1/admin/teams/{teamId}/usage': async () => undefined,
      'GET /v1/admin/audit': async () => undefined,
      'GET /v1/admin/chargeback': async () => undefined,
      'GET /v1/admin/export': async () => undefined,
    };
    // @ts-expect-error: the usage Lambda serves key routes, so it must be given an authenticator.
    expect(() => createGuardedRouter('usage', handlers, { admins })).toThrow(/needs a key authenticator/);
    const { authenticator } = authenticatorWithReads();
    // @ts-expect-error: ... and iam routes, so it must be given the admin allow-list.
    expect(() => createGuardedRouter('usage', handlers, { authenticator })).toThrow(/needs the admin allow-list/);
  });

  it('lets the compiler refuse a handler that reads what its route does not give', () => {
    const { authenticator } = authenticatorWithReads();
    const build = () =>
      createGuardedRouter<'usage', unknown>(
        'usage',
        {
          // @ts-expect-error: an iam route's handler has no key caller.
          'GET /v1/admin/chargeback': async ({ caller }) => caller,
          // @ts-expect-error: this route has no path parameter `keyId`.
          'GET /v1/admin/teams/{teamId}/usage': async ({ params }) => params.keyId,
          // @ts-expect-error: handlers see no raw path parameters.
          'GET /v1/usage': async ({ request }) => request.pathParameters,
          'GET /v1/audit': async ({ caller }) => caller.team.teamId,
          'GET /v1/admin/audit': async ({ admin }) => admin,
          // @ts-expect-error: the usage Lambda cannot serve a route of another Lambda.
          'GET /v1/models': async () => undefined,
        },
        { authenticator, admins },
      );
    expect(build).toThrow(/cannot serve GET \/v1\/models/);
  });

  it('has a schema for every path parameter of the route table', () => {
    const names = new Set(ROUTES.flatMap((route) => pathParameterNames(route.path)));
    expect([...names].sort()).toEqual(Object.keys(PATH_PARAMETERS).sort());
  });
});
