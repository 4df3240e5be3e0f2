import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { Catalog } from '../../lambdas/shared/catalog/catalog';
import { parseGatewayConfig } from '../../lambdas/shared/catalog/schema';
import { picosOf } from '../../lambdas/shared/cost/money';
import { priceUsage } from '../../lambdas/shared/cost/pricing';
import { mockEmbedding, mockTokens } from '../../lambdas/shared/providers/mock';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { addTotals, emptyTotals, totalsOf, type UsageRecord } from '../../lambdas/shared/usage/record';
import { totalsView } from '../../lambdas/shared/usage/views';
import type { LocalGateway } from '../../local/local-gateway';
import { FakeBedrockEmbeddings, fakeBedrockTokens, fakeBedrockVector } from '../fakes/bedrock-embeddings-server';
import { FakeOpenAi } from '../fakes/openai-server';
import { GENEROUS_TEAM_DEFAULTS } from '../helpers/config';
import { testEndpoint } from '../helpers/dynamodb';
import { adminFetch } from '../helpers/local-admin';
import { exactCost } from '../helpers/money';
import { aggregateRows, ledgerEntries } from '../helpers/usage-store';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * `POST /v1/embeddings` end to end with the official `openai` client (`client.embeddings.create`)
 * on both doors of the local runtime: the mock, a fake Bedrock InvokeModel (Titan V2, Cohere v3)
 * and a fake OpenAI `/embeddings`, each speaking its real wire format; keys, allow-lists, limits,
 * DLP and the ledger as for chats.
 */
describe('embeddings through the local gateway', () => {
  let gateway: LocalGateway;
  let catalog: Catalog;
  const bedrock = new FakeBedrockEmbeddings();
  const openai = new FakeOpenAi();
  const savedEnv = { ...process.env };
  const db = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
  const keys: Record<string, string> = {};

  const admin = (method: string, path: string, body?: unknown) => adminFetch(gateway, method, path, body);
  const clientFor = (key: string, base = gateway.url) =>
    new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
  const today = () => new Date().toISOString().slice(0, 10);
  const ledger = (teamId: string) => ledgerEntries(db, gateway.tables.usage, teamId, today());

  /** Creates a team and a key, remembered under the team's id. */
  async function team(id: string, teamFields: object = {}, keyFields: object = {}): Promise<string> {
    expect((await admin('POST', '/v1/admin/teams', { id, name: id, ...teamFields })).status).toBe(201);
    const issued = (await (await admin('POST', `/v1/admin/teams/${id}/keys`, { name: 'k', ...keyFields })).json()) as {
      key: string;
    };
    keys[id] = issued.key;
    return issued.key;
  }

  beforeAll(async () => {
    const [bedrockUrl, openaiUrl] = await Promise.all([bedrock.start(), openai.start()]);
    const config: GatewayConfigInput = {
      providers: {
        mock: { adapter: 'mock' },
        'mock-down': { adapter: 'mock', failureRate: 1, failStatus: 503 },
        bedrock: { adapter: 'bedrock', region: 'us-east-1', endpoint: bedrockUrl },
        openai: { adapter: 'openai', baseUrl: `${openaiUrl}/v1`, apiKeySecret: 'test/openai' },
      },
      models: [
        { id: 'mock-small', provider: 'mock', upstreamModel: 'mock-small', prices: { input: 0.1, output: 0.4 } },
        {
          id: 'mock-embed',
          kind: 'embedding',
          provider: 'mock',
          upstreamModel: 'mock-embed',
          prices: { input: 0.02, output: 0 },
          dimensions: [256, 64],
        },
        {
          id: 'embed-primary',
          kind: 'embedding',
          provider: 'mock-down',
          upstreamModel: 'mock-embed',
          prices: { input: 1, output: 0 },
          fallbacks: ['mock-embed'],
        },
        {
          id: 'titan',
          kind: 'embedding',
          provider: 'bedrock',
          upstreamModel: 'amazon.titan-embed-text-v2:0',
          prices: { input: 0.02, output: 0 },
          dimensions: [1024, 512, 256],
        },
        {
          id: 'cohere',
          kind: 'embedding',
          provider: 'bedrock',
          upstreamModel: 'cohere.embed-english-v3',
          prices: { input: 0.1, output: 0 },
        },
        {
          id: 'oai-embed',
          kind: 'embedding',
          provider: 'openai',
          upstreamModel: 'text-embedding-3-small',
          // $0.035/MTok: each call costs a fraction of a micro-dollar, exact only in pico-dollars.
          prices: { input: 0.035, output: 0 },
          dimensions: [1536, 512],
        },
      ],
      teamDefaults: GENEROUS_TEAM_DEFAULTS,
      policies: {
        profiles: {
          default: {
            denyRules: [{ id: 'codenames', message: 'Code names stay inside.', keywords: ['project falcon'] }],
            detectors: [{ detector: 'email', action: 'redact', direction: 'input' }],
          },
        },
      },
    };
    catalog = new Catalog(parseGatewayConfig(config));
    process.env.OPENAI_API_KEY = 'sk-test';
    gateway = await startTestLocalGateway('embed', {
      config,
    });
    await team('emb-main');
    await team('emb-limited', { requests_per_minute: 2 });
    await team('emb-chat-only', {}, { allowed_models: ['mock-small'] });
    await team('emb-bad');
  }, 60_000);

  afterAll(async () => {
    process.env = savedEnv;
    await gateway?.stop();
    await Promise.all([bedrock.stop(), openai.stop()]);
    db.destroy();
  });

  it('answers in OpenAI shape on both doors: the SDK default (base64) and floats give the mock vectors', async () => {
    for (const base of [gateway.url, gateway.streamUrl]) {
      const client = clientFor(keys['emb-main']!, base);
      const inputs = ['hello', 'a second, longer text'];
      const decoded = await client.embeddings.create({ model: 'mock-embed', input: inputs });
      expect(decoded).toMatchObject({ object: 'list', model: 'mock-embed' });
      expect(decoded.usage).toEqual({
        prompt_tokens: mockTokens(inputs[0]!) + mockTokens(inputs[1]!),
        total_tokens: mockTokens(inputs[0]!) + mockTokens(inputs[1]!),
      });
      decoded.data.forEach((item, index) => {
        expect(item).toMatchObject({ object: 'embedding', index });
        // base64 carries float32: the SDK decodes exactly the float32 rounding of the vector.
        expect(item.embedding).toEqual(mockEmbedding(inputs[index]!, 256).map(Math.fround));
      });

      const floats = await client.embeddings.create({ model: 'mock-embed', input: 'hello', encoding_format: 'float' });
      expect(floats.data).toEqual([{ object: 'embedding', index: 0, embedding: mockEmbedding('hello', 256) }]);
      const small = await client.embeddings.create({ model: 'mock-embed', input: 'hello', dimensions: 64 });
      expect(small.data[0]!.embedding).toHaveLength(64);
    }
  });

  it('serves Titan V2 through InvokeModel, one text per call, with the dimensions asked for', async () => {
    bedrock.requests.length = 0;
    const inputs = ['first document', 'second one here', 'third'];
    const { data, usage } = await clientFor(keys['emb-main']!).embeddings.create({
      model: 'titan',
      input: inputs,
      dimensions: 256,
      encoding_format: 'float',
    });
    expect(bedrock.requests.map((r) => r.modelId)).toEqual(inputs.map(() => 'amazon.titan-embed-text-v2:0'));
    expect(
      bedrock.requests.map((r) => r.body).sort((a, b) => String(a.inputText).localeCompare(String(b.inputText))),
    ).toEqual(inputs.map((inputText) => ({ inputText, dimensions: 256, normalize: true })));
    expect(data.map((d) => d.embedding)).toEqual(
      inputs.map((text) => fakeBedrockVector('amazon.titan-embed-text-v2:0', text, 256)),
    );
    expect(usage.prompt_tokens).toBe(inputs.reduce((n, t) => n + fakeBedrockTokens(t), 0));
  });

  it('serves Cohere v3 in batches of 96 texts, billed from the token count header', async () => {
    bedrock.requests.length = 0;
    const inputs = Array.from({ length: 100 }, (_, i) => `doc ${i} about embeddings`);
    const { data, usage } = await clientFor(keys['emb-main']!, gateway.streamUrl).embeddings.create({
      model: 'cohere',
      input: inputs,
    });
    expect(bedrock.requests.map((r) => (r.body.texts as string[]).length)).toEqual([96, 4]);
    expect(bedrock.requests[0]!.body).toEqual({ texts: inputs.slice(0, 96), input_type: 'search_document' });
    expect(data).toHaveLength(100);
    expect(data[99]!.embedding).toEqual(fakeBedrockVector('cohere.embed-english-v3', inputs[99]!, 1024));
    expect(usage.prompt_tokens).toBe(inputs.reduce((n, t) => n + fakeBedrockTokens(t), 0));
  });

  it('sends OpenAI upstreams POST /embeddings, with DLP redaction applied to each input first', async () => {
    openai.requests.length = 0;
    const { data, usage, response } = await clientFor(keys['emb-main']!)
      .embeddings.create({
        model: 'oai-embed',
        input: ['write to alice@example.com today', 'nothing to hide'],
        dimensions: 512,
        user: 'end-user-7',
      })
      .withResponse()
      .then(async ({ data: body, response: raw }) => ({ ...body, response: raw }));
    expect(openai.requests).toHaveLength(1);
    const sent = openai.requests[0]!;
    expect(sent.path).toBe('/v1/embeddings');
    expect(sent.headers['authorization']).toBe('Bearer sk-test');
    expect(sent.body).toMatchObject({ model: 'text-embedding-3-small', dimensions: 512, user: 'end-user-7' });
    const upstreamInputs = sent.body['input'] as string[];
    expect(upstreamInputs[0]).not.toContain('alice@example.com');
    expect(upstreamInputs[0]).toMatch(/^write to \[EMAIL_1\] today$/);
    expect(upstreamInputs[1]).toBe('nothing to hide');
    expect(data).toHaveLength(2);
    expect(usage.prompt_tokens).toBe(4 + 1 + 3 + 1);
    expect(response.headers.get('x-gateway-policy')).toBe('redact');
    expect(response.headers.get('x-gateway-policy-rules')).toBe('dlp:email');
  });

  it('falls back to the next embedding model when the first provider fails', async () => {
    const { response } = await clientFor(keys['emb-main']!)
      .embeddings.create({ model: 'embed-primary', input: 'fall back please' })
      .withResponse();
    expect(response.headers.get('x-gateway-model')).toBe('mock-embed');
    expect(response.headers.get('x-gateway-attempts')).toBe('3');
  });

  it('refuses bad input with a 400 naming it, and writes nothing', async () => {
    const client = clientFor(keys['emb-bad']!);
    const cases: [Parameters<typeof client.embeddings.create>[0], string][] = [
      [{ model: 'mock-embed', input: [1, 2, 3] }, 'input'],
      [{ model: 'mock-embed', input: [[1, 2]] }, 'input'],
      [{ model: 'mock-embed', input: '' }, 'input'],
      [{ model: 'mock-embed', input: [] }, 'input'],
      [{ model: 'mock-embed', input: 'x', dimensions: 100 }, 'dimensions'],
      [{ model: 'cohere', input: 'x', dimensions: 256 }, 'dimensions'],
      [{ model: 'mock-small', input: 'x' }, 'model'],
      [{ model: 'mock-embed', input: 'x', encoding_format: 'int8' as 'float' }, 'encoding_format'],
    ];
    for (const [body, param] of cases) {
      const error = await client.embeddings.create(body).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error).toMatchObject({ status: 400, param });
    }
    const chat = await client.chat.completions
      .create({ model: 'mock-embed', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(chat).toMatchObject({ status: 400, param: 'model', code: 'unsupported_model' });
    // A policy block is a 400 in OpenAI's shape too; only its audit record is written.
    const blocked = await client.embeddings
      .create({
        model: 'mock-embed',
        input: ['fine', 'notes on Project Falcon'],
      })
      .catch((e: unknown) => e);
    expect(blocked).toMatchObject({ status: 400, code: 'content_policy_violation' });
    expect((blocked as Error).message).toContain('Code names stay inside.');
    expect(await ledger('emb-bad')).toEqual([]);
    const month = today().slice(0, 7);
    expect(await aggregateRows(db, gateway.tables.usage, 'emb-bad', month)).toEqual({ monthRows: [], dayRows: [] });
  });

  it("refuses a model outside the key's allow-list (403) and past the rate limit (429)", async () => {
    const chatOnly = clientFor(keys['emb-chat-only']!);
    await expect(chatOnly.embeddings.create({ model: 'mock-embed', input: 'x' })).rejects.toMatchObject({
      status: 403,
      code: 'model_not_allowed',
    });
    const models = await chatOnly.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['mock-small']);

    const limited = clientFor(keys['emb-limited']!);
    await limited.embeddings.create({ model: 'mock-embed', input: 'one' });
    await limited.embeddings.create({ model: 'mock-embed', input: 'two' });
    const third = await limited.embeddings.create({ model: 'mock-embed', input: 'three' }).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(OpenAI.RateLimitError);
    expect(third).toMatchObject({ status: 429, type: 'requests' });
  });

  it('records every call exactly: ledger = aggregates = /v1/usage = chargeback, in pico-dollars', async () => {
    // 6 mock calls (3 per door), titan, cohere, openai, the fallback. The streaming door records
    // just after the client's last byte: wait for its last write.
    let entries = await ledger('emb-main');
    for (let i = 0; i < 50 && entries.length < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      entries = await ledger('emb-main');
    }
    expect(entries).toHaveLength(10);
    for (const entry of entries) {
      expect(entry.usage.outputTokens).toBe(0);
      expect(exactCost(entry.cost)).toEqual(priceUsage(entry.usage, catalog.findModel(entry.model)!.prices));
    }
    const oai = entries.find((e) => e.model === 'oai-embed')!;
    expect(picosOf(oai.cost.totalPicos)).toBe(9n * 35_000n);

    const sum = (records: readonly UsageRecord[]) => records.reduce((t, r) => addTotals(t, totalsOf(r)), emptyTotals());
    const totals = sum(entries);
    const { monthRows } = await aggregateRows(db, gateway.tables.usage, 'emb-main', today().slice(0, 7));
    expect(monthRows.reduce((n, row) => n + Number(row['requests']), 0)).toBe(10);

    const usage = (await (
      await fetch(`${gateway.url}/v1/usage?days=1`, { headers: { authorization: `Bearer ${keys['emb-main']}` } })
    ).json()) as { totals: Record<string, unknown>; by_model: ({ model: string } & Record<string, unknown>)[] };
    expect(usage.totals).toMatchObject(totalsView(totals));

    const chargeback = (await (await admin('GET', `/v1/admin/chargeback?month=${today().slice(0, 7)}`)).json()) as {
      lines: ({ team: string; model: string } & Record<string, unknown>)[];
    };
    for (const model of new Set(entries.map((e) => e.model))) {
      const byModel = totalsView(sum(entries.filter((e) => e.model === model)));
      expect(usage.by_model.find((m) => m.model === model)).toMatchObject(byModel);
      expect(chargeback.lines.find((l) => l.team === 'emb-main' && l.model === model)).toMatchObject(byModel);
    }
  });
});
