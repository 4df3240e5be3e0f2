import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { accountPrincipal } from '../../lambdas/shared/config/admin-principals';
import { ROUTES } from '../../lambdas/shared/http/routes';
import { captureEmf } from '../helpers/emf';
import { createTestGateway, TEST_ADMIN, type TestGateway } from '../helpers/test-gateway';

const ACCOUNT = '123456789012';
const ADMIN_ROLE = `arn:aws:iam::${ACCOUNT}:role/platform/GatewayAdmin`;
const ADMIN_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/GatewayAdmin/alice`;
const DEVELOPER_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/Developer/bob`;
const FOREIGN_SESSION = `arn:aws:sts::210987654321:assumed-role/GatewayAdmin/mallory`;

/** Every item of the identity and audit tables: what an admin route could change. */
async function snapshot(gw: TestGateway): Promise<unknown[]> {
  const items: unknown[] = [];
  for (const table of [gw.store.tables.identity, gw.store.tables.audit]) {
    const page = await gw.store.db.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
    items.push(...(page.Items ?? []).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
  }
  return items;
}

/** Each admin route of the shared table, with path parameters filled and a body that would succeed. */
function adminCalls(teamId: string, keyId: string) {
  const bodies: Record<string, unknown> = {
    'POST /v1/admin/teams': { id: 'intruders', name: 'Intruders' },
    'PATCH /v1/admin/teams/{teamId}': { status: 'disabled' },
    'POST /v1/admin/teams/{teamId}/keys': { name: 'stolen' },
    'POST /v1/admin/keys/{keyId}/rotate': {},
  };
  return ROUTES.filter((route) => route.auth === 'iam').map((route) => ({
    method: route.method,
    url: route.path
      .replace('{teamId}', teamId)
      .replace('{keyId}', keyId)
      .replace('{approvalId}', `apr_${'a'.repeat(20)}`),
    body: bodies[`${route.method} ${route.path}`],
  }));
}

describe('admin routes accept only the principals on the allow-list', () => {
  let gw: TestGateway;
  let teamId: string;
  let keyId: string;
  beforeAll(async () => {
    gw = await createTestGateway({ admins: [ADMIN_ROLE, TEST_ADMIN] });
    teamId = (await gw.createTeam({ id: 'payments', name: 'Payments' })).teamId;
    keyId = (await gw.issueKey(teamId)).record.keyId;
  });
  afterAll(() => gw.destroy());

  it('refuses a principal not on the list with 403 admin_not_allowed on every admin route, changing nothing', async () => {
    const before = await snapshot(gw);
    const calls = adminCalls(teamId, keyId);
    expect(calls).toHaveLength(16);
    for (const call of calls) {
      const res = await gw.call(call.method, call.url, { admin: DEVELOPER_SESSION, body: call.body });
      expect({ route: `${call.method} ${call.url}`, status: res.status, error: res.body.error }).toEqual({
        route: `${call.method} ${call.url}`,
        status: 403,
        error: {
          message: expect.stringContaining('admin allow-list'),
          type: 'permission_error',
          param: null,
          code: 'admin_not_allowed',
        },
      });
    }
    expect(await snapshot(gw)).toEqual(before);
  });

  it('counts each refused attempt in AdminRefusals', async () => {
    const docs = await captureEmf(() =>
      gw.call('POST', '/v1/admin/teams', { admin: DEVELOPER_SESSION, body: { id: 'x', name: 'X' } }),
    );
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ AdminRefusals: 1 });
  });

  it('admits any session of a listed role (listed with its path) and records the session as the actor', async () => {
    const res = await gw.call('POST', '/v1/admin/teams', {
      admin: ADMIN_SESSION,
      body: { id: 'search', name: 'Search' },
    });
    expect(res.status).toBe(201);
    const key = await gw.call('POST', '/v1/admin/teams/search/keys', { admin: ADMIN_SESSION, body: { name: 'ci' } });
    expect(key.status).toBe(201);
    expect(key.body.key_info.created_by).toBe(ADMIN_SESSION);
    const chargeback = await gw.call('GET', '/v1/admin/chargeback', { admin: ADMIN_SESSION });
    expect(chargeback.status).toBe(200);
  });

  it('admits a listed IAM user', async () => {
    expect((await gw.call('GET', '/v1/admin/teams', { admin: TEST_ADMIN })).status).toBe(200);
    expect((await gw.call('GET', `/v1/admin/teams/${teamId}/usage`, { admin: TEST_ADMIN })).status).toBe(200);
  });

  it('still refuses requests with no IAM principal (a team key) with 403 admin_only', async () => {
    const { plaintext } = await gw.issueKey(teamId);
    const res = await gw.call('GET', '/v1/admin/teams', { key: plaintext });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('admin_only');
  });

  it('refuses everyone when the list is empty', async () => {
    const locked = await gw.instance({ admins: [] });
    for (const principal of [ADMIN_SESSION, TEST_ADMIN]) {
      const res = await locked.call('GET', '/v1/admin/teams', { admin: principal });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('admin_not_allowed');
    }
  });

  it('with the account-wide opt-in, admits any principal of the account and none of another account', async () => {
    const sandbox = await gw.instance({ admins: [accountPrincipal('aws', ACCOUNT)] });
    expect((await sandbox.call('GET', '/v1/admin/teams', { admin: DEVELOPER_SESSION })).status).toBe(200);
    expect((await sandbox.call('GET', '/v1/admin/audit?team=payments', { admin: DEVELOPER_SESSION })).status).toBe(200);
    const before = await snapshot(gw);
    const foreign = await sandbox.call('POST', '/v1/admin/teams', {
      admin: FOREIGN_SESSION,
      body: { id: 'foreign', name: 'Foreign' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('admin_not_allowed');
    expect(await snapshot(gw)).toEqual(before);
  });
});
