import { MESSAGE_OVERHEAD_BOUND, REQUEST_OVERHEAD_BOUND } from '../../lambdas/shared/chat/token-estimate';
import { staticSecrets } from '../../lambdas/shared/providers/secrets';
import { UsageReader } from '../../lambdas/shared/usage/reader';
import { FakeOpenAi, type FakeOpenAiRequest } from '../fakes/openai-server';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';

/**
 * Budgets hold against the worst tokenizer: an upstream that bills every prompt at the top of
 * the gateway's bound (one token per UTF-8 byte, plus the stated per-message and per-request
 * maximums) and every answer at its full output cap, hit concurrently through several gateway
 * instances sharing DynamoDB Local, never takes a team past its budget; and a team with no
 * budget left gets nothing, however cheap the request.
 */

/** What the fake bills for a request: the top of the gateway's prompt bound. */
function worstPromptTokens(request: FakeOpenAiRequest): number {
  const messages = request.body['messages'] as { content: string }[];
  return (
    REQUEST_OVERHEAD_BOUND +
    messages.reduce((tokens, message) => tokens + MESSAGE_OVERHEAD_BOUND + Buffer.byteLength(message.content), 0)
  );
}

describe('budgets and token limits are true bounds', () => {
  const upstream = new FakeOpenAi((request) => ({
    kind: 'completion',
    text: 'ok',
    usage: {
      prompt_tokens: worstPromptTokens(request),
      completion_tokens: Number(request.body['max_completion_tokens'] ?? request.body['max_tokens']),
    },
  }));
  let gateways: TestGateway[];

  beforeAll(async () => {
    const url = await upstream.start();
    const first = await createTestGateway({
      config: {
        providers: { openai: { adapter: 'openai', baseUrl: `${url}/v1`, apiKeySecret: 'test/openai' } },
        models: [
          // 2 µ$ per prompt token, 4 per output token: a few requests spend a $0.01 budget.
          { id: 'dear', provider: 'openai', upstreamModel: 'dear', prices: { input: 2, output: 4 } },
          // 1 µ$ per million tokens (1 p$ per token): a short request costs a fraction of a micro-dollar.
          { id: 'cheap', provider: 'openai', upstreamModel: 'cheap', prices: { input: 0.000001, output: 0.000001 } },
        ],
        teamDefaults: {
          requestsPerMinute: 10_000,
          tokensPerMinute: 100_000_000,
          softAlertPercent: 80,
          allowedModels: ['*'],
        },
      },
      secrets: staticSecrets({ 'test/openai': 'sk-test' }),
    });
    gateways = [first, await first.instance(), await first.instance()];
  });
  afterAll(async () => {
    for (const gw of gateways) gw.destroy();
    await upstream.stop();
  });

  const ask = (gw: TestGateway, key: string, model: string) =>
    gw.call('POST', '/v1/chat/completions', {
      key,
      // Emoji: four UTF-8 bytes each, billed here as four tokens each (an estimate of bytes / 3 would undercount).
      body: { model, max_tokens: 100, messages: [{ role: 'user', content: '🙂'.repeat(100) }] },
    });

  it('never lets concurrent worst-case requests through three instances spend past the budget', async () => {
    const gw = gateways[0]!;
    const team = await gw.createTeam({ monthly_budget_usd: 0.01 });
    const { plaintext } = await gw.issueKey(team.teamId);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(gateways[i % 3]!, plaintext, 'dear')));
    const served = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(served.length + refused.length).toBe(20);
    expect(served.length).toBeGreaterThan(0);
    expect(refused.every((answer) => answer.body.error.code === 'insufficient_quota')).toBe(true);
    const month = await new UsageReader(gw.store.db, gw.store.tables.usage).monthSpend(
      team.teamId,
      new Date().toISOString().slice(0, 7),
    );
    // Every served answer was billed at the top of the bound, and the total stays within $0.01.
    expect(month.spentPicos).toBeLessThanOrEqual(10_000_000_000n);
    expect(month.spentPicos).toBe(served.reduce((total, answer) => total + BigInt(answer.body.gateway.cost_picos), 0n));
    expect(month.committedPicos).toBe(month.spentPicos);
  });

  it('never lets the tokens a window actually serves exceed its token limit, with uncapped answers, concurrently', async () => {
    const gw = gateways[0]!;
    // Pinned 20 s into the current minute: every request of the burst falls in one window. The
    // real minute, not a fixed date: DynamoDB Local's TTL runs on the real clock, and would delete
    // the window and lease items of a date long past while the burst counts in them.
    const now = Math.floor(Date.now() / 60_000) * 60_000 + 20_000;
    const clocked = await Promise.all(gateways.map((g) => g.instance({ now: () => now })));
    const team = await gw.createTeam({ tokens_per_minute: 20_000 });
    const { plaintext } = await gw.issueKey(team.teamId);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        clocked[i % 3]!.call('POST', '/v1/chat/completions', {
          key: plaintext,
          // No max_tokens: the cap is the model's (4,096), and the upstream bills all of it.
          body: { model: 'dear', messages: [{ role: 'user', content: '🙂'.repeat(100 + i) }] },
        }),
      ),
    );
    const served = answers.filter((answer) => answer.status === 200);
    expect(served.length).toBeGreaterThan(0);
    expect(answers.filter((answer) => answer.status === 429).length).toBe(30 - served.length);
    const used = served.reduce(
      (total, answer) => total + Number(answer.body.usage.prompt_tokens) + Number(answer.body.usage.completion_tokens),
      0,
    );
    expect(used).toBeLessThanOrEqual(20_000);
  });

  it('bills a request that costs a fraction of a micro-dollar exactly, not as $0', async () => {
    const gw = gateways[0]!;
    const team = await gw.createTeam({ monthly_budget_usd: 1 });
    const { plaintext } = await gw.issueKey(team.teamId);
    const answers = [await ask(gw, plaintext, 'cheap'), await ask(gw, plaintext, 'cheap')];
    const costs = answers.map((answer) => BigInt(answer.body.gateway.cost_picos));
    for (const [i, answer] of answers.entries()) {
      const { prompt_tokens: prompt, completion_tokens: completion } = answer.body.usage;
      expect(costs[i]).toBe(BigInt(prompt + completion)); // 1 p$ per token, well under 1 µ$
      expect(answer.body.gateway.cost_usd).toMatch(/^0\.000000\d{3,6}$/);
    }
    const usage = await gw.call('GET', '/v1/usage', { key: plaintext });
    expect(usage.body.totals.cost_picos).toBe(String(costs[0]! + costs[1]!));
    expect(usage.body.budget.spent_picos).toBe(String(costs[0]! + costs[1]!));
  });

  it('gives a team with no budget left nothing, even a request that costs a fraction of a micro-dollar', async () => {
    const gw = gateways[0]!;
    const team = await gw.createTeam({ monthly_budget_usd: 0 });
    const { plaintext } = await gw.issueKey(team.teamId);
    const calls = upstream.requests.length;
    const refused = await ask(gw, plaintext, 'cheap');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('insufficient_quota');
    expect(upstream.requests.length).toBe(calls);
  });
});
