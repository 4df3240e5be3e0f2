import { ROUTES } from '../../lambdas/shared/http/routes';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';

/**
 * Tenant isolation on every route of the shared table: team routes answer only about the
 * caller's own team, whatever parameters the caller adds; admin routes refuse team keys.
 */
describe('tenant isolation on every route', () => {
  let gw: TestGateway;
  let keyA: string;
  let keyB: string;

  beforeAll(async () => {
    gw = await createTestGateway();
    await gw.createTeam({ id: 'tenant-a', allowed_models: ['mock-small'] });
    await gw.createTeam({ id: 'tenant-b', allowed_models: ['mock-large'] });
    keyA = (await gw.issueKey('tenant-a')).plaintext;
    keyB = (await gw.issueKey('tenant-b')).plaintext;
    // Team A does something worth hiding.
    const served = await gw.call('POST', '/v1/chat/completions', {
      key: keyA,
      body: { model: 'mock-small', messages: [{ role: 'user', content: 'secret plans of team A' }] },
    });
    expect(served.status).toBe(200);
  });
  afterAll(() => gw.destroy());

  const teamRoutes = ROUTES.filter((route) => route.auth === 'key');
  const adminRoutes = ROUTES.filter((route) => route.auth === 'iam');

  it('covers every route: each is public, a team route, or an admin route', () => {
    expect(teamRoutes.length + adminRoutes.length + ROUTES.filter((r) => r.auth === 'none').length).toBe(ROUTES.length);
    expect(teamRoutes.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      'GET /v1/audit',
      'GET /v1/models',
      'GET /v1/usage',
      'POST /v1/chat',
      'POST /v1/chat/completions',
      'POST /v1/embeddings',
      'POST /v1/messages',
      'POST /v1/messages/count_tokens',
    ]);
  });

  it.each(adminRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s refuses a team key (403 admin_only)',
    async (_, route) => {
      const path = route.path.replace('{teamId}', 'tenant-a').replace('{keyId}', 'abcdefghijkl');
      const response = await gw.call(route.method, `${path}?team=tenant-a`, {
        key: keyB,
        ...(route.method === 'GET' ? {} : { body: {} }),
      });
      expect(response.status).toBe(403);
      expect(response.body.error.code).toBe('admin_only');
    },
  );

  it("GET /v1/usage and GET /v1/audit show B nothing of A's, even when asked for A", async () => {
    for (const query of ['', '?team=tenant-a', '?team_id=tenant-a']) {
      const usage = await gw.call('GET', `/v1/usage${query}`, { key: keyB });
      if (usage.status === 200) {
        expect(usage.body.team).toBe('tenant-b');
        expect(usage.body.totals.requests).toBe(0);
      } else {
        expect(usage.status).toBe(400); // unknown parameters are refused, never honoured
      }
      const audit = await gw.call('GET', `/v1/audit${query}`, { key: keyB });
      if (audit.status === 200) expect(audit.body.data).toEqual([]);
      else expect(audit.status).toBe(400);
    }
    const own = await gw.call('GET', '/v1/audit', { key: keyA });
    expect(own.body.data.map((r: { team: string }) => r.team)).toEqual(['tenant-a']);
  });

  it("GET /v1/models lists only what the caller's team may use", async () => {
    const a = await gw.call('GET', '/v1/models', { key: keyA });
    const b = await gw.call('GET', '/v1/models', { key: keyB });
    expect(a.body.data.map((m: { id: string }) => m.id)).toEqual(['mock-small']);
    expect(b.body.data.map((m: { id: string }) => m.id)).toEqual(['mock-large']);
  });

  it.each(['/v1/chat/completions', '/v1/chat'])(
    'POST %s bills the caller, and cannot be steered to another team or model',
    async (path) => {
      const refused = await gw.call('POST', path, {
        key: keyB,
        body: { model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(refused.status).toBe(403); // A's model, not B's
      const steered = await gw.call('POST', path, {
        key: keyB,
        body: {
          model: 'mock-large',
          user: 'tenant-a',
          metadata: { team: 'tenant-a' },
          messages: [{ role: 'user', content: 'hi' }],
        },
        headers: { 'x-gateway-team': 'tenant-a' },
      });
      expect(steered.status).toBe(200);
      expect(steered.body.gateway.team).toBe('tenant-b');
      expect(steered.headers['x-gateway-team']).toBe('tenant-b');
    },
  );
});
