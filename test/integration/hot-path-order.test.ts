import type { GuardrailChecker } from '../../lambdas/shared/policy/guardrail';
import { testConfig } from '../helpers/config';
import { leaseHoldings } from '../helpers/money';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';

/**
 * The order of the hot path: the free, local policy checks run before admission (a request they
 * block counts against no limit), and the billed Bedrock guardrail after it (a request refused by
 * a rate limit or a budget never costs a guardrail call; one the guardrail blocks gives its
 * admission back).
 */
describe('hot path order: local policy, admission, then the billed guardrail', () => {
  let gw: TestGateway;
  const checks: string[] = [];
  const guardrails: GuardrailChecker = {
    async check(_guardrail, source, text) {
      checks.push(`${source}:${text}`);
      return text.includes('forbidden topic') ? { action: 'block' } : { action: 'none' };
    },
  };

  // The rate-limit cases count within one minute: the clock starts a second into a minute once
  // the gateway is up, and the cases take far less than 59 s, so none can straddle a window boundary.
  // The real minute, not a fixed date: DynamoDB Local's TTL runs on the real clock and would
  // delete the window items of a date long past while the cases count in them.
  let startedAt = Date.now();
  const minute = Math.floor(startedAt / 60_000) * 60_000;
  const now = () => minute + 1_000 + (Date.now() - startedAt);

  beforeAll(async () => {
    gw = await createTestGateway({
      now,
      config: {
        ...testConfig,
        policies: {
          profiles: {
            default: {
              denyRules: [{ id: 'codenames', message: 'No code names.', keywords: ['project kestrel'] }],
              guardrail: { id: 'gr-test', version: '1', direction: 'input' },
            },
          },
        },
      },
      guardrails,
    });
    startedAt = Date.now();
  });
  afterAll(() => gw.destroy());

  const chat = (key: string, content: string) =>
    gw.call('POST', '/v1/chat/completions', {
      key,
      body: { model: 'mock-small', max_tokens: 20, messages: [{ role: 'user', content }] },
    });

  it('checks the key before it parses the body: no key, or a malformed one, is a 401 whatever the body', async () => {
    const garbage = '{"model": "mock-small", "messages": [' + '['.repeat(10_000);
    for (const headers of [{}, { authorization: 'Bearer gwk_notakey' }] as Record<string, string>[]) {
      const refused = await gw.call('POST', '/v1/chat/completions', { rawBody: garbage, headers });
      expect(refused.status).toBe(401);
      expect(refused.body.error.type).toBe('invalid_request_error');
    }
  });

  it('never calls the guardrail for a request a rate limit refuses', async () => {
    const team = await gw.createTeam({ requests_per_minute: 1 });
    const { plaintext } = await gw.issueKey(team.teamId);
    checks.length = 0;
    expect((await chat(plaintext, 'first question')).status).toBe(200);
    const refused = await chat(plaintext, 'second question');
    expect(refused.status).toBe(429);
    expect(checks).toEqual(['INPUT:first question']);
  });

  it('never calls the guardrail for a request an exhausted budget refuses', async () => {
    const team = await gw.createTeam({ monthly_budget_usd: 0 });
    const { plaintext } = await gw.issueKey(team.teamId);
    checks.length = 0;
    const refused = await chat(plaintext, 'a question');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('insufficient_quota');
    expect(checks).toEqual([]);
  });

  it('gives the admission back when the guardrail blocks: the window and the budget are as before', async () => {
    const team = await gw.createTeam({ requests_per_minute: 2, monthly_budget_usd: 1 });
    const { plaintext } = await gw.issueKey(team.teamId);
    const blocked = await chat(plaintext, 'tell me about the forbidden topic');
    expect(blocked.status).toBe(400);
    expect(blocked.body.error.code).toBe('content_policy_violation');
    // Both requests of the limit are still there, and nothing is reserved beyond what the
    // instance's budget lease holds for its next requests.
    const first = await chat(plaintext, 'allowed one');
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-remaining-requests']).toBe('1');
    expect((await chat(plaintext, 'allowed two')).status).toBe(200);
    const usage = await gw.call('GET', '/v1/usage?days=1', { key: plaintext });
    expect(usage.body.totals.requests).toBe(2);
    const held = await leaseHoldings(gw.store.db, gw.store.tables.counters, team.teamId);
    expect(usage.body.budget.reserved_picos).toBe(String(held));
    // The blocked request's reservation went back: the budget holds the two answers' cost and the lease, no more.
    expect(BigInt(usage.body.budget.remaining_picos)).toBe(10n ** 12n - BigInt(usage.body.budget.spent_picos) - held);
    const audit = await gw.call('GET', '/v1/audit?decision=block', { key: plaintext });
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0].rule_ids).toEqual(['guardrail:gr-test']);
  });

  it('counts a request the local policy blocks against no limit, and never sends it to the guardrail', async () => {
    const team = await gw.createTeam({ requests_per_minute: 1 });
    const { plaintext } = await gw.issueKey(team.teamId);
    checks.length = 0;
    const blocked = await chat(plaintext, 'what is the status of Project Kestrel?');
    expect(blocked.status).toBe(400);
    expect(blocked.body.error.message).toContain('codenames');
    expect(checks).toEqual([]);
    expect((await chat(plaintext, 'a clean question')).status).toBe(200);
  });
});
