import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import type { UsageRecord } from '../../lambdas/shared/usage/record';
import type { LocalGateway } from '../../local/local-gateway';
import { FakeAnthropic, type FakeAnthropicReply, type FakeAnthropicRequest } from '../fakes/anthropic-server';
import { FakeBedrock, type FakeBedrockReply, type FakeBedrockRequest } from '../fakes/bedrock-server';
import { FakeOpenAi, type FakeOpenAiReply, type FakeOpenAiRequest } from '../fakes/openai-server';
import { GENEROUS_TEAM_DEFAULTS } from '../helpers/config';
import { testEndpoint } from '../helpers/dynamodb';
import { adminFetch } from '../helpers/local-admin';
import { ledgerEntries as ledgerOfDay } from '../helpers/usage-store';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * The official OpenAI client against the local gateway (HTTP API stand-in and streaming Function
 * URL stand-in), with every provider behind it played by a local fake speaking that provider's
 * real wire format: Bedrock Converse/ConverseStream (REST-JSON and binary event stream over
 * HTTP/2), OpenAI and Azure OpenAI (JSON and SSE), Anthropic Messages (JSON and SSE).
 */

const TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather by city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

const usage = { input: 30, output: 7, cached: 20 };

/** Each fake answers the same conversation in its own format: a tool call, then text. */
type Behaviour = 'normal' | 'fail-503' | 'throttle' | 'bad-request' | 'server-error' | 'hang' | 'cut' | 'slow-stream';

function lastRole(messages: unknown): string {
  const list = messages as { role: string }[];
  return list[list.length - 1]!.role;
}

function openAiResponder(behaviour: () => Behaviour) {
  return (request: FakeOpenAiRequest): FakeOpenAiReply => {
    switch (behaviour()) {
      case 'fail-503':
        return { kind: 'error', status: 503, type: 'server_error', message: 'overloaded' };
      case 'throttle':
        return {
          kind: 'error',
          status: 429,
          type: 'requests',
          code: 'rate_limit_exceeded',
          message: 'slow down',
          retryAfterSeconds: 0,
        };
      case 'bad-request':
        return { kind: 'error', status: 400, type: 'invalid_request_error', message: "'messages' is too long" };
      case 'server-error':
        return { kind: 'error', status: 500, type: 'server_error', message: 'boom' };
      case 'hang':
        return {
          kind: 'completion',
          text: 'too late',
          usage: { prompt_tokens: 1, completion_tokens: 1 },
          delayMs: 3_000,
        };
      case 'cut':
        return {
          kind: 'completion',
          text: 'one two three four five six',
          usage: { prompt_tokens: 10, completion_tokens: 6 },
          cutAfterChunks: 3,
        };
      case 'slow-stream':
        return {
          kind: 'completion',
          text: Array.from({ length: 40 }, (_, i) => `word${i}`).join(' '),
          usage: { prompt_tokens: 10, completion_tokens: 40 },
          chunkDelayMs: 100,
        };
      default:
        break;
    }
    if (request.body.tools && lastRole(request.body.messages) === 'user') {
      return {
        kind: 'completion',
        toolCalls: [{ id: 'call_weather_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
        usage: { prompt_tokens: usage.input, completion_tokens: usage.output, cached_tokens: usage.cached },
      };
    }
    const text = lastRole(request.body.messages) === 'tool' ? 'It is sunny in Paris.' : 'Hello from the OpenAI fake.';
    return {
      kind: 'completion',
      text,
      usage: { prompt_tokens: usage.input, completion_tokens: usage.output, cached_tokens: usage.cached },
    };
  };
}

function anthropicResponder(behaviour: () => Behaviour) {
  return (request: FakeAnthropicRequest): FakeAnthropicReply => {
    const mode = behaviour();
    if (mode === 'fail-503') return { kind: 'error', status: 529, type: 'overloaded_error', message: 'Overloaded' };
    if (mode === 'cut') {
      return {
        kind: 'message',
        text: 'one two three four five six',
        usage: { input_tokens: 10, output_tokens: 6 },
        cutAfterDeltas: 3,
      };
    }
    const messages = request.body.messages as { role: string; content: { type: string }[] }[];
    const last = messages[messages.length - 1]!;
    if (request.body.tools && !last.content.some((block) => block.type === 'tool_result')) {
      return {
        kind: 'message',
        toolUses: [{ id: 'toolu_weather_1', name: 'get_weather', input: { city: 'Paris' } }],
        usage: {
          input_tokens: 10,
          output_tokens: usage.output,
          cache_read_input_tokens: 15,
          cache_creation_input_tokens: 5,
        },
      };
    }
    const text = last.content.some((block) => block.type === 'tool_result')
      ? 'It is sunny in Paris.'
      : 'Hello from the Anthropic fake.';
    return {
      kind: 'message',
      text,
      usage: {
        input_tokens: 10,
        output_tokens: usage.output,
        cache_read_input_tokens: 15,
        cache_creation_input_tokens: 5,
      },
    };
  };
}

function bedrockResponder(behaviour: () => Behaviour) {
  return (request: FakeBedrockRequest): FakeBedrockReply => {
    const mode = behaviour();
    if (mode === 'fail-503')
      return { kind: 'error', status: 503, errorType: 'ServiceUnavailableException', message: 'unavailable' };
    if (mode === 'throttle')
      return { kind: 'error', status: 429, errorType: 'ThrottlingException', message: 'Too many requests' };
    if (mode === 'cut') {
      return {
        kind: 'message',
        text: 'one two three four five six',
        usage: { inputTokens: 10, outputTokens: 6 },
        cutAfterDeltas: 3,
      };
    }
    const messages = request.body.messages as { role: string; content: Record<string, unknown>[] }[];
    const last = messages[messages.length - 1]!;
    const usageReply = {
      inputTokens: 10,
      outputTokens: usage.output,
      cacheReadInputTokens: 20,
      cacheWriteInputTokens: 0,
    };
    if (request.body.toolConfig && !last.content.some((block) => 'toolResult' in block)) {
      return {
        kind: 'message',
        toolUses: [{ toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Paris' } }],
        usage: usageReply,
      };
    }
    const text = last.content.some((block) => 'toolResult' in block)
      ? 'It is sunny in Paris.'
      : 'Hello from the Bedrock fake.';
    return { kind: 'message', text, usage: usageReply };
  };
}

describe('OpenAI compatibility over every provider (official openai client, local fakes)', () => {
  const mode: Record<'openai' | 'anthropic' | 'bedrock', Behaviour> = {
    openai: 'normal',
    anthropic: 'normal',
    bedrock: 'normal',
  };
  const fakes = {
    openai: new FakeOpenAi(openAiResponder(() => mode.openai)),
    anthropic: new FakeAnthropic(anthropicResponder(() => mode.anthropic)),
    bedrock: new FakeBedrock(bedrockResponder(() => mode.bedrock)),
  };
  let gateway: LocalGateway;
  let buffered: OpenAI;
  let streaming: OpenAI;
  const db = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    const [openaiUrl, anthropicUrl, bedrockUrl] = await Promise.all([
      fakes.openai.start(),
      fakes.anthropic.start(),
      fakes.bedrock.start(),
    ]);
    const config: GatewayConfigInput = {
      providers: {
        mock: { adapter: 'mock' },
        bedrock: { adapter: 'bedrock', region: 'us-east-1', endpoint: bedrockUrl },
        openai: { adapter: 'openai', baseUrl: `${openaiUrl}/v1`, apiKeySecret: 'test/openai' },
        azure: {
          adapter: 'openai',
          baseUrl: `${openaiUrl}/openai/deployments/gpt4o`,
          authHeader: 'api-key',
          query: { 'api-version': '2024-10-21' },
          apiKeySecret: 'test/azure',
        },
        anthropic: { adapter: 'anthropic', baseUrl: anthropicUrl, apiKeySecret: 'test/anthropic' },
        'openai-hung': { adapter: 'openai', baseUrl: `${openaiUrl}/v1`, apiKeySecret: 'test/openai', timeoutMs: 300 },
        // Fallback scenarios each get their own connection, so one scenario's failures (and the
        // circuit they open) do not change another's routing.
        'openai-5xx': { adapter: 'openai', baseUrl: `${openaiUrl}/v1`, apiKeySecret: 'test/openai' },
        'openai-throttled': { adapter: 'openai', baseUrl: `${openaiUrl}/v1`, apiKeySecret: 'test/openai' },
        'openai-stream': { adapter: 'openai', baseUrl: `${openaiUrl}/v1`, apiKeySecret: 'test/openai' },
        'openai-flaky': { adapter: 'openai', baseUrl: `${openaiUrl}/v1`, apiKeySecret: 'test/openai' },
      },
      models: [
        { id: 'mock-small', provider: 'mock', upstreamModel: 'mock-small', prices: { input: 0.1, output: 0.4 } },
        {
          id: 'bedrock-claude',
          provider: 'bedrock',
          upstreamModel: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
          prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
        },
        {
          id: 'gpt-4o-mini',
          provider: 'openai',
          upstreamModel: 'gpt-4o-mini',
          prices: { input: 0.15, output: 0.6, cacheRead: 0.075 },
          aliases: ['mini'],
        },
        {
          id: 'azure-gpt-4o',
          provider: 'azure',
          upstreamModel: 'gpt-4o',
          prices: { input: 2.5, output: 10, cacheRead: 1.25 },
        },
        {
          id: 'claude-direct',
          provider: 'anthropic',
          upstreamModel: 'claude-sonnet-4-20250514',
          prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
        },
        ...(['5xx', 'throttled', 'stream', 'flaky'] as const).map((scenario) => ({
          id: `primary-${scenario}`,
          provider: `openai-${scenario}`,
          upstreamModel: 'primary-upstream',
          prices: { input: 1, output: 1 },
          fallbacks: ['secondary'],
        })),
        {
          id: 'secondary',
          provider: 'anthropic',
          upstreamModel: 'secondary-upstream',
          prices: { input: 2, output: 2 },
        },
        {
          id: 'hung-primary',
          provider: 'openai-hung',
          upstreamModel: 'hung',
          prices: { input: 1, output: 1 },
          fallbacks: ['secondary'],
        },
      ],
      teamDefaults: GENEROUS_TEAM_DEFAULTS,
    };
    // The local runtime reads provider keys from <CONNECTION>_API_KEY, as a developer would set them.
    Object.assign(process.env, {
      OPENAI_API_KEY: 'sk-test-openai',
      AZURE_API_KEY: 'azure-test-key',
      ANTHROPIC_API_KEY: 'sk-ant-test',
      OPENAI_HUNG_API_KEY: 'sk-test-openai',
      OPENAI_5XX_API_KEY: 'sk-test-openai',
      OPENAI_THROTTLED_API_KEY: 'sk-test-openai',
      OPENAI_STREAM_API_KEY: 'sk-test-openai',
      OPENAI_FLAKY_API_KEY: 'sk-test-openai',
    });
    gateway = await startTestLocalGateway('e2e', {
      config,
    });
    buffered = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.demoKey, maxRetries: 0 });
    streaming = new OpenAI({ baseURL: `${gateway.streamUrl}/v1`, apiKey: gateway.demoKey, maxRetries: 0 });
  });

  afterAll(async () => {
    process.env = savedEnv;
    await gateway?.stop();
    await Promise.all([fakes.openai.stop(), fakes.anthropic.stop(), fakes.bedrock.stop()]);
    db.destroy();
  });

  beforeEach(() => {
    mode.openai = 'normal';
    mode.anthropic = 'normal';
    mode.bedrock = 'normal';
  });

  /** The ledger entry of one request (the demo team, today). */
  async function ledgerEntries(requestId: string): Promise<UsageRecord[]> {
    const day = new Date().toISOString().slice(0, 10);
    const entries = await ledgerOfDay(db, gateway.tables.usage, gateway.demoTeamId, day);
    return entries.filter((entry) => entry.requestId === requestId);
  }

  /**
   * The ledger entries of a streamed request once written: the streaming face records a stream
   * just after the client's last byte, so the entry may land a moment after the stream ends.
   */
  async function recordedEntries(requestId: string): Promise<UsageRecord[]> {
    let entries = await ledgerEntries(requestId);
    for (let i = 0; i < 50 && entries.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      entries = await ledgerEntries(requestId);
    }
    return entries;
  }

  const providerModels = [
    ['Bedrock (Converse)', 'bedrock-claude', 'Hello from the Bedrock fake.', 'bedrock'],
    ['OpenAI', 'gpt-4o-mini', 'Hello from the OpenAI fake.', 'openai'],
    ['Azure OpenAI (a catalog entry of the OpenAI adapter)', 'azure-gpt-4o', 'Hello from the OpenAI fake.', 'azure'],
    ['Anthropic', 'claude-direct', 'Hello from the Anthropic fake.', 'anthropic'],
    ['the mock', 'mock-small', 'This is a mock response from mock-small. You said: Hi there', 'mock'],
  ] as const;

  describe.each(providerModels)('%s', (_, model, expectedText, provider) => {
    const messages = [{ role: 'user' as const, content: 'Hi there' }];

    it('serves a non-streamed completion with usage and cost', async () => {
      const { data, response } = await buffered.chat.completions.create({ model, messages }).withResponse();
      expect(data.choices[0]!.message.content).toBe(expectedText);
      expect(data.choices[0]!.finish_reason).toBe('stop');
      expect(data.model).toBe(model);
      expect(response.headers.get('x-gateway-provider')).toBe(provider);
      const [entry] = await ledgerEntries(response.headers.get('x-request-id')!);
      expect(entry).toMatchObject({ model, provider, status: 'ok', streamed: false });
      expect(data.usage!.prompt_tokens).toBe(
        entry!.usage.inputTokens + entry!.usage.cacheReadTokens + entry!.usage.cacheWriteTokens,
      );
      expect(data.usage!.prompt_tokens_details?.cached_tokens).toBe(entry!.usage.cacheReadTokens);
      expect((data as unknown as { gateway: { cost_picos: string } }).gateway.cost_picos).toBe(
        String(entry!.cost.totalPicos),
      );
    });

    it('streams through the streaming door, ending with the usage chunk, and records the stream', async () => {
      const { data: stream, response } = await streaming.chat.completions
        .create({ model, messages, stream: true, stream_options: { include_usage: true } })
        .withResponse();
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      let text = '';
      let finish: string | null = null;
      let usageChunk: OpenAI.CompletionUsage | undefined;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks += 1;
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usageChunk = chunk.usage;
      }
      expect(text).toBe(expectedText);
      expect(chunks).toBeGreaterThan(3);
      expect(finish).toBe('stop');
      const [entry] = await recordedEntries(response.headers.get('x-request-id')!);
      expect(entry).toMatchObject({ model, provider, status: 'ok', streamed: true });
      expect(usageChunk).toMatchObject({
        completion_tokens: entry!.usage.outputTokens,
        prompt_tokens: entry!.usage.inputTokens + entry!.usage.cacheReadTokens + entry!.usage.cacheWriteTokens,
      });
      expect(entry!.cost.totalPicos).toBeGreaterThan(0);
    });

    it('answers stream: true through the HTTP API with a complete SSE body', async () => {
      const stream = await buffered.chat.completions.create({ model, messages, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe(expectedText);
    });

    it('round-trips a tool call: the call, the result, the answer', async () => {
      const ask = [{ role: 'user' as const, content: 'What is the weather in Paris? Use get_weather.' }];
      const first = await buffered.chat.completions.create({
        model,
        messages: ask,
        tools: [TOOL],
        tool_choice: provider === 'mock' ? 'required' : 'auto',
      });
      expect(first.choices[0]!.finish_reason).toBe('tool_calls');
      const call = first.choices[0]!.message.tool_calls![0]!;
      expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
      const second = await buffered.chat.completions.create({
        model,
        tools: [TOOL],
        messages: [...ask, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 24°C' }],
      });
      expect(second.choices[0]!.message.content).toBe(
        provider === 'mock' ? 'The tool returned: sunny, 24°C' : 'It is sunny in Paris.',
      );
    });

    it('streams a tool call with its arguments in order', async () => {
      const stream = await streaming.chat.completions.create({
        model,
        stream: true,
        tools: [TOOL],
        tool_choice: provider === 'mock' ? 'required' : 'auto',
        messages: [{ role: 'user', content: 'Weather in Paris? get_weather' }],
      });
      const calls: { id?: string; name?: string; args: string }[] = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
          calls[delta.index] ??= { args: '' };
          if (delta.id) calls[delta.index]!.id = delta.id;
          if (delta.function?.name) calls[delta.index]!.name = delta.function.name;
          calls[delta.index]!.args += delta.function?.arguments ?? '';
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(calls).toHaveLength(1);
      expect(calls[0]!.name).toBe('get_weather');
      expect(JSON.parse(calls[0]!.args)).toEqual(
        provider === 'mock' ? { input: 'Weather in Paris? get_weather' } : { city: 'Paris' },
      );
      expect(finish).toBe('tool_calls');
    });
  });

  it('sends each provider its own wire format and credentials', async () => {
    await buffered.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 50,
    });
    const openaiCall = fakes.openai.requests.at(-1)!;
    expect(openaiCall.path).toBe('/v1/chat/completions');
    expect(openaiCall.headers.authorization).toBe('Bearer sk-test-openai');
    expect(openaiCall.body).toMatchObject({ model: 'gpt-4o-mini', max_completion_tokens: 50 });

    await buffered.chat.completions.create({ model: 'azure-gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    const azureCall = fakes.openai.requests.at(-1)!;
    expect(azureCall.path).toBe('/openai/deployments/gpt4o/chat/completions');
    expect(azureCall.query).toEqual({ 'api-version': '2024-10-21' });
    expect(azureCall.headers['api-key']).toBe('azure-test-key');
    expect(azureCall.headers.authorization).toBeUndefined();

    await streaming.chat.completions
      .create({ model: 'mini', messages: [{ role: 'user', content: 'x' }], stream: true })
      .then(async (s) => {
        for await (const chunk of s) void chunk;
      });
    expect(fakes.openai.requests.at(-1)!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });

    await buffered.chat.completions.create({
      model: 'claude-direct',
      messages: [
        { role: 'system', content: 'terse' },
        { role: 'user', content: 'x' },
      ],
    });
    const anthropicCall = fakes.anthropic.requests.at(-1)!;
    expect(anthropicCall.headers['x-api-key']).toBe('sk-ant-test');
    expect(anthropicCall.headers['anthropic-version']).toBe('2023-06-01');
    expect(anthropicCall.body).toMatchObject({ model: 'claude-sonnet-4-20250514', system: 'terse', max_tokens: 4096 });

    await buffered.chat.completions.create({ model: 'bedrock-claude', messages: [{ role: 'user', content: 'x' }] });
    const bedrockCall = fakes.bedrock.requests.at(-1)!;
    expect(bedrockCall.modelId).toBe('us.anthropic.claude-sonnet-4-20250514-v1:0');
    expect(String(bedrockCall.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256/);
  });

  it('prices cache reads and writes as their own line items', async () => {
    const { response } = await buffered.chat.completions
      .create({ model: 'claude-direct', messages: [{ role: 'user', content: 'x' }] })
      .withResponse();
    const [entry] = await ledgerEntries(response.headers.get('x-request-id')!);
    // 10 input at $3, 7 output at $15, 15 cache reads at $0.30, 5 cache writes at $3.75 per million,
    // exactly: 4.5 µ$ and 18.75 µ$ are kept, not rounded to 5 and 19 (159 µ$ in all).
    expect(entry!.cost).toEqual({
      inputPicos: 30_000_000,
      outputPicos: 105_000_000,
      cacheReadPicos: 4_500_000,
      cacheWritePicos: 18_750_000,
      totalPicos: 158_250_000,
    });
  });

  describe('errors the SDK raises', () => {
    it('RateLimitError when the provider keeps throttling', async () => {
      mode.openai = 'throttle';
      const error = await buffered.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(error).toMatchObject({ status: 429, code: 'upstream_rate_limited' });
    });

    it('BadRequestError for a request the provider rejects, and for a malformed one', async () => {
      mode.openai = 'bad-request';
      const upstream = await buffered.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(upstream).toBeInstanceOf(OpenAI.BadRequestError);
      expect((upstream as Error).message).toContain("'messages' is too long");
      const local = await buffered.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], logit_bias: { '1': 1 } })
        .catch((e: unknown) => e);
      expect(local).toBeInstanceOf(OpenAI.BadRequestError);
      expect(local).toMatchObject({ param: 'logit_bias', code: 'unsupported_parameter' });
    });

    it('AuthenticationError for a wrong key, on both endpoints', async () => {
      for (const baseURL of [`${gateway.url}/v1`, `${gateway.streamUrl}/v1`]) {
        const wrong = new OpenAI({ baseURL, apiKey: 'gwk_aaaaaaaaaaaa_wrong', maxRetries: 0 });
        await expect(
          wrong.chat.completions.create({
            model: 'mock-small',
            messages: [{ role: 'user', content: 'x' }],
            stream: true,
          }),
        ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      }
    });

    it('PermissionDeniedError for a model the key may not use', async () => {
      const created = await adminFetch(gateway, 'POST', `/v1/admin/teams/${gateway.demoTeamId}/keys`, {
        allowed_models: ['mock-*'],
      });
      const { key } = (await created.json()) as { key: string };
      const narrow = new OpenAI({ baseURL: `${gateway.streamUrl}/v1`, apiKey: key, maxRetries: 0 });
      await expect(
        narrow.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    });

    it('NotFoundError for an unknown model', async () => {
      await expect(
        streaming.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }], stream: true }),
      ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    });

    it('InternalServerError when the provider fails, before any byte of a stream too', async () => {
      mode.openai = 'server-error';
      await expect(
        buffered.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toMatchObject({
        status: 502,
      });
      mode.bedrock = 'fail-503';
      const error = await streaming.chat.completions
        .create({ model: 'bedrock-claude', messages: [{ role: 'user', content: 'x' }], stream: true })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect(error).toMatchObject({ status: 503, code: 'upstream_unavailable' });
    });
  });

  describe('fallback', () => {
    it.each([
      ['a 5xx', 'fail-503', 'primary-5xx'],
      ['throttling', 'throttle', 'primary-throttled'],
    ] as const)(
      'serves from the next model when the first answers %s, recording usage once',
      async (_, failure, model) => {
        mode.openai = failure;
        const { data, response } = await buffered.chat.completions
          .create({ model, messages: [{ role: 'user', content: 'x' }] })
          .withResponse();
        expect(data.choices[0]!.message.content).toBe('Hello from the Anthropic fake.');
        expect(data.model).toBe('secondary');
        expect(response.headers.get('x-gateway-attempts')).toBe('3');
        expect(response.headers.get('x-gateway-provider')).toBe('anthropic');
        expect((data as unknown as { gateway: Record<string, unknown> }).gateway).toMatchObject({
          model: 'secondary',
          attempts: 3,
        });
        const entries = await ledgerEntries(response.headers.get('x-request-id')!);
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({
          model: 'secondary',
          requestedModel: model,
          provider: 'anthropic',
          attempts: 3,
          status: 'ok',
        });
        // Priced at the serving model's prices: $2/MTok for 10 in + 15 cache reads + 5 cache writes + 7 out.
        expect(entries[0]!.cost.totalPicos).toBe((10 + 15 + 5 + 7) * 2_000_000);
      },
    );

    it('serves from the next model when the first times out, within the deadline', async () => {
      mode.openai = 'hang';
      const started = Date.now();
      const { data, response } = await buffered.chat.completions
        .create({ model: 'hung-primary', messages: [{ role: 'user', content: 'x' }] })
        .withResponse();
      expect(data.model).toBe('secondary');
      expect(response.headers.get('x-gateway-attempts')).toBe('3');
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(await ledgerEntries(response.headers.get('x-request-id')!)).toHaveLength(1);
    });

    it('falls back for streams too, before the first byte', async () => {
      mode.openai = 'fail-503';
      const { data: stream, response } = await streaming.chat.completions
        .create({ model: 'primary-stream', messages: [{ role: 'user', content: 'x' }], stream: true })
        .withResponse();
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('Hello from the Anthropic fake.');
      expect(response.headers.get('x-gateway-model')).toBe('secondary');
    });
  });

  it('skips a provider whose circuit is open, going straight to the fallback', async () => {
    mode.openai = 'fail-503';
    const attempts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { response } = await buffered.chat.completions
        .create({ model: 'primary-flaky', messages: [{ role: 'user', content: 'x' }] })
        .withResponse();
      attempts.push(response.headers.get('x-gateway-attempts')!);
    }
    // Two failed attempts per request open the circuit after five failures: the third request
    // makes one more (the fifth), the fourth skips the dead provider altogether.
    expect(attempts).toEqual(['3', '3', '2', '1']);
  });

  describe('streams cut off by the upstream', () => {
    it.each([
      ['OpenAI', 'gpt-4o-mini', 'openai'],
      ['Anthropic', 'claude-direct', 'anthropic'],
      ['Bedrock', 'bedrock-claude', 'bedrock'],
    ] as const)(
      '%s: the client sees the error, and what was delivered is metered and priced',
      async (_, model, fake) => {
        mode[fake] = 'cut';
        const { data: stream, response } = await streaming.chat.completions
          .create({
            model,
            messages: [{ role: 'user', content: 'x' }],
            stream: true,
            stream_options: { include_usage: true },
          })
          .withResponse();
        let text = '';
        const error = await (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        })().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OpenAI.APIError);
        expect(text.length).toBeGreaterThan(0);
        const [entry] = await recordedEntries(response.headers.get('x-request-id')!);
        expect(entry).toMatchObject({ model, status: 'error', streamed: true });
        expect(entry!.usage.outputTokens).toBeGreaterThanOrEqual(Math.ceil(Buffer.byteLength(text) / 3));
        expect(entry!.cost.totalPicos).toBeGreaterThan(0);
      },
    );

    it('meters a stream the client abandons, and stops the upstream call', async () => {
      mode.openai = 'slow-stream';
      const controller = new AbortController();
      const { data: stream, response } = await streaming.chat.completions
        .create(
          { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true },
          { signal: controller.signal },
        )
        .withResponse();
      let received = 0;
      await (async () => {
        for await (const chunk of stream) {
          received += chunk.choices[0]?.delta.content ? 1 : 0;
          if (received === 3) controller.abort();
        }
      })().catch(() => undefined);
      const entries = await recordedEntries(response.headers.get('x-request-id')!);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ status: 'error', httpStatus: 499, streamed: true });
      expect(entries[0]!.usage.outputTokens).toBeGreaterThan(0);
      // Recorded well before the upstream's 40 chunks × 100 ms would have finished.
      expect(entries[0]!.latencyMs).toBeLessThan(3_000);
    });
  });
});
