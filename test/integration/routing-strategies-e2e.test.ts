import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import type { LocalGateway } from '../../local/local-gateway';
import { testConfig } from '../helpers/config';
import { adminFetch } from '../helpers/local-admin';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * The strategies the experiments suite does not drive, through the local gateway with the
 * official clients: round-robin, least-latency, cost (with capability filtering: a tools request
 * never goes to a deployment without tools) and context rules, each within the caller's
 * allow-list, each reporting the model that served in `x-gateway-model`.
 */

const config: GatewayConfigInput = {
  ...testConfig,
  providers: { ...testConfig.providers, 'mock-slower': { adapter: 'mock', latencyMs: 300 } },
  models: [
    ...testConfig.models,
    // Cheap but no tools: the cost strategy's first choice, except for a tools request.
    {
      id: 'mock-tiny',
      provider: 'mock',
      upstreamModel: 'mock-tiny',
      prices: { input: 0.01, output: 0.02 },
      capabilities: { tools: false },
    },
    {
      id: 'rr',
      provider: 'mock',
      upstreamModel: 'rr',
      prices: { input: 1, output: 1 },
      fallbacks: ['mock-small', 'mock-large'],
      routing: { strategy: 'round-robin' },
    },
    {
      id: 'fastest',
      provider: 'mock-slower',
      upstreamModel: 'fastest',
      prices: { input: 1, output: 1 },
      fallbacks: ['mock-small'],
      routing: { strategy: 'least-latency' },
    },
    {
      id: 'cheapest',
      provider: 'mock',
      upstreamModel: 'cheapest',
      prices: { input: 5, output: 5 },
      fallbacks: ['mock-large', 'mock-small', 'mock-tiny'],
      routing: { strategy: 'cost' },
    },
    {
      id: 'by-length',
      provider: 'mock',
      upstreamModel: 'by-length',
      prices: { input: 1, output: 1 },
      fallbacks: ['mock-large'],
      routing: { strategy: 'context', rules: [{ minPromptTokens: 1_000, model: 'mock-large' }] },
    },
  ],
};

describe('routing strategies through the local gateway', () => {
  let gateway: LocalGateway;
  let client: OpenAI;

  beforeAll(async () => {
    gateway = await startTestLocalGateway('strategies', {
      config,
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.demoKey, maxRetries: 0 });
  });
  afterAll(() => gateway.stop());

  /** The model that served each of `n` requests to `model`, in order. */
  async function served(model: string, n: number, content = 'hi', key?: string): Promise<string[]> {
    const sdk = key ? new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 }) : client;
    const models: string[] = [];
    for (let i = 0; i < n; i++) {
      const { response } = await sdk.chat.completions
        .create({ model, messages: [{ role: 'user', content }] })
        .withResponse();
      models.push(response.headers.get('x-gateway-model')!);
    }
    return models;
  }

  it('round-robin: each deployment first in turn', async () => {
    const models = await served('rr', 6);
    expect(new Set(models.slice(0, 3))).toEqual(new Set(['rr', 'mock-small', 'mock-large']));
    expect(models.slice(3)).toEqual(models.slice(0, 3));
  });

  it('round-robin within the allow-list: a key that may not use a deployment never gets it', async () => {
    const issued = await adminFetch(gateway, 'POST', `/v1/admin/teams/${gateway.demoTeamId}/keys`, {
      name: 'narrow',
      allowed_models: ['rr', 'mock-small'],
    });
    const { key } = (await issued.json()) as { key: string };
    const models = await served('rr', 6, 'hi', key);
    expect(new Set(models)).toEqual(new Set(['rr', 'mock-small']));
  });

  it('least-latency: measures each deployment once, then prefers the faster one', async () => {
    const models = await served('fastest', 6);
    expect(new Set(models.slice(0, 2))).toEqual(new Set(['fastest', 'mock-small']));
    expect(models.slice(2)).toEqual(['mock-small', 'mock-small', 'mock-small', 'mock-small']);
  });

  it('cost: the cheapest deployment that can serve the request; a tools request skips one without tools', async () => {
    expect(await served('cheapest', 2)).toEqual(['mock-tiny', 'mock-tiny']);
    const { response } = await client.chat.completions
      .create({
        model: 'cheapest',
        messages: [{ role: 'user', content: 'weather?' }],
        tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: {} } } }],
      })
      .withResponse();
    expect(response.headers.get('x-gateway-model')).toBe('mock-small');
  });

  it('context: long prompts to the long-context deployment, short ones in config order (Anthropic face too)', async () => {
    expect(await served('by-length', 1, 'short')).toEqual(['by-length']);
    expect(await served('by-length', 1, 'long '.repeat(1_000))).toEqual(['mock-large']);
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: gateway.demoKey, maxRetries: 0 });
    const { response } = await anthropic.messages
      .create({ model: 'by-length', max_tokens: 50, messages: [{ role: 'user', content: 'long '.repeat(1_000) }] })
      .withResponse();
    expect(response.headers.get('x-gateway-model')).toBe('mock-large');
  });
});
