import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { picosOf } from '../../lambdas/shared/cost/money';
import { adapterFor } from '../../lambdas/shared/providers/registry';
import type { ProviderAdapter } from '../../lambdas/shared/providers/types';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { createMaintenanceHandler, maintenanceDependencies } from '../../lambdas/maintenance/handler';
import { InMemoryAlertPublisher } from '../../lambdas/shared/quota/budget-alerts';
import { QuotaService } from '../../lambdas/shared/quota/quota-service';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';
import { testEndpoint } from '../helpers/dynamodb';
import { ledgerEntries } from '../helpers/usage-store';

const chat = (model = 'mock-small', extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content: 'hi' }],
  ...extra,
});

describe('quotas through the gateway Lambda (DynamoDB Local)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway();
  });
  afterAll(() => gw.destroy());

  async function ledger(teamId: string) {
    const day = new Date().toISOString().slice(0, 10);
    return ledgerEntries(gw.store.db, gw.store.tables.usage, teamId, day);
  }

  it('admits exactly 10 of 50 concurrent requests against RPM 10, across two Lambda instances', async () => {
    const team = await gw.createTeam({ requests_per_minute: 10 });
    const { plaintext } = await gw.issueKey(team.teamId);
    // Both instances share a clock pinned 20 s into the current minute: a burst that straddled a
    // window edge would rightly admit 10 more, and its reset header would read in milliseconds.
    const pinned = Math.floor(Date.now() / 60_000) * 60_000 + 20_000;
    const now = () => pinned;
    const first = await gw.instance({ now });
    const second = await gw.instance({ now });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? first : second).call('POST', '/v1/chat/completions', { key: plaintext, body: chat() }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40);
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.body.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    expect(refused.headers).toMatchObject({
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '0',
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['x-ratelimit-reset-requests']).toBe('40s');
    expect(await ledger(team.teamId)).toHaveLength(10);
  });

  it('holds a $0.01 budget against 20 concurrent $0.004 requests, to the pico-dollar', async () => {
    const team = await gw.createTeam({ monthly_budget_usd: 0.01, soft_alert_percent: 50 });
    const { plaintext } = await gw.issueKey(team.teamId);
    // 4 output tokens at $1000/MTok: each request reserves and costs exactly $0.004.
    const body = chat('mock-pricey', { max_tokens: 4 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => gw.call('POST', '/v1/chat/completions', { key: plaintext, body })),
    );
    const served = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status === 429);
    expect(served).toHaveLength(2);
    expect(refused).toHaveLength(18);
    for (const response of refused) {
      expect(response.body.error).toMatchObject({ type: 'insufficient_quota', code: 'insufficient_quota' });
      expect(response.headers['x-should-retry']).toBe('false');
    }
    const entries = await ledger(team.teamId);
    const ledgerSpend = entries.reduce((sum, e) => sum + picosOf(e.cost.totalPicos), 0n);
    expect(ledgerSpend).toBe(8_000_000_000n);
    const usage = await gw.call('GET', '/v1/usage', { key: plaintext });
    expect(usage.body.totals.cost_picos).toBe(String(ledgerSpend));
    expect(usage.body.budget).toMatchObject({
      monthly_budget_usd: '0.010000',
      spent_usd: '0.008000',
      spent_picos: '8000000000',
      reserved_picos: '0',
      remaining_picos: '2000000000',
    });
    // From now on every request gets the insufficient_quota 429.
    const after = await gw.call('POST', '/v1/chat/completions', { key: plaintext, body });
    expect(after.status).toBe(429);
    expect(after.body.error.code).toBe('insufficient_quota');
    // 80% of the budget spent: the soft alert (50%) went out once; the first request refused for
    // want of budget announced it exhausted, once.
    expect(gw.alerts.filter((a) => a.teamId === team.teamId)).toEqual([
      expect.objectContaining({ kind: 'soft_threshold', budgetUsd: '0.010000' }),
      expect.objectContaining({ kind: 'exhausted', committedUsd: '0.008000' }),
    ]);
  });

  it('refuses new requests once the window’s tokens are spent, until it resets', async () => {
    let now = Math.floor(Date.now() / 60_000) * 60_000 + 1_000;
    const clocked = await gw.instance({ now: () => now });
    // Each request counts its prompt bound plus its output cap (1,000 + 16 + 600 + 100 = 1,716) until it
    // settles to what it used: the third no longer fits beside what the first two used.
    const team = await clocked.createTeam({ tokens_per_minute: 2_000 });
    const { plaintext } = await clocked.issueKey(team.teamId);
    const body = chat('mock-small', { max_tokens: 100, messages: [{ role: 'user', content: 'x'.repeat(600) }] });
    const first = await clocked.call('POST', '/v1/chat/completions', { key: plaintext, body });
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-limit-tokens']).toBe('2000');
    let refused;
    for (let i = 0; i < 5 && !refused; i++) {
      const response = await clocked.call('POST', '/v1/chat/completions', { key: plaintext, body });
      if (response.status === 429) refused = response;
    }
    expect(refused?.body.error).toMatchObject({ type: 'tokens', code: 'rate_limit_exceeded' });
    expect(Number(refused?.headers['x-ratelimit-remaining-tokens'])).toBeLessThan(1_716);
    now += 60_000;
    expect((await clocked.call('POST', '/v1/chat/completions', { key: plaintext, body })).status).toBe(200);
  });

  it('refuses a prompt larger than the whole token limit without retrying', async () => {
    const team = await gw.createTeam({ tokens_per_minute: 50 });
    const { plaintext } = await gw.issueKey(team.teamId);
    const response = await gw.call('POST', '/v1/chat/completions', {
      key: plaintext,
      body: chat('mock-small', { messages: [{ role: 'user', content: 'x'.repeat(600) }] }),
    });
    expect(response.status).toBe(429);
    expect(response.body.error.message).toContain('Request too large');
    expect(response.headers['x-should-retry']).toBe('false');
    expect(await ledger(team.teamId)).toHaveLength(0);
  });

  describe('keys', () => {
    it('stops accepting a revoked key within the identity cache lifetime', async () => {
      let now = Date.now();
      const cached = await gw.instance({ now: () => now, identityCacheTtlMs: 30_000 });
      const team = await cached.createTeam();
      const { plaintext, record } = await cached.issueKey(team.teamId);
      expect((await cached.call('GET', '/v1/models', { key: plaintext })).status).toBe(200);
      expect((await cached.call('POST', `/v1/admin/keys/${record.keyId}/revoke`, { admin: true })).status).toBe(200);
      now += 29_000; // still cached by this instance
      expect((await cached.call('GET', '/v1/models', { key: plaintext })).status).toBe(200);
      now += 2_000; // past the 30 s bound
      const refused = await cached.call('GET', '/v1/models', { key: plaintext });
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('revoked_api_key');
      // An instance without the key cached refuses at once.
      expect((await gw.call('GET', '/v1/models', { key: plaintext })).status).toBe(401);
    });

    it('accepts the old secret of a rotated key for the grace period, and the new one at once', async () => {
      let now = Date.now();
      const cached = await gw.instance({ now: () => now, identityCacheTtlMs: 30_000 });
      const team = await cached.createTeam();
      const { plaintext: oldKey, record } = await cached.issueKey(team.teamId);
      expect((await cached.call('GET', '/v1/models', { key: oldKey })).status).toBe(200);
      const rotated = await cached.call('POST', `/v1/admin/keys/${record.keyId}/rotate`, {
        admin: true,
        body: { grace_period_seconds: 60 },
      });
      expect(rotated.status).toBe(200);
      const newKey = rotated.body.key as string;
      expect(newKey).not.toBe(oldKey);
      expect(newKey.startsWith(`gwk_${record.keyId}_`)).toBe(true);
      now += 1_500;
      // This instance cached the old record; the new secret makes it re-read the key.
      expect((await cached.call('GET', '/v1/models', { key: newKey })).status).toBe(200);
      expect((await cached.call('GET', '/v1/models', { key: oldKey })).status).toBe(200);
      now += 60_000;
      expect((await cached.call('GET', '/v1/models', { key: oldKey })).status).toBe(401);
      expect((await cached.call('GET', '/v1/models', { key: newKey })).status).toBe(200);
    });

    it('never echoes key material in errors', async () => {
      const team = await gw.createTeam();
      const { plaintext, record } = await gw.issueKey(team.teamId, {
        expires_at: new Date(Date.now() + 1_000).toISOString(),
      });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const secret = plaintext.slice(17);
      for (const presented of [plaintext, plaintext.slice(0, -1) + 'x', `gwk_${record.keyId}_${'A'.repeat(46)}`]) {
        const response = await gw.call('GET', '/v1/models', { key: presented });
        expect(response.status).toBe(401);
        expect(JSON.stringify(response)).not.toContain(secret.slice(0, 12));
        expect(JSON.stringify(response)).not.toContain(presented);
      }
    });

    it('refuses the keys of a disabled team, and accepts them again when re-enabled', async () => {
      const team = await gw.createTeam();
      const { plaintext } = await gw.issueKey(team.teamId);
      await gw.call('PATCH', `/v1/admin/teams/${team.teamId}`, { admin: true, body: { status: 'disabled' } });
      const refused = await gw.call('POST', '/v1/chat/completions', { key: plaintext, body: chat() });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('team_disabled');
      await gw.call('PATCH', `/v1/admin/teams/${team.teamId}`, { admin: true, body: { status: 'active' } });
      expect((await gw.call('POST', '/v1/chat/completions', { key: plaintext, body: chat() })).status).toBe(200);
    });
  });

  it('admits most requests with no DynamoDB call before the provider, and never more than one round trip', async () => {
    const calls: { command: string; started: number; finished?: number }[] = [];
    let sequence = 0;
    const counting: DynamoDBDocumentClient = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        const call: { command: string; started: number; finished?: number } = {
          command: context.commandName ?? '?',
          started: ++sequence,
        };
        calls.push(call);
        try {
          return await next(args);
        } finally {
          call.finished = ++sequence;
        }
      },
      { step: 'initialize', name: 'countRequests' },
    );
    let beforeProvider: typeof calls = [];
    const observed: ProviderAdapter = {
      ...adapterFor('mock'),
      complete: (request, target, options) => {
        beforeProvider = calls.map((c) => ({ ...c }));
        return adapterFor('mock').complete(request, target as never, options);
      },
    } as ProviderAdapter;
    const instance = await gw.instance({ db: counting, identityCacheTtlMs: 30_000, adapters: () => observed });
    const team = await instance.createTeam({ monthly_budget_usd: 100 });
    const { plaintext } = await instance.issueKey(team.teamId);
    // Warm the instance: the key and team are now cached.
    expect((await instance.call('POST', '/v1/chat/completions', { key: plaintext, body: chat() })).status).toBe(200);
    const perRequest: { before: string[]; all: string[] }[] = [];
    for (let i = 0; i < 12; i++) {
      calls.length = 0;
      expect((await instance.call('POST', '/v1/chat/completions', { key: plaintext, body: chat() })).status).toBe(200);
      // Before the provider, at most the window lease and the budget lease, sent together: one round trip.
      const firstFinished = Math.min(...beforeProvider.map((c) => c.finished!));
      expect(beforeProvider.every((c) => c.started < firstFinished)).toBe(true);
      expect(beforeProvider.map((c) => c.command).sort()).toEqual(
        expect.arrayContaining(beforeProvider.length === 2 ? ['TransactWriteItemsCommand', 'UpdateItemCommand'] : []),
      );
      perRequest.push({ before: beforeProvider.map((c) => c.command), all: calls.map((c) => c.command) });
    }
    // Blocks double with use: most requests are admitted from what the instance holds, and then
    // make one DynamoDB request in all (the usage transaction, after the answer).
    const fromLeases = perRequest.filter((r) => r.before.length === 0);
    expect(fromLeases.length).toBeGreaterThanOrEqual(8);
    for (const r of fromLeases) expect(r.all).toEqual(['TransactWriteItemsCommand']);
    // A request that takes leases: window update and lease transaction, the usage transaction,
    // and the month's budget read for its alerts (after the answer).
    for (const r of perRequest) expect(r.all.length).toBeLessThanOrEqual(4);
    counting.destroy();
  });

  it('releases the reservation of a request that never settled, from the maintenance run', async () => {
    let now = Date.now();
    const clocked = await gw.instance({ now: () => now });
    const team = await clocked.createTeam({ monthly_budget_usd: 0.01 });
    const { plaintext } = await clocked.issueKey(team.teamId);
    // A "crashed" request: admitted (reserving $0.008), never settled.
    await new QuotaService(gw.store.db, gw.store.tables, { now: () => now }).admit({
      teamId: team.teamId,
      keyId: 'crashed',
      receivedAt: now,
      reservedTokens: 1,
      limits: { teamRequestsPerMinute: 100, teamTokensPerMinute: 100_000 },
      budget: { monthlyBudgetPicos: 10_000_000_000n, reservePicos: 8_000_000_000n, softAlertPercent: 80 },
    });
    const body = chat('mock-pricey', { max_tokens: 4 });
    expect((await clocked.call('POST', '/v1/chat/completions', { key: plaintext, body })).status).toBe(429);
    now += 30 * 60_000;
    const maintenance = createMaintenanceHandler(
      maintenanceDependencies({
        db: gw.store.db,
        tables: gw.store.tables,
        alerts: new InMemoryAlertPublisher(),
        now: () => now,
      }),
    );
    const result = await maintenance();
    expect(BigInt(result.sweep.releasedPicos)).toBeGreaterThanOrEqual(8_000_000_000n);
    expect((await clocked.call('POST', '/v1/chat/completions', { key: plaintext, body })).status).toBe(200);
  });
});
