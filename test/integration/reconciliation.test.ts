import { createDocumentClient } from '../../lambdas/shared/store/client';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { Catalog } from '../../lambdas/shared/catalog/catalog';
import { parseGatewayConfig } from '../../lambdas/shared/catalog/schema';
import { priceUsage } from '../../lambdas/shared/cost/pricing';
import {
  addTotals,
  emptyTotals,
  totalsOf,
  type UsageRecord,
  type UsageTotals,
} from '../../lambdas/shared/usage/record';
import type { LocalGateway } from '../../local/local-gateway';
import { FakeAnthropic, type FakeAnthropicReply, type FakeAnthropicRequest } from '../fakes/anthropic-server';
import { FakeOpenAi, lastUserText, type FakeOpenAiReply, type FakeOpenAiRequest } from '../fakes/openai-server';
import { GENEROUS_TEAM_DEFAULTS } from '../helpers/config';
import { adminFetch } from '../helpers/local-admin';
import { exactCost } from '../helpers/money';
import { ledgerEntries } from '../helpers/usage-store';
import { picosOf } from '../../lambdas/shared/cost/money';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * The money invariant, end to end: a few hundred mixed requests (four teams in two cost centers,
 * several models, streamed and not, embeddings, throttled, blocked by policy, failed, broken off
 * after partial output, served by a fallback, by a weighted alias's deployments, by an
 * experiment's variants and by every routing strategy, answered from the response cache) through
 * the local gateway; then, for the month, the sum
 * of the ledger entries equals the aggregates (usage reports) equals the chargeback, JSON and
 * CSV, to the pico-dollar and the token.
 */

const TEAMS = [
  { id: 'recon-a', cost_center: 'cc-retail' },
  { id: 'recon-b', cost_center: 'cc-retail', cache_ttl_seconds: 600 }, // repeats some requests: cache hits at zero cost
  { id: 'recon-c', cost_center: 'cc-risk', requests_per_minute: 20 }, // 60 requests within seconds: throttled in any two minute windows
  { id: 'recon-d' }, // no cost center: billed to "(unassigned)"
] as const;

/** The fake's answer: normal, a failure (the primary route), or a stream cut after partial output. */
function respond(request: FakeOpenAiRequest): FakeOpenAiReply {
  const said = lastUserText(request);
  if (request.body['model'] === 'broken-upstream') {
    return { kind: 'error', status: 503, type: 'server_error', message: 'overloaded' };
  }
  const n = Number(/#(\d+)/.exec(said)?.[1] ?? 1);
  const text = `Answer ${n}: ` + 'lorem ipsum dolor sit amet '.repeat(1 + (n % 7));
  return {
    kind: 'completion',
    text,
    usage: {
      prompt_tokens: 20 + (n % 13),
      completion_tokens: 5 + (n % 17),
      ...(n % 3 === 0 ? { cached_tokens: 10 } : {}),
    },
    ...(said.includes('CUT') ? { cutAfterChunks: 3 } : {}),
  };
}

/**
 * The fake Anthropic's answer to a Messages request: every third writes the prompt cache, every
 * fifth reads it, so cache tokens are priced as their own lines.
 */
function respondAnthropic(request: FakeAnthropicRequest): FakeAnthropicReply {
  const said = JSON.stringify(request.body['messages']);
  const n = Number(/#(\d+)/.exec(said)?.[1] ?? 1);
  return {
    kind: 'message',
    text: `Claude ${n}: ` + 'sed do eiusmod '.repeat(1 + (n % 5)),
    usage: {
      input_tokens: 30 + (n % 11),
      output_tokens: 7 + (n % 13),
      ...(n % 3 === 0 ? { cache_creation_input_tokens: 1_000 + n } : {}),
      ...(n % 5 === 0 ? { cache_read_input_tokens: 2_000 + n } : {}),
    },
  };
}

describe('reconciliation: ledger = aggregates = chargeback', () => {
  let gateway: LocalGateway;
  const upstream = new FakeOpenAi(respond);
  const claude = new FakeAnthropic(respondAnthropic);
  const savedEnv = { ...process.env };
  let catalog: Catalog;
  const outcomes = new Map<number, number>();

  const admin = (path: string, init: { method?: string; body?: unknown } = {}) =>
    adminFetch(gateway, init.method ?? 'GET', path, init.body);

  beforeAll(async () => {
    const url = await upstream.start();
    const claudeUrl = await claude.start();
    const config: GatewayConfigInput = {
      providers: {
        openai: { adapter: 'openai', baseUrl: `${url}/v1`, apiKeySecret: 'test/openai' },
        mock: { adapter: 'mock' },
        anthropic: { adapter: 'anthropic', baseUrl: claudeUrl, apiKeySecret: 'test/anthropic' },
      },
      models: [
        {
          id: 'gpt',
          provider: 'openai',
          upstreamModel: 'gpt-4o-mini',
          prices: { input: 0.15, output: 0.6, cacheRead: 0.075 },
        },
        {
          id: 'gpt-big',
          provider: 'openai',
          upstreamModel: 'gpt-4o',
          prices: { input: 2.5, output: 10, cacheRead: 1.25 },
        },
        {
          id: 'primary',
          provider: 'openai',
          upstreamModel: 'broken-upstream',
          prices: { input: 3, output: 15 },
          fallbacks: ['gpt-big'],
        },
        { id: 'mock-small', provider: 'mock', upstreamModel: 'mock-small', prices: { input: 0.1, output: 0.4 } },
        // Each of its calls costs a micro-dollar or two and a fraction: exact in pico-dollars, not if rounded.
        { id: 'nano', provider: 'openai', upstreamModel: 'gpt-nano', prices: { input: 0.035, output: 0.06 } },
        // Half of its sessions to gpt, half to nano: each variant priced at its own model's prices.
        {
          id: 'ab',
          provider: 'openai',
          upstreamModel: 'gpt-4o-mini',
          prices: { input: 0.15, output: 0.6 },
          experiment: {
            name: 'gpt-vs-nano',
            variants: [
              { model: 'gpt', percent: 50 },
              { model: 'nano', percent: 50 },
            ],
          },
        },
        // A weighted alias: gpt or nano first, the other as its fallback.
        {
          id: 'split',
          provider: 'openai',
          upstreamModel: 'gpt-4o-mini',
          prices: { input: 0.15, output: 0.6 },
          fallbacks: ['gpt', 'nano'],
          routing: { strategy: 'weighted', weights: { gpt: 1, nano: 1 } },
        },
        // Every other strategy over the same two deployments: each call priced at the model that served.
        ...(['round-robin', 'least-latency', 'cost'] as const).map((strategy) => ({
          id: strategy,
          provider: 'openai',
          upstreamModel: 'gpt-4o-mini',
          prices: { input: 0.15, output: 0.6 },
          fallbacks: ['gpt', 'nano'],
          routing: { strategy },
        })),
        {
          id: 'context',
          provider: 'openai',
          upstreamModel: 'gpt-4o-mini',
          prices: { input: 0.15, output: 0.6 },
          fallbacks: ['nano'],
          routing: { strategy: 'context', rules: [{ minPromptTokens: 3, model: 'nano' }] },
        },
        {
          id: 'claude',
          provider: 'anthropic',
          upstreamModel: 'claude-sonnet-4-6',
          prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
        },
        {
          id: 'embed',
          kind: 'embedding',
          provider: 'openai',
          upstreamModel: 'text-embedding-3-small',
          prices: { input: 0.02, output: 0 },
        },
      ],
      teamDefaults: GENEROUS_TEAM_DEFAULTS,
      policies: {
        profiles: { default: { detectors: [{ detector: 'aws_access_key_id', action: 'block', direction: 'input' }] } },
      },
    };
    catalog = new Catalog(parseGatewayConfig(config));
    process.env.OPENAI_API_KEY = 'sk-test';
    process.env.ANTHROPIC_API_KEY = 'sk-ant-test';
    gateway = await startTestLocalGateway('recon', {
      config,
    });

    const keys: string[] = [];
    for (const team of TEAMS) {
      expect((await admin('/v1/admin/teams', { method: 'POST', body: { ...team, name: team.id } })).status).toBe(201);
      const issued = (await (
        await admin(`/v1/admin/teams/${team.id}/keys`, { method: 'POST', body: { name: 'k' } })
      ).json()) as { key: string };
      keys.push(issued.key);
    }

    // 240 requests, 8 at a time; the mix is a function of the request number.
    const send = async (n: number) => {
      const key = keys[n % keys.length]!;
      const models = ['gpt', 'gpt-big', 'primary', 'mock-small', 'nano', 'ab', 'split'];
      const model = [...models, 'round-robin', 'least-latency', 'cost', 'context'][Math.floor(n / 4) % 11]!;
      const stream = n % 5 < 2;
      // recon-b (n % 4 === 1) asks one question again and again, deterministically: after the
      // first answer of each model, its response cache answers.
      const repeated = n % 4 === 1 && n % 3 === 0;
      const content = repeated
        ? '#1 the same question'
        : n % 23 === 0
          ? `#${n} deploy with AKIAR40N2CWDFFSWIEXH` // a real-looking key id: `...EXAMPLE` ones are placeholders
          : n % 11 === 0 && stream
            ? `#${n} CUT please`
            : `#${n} hi`;
      const base = stream ? gateway.streamUrl : gateway.url;
      // Every seventh request embeds its text instead (on either door), priced like any other, and
      // every seventh (another residue) goes through Anthropic's Messages face: to Claude, or
      // translated to an OpenAI-format model.
      const face = n % 7 === 3 ? 'embeddings' : n % 7 === 5 ? 'messages' : 'chat/completions';
      const bodies = {
        embeddings: { model: 'embed', input: [content, `${content} again`] },
        messages: {
          model: n % 2 === 0 ? 'claude' : model,
          max_tokens: 200,
          stream,
          ...(repeated ? { temperature: 0 } : {}),
          messages: [{ role: 'user', content }],
        },
        'chat/completions': {
          model,
          stream,
          ...(repeated ? { temperature: 0 } : {}),
          ...(stream ? { stream_options: { include_usage: true } } : {}),
          messages: [{ role: 'user', content }],
        },
      };
      const response = await fetch(`${base}/v1/${face}`, {
        method: 'POST',
        headers: {
          ...(face === 'messages'
            ? { 'x-api-key': key, 'anthropic-version': '2023-06-01' }
            : { authorization: `Bearer ${key}` }),
          'content-type': 'application/json',
          // Some requests name a session (sticky variant); the others are assigned by request.
          ...(n % 3 === 0 ? { 'x-gateway-session': `session-${n % 6}` } : {}),
        },
        body: JSON.stringify(bodies[face]),
      });
      await response.text(); // read to the end (a cut stream ends with an error frame)
      outcomes.set(response.status, (outcomes.get(response.status) ?? 0) + 1);
    };
    for (let n = 0; n < 240; n += 8) {
      await Promise.all(Array.from({ length: 8 }, (_, i) => send(n + i)));
    }
    // The streaming face records a stream just after the client's last byte: wait until every
    // admitted request (all but policy blocks and throttles) has its ledger entry.
    const admitted = [...outcomes]
      .filter(([status]) => status !== 400 && status !== 429)
      .reduce((n, [, c]) => n + c, 0);
    for (let i = 0; i < 50; i++) {
      if ((await Promise.all(TEAMS.map((t) => ledger(t.id)))).flat().length >= admitted) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 120_000);

  afterAll(async () => {
    process.env = savedEnv;
    await gateway?.stop();
    await upstream.stop();
    await claude.stop();
  });

  /** Every ledger entry of a team this month (today and, near midnight, yesterday). */
  async function ledger(teamId: string): Promise<UsageRecord[]> {
    const db = createDocumentClient({ region: 'us-east-1', endpoint: gateway.dynamodbEndpoint });
    const today = new Date();
    const days = [today, new Date(today.getTime() - 86_400_000)]
      .map((d) => d.toISOString().slice(0, 10))
      .filter((day) => day.slice(0, 7) === today.toISOString().slice(0, 7));
    const entries: UsageRecord[] = [];
    for (const day of new Set(days)) entries.push(...(await ledgerEntries(db, gateway.tables.usage, teamId, day)));
    db.destroy();
    return entries;
  }

  const sum = (records: readonly UsageRecord[]) => records.reduce((t, r) => addTotals(t, totalsOf(r)), emptyTotals());
  const view = (t: UsageTotals) => ({
    requests: t.requests,
    errors: t.errors,
    input_tokens: t.inputTokens,
    output_tokens: t.outputTokens,
    cache_read_tokens: t.cacheReadTokens,
    cache_write_tokens: t.cacheWriteTokens,
    cost_picos: String(t.costPicos),
    cache_hits: t.cacheHits,
    saved_picos: String(t.savedPicos),
  });

  it('drove the whole mix: served, streamed, throttled, blocked, failed after partial output, fallbacks', async () => {
    expect(outcomes.get(200)).toBeGreaterThan(100);
    expect(outcomes.get(429)).toBeGreaterThan(0); // recon-c's 20 requests per minute
    expect(outcomes.get(400)).toBeGreaterThan(0); // blocked by policy
    const all = (await Promise.all(TEAMS.map((t) => ledger(t.id)))).flat();
    // One ledger entry per admitted request: everything but policy blocks (400) and throttles (429).
    const admitted = [...outcomes]
      .filter(([status]) => status !== 400 && status !== 429)
      .reduce((n, [, c]) => n + c, 0);
    expect(all.length).toBe(admitted);
    expect(all.some((r) => r.streamed && r.status === 'error' && r.usage.outputTokens > 0)).toBe(true);
    expect(all.some((r) => r.requestedModel === 'primary' && r.model === 'gpt-big')).toBe(true);
    // The experiment served both variants, each by its model; the weighted alias both deployments.
    const variants = all.filter((r) => r.requestedModel === 'ab' && r.status === 'ok');
    expect(new Set(variants.map((r) => `${r.variant}:${r.model}`))).toEqual(new Set(['gpt:gpt', 'nano:nano']));
    expect(new Set(all.filter((r) => r.requestedModel === 'split').map((r) => r.model))).toEqual(
      new Set(['gpt', 'nano']),
    );
    // Each strategy served (and was billed at) its deployments' own models.
    const servedBy = (alias: string) => new Set(all.filter((r) => r.requestedModel === alias).map((r) => r.model));
    // The ledger says which strategy ordered each request's deployments.
    for (const strategy of ['round-robin', 'least-latency', 'cost', 'context']) {
      expect(all.filter((r) => r.requestedModel === strategy).every((r) => r.strategy === strategy)).toBe(true);
    }
    expect(all.find((r) => r.requestedModel === 'split')?.strategy).toBe('weighted');
    expect(all.find((r) => r.requestedModel === 'gpt')?.strategy).toBe('fallback');
    expect([...servedBy('round-robin')].length).toBeGreaterThan(1);
    expect(servedBy('cost')).toEqual(new Set(['nano']));
    expect(servedBy('context')).toEqual(new Set(['nano']));
    expect(servedBy('least-latency').size).toBeGreaterThan(0);
    expect(all.some((r) => r.usage.cacheReadTokens > 0)).toBe(true);
    expect(all.filter((r) => r.model === 'embed' && r.status === 'ok').length).toBeGreaterThan(20);
    // The Messages face: Claude with cache writes and reads, and translated calls to the other models.
    const claudeCalls = all.filter((r) => r.model === 'claude' && r.status === 'ok' && !r.cacheHit);
    expect(claudeCalls.length).toBeGreaterThan(10);
    expect(claudeCalls.some((r) => r.usage.cacheWriteTokens > 0 && r.cost.cacheWritePicos > 0n)).toBe(true);
    expect(claudeCalls.some((r) => r.usage.cacheReadTokens > 0 && r.cost.cacheReadPicos > 0n)).toBe(true);
    expect(claude.requests.length).toBe(claudeCalls.length);
    // The cheap model's calls each cost a few micro-dollars at most, with a fraction of one kept.
    const nano = all.filter((r) => r.model === 'nano' && r.status === 'ok');
    expect(nano.length).toBeGreaterThan(10);
    for (const record of nano) expect(picosOf(record.cost.totalPicos)).toBeLessThan(3_000_000n);
    expect(nano.filter((r) => picosOf(r.cost.totalPicos) % 1_000_000n !== 0n).length).toBeGreaterThan(nano.length / 2);
    // Rounding each call to the micro-dollar (as a micro-dollar ledger did) would not add up to the bill.
    const exact = nano.reduce((total, r) => total + picosOf(r.cost.totalPicos), 0n);
    const rounded = nano.reduce(
      (total, r) => total + ((picosOf(r.cost.totalPicos) + 500_000n) / 1_000_000n) * 1_000_000n,
      0n,
    );
    expect(rounded).not.toBe(exact);
    // Cache hits: no tokens, no cost, and the cost of the answer they reused kept as saved.
    const hits = all.filter((r) => r.cacheHit);
    expect(hits.length).toBeGreaterThan(2);
    expect(hits.every((r) => r.teamId === 'recon-b' && r.status === 'ok')).toBe(true);
    for (const hit of hits) {
      expect(picosOf(hit.cost.totalPicos)).toBe(0n);
      expect(picosOf(hit.savedPicos)).toBeGreaterThan(0n);
    }
    // Every entry is priced exactly from its own usage and its model's prices.
    for (const record of all) {
      expect(exactCost(record.cost)).toEqual(priceUsage(record.usage, catalog.findModel(record.model)!.prices));
    }
  });

  it('each team: ledger = usage report = chargeback, by model and in total, to the pico-dollar', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const chargeback = (await (await admin(`/v1/admin/chargeback?month=${month}`)).json()) as {
      lines: ({ team: string; model: string; cost_center: string } & Record<string, unknown>)[];
      teams: ({ team: string } & Record<string, unknown>)[];
      cost_centers: ({ cost_center: string } & Record<string, unknown>)[];
      totals: Record<string, unknown>;
    };
    let grand = emptyTotals();
    const centers = new Map<string, UsageTotals>();
    for (const team of TEAMS) {
      const entries = await ledger(team.id);
      const totals = sum(entries);
      grand = addTotals(grand, totals);
      const center = 'cost_center' in team ? team.cost_center : '(unassigned)';
      centers.set(center, addTotals(centers.get(center) ?? emptyTotals(), totals));

      const report = (await (await admin(`/v1/admin/teams/${team.id}/usage?days=2`)).json()) as {
        totals: Record<string, unknown>;
        by_model: ({ model: string } & Record<string, unknown>)[];
        by_variant: ({ experiment: string; variant: string } & Record<string, unknown>)[];
      };
      expect(report.totals).toMatchObject(view(totals));
      const variants = [...new Set(entries.flatMap((e) => (e.variant ? [e.variant] : [])))].sort();
      expect(report.by_variant.map((row) => row.variant).sort()).toEqual(variants);
      for (const variant of variants) {
        expect(report.by_variant.find((row) => row.variant === variant)).toMatchObject({
          experiment: 'gpt-vs-nano',
          ...view(sum(entries.filter((e) => e.variant === variant))),
        });
      }
      expect(chargeback.teams.find((t) => t.team === team.id)).toMatchObject(view(totals));

      const models = [...new Set(entries.map((e) => e.model))].sort();
      expect(chargeback.lines.filter((l) => l.team === team.id).map((l) => l.model)).toEqual(models);
      for (const model of models) {
        const byModel = view(sum(entries.filter((e) => e.model === model)));
        expect(report.by_model.find((m) => m.model === model)).toMatchObject(byModel);
        expect(chargeback.lines.find((l) => l.team === team.id && l.model === model)).toMatchObject({
          ...byModel,
          cost_center: center,
        });
      }
    }
    for (const [center, totals] of centers) {
      expect(chargeback.cost_centers.find((c) => c.cost_center === center)).toMatchObject(view(totals));
    }
    // The demo team made no requests, so the grand total is the four teams'.
    expect(chargeback.totals).toMatchObject(view(grand));
  });

  it('the CSV says the same as the JSON, cell for cell', async () => {
    const month = new Date().toISOString().slice(0, 7);
    const json = (await (await admin(`/v1/admin/chargeback?month=${month}`)).json()) as {
      lines: Record<string, string | number>[];
      totals: Record<string, string | number>;
    };
    const response = await admin(`/v1/admin/chargeback?month=${month}&format=csv`);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const [header, ...rows] = (await response.text())
      .split('\r\n')
      .filter(Boolean)
      .map((line) => line.split(','));
    const records = rows.map((row) => Object.fromEntries(header!.map((column, i) => [column, row[i]!])));
    const lines = records.filter((r) => r['row_type'] === 'line');
    expect(lines).toHaveLength(json.lines.length);
    json.lines.forEach((line, i) => {
      for (const column of [
        'team',
        'model',
        'cost_center',
        'requests',
        'input_tokens',
        'output_tokens',
        'cost_picos',
        'cost_usd',
        'cache_hits',
        'saved_picos',
        'saved_usd',
      ]) {
        expect(lines[i]![column]).toBe(String(line[column]));
      }
    });
    const total = records.find((r) => r['row_type'] === 'total')!;
    expect(total['cost_picos']).toBe(String(json.totals['cost_picos']));
    expect(total['requests']).toBe(String(json.totals['requests']));
    expect(total['saved_picos']).toBe(String(json.totals['saved_picos']));
    expect(BigInt(String(json.totals['saved_picos']))).toBeGreaterThan(0n);
  });
});
