import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { userKeyId } from '../../lambdas/shared/sso/verifier';
import { testConfig } from '../helpers/config';
import { createTestGateway, type TestGateway, type TestResponse } from '../helpers/test-gateway';
import { ledgerEntries } from '../helpers/usage-store';
import { startOidcIssuer, type OidcIssuer, type TokenOptions } from '../fakes/oidc-issuer';

/**
 * Single sign-on with roles, end to end through the gateway's handlers on DynamoDB Local, with
 * tokens from a local OIDC issuer stand-in (keys generated per run, JWKS served locally): which
 * tokens are refused, what each role may do on every admin and usage route, and in which team,
 * and how a signed-in user's requests are attributed.
 */

const ALPHA = 'sso-alpha';
const BRAVO = 'sso-bravo';

/** Groups, as the identity provider names them, and what the config grants each. */
const GROUPS = {
  platform: 'gw-platform',
  alphaAdmins: 'alpha-admins',
  alphaDevs: 'alpha-devs',
  alphaFinance: 'alpha-finance',
  bravoDevs: 'bravo-devs',
  unrelated: 'marketing',
};

describe('single sign-on and roles', () => {
  let idp: OidcIssuer;
  let gw: TestGateway;
  let bravoKey: string;
  let bravoKeyId: string;

  const config = (issuer: string, audience: string): GatewayConfigInput => ({
    ...testConfig,
    sso: {
      issuer,
      audience: [audience],
      userClaim: 'email',
      grants: [
        { group: GROUPS.platform, role: 'platform_admin' },
        { group: GROUPS.alphaAdmins, role: 'team_admin', team: ALPHA },
        { group: GROUPS.alphaDevs, role: 'member', team: ALPHA },
        { group: GROUPS.alphaFinance, role: 'viewer', team: ALPHA },
        { group: GROUPS.bravoDevs, role: 'member', team: BRAVO },
      ],
    },
  });

  /** A token of a user in some groups. */
  const tokenOf = (email: string, groups: string[], options: TokenOptions = {}) =>
    idp.token({ subject: `sub-${email}`, ...options, claims: { email, groups, ...options.claims } });

  /** Calls a route with a bearer token (a sign-in token or a key). */
  const as = (token: string, method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
    gw.call(method, url, { headers: { authorization: `Bearer ${token}`, ...headers }, body });

  const chat = (token: string, headers: Record<string, string> = {}) =>
    as(
      token,
      'POST',
      '/v1/chat/completions',
      { model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] },
      headers,
    );

  const expectError = (response: TestResponse, status: number, code: string) =>
    expect([response.status, response.body?.error?.code]).toEqual([status, code]);

  beforeAll(async () => {
    idp = await startOidcIssuer();
    gw = await createTestGateway({ config: config(idp.url, idp.clientId) });
    await gw.createTeam({ id: ALPHA, name: 'Alpha' });
    await gw.createTeam({ id: BRAVO, name: 'Bravo' });
    const issued = await gw.issueKey(BRAVO, { name: 'bravo-service' });
    bravoKey = issued.plaintext;
    bravoKeyId = issued.record.keyId;
  });
  afterAll(async () => {
    gw.destroy();
    await idp.close();
  });

  describe('tokens', () => {
    it.each<[string, () => Promise<string>, string]>([
      ['expired', () => tokenOf('a@x.test', [GROUPS.alphaDevs], { expiresIn: -120 }), 'expired_token'],
      [
        'for another audience',
        () => tokenOf('a@x.test', [GROUPS.alphaDevs], { audience: 'other-app' }),
        'invalid_token',
      ],
      [
        'from another issuer',
        () => tokenOf('a@x.test', [GROUPS.alphaDevs], { issuer: 'https://evil.test' }),
        'invalid_token',
      ],
      [
        'unsigned (alg none)',
        async () => idp.unsignedToken({ claims: { email: 'a@x.test', groups: [GROUPS.platform] } }),
        'invalid_token',
      ],
      [
        'signed by a key the issuer never published',
        () => tokenOf('a@x.test', [GROUPS.platform], { rogueKey: true }),
        'invalid_token',
      ],
      ['without an expiry', () => tokenOf('a@x.test', [GROUPS.alphaDevs], { noExpiry: true }), 'invalid_token'],
      ['not valid yet', () => tokenOf('a@x.test', [GROUPS.alphaDevs], { notBeforeIn: 600 }), 'invalid_token'],
      ['without the user claim', () => idp.token({ claims: { groups: [GROUPS.platform] } }), 'invalid_token'],
      [
        'tampered (groups rewritten after signing)',
        async () => tamper(await tokenOf('a@x.test', [GROUPS.alphaDevs])),
        'invalid_token',
      ],
    ])('refuses a token %s with a 401, on key and admin routes, and changes nothing', async (_, make, code) => {
      const token = await make();
      expectError(await chat(token), 401, code);
      expectError(await as(token, 'GET', '/v1/usage'), 401, code);
      expectError(await as(token, 'GET', '/v1/admin/teams'), 401, code);
      expectError(await as(token, 'POST', '/v1/admin/teams', { id: 'sso-intruder', name: 'x' }), 401, code);
      expect((await gw.call('GET', '/v1/admin/teams/sso-intruder', { admin: true })).status).toBe(404);
    });

    it('keeps team keys working beside tokens, and never takes a key for a token or a token for a key', async () => {
      const served = await chat(bravoKey);
      expect(served.status).toBe(200);
      expect(served.headers['x-gateway-team']).toBe(BRAVO);
      expectError(await chat('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'), 401, 'invalid_token');
    });

    it('fetches the issuer keys once per instance, not per request', async () => {
      const before = idp.jwksFetches();
      for (let i = 0; i < 5; i++)
        expect((await chat(await tokenOf('dev@x.test', [GROUPS.alphaDevs]))).status).toBe(200);
      expect(idp.jwksFetches()).toBe(before);
    });
  });

  describe('a member', () => {
    it('calls models billed to their team, attributed to them in the ledger and the audit trail', async () => {
      const token = await tokenOf('mia@x.test', [GROUPS.alphaDevs]);
      const served = await as(token, 'POST', '/v1/chat/completions', {
        model: 'mock-small',
        // A body's user cannot claim to be someone else: the token says who this is.
        user: 'someone-else',
        messages: [{ role: 'user', content: 'hello' }],
      });
      expect(served.status).toBe(200);
      expect(served.headers['x-gateway-team']).toBe(ALPHA);
      const keyId = userKeyId(idp.url, 'sub-mia@x.test');
      expect(served.headers['x-gateway-key-id']).toBe(keyId);
      const day = new Date().toISOString().slice(0, 10);
      const mine = (await ledgerEntries(gw.store.db, gw.store.tables.usage, ALPHA, day)).filter(
        (entry) => entry.keyId === keyId,
      );
      expect(mine.map((entry) => entry.endUser)).toEqual(['mia@x.test']);
      const audit = await gw.call('GET', `/v1/admin/audit?team=${ALPHA}&key=${keyId}`, { admin: true });
      expect(audit.body.data.map((record: { end_user: string }) => record.end_user)).toEqual(['mia@x.test']);
    });

    it("sees their own usage only, while their team admin sees the team's, by user", async () => {
      const mine = await tokenOf('uma@x.test', [GROUPS.alphaDevs]);
      const theirs = await tokenOf('ulf@x.test', [GROUPS.alphaDevs]);
      for (const token of [mine, mine, theirs]) expect((await chat(token)).status).toBe(200);
      const own = await as(mine, 'GET', '/v1/usage');
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ team: ALPHA, user: 'uma@x.test', budget: null });
      expect(own.body.totals.requests).toBe(2);
      expect(own.body.by_user).toEqual([expect.objectContaining({ user: 'uma@x.test', requests: 2 })]);
      const team = await as(await tokenOf('ada@x.test', [GROUPS.alphaAdmins]), 'GET', '/v1/usage');
      const users = team.body.by_user.map((row: { user: string; requests: number }) => [row.user, row.requests]);
      expect(users).toEqual(
        expect.arrayContaining([
          ['uma@x.test', 2],
          ['ulf@x.test', 1],
        ]),
      );
      expect(team.body).not.toHaveProperty('user');
    });

    it('may not use admin routes, nor another team: 403 in their team, 404 outside it', async () => {
      const token = await tokenOf('mia@x.test', [GROUPS.alphaDevs]);
      expectError(await as(token, 'GET', `/v1/admin/teams/${ALPHA}`), 403, 'role_not_allowed');
      expectError(await as(token, 'GET', `/v1/admin/teams/${ALPHA}/keys`), 403, 'role_not_allowed');
      expectError(await as(token, 'GET', `/v1/admin/teams/${BRAVO}/keys`), 404, 'not_found');
      expectError(await as(token, 'GET', `/v1/admin/teams/${BRAVO}/usage`), 404, 'not_found');
      expectError(await as(token, 'GET', '/v1/admin/chargeback'), 403, 'role_not_allowed');
      expectError(await as(token, 'GET', '/v1/audit'), 403, 'role_not_allowed');
      expectError(await chat(token, { 'x-gateway-team': BRAVO }), 404, 'not_found');
    });
  });

  describe('a team admin', () => {
    let token: string;
    beforeAll(async () => {
      token = await tokenOf('ada@x.test', [GROUPS.alphaAdmins]);
    });

    it("manages their team's keys, recorded as themselves, within the team's limits", async () => {
      const created = await as(token, 'POST', `/v1/admin/teams/${ALPHA}/keys`, { name: 'ci', requests_per_minute: 5 });
      expect(created.status).toBe(201);
      expect((await chat(created.body.key)).headers['x-gateway-team']).toBe(ALPHA);
      const listed = await as(token, 'GET', `/v1/admin/teams/${ALPHA}/keys`);
      expect(listed.body.data.map((key: { name: string }) => key.name)).toContain('ci');
      const tooMuch = await as(token, 'POST', `/v1/admin/teams/${ALPHA}/keys`, { requests_per_minute: 10_000_000 });
      expect(tooMuch.status).toBe(400);
      const revoked = await as(token, 'POST', `/v1/admin/keys/${created.body.key_info.id}/revoke`);
      expect(revoked.status).toBe(200);
      const changes = await gw.call('GET', '/v1/admin/changes', { admin: true });
      const actors = changes.body.data
        .filter((change: { team: string }) => change.team === ALPHA)
        .map((change: { action: string; actor: string }) => [change.action, change.actor]);
      expect(actors).toEqual(
        expect.arrayContaining([
          ['key.create', 'sso:ada@x.test'],
          ['key.revoke', 'sso:ada@x.test'],
        ]),
      );
    });

    it("never touches another team's keys, usage, audit, approvals or export: 404 as if they did not exist", async () => {
      expectError(await as(token, 'GET', `/v1/admin/teams/${BRAVO}`), 404, 'not_found');
      expectError(await as(token, 'POST', `/v1/admin/teams/${BRAVO}/keys`, { name: 'x' }), 404, 'not_found');
      expectError(await as(token, 'POST', `/v1/admin/keys/${bravoKeyId}/revoke`), 404, 'not_found');
      expectError(await as(token, 'POST', `/v1/admin/keys/${bravoKeyId}/rotate`), 404, 'not_found');
      expect((await chat(bravoKey)).status).toBe(200); // still works
      expectError(await as(token, 'GET', `/v1/admin/teams/${BRAVO}/usage`), 404, 'not_found');
      expectError(await as(token, 'GET', `/v1/admin/teams/${BRAVO}/approvals`), 404, 'not_found');
      expectError(await as(token, 'GET', `/v1/admin/audit?team=${BRAVO}`), 404, 'not_found');
      expectError(
        await as(token, 'GET', `/v1/admin/export?team=${BRAVO}&from=2026-01-01&to=2026-01-31`),
        404,
        'not_found',
      );
      // Reads that span teams must name theirs.
      expectError(await as(token, 'GET', '/v1/admin/audit?decision=block'), 400, 'invalid_request');
      expectError(await as(token, 'GET', '/v1/admin/export?from=2026-01-01&to=2026-01-31'), 400, 'invalid_request');
    });

    it("reads their own team's usage, audit, approvals, export and chargeback line", async () => {
      expect((await as(token, 'GET', `/v1/admin/teams/${ALPHA}/usage`)).status).toBe(200);
      expect((await as(token, 'GET', `/v1/admin/teams/${ALPHA}/approvals`)).status).toBe(200);
      expect((await as(token, 'GET', `/v1/admin/audit?team=${ALPHA}`)).status).toBe(200);
      expect((await as(token, 'GET', `/v1/audit`)).status).toBe(200);
      const exported = await as(token, 'GET', `/v1/admin/export?team=${ALPHA}&from=2026-01-01&to=2026-12-31`);
      expect(exported.status).toBe(200);
      const teams = await as(token, 'GET', '/v1/admin/teams');
      expect(teams.body.data.map((team: { id: string }) => team.id)).toEqual([ALPHA]);
      const chargeback = await as(token, 'GET', '/v1/admin/chargeback');
      expect(chargeback.status).toBe(200);
      expect(JSON.stringify(chargeback.body)).not.toContain(BRAVO);
    });

    it('may not change what the platform set: team settings, new teams, the change log', async () => {
      expectError(
        await as(token, 'PATCH', `/v1/admin/teams/${ALPHA}`, { requests_per_minute: 9_999 }),
        403,
        'role_not_allowed',
      );
      expectError(await as(token, 'POST', '/v1/admin/teams', { id: 'sso-new', name: 'New' }), 403, 'role_not_allowed');
      expectError(await as(token, 'GET', '/v1/admin/changes'), 403, 'role_not_allowed');
    });
  });

  describe('a viewer', () => {
    it('reads usage and chargeback only', async () => {
      const token = await tokenOf('vic@x.test', [GROUPS.alphaFinance]);
      expect((await as(token, 'GET', `/v1/admin/teams/${ALPHA}/usage`)).status).toBe(200);
      expect((await as(token, 'GET', '/v1/usage')).status).toBe(200);
      const chargeback = await as(token, 'GET', '/v1/admin/chargeback?format=csv');
      expect(chargeback.status).toBe(200);
      expect(chargeback.body).not.toContain(BRAVO);
      expectError(await chat(token), 403, 'role_not_allowed');
      expectError(await as(token, 'GET', `/v1/admin/teams/${ALPHA}/keys`), 403, 'role_not_allowed');
      expectError(await as(token, 'GET', `/v1/admin/audit?team=${ALPHA}`), 403, 'role_not_allowed');
      expectError(await as(token, 'GET', `/v1/admin/teams/${ALPHA}/approvals`), 403, 'role_not_allowed');
    });
  });

  describe('a platform admin', () => {
    it('does everything an IAM admin does, as themselves', async () => {
      const token = await tokenOf('pat@x.test', [GROUPS.platform]);
      const created = await as(token, 'POST', '/v1/admin/teams', { id: 'sso-charlie', name: 'Charlie' });
      expect(created.status).toBe(201);
      expect((await as(token, 'GET', `/v1/admin/teams/${BRAVO}/keys`)).status).toBe(200);
      expect((await as(token, 'PATCH', `/v1/admin/teams/${BRAVO}`, { name: 'Bravo!' })).status).toBe(200);
      expect((await as(token, 'GET', '/v1/admin/changes')).status).toBe(200);
      // Calls models only for a team named: a platform admin belongs to no team by default.
      expectError(await chat(token), 403, 'role_not_allowed');
      expect((await chat(token, { 'x-gateway-team': BRAVO })).headers['x-gateway-team']).toBe(BRAVO);
      // Any team, but only a team id: never an arbitrary string as a table key.
      expectError(await chat(token, { 'x-gateway-team': 'x'.repeat(5_000) }), 400, 'invalid_request');
      expectError(await chat(token, { 'x-gateway-team': 'sso-none' }), 404, 'not_found');
      // Every team's line of the chargeback (bravo has just been billed).
      const chargeback = await as(token, 'GET', '/v1/admin/chargeback');
      expect(JSON.stringify(chargeback.body)).toContain(BRAVO);
    });
  });

  describe('a user in several teams, or in none', () => {
    it('names the team a request is for when their roles allow several', async () => {
      const token = await tokenOf('max@x.test', [GROUPS.alphaDevs, GROUPS.bravoDevs]);
      expectError(await chat(token), 400, 'team_required');
      expect((await chat(token, { 'x-gateway-team': BRAVO })).headers['x-gateway-team']).toBe(BRAVO);
      expect((await chat(token, { 'x-gateway-team': ALPHA })).headers['x-gateway-team']).toBe(ALPHA);
    });

    it('refuses a user whose groups grant nothing', async () => {
      const token = await tokenOf('nobody@x.test', [GROUPS.unrelated]);
      expectError(await chat(token), 403, 'role_not_allowed');
      expectError(await as(token, 'GET', '/v1/admin/teams'), 403, 'role_not_allowed');
      expectError(await as(token, 'GET', `/v1/admin/teams/${ALPHA}/usage`), 404, 'not_found');
    });
  });
});

describe("the identity provider's key rotation", () => {
  it('accepts tokens of a new signing key once it refetches the keys, at most every 30 s (so unknown key ids cannot flood the issuer)', async () => {
    const idp = await startOidcIssuer();
    const gw = await createTestGateway({
      config: {
        ...testConfig,
        sso: { issuer: idp.url, audience: [idp.clientId], grants: [{ group: 'devs', role: 'member', team: ALPHA }] },
      },
    });
    try {
      await gw.createTeam({ id: ALPHA, name: 'Alpha' });
      const chat = async () =>
        (
          await gw.call('POST', '/v1/chat/completions', {
            headers: { authorization: `Bearer ${await idp.token({ claims: { groups: ['devs'] } })}` },
            body: { model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] },
          })
        ).status;
      expect(await chat()).toBe(200);
      const fetchedAt = Date.now();
      expect(idp.jwksFetches()).toBe(1);
      await idp.rotate();
      expect(await chat()).toBe(401); // a key id not seen, within the cool-down: not refetched yet
      expect(idp.jwksFetches()).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, fetchedAt + 31_000 - Date.now())));
      expect(await chat()).toBe(200);
      expect(idp.jwksFetches()).toBe(2);
    } finally {
      gw.destroy();
      await idp.close();
    }
  }, 60_000);
});

describe("the identity provider's keys", () => {
  it('refuses a token without a key id when the issuer publishes several keys (401), and answers 503 when its keys are out of reach', async () => {
    const idp = await startOidcIssuer();
    const sso = (jwksUri?: string) => ({
      issuer: idp.url,
      audience: [idp.clientId],
      ...(jwksUri ? { jwksUri } : {}),
      grants: [{ group: 'devs', role: 'member' as const, team: ALPHA }],
    });
    const gw = await createTestGateway({ config: { ...testConfig, sso: sso() } });
    // The same issuer, but its keys at an address where nothing listens.
    const cutOff = await gw.instance({ config: { ...testConfig, sso: sso('http://127.0.0.1:9/jwks.json') } });
    try {
      await gw.createTeam({ id: ALPHA, name: 'Alpha' });
      const chat = async (via: TestGateway, token: string) =>
        via.call('POST', '/v1/chat/completions', {
          headers: { authorization: `Bearer ${token}` },
          body: { model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] },
        });
      expect((await chat(gw, await idp.token({ claims: { groups: ['devs'] }, noKid: true }))).status).toBe(200);
      await idp.publishSecondKey();
      const fresh = await gw.instance({ config: { ...testConfig, sso: sso() } });
      const refused = await chat(fresh, await idp.token({ claims: { groups: ['devs'] }, noKid: true }));
      expect([refused.status, refused.body.error.code]).toEqual([401, 'invalid_token']);
      expect((await chat(fresh, await idp.token({ claims: { groups: ['devs'] } }))).status).toBe(200);
      const unavailable = await chat(cutOff, await idp.token({ claims: { groups: ['devs'] } }));
      expect([unavailable.status, unavailable.body.error.code]).toEqual([503, 'upstream_unavailable']);
    } finally {
      gw.destroy();
      await idp.close();
    }
  });
});

describe('without single sign-on configured', () => {
  it('takes a token for a malformed key: 401, never an admin', async () => {
    const idp = await startOidcIssuer();
    const gw = await createTestGateway();
    try {
      const token = await idp.token({ claims: { email: 'a@x.test', groups: ['gw-platform'] } });
      const refused = await gw.call('POST', '/v1/chat/completions', {
        headers: { authorization: `Bearer ${token}` },
        body: { model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] },
      });
      expect([refused.status, refused.body.error.code]).toEqual([401, 'invalid_api_key']);
      const admin = await gw.call('GET', '/v1/admin/teams', { headers: { authorization: `Bearer ${token}` } });
      expect([admin.status, admin.body.error.code]).toEqual([403, 'admin_only']);
    } finally {
      gw.destroy();
      await idp.close();
    }
  });
});

/** The token with its payload's groups rewritten to the platform's, its signature kept. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  const forged = Buffer.from(JSON.stringify({ ...claims, groups: ['gw-platform'] })).toString('base64url');
  return `${header}.${forged}.${signature}`;
}
