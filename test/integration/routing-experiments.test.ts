import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { assignVariant, type Experiment } from '../../lambdas/shared/routing/experiments';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { addTotals, emptyTotals, totalsOf, type UsageRecord } from '../../lambdas/shared/usage/record';
import type { LocalGateway } from '../../local/local-gateway';
import { testConfig } from '../helpers/config';
import { ledgerEntries } from '../helpers/usage-store';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * Routing strategies and experiments through the local gateway over real HTTP, with the official
 * `openai` client: the variant header, sticky sessions, the ledger's variant and served model, a
 * variant whose model always fails (it falls back and stays in its variant), a weighted alias,
 * and the usage report grouped by variant, equal to the ledger.
 */

const SMALL_VS_LARGE: Experiment = {
  name: 'small-vs-large',
  variants: [
    { name: 'small', model: 'mock-small', percent: 50 },
    { name: 'large', model: 'mock-large', percent: 50 },
  ],
};
const FAULTY: Experiment = {
  name: 'faulty',
  variants: [
    { name: 'down', model: 'flaky', percent: 50 },
    { name: 'up', model: 'mock-small', percent: 50 },
  ],
};

const config: GatewayConfigInput = {
  ...testConfig,
  models: [
    ...testConfig.models,
    // Always fails (503), then falls back to mock-small.
    {
      id: 'flaky',
      provider: 'mock-down',
      upstreamModel: 'flaky',
      prices: { input: 1, output: 1 },
      fallbacks: ['mock-small'],
    },
    { id: 'ab', provider: 'mock', upstreamModel: 'ab', prices: { input: 1, output: 1 }, experiment: SMALL_VS_LARGE },
    {
      id: 'faulty-ab',
      provider: 'mock',
      upstreamModel: 'faulty-ab',
      prices: { input: 1, output: 1 },
      experiment: FAULTY,
    },
    {
      id: 'split',
      provider: 'mock',
      upstreamModel: 'split',
      prices: { input: 1, output: 1 },
      fallbacks: ['mock-small', 'mock-large'],
      routing: { strategy: 'weighted', weights: { 'mock-small': 1, 'mock-large': 1 } },
    },
  ],
};

/** A session key that the experiment assigns to `variant`. */
function sessionIn(experiment: Experiment, variant: string): string {
  for (let i = 0; ; i++) if (assignVariant(experiment, `s-${i}`).variant === variant) return `s-${i}`;
}

describe('routing strategies and experiments through the local gateway', () => {
  let gateway: LocalGateway;
  let client: OpenAI;

  beforeAll(async () => {
    gateway = await startTestLocalGateway('routing', {
      config,
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.demoKey, maxRetries: 0 });
  });
  afterAll(() => gateway.stop());

  const ask = (model: string, init: { session?: string; user?: string } = {}) =>
    client.chat.completions
      .create(
        { model, messages: [{ role: 'user', content: 'hi' }], ...(init.user ? { user: init.user } : {}) },
        init.session ? { headers: { 'x-gateway-session': init.session } } : {},
      )
      .withResponse();

  async function ledger(): Promise<UsageRecord[]> {
    const db = createDocumentClient({ region: 'us-east-1', endpoint: gateway.dynamodbEndpoint });
    const entries = await ledgerEntries(
      db,
      gateway.tables.usage,
      gateway.demoTeamId,
      new Date().toISOString().slice(0, 10),
    );
    db.destroy();
    return entries;
  }

  it('serves each session its variant, sticky, and says so in x-gateway-variant and the ledger', async () => {
    for (const variant of ['small', 'large']) {
      const session = sessionIn(SMALL_VS_LARGE, variant);
      for (let i = 0; i < 3; i++) {
        const { data, response } = await ask('ab', { session });
        expect(response.headers.get('x-gateway-variant')).toBe(variant);
        expect(response.headers.get('x-gateway-model')).toBe(`mock-${variant}`);
        const entry = (await ledger()).find((e) => e.requestId === response.headers.get('x-request-id'));
        expect(entry).toMatchObject({
          requestedModel: 'ab',
          model: `mock-${variant}`,
          provider: 'mock',
          experiment: 'small-vs-large',
          variant,
        });
        expect(data.model).toBe(`mock-${variant}`);
      }
    }
  });

  it('keys on the end user when no session header is sent', async () => {
    const expected = assignVariant(SMALL_VS_LARGE, 'alice').variant;
    for (let i = 0; i < 3; i++) {
      const { response } = await ask('ab', { user: 'alice' });
      expect(response.headers.get('x-gateway-variant')).toBe(expected);
    }
  });

  it('falls back when the variant model fails, staying in its variant', async () => {
    const session = sessionIn(FAULTY, 'down');
    const { response } = await ask('faulty-ab', { session });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-gateway-variant')).toBe('down');
    expect(response.headers.get('x-gateway-model')).toBe('mock-small');
    expect(Number(response.headers.get('x-gateway-attempts'))).toBeGreaterThanOrEqual(2);
    const entry = (await ledger()).find((e) => e.requestId === response.headers.get('x-request-id'));
    expect(entry).toMatchObject({ model: 'mock-small', provider: 'mock', experiment: 'faulty', variant: 'down' });
  });

  it('splits a weighted alias between its deployments, recording the model that served', async () => {
    const served = new Set<string>();
    for (let i = 0; i < 40; i++) served.add((await ask('split')).response.headers.get('x-gateway-model')!);
    // Each of 40 draws is 50:50: both deployments serve, except with probability 2^-39.
    expect([...served].sort()).toEqual(['mock-large', 'mock-small']);
    const entries = (await ledger()).filter((e) => e.requestedModel === 'split');
    expect(entries).toHaveLength(40);
    expect(entries.every((e) => e.variant === undefined)).toBe(true);
  });

  it('streams with the variant header too', async () => {
    const session = sessionIn(SMALL_VS_LARGE, 'large');
    const response = await fetch(`${gateway.streamUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${gateway.demoKey}`,
        'content-type': 'application/json',
        'x-gateway-session': session,
      },
      body: JSON.stringify({ model: 'ab', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.headers.get('x-gateway-variant')).toBe('large');
    expect(await response.text()).toContain('[DONE]');
  });

  it('groups the usage report by variant, equal to the ledger to the pico-dollar', async () => {
    // A stream's ledger entry may land just after its last byte.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const entries = (await ledger()).filter((e) => e.variant !== undefined);
    const response = await fetch(`${gateway.url}/v1/usage?days=2`, {
      headers: { authorization: `Bearer ${gateway.demoKey}` },
    });
    const report = (await response.json()) as {
      by_variant: {
        experiment: string;
        variant: string;
        requests: number;
        cost_picos: string;
        mean_latency_ms: number;
      }[];
    };
    const groups = new Map<string, UsageRecord[]>();
    for (const e of entries)
      groups.set(`${e.experiment}/${e.variant}`, [...(groups.get(`${e.experiment}/${e.variant}`) ?? []), e]);
    expect(report.by_variant.map((row) => `${row.experiment}/${row.variant}`).sort()).toEqual(
      [...groups.keys()].sort(),
    );
    for (const row of report.by_variant) {
      const group = groups.get(`${row.experiment}/${row.variant}`)!;
      const totals = group.reduce((t, e) => addTotals(t, totalsOf(e)), emptyTotals());
      expect(row).toMatchObject({
        requests: totals.requests,
        errors: totals.errors,
        input_tokens: totals.inputTokens,
        output_tokens: totals.outputTokens,
        cost_picos: String(totals.costPicos),
        mean_latency_ms: Math.round(group.reduce((sum, e) => sum + e.latencyMs, 0) / group.length),
      });
    }
  });
});
