import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import type { UsageRecord } from '../../lambdas/shared/usage/record';
import type { LocalGateway } from '../../local/local-gateway';
import { FakeOpenAi, lastUserText, type FakeOpenAiRequest, type FakeOpenAiReply } from '../fakes/openai-server';
import { GENEROUS_TEAM_DEFAULTS } from '../helpers/config';
import { adminFetch } from '../helpers/local-admin';
import { ledgerEntries } from '../helpers/usage-store';
import { installedAfterResponse } from '../../lambdas/shared/lifecycle/after-response';
import { startTestLocalGateway } from '../helpers/local-gateway';

const CARD = '4111 1111 1111 1111';

/**
 * The response cache through the local gateway with the official clients: a fake upstream that
 * numbers its answers says whether a request reached it.
 */
describe('response cache', () => {
  let gateway: LocalGateway;
  let failing = false;
  const upstream = new FakeOpenAi((request: FakeOpenAiRequest): FakeOpenAiReply => {
    if (failing) return { kind: 'error', status: 503, type: 'server_error', message: 'overloaded' };
    const said = lastUserText(request);
    return {
      kind: 'completion',
      text: said.includes('card') ? `Your card is ${CARD}.` : `Answer ${upstream.requests.length} to ${said}`,
      usage: { prompt_tokens: 40, completion_tokens: 12 },
    };
  });
  const savedEnv = { ...process.env };
  let teamCounter = 0;

  beforeAll(async () => {
    const url = await upstream.start();
    const config: GatewayConfigInput = {
      providers: { openai: { adapter: 'openai', baseUrl: `${url}/v1`, apiKeySecret: 'test/openai' } },
      models: [{ id: 'gpt', provider: 'openai', upstreamModel: 'gpt-4o-mini', prices: { input: 0.15, output: 0.6 } }],
      teamDefaults: GENEROUS_TEAM_DEFAULTS,
      policies: {
        profiles: {
          default: {},
          cards: { detectors: [{ detector: 'credit_card', action: 'redact', direction: 'output' }] },
        },
      },
    };
    process.env.OPENAI_API_KEY = 'sk-test';
    gateway = await startTestLocalGateway('rcache', {
      config,
    });
  });
  afterAll(async () => {
    process.env = savedEnv;
    await gateway?.stop();
    await upstream.stop();
  });
  beforeEach(() => {
    failing = false;
  });

  /** A new team with the given settings and a key for it, and OpenAI and Anthropic clients on both doors. */
  async function team(settings: Record<string, unknown>) {
    teamCounter += 1;
    const id = `cache-${teamCounter}`;
    expect((await adminFetch(gateway, 'POST', '/v1/admin/teams', { id, name: id, ...settings })).status).toBe(201);
    const { key } = (await (await adminFetch(gateway, 'POST', `/v1/admin/teams/${id}/keys`, {})).json()) as {
      key: string;
    };
    return {
      id,
      openai: new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 }),
      streaming: new OpenAI({ baseURL: `${gateway.streamUrl}/v1`, apiKey: key, maxRetries: 0 }),
      anthropic: new Anthropic({ baseURL: gateway.streamUrl, apiKey: key, maxRetries: 0 }),
      anthropicBuffered: new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0 }),
    };
  }

  /** A non-streamed chat: its text and the `x-gateway-cache` header. */
  async function ask(
    client: OpenAI,
    content: string,
    extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {},
    headers: Record<string, string> = {},
  ) {
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt', temperature: 0, messages: [{ role: 'user', content }], ...extra }, { headers })
      .withResponse();
    // The answer is stored with its usage, just after it is sent (the post-response extension's
    // part, played by the local runtime): let that land before the next request.
    await installedAfterResponse()?.drain();
    return { text: data.choices[0]!.message.content, cache: response.headers.get('x-gateway-cache'), data };
  }

  /** The team's ledger today, oldest first. */
  async function ledger(teamId: string): Promise<UsageRecord[]> {
    const db = createDocumentClient({ region: 'us-east-1', endpoint: gateway.dynamodbEndpoint });
    try {
      // Recording may finish just after the answer: wait for what the test expects to be there.
      const day = new Date().toISOString().slice(0, 10);
      const entries = await ledgerEntries(db, gateway.tables.usage, teamId, day);
      return entries.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    } finally {
      db.destroy();
    }
  }

  it('serves a repeated request from the cache: one upstream call, the same answer, header miss then hit', async () => {
    const { openai } = await team({ cache_ttl_seconds: 300 });
    const before = upstream.requests.length;
    const first = await ask(openai, 'What is a cache?');
    const second = await ask(openai, 'What is a cache?');
    expect(first.cache).toBe('miss');
    expect(second.cache).toBe('hit');
    expect(second.text).toBe(first.text);
    expect(upstream.requests.length).toBe(before + 1);
    // A hit processes no tokens.
    expect(second.data.usage).toMatchObject({ prompt_tokens: 0, completion_tokens: 0 });
  });

  it('records a hit in the ledger with zero cost and the saved cost of the answer it reused', async () => {
    const { id, openai } = await team({ cache_ttl_seconds: 300, monthly_budget_usd: 10 });
    await ask(openai, 'Ledger question');
    await ask(openai, 'Ledger question');
    let entries: UsageRecord[] = [];
    for (let i = 0; i < 50 && entries.length < 2; i++) {
      entries = await ledger(id);
      if (entries.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [miss, hit] = entries;
    expect(miss!.cacheHit).toBeUndefined();
    expect(BigInt(miss!.cost.totalPicos)).toBeGreaterThan(0n);
    expect(hit).toMatchObject({ cacheHit: true, attempts: 0, status: 'ok' });
    expect(BigInt(hit!.cost.totalPicos)).toBe(0n);
    expect(BigInt(hit!.savedPicos!)).toBe(BigInt(miss!.cost.totalPicos));
    const report = (await (await adminFetch(gateway, 'GET', `/v1/admin/teams/${id}/usage?days=1`)).json()) as {
      totals: Record<string, unknown>;
      budget: { spent_picos: string };
    };
    expect(report.totals).toMatchObject({
      requests: 2,
      cache_hits: 1,
      cost_picos: String(miss!.cost.totalPicos),
      saved_picos: String(miss!.cost.totalPicos),
    });
    // The hit's admission settled at zero: the budget is charged for the miss only.
    expect(report.budget.spent_picos).toBe(String(miss!.cost.totalPicos));
  });

  it("keeps each team's answers to itself", async () => {
    const one = await team({ cache_ttl_seconds: 300 });
    const two = await team({ cache_ttl_seconds: 300 });
    const before = upstream.requests.length;
    expect((await ask(one.openai, 'Shared question')).cache).toBe('miss');
    expect((await ask(two.openai, 'Shared question')).cache).toBe('miss');
    expect(upstream.requests.length).toBe(before + 2);
  });

  it('says nothing for a team without a cache, and bypass or refresh when the caller asks', async () => {
    const none = await team({});
    expect((await ask(none.openai, 'No cache here')).cache).toBeNull();

    const { openai } = await team({ cache_ttl_seconds: 300 });
    const first = await ask(openai, 'Steer me');
    const before = upstream.requests.length;
    const bypass = await ask(openai, 'Steer me', {}, { 'x-gateway-cache': 'bypass' });
    expect(bypass.cache).toBe('bypass');
    expect(bypass.text).not.toBe(first.text);
    // A bypassed answer is not stored: the cache still holds the first one.
    expect((await ask(openai, 'Steer me')).text).toBe(first.text);
    const refresh = await ask(openai, 'Steer me', {}, { 'x-gateway-cache': 'refresh' });
    expect(refresh.cache).toBe('miss');
    expect(upstream.requests.length).toBe(before + 2);
    const after = await ask(openai, 'Steer me');
    expect(after).toMatchObject({ cache: 'hit', text: refresh.text });
  });

  it('replays a cached answer as a stream, on the OpenAI and the Anthropic face', async () => {
    // The misses go through the buffered door; both doors store the answer just after it is sent,
    // and the local runtime's post-response work is drained before the next request.
    const { openai, streaming, anthropic, anthropicBuffered } = await team({ cache_ttl_seconds: 300 });
    const first = await ask(openai, 'Stream it back');
    const before = upstream.requests.length;
    const { data: stream, response } = await streaming.chat.completions
      .create({
        model: 'gpt',
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'Stream it back' }],
      })
      .withResponse();
    expect(response.headers.get('x-gateway-cache')).toBe('hit');
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe(first.text);
    expect(chunks).toBeGreaterThan(1);

    // The Messages face: a miss, then the same answer streamed from the cache in Anthropic's events.
    const params = {
      model: 'gpt',
      max_tokens: 100,
      temperature: 0,
      messages: [{ role: 'user' as const, content: 'Anthropic asks' }],
    };
    const miss = await anthropicBuffered.messages.create(params).withResponse();
    expect(miss.response.headers.get('x-gateway-cache')).toBe('miss');
    await installedAfterResponse()?.drain();
    const streamed = anthropic.messages.stream(params);
    const message = await streamed.finalMessage();
    expect(message.content).toEqual(miss.data.content);
    expect(upstream.requests.length).toBe(before + 1);
  });

  it('stores a streamed answer and serves it to a non-streamed request', async () => {
    const { id, streaming } = await team({ cache_ttl_seconds: 300 });
    const stream = await streaming.chat.completions.create({
      model: 'gpt',
      temperature: 0,
      stream: true,
      messages: [{ role: 'user', content: 'Streamed first' }],
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    // The answer is stored with the stream's usage write, just after its last byte: wait for the
    // stored item itself (asking meanwhile would miss, and store that answer in its place).
    const db = createDocumentClient({ region: 'us-east-1', endpoint: gateway.dynamodbEndpoint });
    try {
      for (let i = 0; i < 100; i++) {
        const { Items = [] } = await db.send(
          new ScanCommand({
            TableName: gateway.tables.usage,
            FilterExpression: 'begins_with(pk, :team)',
            ExpressionAttributeValues: { ':team': `RCACHE#${id}#` },
          }),
        );
        if (Items.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      db.destroy();
    }
    expect(await ask(streaming, 'Streamed first')).toMatchObject({ cache: 'hit', text });
  });

  it('does not cache sampled requests or requests with tools, unless the team accepts sampled answers', async () => {
    const { openai } = await team({ cache_ttl_seconds: 300 });
    const before = upstream.requests.length;
    expect((await ask(openai, 'Sampled', { temperature: 0.7 })).cache).toBe('bypass');
    expect((await ask(openai, 'Sampled', { temperature: 0.7 })).cache).toBe('bypass');
    expect((await ask(openai, 'Unset temperature', { temperature: undefined })).cache).toBe('bypass');
    const tools = [{ type: 'function' as const, function: { name: 'f', parameters: { type: 'object' } } }];
    expect((await ask(openai, 'With tools', { tools })).cache).toBe('bypass');
    expect((await ask(openai, 'With tools', { tools })).cache).toBe('bypass');
    expect(upstream.requests.length).toBe(before + 5);

    const lenient = await team({ cache_ttl_seconds: 300, cache_nondeterministic: true });
    expect((await ask(lenient.openai, 'Sampled', { temperature: 0.7 })).cache).toBe('miss');
    expect((await ask(lenient.openai, 'Sampled', { temperature: 0.7 })).cache).toBe('hit');
    expect((await ask(lenient.openai, 'With tools', { tools })).cache).toBe('bypass');
  });

  it('never stores an answer the policy redacted', async () => {
    const { openai } = await team({ cache_ttl_seconds: 300, policy_profile: 'cards' });
    const before = upstream.requests.length;
    const first = await ask(openai, 'Read my card');
    expect(first.text).not.toContain(CARD);
    expect(first.cache).toBe('miss');
    expect((await ask(openai, 'Read my card')).cache).toBe('miss');
    expect(upstream.requests.length).toBe(before + 2);
  });

  it('serves a hit only within the TTL', async () => {
    // 3 s: the hit must come within the TTL even on a loaded machine.
    const { openai } = await team({ cache_ttl_seconds: 3 });
    await ask(openai, 'Short-lived');
    expect((await ask(openai, 'Short-lived')).cache).toBe('hit');
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    expect((await ask(openai, 'Short-lived')).cache).toBe('miss');
  });

  it('serves the last answer, marked stale, when every deployment fails, only to a team that opted in', async () => {
    const stale = await team({ cache_ttl_seconds: 1, cache_stale_if_error: true });
    const strict = await team({ cache_ttl_seconds: 1 });
    const first = await ask(stale.openai, 'Keep me');
    await ask(strict.openai, 'Keep me');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    failing = true;
    const served = await ask(stale.openai, 'Keep me');
    expect(served).toMatchObject({ cache: 'stale', text: first.text });
    await expect(ask(strict.openai, 'Keep me')).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    // Streamed too.
    const { data: stream, response } = await stale.streaming.chat.completions
      .create({ model: 'gpt', temperature: 0, stream: true, messages: [{ role: 'user', content: 'Keep me' }] })
      .withResponse();
    expect(response.headers.get('x-gateway-cache')).toBe('stale');
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(first.text);
    let entries = await ledger(stale.id);
    for (let i = 0; i < 50 && entries.filter((entry) => entry.cacheHit).length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      entries = await ledger(stale.id);
    }
    expect(entries.some((entry) => entry.cacheHit && entry.attempts > 0 && BigInt(entry.cost.totalPicos) === 0n)).toBe(
      true,
    );
  });
});
