import { createTestGateway, TEST_ADMIN, type TestGateway } from '../helpers/test-gateway';

/** Every field name in a JSON value that is not snake_case, with where it is. */
function camelCaseFields(value: unknown, at = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => camelCaseFields(item, `${at}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([name, inner]) => [
    ...(/^[a-z0-9_]+$/.test(name) ? [] : [`${at}.${name}`]),
    ...camelCaseFields(inner, `${at}.${name}`),
  ]);
}

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

describe('team and key administration with an audit trail', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway();
  });
  afterAll(() => gw.destroy());

  it('creates, reads, lists, updates and disables teams', async () => {
    await gw.call('POST', '/v1/admin/teams', {
      admin: true,
      body: { id: 'search', name: 'Search', monthly_budget_usd: 10 },
    });
    await gw.call('POST', '/v1/admin/teams', {
      admin: true,
      body: { id: 'ads', name: 'Ads', allowed_models: ['mock-*'] },
    });
    const list = await gw.call('GET', '/v1/admin/teams', { admin: true });
    expect(list.body.data.map((t: { id: string }) => t.id)).toEqual(['ads', 'search']);
    const updated = await gw.call('PATCH', '/v1/admin/teams/search', {
      admin: true,
      body: { monthly_budget_usd: null, requests_per_minute: 5, cost_center: 'CC-9', status: 'disabled' },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.team).toMatchObject({
      monthly_budget_usd: null,
      requests_per_minute: 5,
      cost_center: 'CC-9',
      status: 'disabled',
    });
    const read = await gw.call('GET', '/v1/admin/teams/search', { admin: true });
    expect(read.body.team).toEqual(updated.body.team);
    expect((await gw.call('GET', '/v1/admin/teams/nope', { admin: true })).status).toBe(404);
    expect((await gw.call('PATCH', '/v1/admin/teams/search', { admin: true, body: {} })).status).toBe(400);
    expect(
      (await gw.call('PATCH', '/v1/admin/teams/search', { admin: true, body: { status: 'archived' } })).body.error
        .param,
    ).toBe('status');
  });

  it('lists keys without secrets or hashes, revokes and rotates them', async () => {
    const created = await gw.call('POST', '/v1/admin/teams/ads/keys', { admin: true, body: { name: 'web' } });
    const keyId = created.body.key_info.id;
    const list = await gw.call('GET', '/v1/admin/teams/ads/keys', { admin: true });
    expect(list.body.data).toEqual([expect.objectContaining({ id: keyId, name: 'web', revoked_at: null })]);
    const listed = JSON.stringify(list.body);
    expect(listed).not.toContain(created.body.key);
    expect(listed).not.toMatch(/hash/i);

    const rotated = await gw.call('POST', `/v1/admin/keys/${keyId}/rotate`, { admin: true });
    expect(rotated.status).toBe(200);
    expect(rotated.headers['cache-control']).toBe('no-store');
    expect(Date.parse(rotated.body.key_info.previous_secret_valid_until) - Date.now()).toBeGreaterThan(
      23 * 3600 * 1000,
    );

    const revoked = await gw.call('POST', `/v1/admin/keys/${keyId}/revoke`, { admin: true });
    expect(revoked.body.key_info.revoked_at).toEqual(expect.any(String));
    expect((await gw.call('POST', `/v1/admin/keys/${keyId}/revoke`, { admin: true })).status).toBe(409);
    expect((await gw.call('POST', `/v1/admin/keys/${keyId}/rotate`, { admin: true })).status).toBe(409);
    expect((await gw.call('POST', '/v1/admin/keys/unknownkey123/revoke', { admin: true })).status).toBe(404);
    expect((await gw.call('GET', '/v1/admin/teams/nope/keys', { admin: true })).status).toBe(404);
  });

  it('records every admin action with who, what, when, before and after, newest first', async () => {
    const first = await gw.call('GET', '/v1/admin/changes?limit=3', { admin: true });
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(3);
    const [revoke, rotate, createKey] = first.body.data;
    expect(revoke).toMatchObject({
      action: 'key.revoke',
      actor: TEST_ADMIN,
      team: 'ads',
      key_id: expect.any(String),
      before: { revoked_at: null },
    });
    expect(revoke.after.revoked_at).toEqual(expect.any(String));
    expect(rotate).toMatchObject({ action: 'key.rotate', before: { rotated_at: null } });
    expect(createKey).toMatchObject({ action: 'key.create', before: null, after: { name: 'web' } });
    expect(JSON.stringify(first.body)).not.toMatch(/hash|gwk_/);
    const second = await gw.call('GET', `/v1/admin/changes?limit=3&cursor=${first.body.next_cursor}`, { admin: true });
    expect(second.body.data.map((c: { action: string }) => c.action)).toEqual([
      'team.update',
      'team.create',
      'team.create',
    ]);
    expect(second.body.data[0]).toMatchObject({
      id: expect.any(String),
      team: 'search',
      key_id: null,
      before: { monthly_budget_usd: '10.000000', status: 'active' },
      after: { monthly_budget_usd: null, status: 'disabled' },
    });
    expect((await gw.call('GET', '/v1/admin/changes?cursor=garbage', { admin: true })).status).toBe(400);
  });

  it('names every field of every admin answer in snake_case', async () => {
    const created = await gw.call('POST', '/v1/admin/teams/search/keys', { admin: true, body: { name: 'case' } });
    const keyId = created.body.key_info.id as string;
    const answers = [
      created,
      await gw.call('GET', '/v1/admin/teams', { admin: true }),
      await gw.call('GET', '/v1/admin/teams/search', { admin: true }),
      await gw.call('PATCH', '/v1/admin/teams/search', { admin: true, body: { name: 'Search 2' } }),
      await gw.call('GET', '/v1/admin/teams/search/keys', { admin: true }),
      await gw.call('POST', `/v1/admin/keys/${keyId}/rotate`, { admin: true }),
      await gw.call('POST', `/v1/admin/keys/${keyId}/revoke`, { admin: true }),
      await gw.call('GET', '/v1/admin/changes?limit=50', { admin: true }),
      await gw.call('GET', '/v1/admin/teams/search/usage', { admin: true }),
      await gw.call('GET', '/v1/admin/chargeback', { admin: true }),
      await gw.call('GET', '/v1/admin/audit?team=search', { admin: true }),
      await gw.call('GET', '/v1/admin/teams/nope', { admin: true }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([
      201, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404,
    ]);
    expect(answers.flatMap((answer) => camelCaseFields(answer.body))).toEqual([]);
  });

  it('serves any team’s usage to admins, and only to admins', async () => {
    const { plaintext } = await gw.issueKey('ads');
    await gw.call('POST', '/v1/chat/completions', {
      key: plaintext,
      body: { model: 'mock-small', messages: [{ role: 'user', content: 'x' }] },
    });
    const usage = await gw.call('GET', '/v1/admin/teams/ads/usage?days=1', { admin: true });
    expect(usage.body).toMatchObject({ team: 'ads', totals: { requests: 1 }, budget: null });
    expect((await gw.call('GET', '/v1/admin/teams/ads/usage', { key: plaintext })).status).toBe(403);
    expect((await gw.call('GET', '/v1/admin/teams/nope/usage', { admin: true })).status).toBe(404);
  });
});
