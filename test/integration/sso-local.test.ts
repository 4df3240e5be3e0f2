import OpenAI from 'openai';
import { runCli, type CliIo } from '../../bin/gateway-admin';
import type { LocalGateway } from '../../local/local-gateway';
import { testConfig } from '../helpers/config';
import { adminFetch } from '../helpers/local-admin';
import { startOidcIssuer, type OidcIssuer } from '../fakes/oidc-issuer';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * Single sign-on through the local runtime over HTTP, as users meet it: the official OpenAI client
 * with a sign-in token as its API key on both doors, the admin routes with a token beside the
 * local admin token, and the admin CLI's `--token`.
 */
describe('single sign-on through the local gateway', () => {
  let idp: OidcIssuer;
  let gateway: LocalGateway;
  const token = (email: string, groups: string[]) => idp.token({ subject: `sub-${email}`, claims: { email, groups } });

  beforeAll(async () => {
    idp = await startOidcIssuer();
    gateway = await startTestLocalGateway('sso-local', {
      config: {
        ...testConfig,
        sso: {
          issuer: idp.url,
          audience: [idp.clientId],
          userClaim: 'email',
          grants: [
            { group: 'lima-admins', role: 'team_admin', team: 'sso-lima' },
            { group: 'lima-devs', role: 'member', team: 'sso-lima' },
          ],
        },
      },
    });
    for (const id of ['sso-lima', 'sso-mike']) {
      expect((await adminFetch(gateway, 'POST', '/v1/admin/teams', { id, name: id })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await gateway.stop();
    await idp.close();
  });

  it('serves a member through the official OpenAI client, buffered and streamed, billed to their team', async () => {
    const apiKey = await token('dev@x.test', ['lima-devs']);
    for (const baseURL of [`${gateway.url}/v1`, `${gateway.streamUrl}/v1`]) {
      const client = new OpenAI({ apiKey, baseURL, maxRetries: 0 });
      const { data, response } = await client.chat.completions
        .create({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      expect(data.choices[0]!.message.content).toContain('mock');
      expect(response.headers.get('x-gateway-team')).toBe('sso-lima');
      const stream = await client.chat.completions.create({
        model: 'mock-small',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toContain('mock');
    }
    const refused = new OpenAI({
      apiKey: await token('dev@x.test', ['nothing']),
      baseURL: `${gateway.url}/v1`,
      maxRetries: 0,
    });
    await expect(
      refused.chat.completions.create({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 403, code: 'role_not_allowed' });
  });

  it('lets a token reach the admin routes beside the local admin token, and the roles decide', async () => {
    const admin = await token('ada@x.test', ['lima-admins']);
    const get = (path: string, bearer: string) =>
      fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    const listed = await get('/v1/admin/teams', admin);
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { data: { id: string }[] }).data.map((team) => team.id)).toEqual(['sso-lima']);
    expect((await get('/v1/admin/teams/sso-mike/keys', admin)).status).toBe(404);
    // Neither a key nor garbage passes for the admin token.
    expect((await get('/v1/admin/teams', 'not-a-token')).status).toBe(403);
    expect((await get('/v1/admin/teams', gateway.demoKey)).status).toBe(403);
  });

  it('runs the admin CLI with --token', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env: {}, cwd: '/nonexistent' };
    const admin = await token('ada@x.test', ['lima-admins']);
    expect(await runCli(['--url', gateway.url, '--token', admin, 'teams', 'list'], io)).toBe(0);
    expect((JSON.parse(out.join('')) as { data: { id: string }[] }).data.map((team) => team.id)).toEqual(['sso-lima']);
    expect(
      await runCli(['--url', gateway.url, '--token', admin, 'keys', 'create', 'sso-lima', '--name', 'ci'], io),
    ).toBe(0);
    expect(
      await runCli(['--url', gateway.url, '--token', admin, 'teams', 'create', '--id', 'sso-x', '--name', 'x'], io),
    ).not.toBe(0);
    expect(err.join('')).toMatch(/403|roles do not allow/);
  });
});
