import OpenAI from 'openai';
import type { LocalGateway } from '../../local/local-gateway';
import { testConfig } from '../helpers/config';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * The official `openai` npm client against the local runtime over real HTTP: the same handlers,
 * events and tables as `npm start`.
 */
describe('official OpenAI client against the local gateway', () => {
  let gateway: LocalGateway;
  let client: OpenAI;

  beforeAll(async () => {
    gateway = await startTestLocalGateway('openai', {
      config: testConfig,
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.demoKey, maxRetries: 0 });
  });
  afterAll(() => gateway.stop());

  it('lists models', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(['mock-small', 'mock-large']));
  });

  it('creates a chat completion', async () => {
    const completion = await client.chat.completions.create({
      model: 'mock-small',
      messages: [
        { role: 'system', content: 'You are a test.' },
        { role: 'user', content: 'Hello from the OpenAI SDK' },
      ],
      max_tokens: 200,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]!.message.content).toContain('Hello from the OpenAI SDK');
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
  });

  it('exposes the gateway headers through withResponse()', async () => {
    const { response, request_id } = await client.chat.completions
      .create({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(response.headers.get('x-gateway-team')).toBe(gateway.demoTeamId);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('1000');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(request_id).toBe(response.headers.get('x-request-id'));
  });

  it('raises AuthenticationError for a wrong key', async () => {
    const wrong = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'gwk_aaaaaaaaaaaa_nope', maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(
      wrong.chat.completions.create({ model: 'mock-small', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
  });

  it('raises BadRequestError for a malformed body', async () => {
    const error = await client.chat.completions.create({ model: 'mock-small', messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param: 'messages' });
  });

  it('raises NotFoundError for an unknown model and InternalServerError for a failed upstream', async () => {
    await expect(
      client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      client.chat.completions.create({ model: 'mock-down', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
  });

  it('serves the admin API only with the admin credential', async () => {
    const headers = { 'content-type': 'application/json' };
    const body = JSON.stringify({ id: 'sdk-team', name: 'SDK team' });
    const asTeam = await fetch(`${gateway.url}/v1/admin/teams`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${gateway.demoKey}` },
      body,
    });
    expect(asTeam.status).toBe(403);
    const asAdmin = await fetch(`${gateway.url}/v1/admin/teams`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${gateway.adminToken}` },
      body,
    });
    expect(asAdmin.status).toBe(201);
  });

  it('answers unknown routes with an OpenAI-shaped 404', async () => {
    const res = await fetch(`${gateway.url}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.demoKey}` },
    });
    expect(res.status).toBe(404);
    expect((await res.json()) as unknown).toMatchObject({ error: { code: 'not_found' } });
  });
});
