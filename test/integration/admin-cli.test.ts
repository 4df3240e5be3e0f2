import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli, type CliIo } from '../../bin/gateway-admin';
import { forgetLocalGateway, recordLocalGateway } from '../../bin/local-state';
import type { LocalGateway } from '../../local/local-gateway';
import { testConfig } from '../helpers/config';
import { adminFetch } from '../helpers/local-admin';
import { startTestLocalGateway } from '../helpers/local-gateway';

/** The admin CLI against the local runtime over HTTP, as an admin would run it. */
describe('gateway-admin CLI', () => {
  let gateway: LocalGateway;
  let io: CliIo & { out: string[]; err: string[] };

  beforeAll(async () => {
    gateway = await startTestLocalGateway('cli', {
      config: testConfig,
    });
  });
  afterAll(() => gateway.stop());
  beforeEach(() => {
    const out: string[] = [];
    const err: string[] = [];
    io = { out, err, stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd: '/nonexistent' };
  });

  const cli = (...args: string[]) => runCli(['--url', gateway.url, '--admin-token', gateway.adminToken, ...args], io);
  // The CLI prints arbitrary JSON.
  const json = () => JSON.parse(io.out.join('')) as Record<string, any>;

  it('shows help for every command', async () => {
    expect(await runCli(['--help'], io)).toBe(0);
    expect(io.out.join('')).toMatch(/teams[\s\S]*keys[\s\S]*usage[\s\S]*export[\s\S]*changes/);
    io.out.length = 0;
    expect(await runCli(['teams', 'create', '--help'], io)).toBe(0);
    expect(io.out.join('')).toContain('--budget-usd <amount>');
  });

  it('manages a team and its keys end to end', async () => {
    expect(
      await cli(
        'teams',
        'create',
        '--id',
        'cli-team',
        '--name',
        'CLI team',
        '--budget-usd',
        '25',
        '--rpm',
        '30',
        '--models',
        'mock-*',
      ),
    ).toBe(0);
    expect(json().team).toMatchObject({
      id: 'cli-team',
      monthly_budget_usd: '25.000000',
      requests_per_minute: 30,
      allowed_models: ['mock-*'],
    });

    io.out.length = 0;
    expect(await cli('keys', 'create', 'cli-team', '--name', 'ci', '--expires-in-days', '30', '--rpm', '10')).toBe(0);
    const { key, key_info } = json();
    expect(key_info).toMatchObject({ team: 'cli-team', name: 'ci', requests_per_minute: 10 });
    const models = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(models.status).toBe(200);

    io.out.length = 0;
    expect(await cli('teams', 'update', 'cli-team', '--no-budget', '--tpm', '5000')).toBe(0);
    expect(json().team).toMatchObject({ monthly_budget_usd: null, tokens_per_minute: 5000 });

    io.out.length = 0;
    expect(await cli('keys', 'rotate', key_info.id, '--grace-seconds', '0')).toBe(0);
    const rotated = json().key as string;
    expect((await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${rotated}` } })).status).toBe(
      200,
    );

    io.out.length = 0;
    expect(await cli('keys', 'list', 'cli-team')).toBe(0);
    expect(json().data).toHaveLength(1);
    expect(io.out.join('')).not.toContain(rotated);

    expect(await cli('keys', 'revoke', key_info.id)).toBe(0);
    expect(await cli('teams', 'disable', 'cli-team')).toBe(0);

    io.out.length = 0;
    expect(await cli('usage', 'cli-team', '--days', '7')).toBe(0);
    expect(json()).toMatchObject({ team: 'cli-team', object: 'usage_report' });

    io.out.length = 0;
    expect(await cli('changes', '--limit', '10')).toBe(0);
    expect(json().data.map((c: { action: string }) => c.action)).toEqual(
      expect.arrayContaining(['team.create', 'key.create', 'team.update', 'key.rotate', 'key.revoke']),
    );
    expect(json().data[0]).toEqual({
      id: expect.any(String),
      at: expect.any(String),
      actor: expect.any(String),
      action: 'team.update',
      team: 'cli-team',
      key_id: null,
      before: expect.objectContaining({ status: 'active' }),
      after: expect.objectContaining({ status: 'disabled' }),
    });
  });

  it('finds the npm start running in its folder on a non-default port, and nothing else', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'cli-local-'));
    try {
      expect(new URL(gateway.url).port).not.toBe('8080');
      io.cwd = root;
      recordLocalGateway(root, gateway, process.pid);
      expect(await runCli(['teams', 'list'], io)).toBe(0);
      expect(json()).toMatchObject({ object: 'list', data: expect.any(Array) });

      io.out.length = 0;
      const byName = gateway.url.replace('127.0.0.1', 'localhost');
      expect(await runCli(['--url', byName, 'teams', 'list'], io)).toBe(0);
      expect(json()).toMatchObject({ object: 'list' });

      expect(await runCli(['--url', 'http://127.0.0.1:9', 'teams', 'list'], io)).toBe(1);
      expect(io.err.join('')).toBe(
        `error: no admin token for the local gateway at http://127.0.0.1:9: the \`npm start\` running here listens on ${gateway.url}. ` +
          'Pass --admin-token (or set GATEWAY_ADMIN_TOKEN) with the token that gateway printed\n',
      );

      io.err.length = 0;
      const exited = spawnSync(process.execPath, ['-e', '']).pid;
      recordLocalGateway(root, gateway, exited);
      expect(await runCli(['teams', 'list'], io)).toBe(1);
      expect(io.err.join('')).toContain(
        `no API URL: the \`npm start\` recorded in .local/gateway.json (pid ${exited}, ${gateway.url}) is not running. Run \`npm start\` here, or pass --url`,
      );

      io.err.length = 0;
      forgetLocalGateway(root, exited);
      expect(await runCli(['teams', 'list'], io)).toBe(1);
      expect(io.err.join('')).toContain(`no API URL: no \`npm start\` is running in ${root}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('says which AWS setting is missing for a deployed URL it cannot sign for', async () => {
    expect(await runCli(['--url', 'https://gateway.example.com/', 'teams', 'list'], io)).toBe(1);
    expect(io.err.join('')).toBe(
      'error: cannot tell the AWS region to sign requests to gateway.example.com (not an execute-api URL): pass --region (or set AWS_REGION)\n',
    );
  });

  it('prints the chargeback and saves the same CSV the API serves', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chargeback-'));
    try {
      expect(await cli('teams', 'create', '--id', 'billed', '--name', 'Billed', '--cost-center', 'cc-42')).toBe(0);
      io.out.length = 0;
      expect(await cli('keys', 'create', 'billed', '--name', 'k')).toBe(0);
      const key = json().key as string;
      const answer = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-large', messages: [{ role: 'user', content: 'bill me' }] }),
      });
      expect(answer.status).toBe(200);
      const month = new Date().toISOString().slice(0, 7);
      io.out.length = 0;
      io.cwd = dir;
      expect(await cli('chargeback', '--month', month, '--out', 'report.csv')).toBe(0);
      const printed = io.out.join('');
      expect(printed).toMatch(new RegExp(`Chargeback ${month}`));
      expect(printed).toMatch(/cc-42\s+billed\s+mock-large\s+1\s+\d+\.\d{6}/);
      expect(printed).toContain('saved report.csv');
      const saved = readFileSync(path.join(dir, 'report.csv'), 'utf8');
      const served = await adminFetch(gateway, 'GET', `/v1/admin/chargeback?format=csv&month=${month}`).then((r) =>
        r.text(),
      );
      expect(saved).toBe(served);
      expect(saved).toContain(`${month},line,cc-42,billed,Billed,mock-large,1,0,`);

      // By end user: the team's requests naming a user, then those naming none.
      const asUser = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-large', user: 'dana', messages: [{ role: 'user', content: 'bill dana' }] }),
      });
      expect(asUser.status).toBe(200);
      io.out.length = 0;
      expect(await cli('chargeback', '--month', month, '--by-user', '--out', 'users.csv')).toBe(0);
      const byUser = io.out.join('');
      expect(byUser).toMatch(/cc-42\s+billed\s+dana\s+1\s+\d+\.\d{6}/);
      expect(byUser).toMatch(/cc-42\s+billed\s+\(no user\)\s+1\s+\d+\.\d{6}/);
      const usersCsv = readFileSync(path.join(dir, 'users.csv'), 'utf8');
      const servedByUser = await adminFetch(
        gateway,
        'GET',
        `/v1/admin/chargeback?format=csv&month=${month}&group_by=user`,
      ).then((r) => r.text());
      expect(usersCsv).toBe(servedByUser);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exports the audit trail page by page into a file equal to the pages the API serves', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'export-'));
    try {
      expect(await cli('teams', 'create', '--id', 'exported', '--name', 'Exported')).toBe(0);
      io.out.length = 0;
      expect(await cli('keys', 'create', 'exported', '--name', 'k')).toBe(0);
      const key = json().key as string;
      for (let i = 0; i < 4; i++) {
        const answer = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: `audit me ${i}` }] }),
        });
        expect(answer.status).toBe(200);
      }
      const today = new Date().toISOString().slice(0, 10);
      /** The export's pages as the API serves them, each body as it came. */
      const served = async (query: string) => {
        const bodies: string[] = [];
        let cursor: string | null = null;
        do {
          const response = await adminFetch(
            gateway,
            'GET',
            `/v1/admin/export?${query}${cursor ? `&cursor=${cursor}` : ''}`,
          );
          expect(response.status).toBe(200);
          bodies.push(await response.text());
          cursor = response.headers.get('x-gateway-next-cursor');
        } while (cursor);
        return bodies;
      };

      io.out.length = 0;
      io.cwd = dir;
      const args = ['export', '--from', today, '--to', today, '--team', 'exported', '--page-size', '2'];
      expect(await cli(...args, '--format', 'csv', '--out', 'audit.csv')).toBe(0);
      const pages = await served(`from=${today}&to=${today}&team=exported&limit=2&format=csv`);
      expect(pages.length).toBeGreaterThanOrEqual(3); // a team.create and a key.create, then four requests
      const saved = readFileSync(path.join(dir, 'audit.csv'), 'utf8');
      expect(saved).toBe(pages.join(''));
      expect(saved.split('\r\n').filter((line) => line.startsWith('request,'))).toHaveLength(4);
      expect(io.out.join('')).toBe(`exported 6 records in ${pages.length} pages to audit.csv\n`);

      // To standard output, JSON Lines: the same pages, nothing else.
      io.out.length = 0;
      expect(await cli(...args)).toBe(0);
      expect(io.out.join('')).toBe((await served(`from=${today}&to=${today}&team=exported&limit=2`)).join(''));

      // A refused export leaves no file behind.
      io.err.length = 0;
      expect(await cli('export', '--from', today, '--to', today, '--team', 'nobody', '--out', 'none.csv')).toBe(1);
      expect(io.err.join('')).toBe("error: No team with id 'nobody'. (HTTP 404, not_found)\n");
      expect(readdirSync(dir).sort()).toEqual(['audit.csv']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains failures in one line and exits 1', async () => {
    expect(await cli('teams', 'get', 'no-such-team')).toBe(1);
    expect(io.err.join('')).toBe("error: No team with id 'no-such-team'. (HTTP 404, not_found)\n");

    io.err.length = 0;
    expect(await cli('teams', 'create', '--id', 'Bad Id!', '--name', 'x')).toBe(1);
    expect(io.err.join('')).toMatch(/^error: Invalid 'id': .* \(HTTP 400, invalid_request\)\n$/);

    io.err.length = 0;
    expect(await runCli(['--url', gateway.url, '--admin-token', 'wrong', 'teams', 'list'], io)).toBe(1);
    expect(io.err.join('')).toContain('HTTP 403, admin_only');

    io.err.length = 0;
    expect(await cli('keys', 'create', 'x', '--rpm', 'lots')).not.toBe(0);
    expect(io.err.join('')).toContain("option '--rpm <n>' argument 'lots' is invalid");

    io.err.length = 0;
    expect(await runCli(['teams', 'list'], io)).toBe(1);
    expect(io.err.join('')).toContain('no API URL');

    io.err.length = 0;
    expect(await runCli(['--url', 'http://127.0.0.1:9', '--admin-token', 't', 'teams', 'list'], io)).toBe(1);
    expect(io.err.join('')).toContain('cannot reach http://127.0.0.1:9');
  });
});
