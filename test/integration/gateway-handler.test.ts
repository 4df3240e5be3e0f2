import { createTestGateway, type TestGateway } from '../helpers/test-gateway';
import { ledgerEntries } from '../helpers/usage-store';

const chat = (model = 'mock-small', content = 'Hello gateway') => ({ model, messages: [{ role: 'user', content }] });

/** OpenAI's error shape: exactly message, type, param (string or null) and code. */
function expectOpenAiError(body: { error: Record<string, unknown> }, code: string) {
  expect(Object.keys(body).sort()).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error).toMatchObject({ message: expect.any(String), type: expect.any(String), code });
  expect(body.error.param === null || typeof body.error.param === 'string').toBe(true);
}

describe('gateway Lambda against DynamoDB Local', () => {
  let gw: TestGateway;
  let teamId: string;
  let key: string;

  beforeAll(async () => {
    gw = await createTestGateway();
    teamId = (await gw.createTeam({ allowed_models: ['mock-*'] })).teamId;
    key = (await gw.issueKey(teamId)).plaintext;
  });
  afterAll(() => gw.destroy());

  async function ledgerCount(team: string): Promise<number> {
    const day = new Date().toISOString().slice(0, 10);
    return (await ledgerEntries(gw.store.db, gw.store.tables.usage, team, day)).length;
  }

  it('answers health without a key', async () => {
    const res = await gw.call('GET', '/health');
    expect(res).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('serves a completion in OpenAI shape, prices it, and records it before responding', async () => {
    const team = (await gw.createTeam()).teamId;
    const teamKey = (await gw.issueKey(team)).plaintext;
    const res = await gw.call('POST', '/v1/chat/completions', { key: teamKey, body: chat('mock-large', 'price me') });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      object: 'chat.completion',
      model: 'mock-large',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: expect.stringContaining('price me') },
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
      gateway: { team, provider: 'mock', upstream_model: 'mock-large' },
    });
    expect(res.body.id).toMatch(/^chatcmpl-/);
    // $2/MTok in, $8/MTok out, exactly: µ$ per million tokens is p$ per token.
    const { prompt_tokens: input, completion_tokens: output } = res.body.usage;
    expect(res.body.gateway.cost_picos).toBe(String(input * 2_000_000 + output * 8_000_000));
    expect(res.headers['x-gateway-cost-usd']).toBe(res.body.gateway.cost_usd);
    expect(res.headers['x-request-id']).toBe(res.body.gateway.request_id);
    expect(res.headers['x-ratelimit-limit-requests']).toBe('1000');
    expect(res.headers['x-ratelimit-remaining-requests']).toBe('999');
    expect(await ledgerCount(team)).toBe(1);
  });

  it('accepts the key in x-api-key and serves POST /v1/chat with the same body', async () => {
    const res = await gw.call('POST', '/v1/chat', { headers: { 'x-api-key': key }, body: chat() });
    expect(res.status).toBe(200);
    expect(res.body.object).toBe('chat.completion');
  });

  it('lists only the models the key may use, with prices', async () => {
    const res = await gw.call('GET', '/v1/models', { key });
    expect(res.status).toBe(200);
    expect(res.body.object).toBe('list');
    expect(res.body.data.map((m: { id: string }) => m.id)).toEqual([
      'mock-small',
      'mock-large',
      'mock-slow',
      'mock-down',
      'mock-pricey',
    ]);
    expect(res.body.data[1]).toMatchObject({
      id: 'mock-large',
      object: 'model',
      owned_by: 'mock',
      gateway: { prices_usd_per_million_tokens: { input: '2.000000', output: '8.000000', cache_read: '0.500000' } },
    });
  });

  describe('refuses bad input with a 4xx in OpenAI shape and writes no usage', () => {
    let team: string;
    let teamKey: string;
    beforeAll(async () => {
      team = (await gw.createTeam({ allowed_models: ['mock-small'] })).teamId;
      teamKey = (await gw.issueKey(team)).plaintext;
    });

    it('a body that is not JSON', async () => {
      const res = await gw.call('POST', '/v1/chat/completions', { key: teamKey, rawBody: '{"model": "mock-small",' });
      expect(res.status).toBe(400);
      expectOpenAiError(res.body, 'invalid_json');
    });

    it('an empty body', async () => {
      const res = await gw.call('POST', '/v1/chat/completions', { key: teamKey, rawBody: '' });
      expect(res.status).toBe(400);
      expectOpenAiError(res.body, 'invalid_json');
    });

    it('a JSON array', async () => {
      const res = await gw.call('POST', '/v1/chat/completions', { key: teamKey, rawBody: '[]' });
      expect(res.status).toBe(400);
    });

    it('missing messages', async () => {
      const res = await gw.call('POST', '/v1/chat/completions', { key: teamKey, body: { model: 'mock-small' } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        type: 'invalid_request_error',
        param: 'messages',
        code: 'invalid_request',
      });
    });

    it('an unsupported parameter', async () => {
      const res = await gw.call('POST', '/v1/chat/completions', { key: teamKey, body: { ...chat(), logprobs: true } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ param: 'logprobs', code: 'unsupported_parameter' });
    });

    it('a model the team may not use', async () => {
      const res = await gw.call('POST', '/v1/chat/completions', { key: teamKey, body: chat('mock-large') });
      expect(res.status).toBe(403);
      expect(res.body.error).toMatchObject({ type: 'permission_error', param: 'model', code: 'model_not_allowed' });
    });

    it('a model that does not exist', async () => {
      const res = await gw.call('POST', '/v1/chat/completions', { key: teamKey, body: chat('gpt-9') });
      expect(res.status).toBe(404);
      expectOpenAiError(res.body, 'model_not_found');
    });

    it('more output tokens than the model allows', async () => {
      const res = await gw.call('POST', '/v1/chat/completions', {
        key: teamKey,
        body: { ...chat(), max_tokens: 100_000 },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.param).toBe('max_tokens');
    });

    it('an unknown key, a malformed key and no key, without echoing the key', async () => {
      const forged = teamKey.slice(0, 20) + 'A'.repeat(teamKey.length - 20);
      for (const presented of [forged, 'sk-proj-123', undefined]) {
        const res = await gw.call('POST', '/v1/chat/completions', {
          ...(presented ? { key: presented } : {}),
          body: chat(),
        });
        expect(res.status).toBe(401);
        expectOpenAiError(res.body, 'invalid_api_key');
        if (presented) expect(JSON.stringify(res.body)).not.toContain(presented.slice(4, 16));
      }
    });

    it('the stored hash presented as a key', async () => {
      const record = await gw.admin.issueKey(team, {}, 'test');
      const res = await gw.call('POST', '/v1/chat/completions', { key: record.record.hash, body: chat() });
      expect(res.status).toBe(401);
    });

    // Last in this group (Jest runs a file's tests in order): none of the refusals above wrote usage.
    it('wrote no usage for any of them', async () => {
      expect(await ledgerCount(team)).toBe(0);
    });
  });

  it('maps a failing provider to a 5xx and records the failed request', async () => {
    const team = (await gw.createTeam()).teamId;
    const teamKey = (await gw.issueKey(team)).plaintext;
    const res = await gw.call('POST', '/v1/chat/completions', { key: teamKey, body: chat('mock-down') });
    expect(res.status).toBe(503);
    expect(res.body.error).toMatchObject({ type: 'server_error', code: 'upstream_unavailable' });
    expect(await ledgerCount(team)).toBe(1);
    const usage = await gw.call('GET', '/v1/usage', { key: teamKey });
    expect(usage.body.totals).toMatchObject({ requests: 1, errors: 1, cost_picos: '0' });
  });

  it('answers 429 with retry-after once the key spends its per-minute requests', async () => {
    const team = (await gw.createTeam()).teamId;
    const limited = (await gw.issueKey(team, { requests_per_minute: 3 })).plaintext;
    // One fixed instant: four requests must land in the same minute window, even when the test
    // happens to run across a minute boundary.
    const at = Math.floor(Date.now() / 60_000) * 60_000 + 1_000;
    const pinned = await gw.instance({ now: () => at });
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 4; i++) {
      last = await pinned.call('POST', '/v1/chat/completions', { key: limited, body: chat() });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last!.body.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    expect(Number(last!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(last!.headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(last!.headers['x-ratelimit-limit-requests']).toBe('3');
    expect(await ledgerCount(team)).toBe(3);
  });

  it('admits exactly 5 of 20 concurrent requests against a limit of 5', async () => {
    const team = (await gw.createTeam()).teamId;
    const limited = (await gw.issueKey(team, { requests_per_minute: 5 })).plaintext;
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => gw.call('POST', '/v1/chat/completions', { key: limited, body: chat() })),
    );
    const count = (status: number) => responses.filter((r) => r.status === status).length;
    expect({ ok: count(200), limited: count(429) }).toEqual({ ok: 5, limited: 15 });
    expect(await ledgerCount(team)).toBe(5);
  });
});
