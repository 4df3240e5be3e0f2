import { staticSecrets } from '../../lambdas/shared/providers/secrets';
import { FakeOpenAi, echoResponder, lastUserText, type FakeOpenAiRequest } from '../fakes/openai-server';
import { GENEROUS_TEAM_DEFAULTS } from '../helpers/config';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';

/**
 * One team cannot take a model away from the others: requests the upstream rejects because of
 * what the client sent never count toward a circuit breaker, and provider-side failures caused by
 * one team's requests alone open only that team's circuit.
 */
describe('circuit breakers across teams', () => {
  const upstream = new FakeOpenAi((request: FakeOpenAiRequest) => {
    const said = lastUserText(request);
    if (said.startsWith('REJECT')) {
      return { kind: 'error', status: 400, type: 'invalid_request_error', message: 'schema too large' };
    }
    if (said.startsWith('CRASH')) return { kind: 'error', status: 500, type: 'server_error', message: 'boom' };
    return echoResponder(request);
  });
  let gw: TestGateway;
  let keyA: string;
  let keyB: string;

  beforeAll(async () => {
    const url = await upstream.start();
    gw = await createTestGateway({
      config: {
        providers: { openai: { adapter: 'openai', baseUrl: `${url}/v1`, apiKeySecret: 'test/openai' } },
        models: [{ id: 'gpt', provider: 'openai', upstreamModel: 'gpt-4o-mini', prices: { input: 0.15, output: 0.6 } }],
        teamDefaults: GENEROUS_TEAM_DEFAULTS,
      },
      secrets: staticSecrets({ 'test/openai': 'sk-test' }),
    });
    keyA = (await gw.issueKey((await gw.createTeam({ id: 'breaker-a' })).teamId)).plaintext;
    keyB = (await gw.issueKey((await gw.createTeam({ id: 'breaker-b' })).teamId)).plaintext;
  });
  afterAll(async () => {
    gw.destroy();
    await upstream.stop();
  });

  const chat = (key: string, content: string) =>
    gw.call('POST', '/v1/chat/completions', { key, body: { model: 'gpt', messages: [{ role: 'user', content }] } });

  it("keeps serving team B while team A's requests are rejected by the upstream", async () => {
    for (let i = 0; i < 12; i++) {
      const rejected = await chat(keyA, `REJECT ${i}`);
      expect(rejected.status).toBe(400);
      expect(rejected.body.error.code).toBe('upstream_invalid_request');
    }
    const served = await chat(keyB, 'hello from B');
    expect(served.status).toBe(200);
    expect(served.headers['x-gateway-attempts']).toBe('1');
    // Team A's own valid requests are still served too: a rejection says nothing of the provider.
    expect((await chat(keyA, 'a valid question')).status).toBe(200);
  });

  it("keeps serving team B while team A's requests make the upstream fail", async () => {
    // Two attempts per request, five failures open the circuit: the third request opens it.
    for (let i = 0; i < 3; i++) expect((await chat(keyA, `CRASH ${i}`)).status).toBe(502);
    // Team A's circuit is open: its next request is refused without calling the upstream.
    const calls = upstream.requests.length;
    const refused = await chat(keyA, 'CRASH again');
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('upstream_unavailable');
    expect(upstream.requests.length).toBe(calls);
    const served = await chat(keyB, 'hello again from B');
    expect(served.status).toBe(200);
    expect(served.body.choices[0].message.content).toBe('Echo: hello again from B');
  });
});
