import { Catalog } from '../../lambdas/shared/catalog/catalog';
import { GatewayConfigError, parseGatewayConfig, type GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import type { ExchangeRequest } from '../../lambdas/shared/exchange/exchange';
import { resolveExchange } from '../../lambdas/shared/exchange/planning';
import type { AuthenticatedCaller } from '../../lambdas/shared/keys/authenticator';
import { PolicyEngine } from '../../lambdas/shared/policy/engine';
import { assignVariant, bucketOf, type Experiment } from '../../lambdas/shared/routing/experiments';
import { LatencyTracker } from '../../lambdas/shared/routing/latency';
import type { RouteCandidate } from '../../lambdas/shared/routing/router';
import { RouteSelector } from '../../lambdas/shared/routing/selector';
import { orderCandidates, type RequestDemand, type RoutingConfig } from '../../lambdas/shared/routing/strategies';
import { errorOf } from '../helpers/errors';

/**
 * The routing strategies and experiments on their own: each strategy's choice, distributions
 * over many seeded draws, stickiness, and the filtering every strategy chooses within.
 */

/** A seeded uniform generator (mulberry32): the same draws on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const config = parseGatewayConfig({
  providers: { mock: { adapter: 'mock' }, openai: { adapter: 'openai', apiKeySecret: 'x' } },
  models: [
    // Prices per million tokens; contexts and caps differ so `cost` has something to weigh.
    {
      id: 'cheap',
      provider: 'mock',
      upstreamModel: 'cheap',
      prices: { input: 0.1, output: 0.4 },
      maxOutputTokens: 1000,
    },
    {
      id: 'mid',
      provider: 'mock',
      upstreamModel: 'mid',
      prices: { input: 1, output: 4 },
      contextTokens: 8_000,
      maxOutputTokens: 4096,
    },
    {
      id: 'long',
      provider: 'mock',
      upstreamModel: 'long',
      prices: { input: 3, output: 15 },
      contextTokens: 200_000,
      maxOutputTokens: 8192,
    },
    {
      id: 'no-tools',
      provider: 'mock',
      upstreamModel: 'no-tools',
      prices: { input: 0.01, output: 0.01 },
      capabilities: { tools: false },
    },
    {
      id: 'chat',
      provider: 'mock',
      upstreamModel: 'chat',
      prices: { input: 2, output: 8 },
      fallbacks: ['no-tools', 'cheap', 'mid'],
      routing: { strategy: 'weighted', weights: { chat: 0, 'no-tools': 3, cheap: 1 } },
    },
    {
      id: 'ab',
      provider: 'mock',
      upstreamModel: 'ab',
      prices: { input: 1, output: 1 },
      experiment: {
        name: 'cheap-vs-mid',
        variants: [
          { name: 'control', model: 'mid', percent: 80 },
          { name: 'treatment', model: 'cheap', percent: 20 },
        ],
      },
    },
  ],
});
const catalog = new Catalog(config);
const deps = { catalog, policies: new PolicyEngine(config.policies) };

function candidatesOf(...ids: string[]): RouteCandidate[] {
  return ids.map((id) => {
    const model = catalog.findModel(id)!;
    return {
      model,
      target: { connectionName: model.provider, connection: catalog.connectionOf(model), upstreamModel: id },
    };
  });
}

const demand: RequestDemand = { promptTokens: 1_000, maxOutputTokens: 500 };

/** The model ids in the order a strategy puts them. */
function order(routing: RoutingConfig, ids: string[], extra: Partial<Parameters<typeof orderCandidates>[1]> = {}) {
  return orderCandidates(routing, {
    candidates: candidatesOf(...ids),
    demand,
    random: Math.random,
    turn: 0,
    latencyOf: () => undefined,
    ...extra,
  }).map((candidate) => candidate.model.id);
}

/** How often each id comes first over `draws` orderings. */
function firstCounts(draws: number, next: () => string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    const first = next()[0]!;
    counts.set(first, (counts.get(first) ?? 0) + 1);
  }
  return counts;
}

function caller(allowedModels: string[] = ['*']): AuthenticatedCaller {
  return {
    team: {
      teamId: 'team-a',
      name: 'A',
      softAlertPercent: 80,
      requestsPerMinute: 10,
      tokensPerMinute: 10_000,
      allowedModels,
      status: 'active',
      createdAt: '2026-11-01T00:00:00Z',
      updatedAt: '2026-11-01T00:00:00Z',
    },
    key: { keyId: 'abcdefghijkl', teamId: 'team-a' },
  };
}

const ask = (model: string, extra: Partial<ExchangeRequest['chat']> = {}): ExchangeRequest => ({
  model,
  chat: { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], ...extra },
  stream: false,
});
const weatherTool = { name: 'weather', parameters: { type: 'object', properties: {} } };

describe('strategies', () => {
  it('fallback keeps config order', () => {
    expect(order({ strategy: 'fallback' }, ['cheap', 'mid', 'long'])).toEqual(['cheap', 'mid', 'long']);
  });

  it('weighted splits by weight within statistical bounds, and keeps the rest as fallbacks in order', () => {
    const random = seeded(42);
    const routing: RoutingConfig = { strategy: 'weighted', weights: { cheap: 3, mid: 1 } };
    const counts = firstCounts(20_000, () => order(routing, ['cheap', 'mid', 'long'], { random }));
    // p = 0.75 over 20,000 draws: σ ≈ 0.003, so ±0.015 is five σ.
    expect(Math.abs(counts.get('cheap')! / 20_000 - 0.75)).toBeLessThan(0.015);
    expect(counts.get('long')).toBeUndefined(); // no weight: only ever a fallback
    expect(order(routing, ['cheap', 'mid', 'long'], { random: () => 0.9 })).toEqual(['mid', 'cheap', 'long']);
  });

  it("weighted gives a missing deployment's share to the others", () => {
    const routing: RoutingConfig = { strategy: 'weighted', weights: { cheap: 3, mid: 1 } };
    const counts = firstCounts(1_000, () => order(routing, ['mid', 'long'], { random: seeded(7) }));
    expect(counts.get('mid')).toBe(1_000);
  });

  it('round-robin puts each deployment first in turn', () => {
    const ids = ['cheap', 'mid', 'long'];
    expect([0, 1, 2, 3].map((turn) => order({ strategy: 'round-robin' }, ids, { turn })[0])).toEqual([
      'cheap',
      'mid',
      'long',
      'cheap',
    ]);
    expect(order({ strategy: 'round-robin' }, ids, { turn: 1 })).toEqual(['mid', 'cheap', 'long']);
  });

  it('least-latency measures every deployment first, then prefers the fastest average', () => {
    const latencies = new Map([['cheap', 300]]);
    const latencyOf = (id: string) => latencies.get(id);
    expect(order({ strategy: 'least-latency' }, ['cheap', 'mid'], { latencyOf })).toEqual(['mid', 'cheap']);
    latencies.set('mid', 450);
    expect(order({ strategy: 'least-latency' }, ['cheap', 'mid'], { latencyOf })).toEqual(['cheap', 'mid']);
  });

  it('cost picks the cheapest deployment that fits the output cap and the context window', () => {
    expect(order({ strategy: 'cost' }, ['long', 'mid', 'cheap'])).toEqual(['cheap', 'long', 'mid']);
    // 2,000 output tokens: over cheap's cap of 1,000.
    const bigOutput = { promptTokens: 1_000, maxOutputTokens: 2_000 };
    expect(order({ strategy: 'cost' }, ['long', 'mid', 'cheap'], { demand: bigOutput })[0]).toBe('mid');
    // 10,000 prompt tokens: over mid's 8,000-token window.
    const bigPrompt = { promptTokens: 10_000, maxOutputTokens: 2_000 };
    expect(order({ strategy: 'cost' }, ['long', 'mid', 'cheap'], { demand: bigPrompt })[0]).toBe('long');
    // Nothing fits: config order.
    const huge = { promptTokens: 1_000_000, maxOutputTokens: 9_000 };
    expect(order({ strategy: 'cost' }, ['mid', 'long'], { demand: huge })).toEqual(['mid', 'long']);
  });

  it('context rules send long prompts to the long-context deployment, the highest threshold reached winning', () => {
    const routing: RoutingConfig = {
      strategy: 'context',
      rules: [
        { minPromptTokens: 4_000, model: 'mid' },
        { minPromptTokens: 50_000, model: 'long' },
      ],
    };
    const at = (promptTokens: number) =>
      order(routing, ['cheap', 'mid', 'long'], { demand: { promptTokens, maxOutputTokens: 100 } });
    expect(at(1_000)).toEqual(['cheap', 'mid', 'long']);
    expect(at(4_000)).toEqual(['mid', 'cheap', 'long']);
    expect(at(60_000)).toEqual(['long', 'cheap', 'mid']);
    // The rule's model is not a candidate (not allowed, cannot serve): config order.
    expect(order(routing, ['cheap', 'mid'], { demand: { promptTokens: 60_000, maxOutputTokens: 100 } })).toEqual([
      'cheap',
      'mid',
    ]);
  });
});

describe('route selector (one instance)', () => {
  it('counts round-robin turns per entry, and only for round-robin entries', () => {
    const selector = new RouteSelector();
    const rr: RoutingConfig = { strategy: 'round-robin' };
    const firsts = () => selector.order('a', rr, candidatesOf('cheap', 'mid'), demand)[0]!.model.id;
    expect([firsts(), firsts(), firsts()]).toEqual(['cheap', 'mid', 'cheap']);
    expect(selector.order('b', rr, candidatesOf('cheap', 'mid'), demand)[0]!.model.id).toBe('cheap');
  });

  it('feeds observed latency into an exponentially weighted average', () => {
    const tracker = new LatencyTracker();
    tracker.observe('mid', 100);
    expect(tracker.averageOf('mid')).toBe(100);
    tracker.observe('mid', 200);
    expect(tracker.averageOf('mid')).toBeCloseTo(130);
    for (let i = 0; i < 30; i++) tracker.observe('mid', 50);
    expect(tracker.averageOf('mid')).toBeCloseTo(50, 0);

    const selector = new RouteSelector();
    selector.observe('cheap', 400);
    selector.observe('mid', 90);
    const ordered = selector.order('x', { strategy: 'least-latency' }, candidatesOf('cheap', 'mid'), demand);
    expect(ordered.map((c) => c.model.id)).toEqual(['mid', 'cheap']);
  });
});

describe('experiments', () => {
  const experiment: Experiment = {
    name: 'prompt-v2',
    variants: [
      { name: 'a', model: 'cheap', percent: 90 },
      { name: 'b', model: 'mid', percent: 10 },
    ],
  };

  it('assigns a session to the same variant every time (sticky), from its hash alone', () => {
    for (const key of ['user-1', 'user-2', 'session-xyz']) {
      const first = assignVariant(experiment, key);
      for (let i = 0; i < 5; i++) expect(assignVariant(experiment, key)).toEqual(first);
    }
    expect(bucketOf('prompt-v2', 'user-1')).toBe(bucketOf('prompt-v2', 'user-1'));
  });

  it('splits sessions by the percentages within statistical bounds', () => {
    let b = 0;
    for (let i = 0; i < 20_000; i++) if (assignVariant(experiment, `session-${i}`).variant === 'b') b += 1;
    // p = 0.1 over 20,000 sessions: σ ≈ 0.002, so ±0.01 is five σ.
    expect(Math.abs(b / 20_000 - 0.1)).toBeLessThan(0.01);
  });

  it('salts by experiment: a session lands independently in two experiments', () => {
    let same = 0;
    for (let i = 0; i < 10_000; i++) {
      if (bucketOf('one', `s-${i}`) < 50 === bucketOf('two', `s-${i}`) < 50) same += 1;
    }
    expect(Math.abs(same / 10_000 - 0.5)).toBeLessThan(0.03);
  });

  it('plans the variant route first, then the entry itself, sticky by end user, else session header', () => {
    const byUser = resolveExchange(deps, caller(), ask('ab', { user: 'alice' }), { requestId: 'r1', receivedAt: 0 });
    const again = resolveExchange(deps, caller(), ask('ab', { user: 'alice' }), { requestId: 'r2', receivedAt: 0 });
    expect(again.variant).toEqual(byUser.variant);
    expect(byUser.candidates.map((c) => c.model.id)).toEqual([byUser.variant!.model, 'ab']);
    expect(byUser.routedBy.id).toBe(byUser.variant!.model);
    // The session header outranks the end user.
    const session = 'pinned';
    const bySession = resolveExchange(deps, caller(), ask('ab', { user: 'alice' }), {
      requestId: 'r3',
      receivedAt: 0,
      sessionKey: session,
    });
    expect(bySession.variant).toEqual(assignVariant(catalog.findModel('ab')!.experiment!, session));
  });

  it('leaves the experiment out when the caller may not use the drawn variant', () => {
    const key = [...Array(200).keys()].map((i) => `u${i}`).find((u) => bucketOf('cheap-vs-mid', u) < 80)!;
    const planned = resolveExchange(deps, caller(['ab', 'cheap']), ask('ab', { user: key }), {
      requestId: 'r',
      receivedAt: 0,
    });
    expect(planned.variant).toBeUndefined();
    expect(planned.candidates.map((c) => c.model.id)).toEqual(['ab']);
  });
});

describe('capability filtering', () => {
  it('never routes a tools request to a deployment without tools, however the draws fall', () => {
    const selector = new RouteSelector({ random: seeded(1) });
    const planned = resolveExchange(deps, caller(), ask('chat', { tools: [weatherTool] }), {
      requestId: 'r',
      receivedAt: 0,
    });
    expect(planned.candidates.map((c) => c.model.id)).toEqual(['chat', 'cheap', 'mid']);
    const counts = firstCounts(2_000, () =>
      selector
        .order('chat', planned.routedBy.routing, planned.candidates, demand)
        .map((candidate) => candidate.model.id),
    );
    expect(counts.get('no-tools')).toBeUndefined();
    expect(counts.get('cheap')).toBe(2_000); // the only weighted deployment left
    // Without tools the heavier weight is back in play.
    const plain = resolveExchange(deps, caller(), ask('chat'), { requestId: 'r', receivedAt: 0 });
    expect(plain.candidates.map((c) => c.model.id)).toEqual(['chat', 'no-tools', 'cheap', 'mid']);
  });

  it("refuses a tools request to a model that takes none (the model's own, as for a provider feature)", () => {
    const error = errorOf(() =>
      resolveExchange(deps, caller(), ask('no-tools', { tools: [weatherTool] }), { requestId: 'r', receivedAt: 0 }),
    );
    expect([error.status, error.message]).toEqual([400, expect.stringContaining('does not support tools')]);
  });
});

describe('routing config', () => {
  const base = (models: GatewayConfigInput['models']): GatewayConfigInput => ({
    providers: { mock: { adapter: 'mock' } },
    models: [
      { id: 'a', provider: 'mock', upstreamModel: 'a', prices: { input: 1, output: 1 } },
      { id: 'e', kind: 'embedding', provider: 'mock', upstreamModel: 'e', prices: { input: 1, output: 0 } },
      ...models,
    ],
  });
  /** The config error's message: every problem, one per line, with its path. */
  const problems = (models: GatewayConfigInput['models']): string => {
    try {
      parseGatewayConfig(base(models));
    } catch (error) {
      if (error instanceof GatewayConfigError) return error.message;
      throw error;
    }
    throw new Error('expected the config to be refused');
  };

  it('leaves an entry without routing as it was: ordered fallbacks', () => {
    const parsed = parseGatewayConfig(base([]));
    expect(parsed.models[0]).toMatchObject({
      routing: { strategy: 'fallback' },
      capabilities: { tools: true, images: true },
    });
    expect(parsed.models[0]!.experiment).toBeUndefined();
  });

  it("refuses weights and rules naming anything but the entry's deployments", () => {
    const message = problems([
      {
        id: 'w',
        provider: 'mock',
        upstreamModel: 'w',
        prices: { input: 1, output: 1 },
        fallbacks: ['a'],
        routing: { strategy: 'weighted', weights: { w: 1, e: 2 } },
      },
      {
        id: 'c',
        provider: 'mock',
        upstreamModel: 'c',
        prices: { input: 1, output: 1 },
        routing: { strategy: 'context', rules: [{ minPromptTokens: 10, model: 'a' }] },
      },
    ]);
    expect(message).toContain('models.2.routing.weights.e: "e" is not one of this model\'s deployments');
    expect(message).toContain('models.3.routing.rules.0.model: "a" is not one of this model\'s deployments');
  });

  it('refuses experiments whose percentages miss 100 or whose variants are not other models of its kind', () => {
    const message = problems([
      {
        id: 'x',
        provider: 'mock',
        upstreamModel: 'x',
        prices: { input: 1, output: 1 },
        experiment: {
          name: 'exp',
          variants: [
            { model: 'a', percent: 50 },
            { model: 'e', percent: 30 },
            { model: 'x', percent: 10 },
            { model: 'nope', percent: 5 },
          ],
        },
      },
    ]);
    expect(message).toContain('models.2.experiment.variants: percents sum to 95, not 100');
    expect(message).toContain('models.2.experiment.variants.1.model: "e" is not a chat model');
    expect(message).toContain('models.2.experiment.variants.2.model: a variant is another catalog model');
    expect(message).toContain('models.2.experiment.variants.3.model: unknown model id "nope"');
  });
});
