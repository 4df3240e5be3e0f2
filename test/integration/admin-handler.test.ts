import { createTestGateway, TEST_ADMIN, type TestGateway } from '../helpers/test-gateway';

describe('auth (admin) Lambda against DynamoDB Local', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway();
  });
  afterAll(() => gw.destroy());

  it('creates a team with the config defaults for anything not given', async () => {
    const res = await gw.call('POST', '/v1/admin/teams', {
      admin: true,
      body: { id: 'payments', name: 'Payments', cost_center: 'CC-1234', monthly_budget_usd: 250.5 },
    });
    expect(res.status).toBe(201);
    expect(res.body.team).toMatchObject({
      id: 'payments',
      name: 'Payments',
      cost_center: 'CC-1234',
      monthly_budget_usd: '250.500000',
      requests_per_minute: 1000,
      tokens_per_minute: 1_000_000,
      soft_alert_percent: 80,
      allowed_models: ['*'],
      status: 'active',
    });
  });

  it('issues a key shown once, which then works on team routes', async () => {
    const res = await gw.call('POST', '/v1/admin/teams/payments/keys', {
      admin: true,
      body: { name: 'ci', requests_per_minute: 10 },
    });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.key).toMatch(/^gwk_/);
    expect(res.body.key_info).toMatchObject({
      team: 'payments',
      name: 'ci',
      created_by: TEST_ADMIN,
      requests_per_minute: 10,
    });
    expect(JSON.stringify(res.body.key_info)).not.toContain('hash');
    const models = await gw.call('GET', '/v1/models', { key: res.body.key });
    expect(models.status).toBe(200);
  });

  it('refuses a team key on admin routes with 403', async () => {
    const { plaintext } = await gw.issueKey('payments');
    for (const [method, path] of [
      ['POST', '/v1/admin/teams'],
      ['POST', '/v1/admin/teams/payments/keys'],
    ] as const) {
      const res = await gw.call(method, path, { key: plaintext, body: { id: 'evil', name: 'Evil' } });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ type: 'permission_error', code: 'admin_only' });
    }
  });

  it('answers 409 for a taken team id, 404 for keys of an unknown team', async () => {
    expect(
      (await gw.call('POST', '/v1/admin/teams', { admin: true, body: { id: 'payments', name: 'Again' } })).status,
    ).toBe(409);
    expect((await gw.call('POST', '/v1/admin/teams/nope/keys', { admin: true, body: {} })).status).toBe(404);
  });

  it('validates admin input with 400s naming the field', async () => {
    const cases: [string, unknown, string][] = [
      ['/v1/admin/teams', { id: 'Bad Id', name: 'x' }, 'id'],
      ['/v1/admin/teams', { id: 'ok-team', name: 'x', color: 'red' }, 'color'],
      ['/v1/admin/teams', { id: 'ok-team', name: 'x', monthly_budget_usd: -1 }, 'monthly_budget_usd'],
      ['/v1/admin/teams/payments/keys', { expires_at: 'tomorrow' }, 'expires_at'],
      ['/v1/admin/teams/payments/keys', { expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
      ['/v1/admin/teams/payments/keys', { requests_per_minute: 5000 }, 'requests_per_minute'],
    ];
    for (const [path, body, param] of cases) {
      const res = await gw.call('POST', path, { admin: true, body });
      expect({ path, status: res.status, param: res.body.error.param }).toEqual({ path, status: 400, param });
    }
  });

  it('refuses an expired key and reports it as expired', async () => {
    let now = Date.now();
    const clocked = await createTestGateway({ now: () => now });
    try {
      const team = await clocked.createTeam();
      const { plaintext } = await clocked.issueKey(team.teamId, { expires_at: new Date(now + 60_000).toISOString() });
      expect((await clocked.call('GET', '/v1/models', { key: plaintext })).status).toBe(200);
      now += 61_000;
      const res = await clocked.call('GET', '/v1/models', { key: plaintext });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('expired_api_key');
    } finally {
      clocked.destroy();
    }
  });
});
