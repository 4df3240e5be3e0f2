import Anthropic from '@anthropic-ai/sdk';
import {
  betasOf,
  FakeAnthropic,
  newToolUseId,
  type FakeAnthropicBlock,
  type FakeAnthropicReply,
} from '../fakes/anthropic-server';

/**
 * Self-test of the Anthropic fake: the official SDK must read everything the fake sends exactly as
 * it reads the real API (Message objects, SSE events, errors), so adapter tests against the fake
 * mean something.
 */
describe('FakeAnthropic speaks the Messages API wire format (checked with @anthropic-ai/sdk)', () => {
  const fake = new FakeAnthropic();
  let base: string;
  let client: Anthropic;
  const model = 'claude-haiku-4-5';
  const params = { model, max_tokens: 100, messages: [{ role: 'user' as const, content: 'Say hi' }] };

  /** A raw POST /v1/messages, for what the SDK would not send. */
  const post = (
    body: unknown,
    headers: Record<string, string> = { 'x-api-key': 'test', 'anthropic-version': '2023-06-01' },
  ) =>
    fetch(`${base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    base = await fake.start();
    client = new Anthropic({ baseURL: base, apiKey: 'test', maxRetries: 0 });
  });
  afterAll(() => fake.stop());
  beforeEach(() =>
    fake.setResponder(() => ({ kind: 'message', text: 'Hi there', usage: { input_tokens: 5, output_tokens: 2 } })),
  );

  it('answers a non-streamed request with a Message object', async () => {
    fake.setResponder(() => ({
      kind: 'message',
      text: 'Hello there, friend.',
      usage: { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 },
    }));
    const message = await client.messages.create(params);
    expect(message.id).toMatch(/^msg_01[0-9A-Za-z]{22}$/);
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model,
      content: [{ type: 'text', text: 'Hello there, friend.' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 },
    });
    expect(message._request_id).toMatch(/^req_01[0-9A-Za-z]{22}$/); // the SDK reads the request-id header

    const sent = fake.requests.at(-1)!;
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/messages', body: params });
    expect(sent.headers['anthropic-version']).toBeTruthy();
    // SDK 1.x (API version 2026-10-21) sends the key as a bearer token, not x-api-key.
    expect(sent.headers['authorization']).toBe('Bearer test');
  });

  it('answers tool calls with tool_use blocks and stop_reason tool_use', async () => {
    const id = newToolUseId();
    fake.setResponder(() => ({
      kind: 'message',
      toolUses: [{ id, name: 'get_weather', input: { city: 'Paris' } }],
      usage: { input_tokens: 30, output_tokens: 9 },
    }));
    const message = await client.messages.create(params);
    expect(id).toMatch(/^toolu_01/);
    expect(message.content).toEqual([{ type: 'tool_use', id, name: 'get_weather', input: { city: 'Paris' } }]);
    expect(message.stop_reason).toBe('tool_use');
  });

  it('fills stop_sequence from the request for stop_reason stop_sequence', async () => {
    fake.setResponder(() => ({
      kind: 'message',
      text: 'one two',
      stopReason: 'stop_sequence',
      usage: { input_tokens: 3, output_tokens: 2 },
    }));
    const message = await client.messages.create({ ...params, stop_sequences: ['END'] });
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
  });

  it('echoes the last user text by default', async () => {
    const echo = new FakeAnthropic();
    const echoBase = await echo.start();
    try {
      const echoClient = new Anthropic({ baseURL: echoBase, apiKey: 'test', maxRetries: 0 });
      const message = await echoClient.messages.create({
        ...params,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'ping pong' }] }],
      });
      expect(message.content).toEqual([{ type: 'text', text: 'Echo: ping pong' }]);
    } finally {
      await echo.stop();
    }
  });

  it('streams text as named SSE events with a ping, in Anthropic order', async () => {
    fake.setResponder(() => ({
      kind: 'message',
      text: 'The quick brown fox',
      usage: { input_tokens: 20, output_tokens: 6, cache_read_input_tokens: 7 },
    }));
    const response = await post({ ...params, stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    const raw = await response.text();
    const frames = raw.split('\n\n').filter(Boolean);
    const events = frames.map((frame) => {
      const match = /^event: (\w+)\ndata: (.*)$/.exec(frame);
      expect(match).not.toBeNull();
      const data = JSON.parse(match![2]!) as { type: string };
      expect(data.type).toBe(match![1]); // the event name repeats the data's type
      return data;
    });
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]).toMatchObject({
      message: {
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 20, cache_read_input_tokens: 7, cache_creation_input_tokens: 0, output_tokens: 1 },
      },
    });
    expect(events[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(events[3]).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'The ' } });
    expect(events[8]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 6 },
    });
  });

  it('streams text that the SDK accumulates into the final message', async () => {
    fake.setResponder(() => ({
      kind: 'message',
      text: 'Hello from the fake',
      usage: { input_tokens: 15, output_tokens: 4, cache_read_input_tokens: 50, cache_creation_input_tokens: 10 },
    }));
    const stream = client.messages.stream(params);
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const message = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Hello from the fake');
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from the fake' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({
      input_tokens: 15,
      output_tokens: 4,
      cache_read_input_tokens: 50,
      cache_creation_input_tokens: 10,
    });
    expect(fake.requests.at(-1)!.body['stream']).toBe(true);
  });

  it('streams tool_use input as input_json_delta fragments that reassemble', async () => {
    const input = { city: 'São Paulo', units: 'metric', days: [1, 2, 3], nested: { deep: true } };
    const id = newToolUseId();
    fake.setResponder(() => ({
      kind: 'message',
      text: 'Let me check.',
      toolUses: [{ id, name: 'get_weather', input }],
      usage: { input_tokens: 40, output_tokens: 25 },
      cumulativeDeltaUsage: true,
    }));
    const events: Anthropic.RawMessageStreamEvent[] = [];
    const stream = await client.messages.create({ ...params, stream: true });
    for await (const event of stream) events.push(event);

    const toolStart = events.find((e) => e.type === 'content_block_start' && e.index === 1);
    expect(toolStart).toEqual({
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'tool_use', id, name: 'get_weather', input: {} },
    });
    const fragments = events.flatMap((e) =>
      e.type === 'content_block_delta' && e.delta.type === 'input_json_delta' ? [e.delta.partial_json] : [],
    );
    expect(fragments.length).toBeGreaterThan(2);
    expect(JSON.parse(fragments.join(''))).toEqual(input);
    const messageDelta = events.find((e) => e.type === 'message_delta');
    expect(messageDelta).toMatchObject({
      delta: { stop_reason: 'tool_use' },
      usage: { input_tokens: 40, output_tokens: 25 },
    });

    // The SDK's own accumulation agrees.
    const message = await client.messages.stream(params).finalMessage();
    expect(message.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id, name: 'get_weather', input },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage.output_tokens).toBe(25);
  });

  it('maps 429 to RateLimitError with retry-after and request-id', async () => {
    fake.setResponder(() => ({
      kind: 'error',
      status: 429,
      type: 'rate_limit_error',
      message: 'Number of request tokens has exceeded your per-minute rate limit',
      retryAfterSeconds: 7,
    }));
    const error: unknown = await client.messages.create(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const apiError = error as InstanceType<typeof Anthropic.RateLimitError>;
    expect(apiError.status).toBe(429);
    expect(apiError.headers.get('retry-after')).toBe('7');
    expect(apiError.requestID).toMatch(/^req_01/);
    expect(apiError.type).toBe('rate_limit_error');
    expect(apiError.error).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' },
      request_id: apiError.requestID,
    });
  });

  it('maps 529 to an overloaded InternalServerError', async () => {
    fake.setResponder(() => ({ kind: 'error', status: 529, type: 'overloaded_error', message: 'Overloaded' }));
    const error: unknown = await client.messages.create(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect(error).toMatchObject({ status: 529, type: 'overloaded_error', apiMessage: 'Overloaded' });
  });

  it('requires an API key (401 authentication_error)', async () => {
    const response = await post(params, { 'anthropic-version': '2023-06-01' });
    expect(response.status).toBe(401);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: expect.any(String) },
      request_id: expect.stringMatching(/^req_/),
    });

    const noKey = new Anthropic({
      baseURL: base,
      apiKey: 'test',
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    await expect(noKey.messages.create(params)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it('requires anthropic-version, max_tokens and non-empty messages (400 invalid_request_error)', async () => {
    const noVersion = await post(params, { 'x-api-key': 'test' });
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({ error: { type: 'invalid_request_error' } });

    const noMaxTokens = await post({ model, messages: params.messages });
    expect(noMaxTokens.status).toBe(400);
    expect(await noMaxTokens.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'max_tokens: Field required' },
    });

    const error: unknown = await client.messages.create({ ...params, messages: [] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error' });
  });

  it('rejects temperature on API version 2026-10-21 but not on 2023-06-01', async () => {
    const body = { ...params, temperature: 0.5 };
    const current = await post(body, { 'x-api-key': 'test', 'anthropic-version': '2026-10-21' });
    expect(current.status).toBe(400);
    expect(await current.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: 'temperature: Extra inputs are not permitted' },
    });
    const legacy = await post(body, { 'x-api-key': 'test', 'anthropic-version': '2023-06-01' });
    expect(legacy.status).toBe(200);
  });

  it('answers other paths with a 404 not_found_error', async () => {
    const response = await fetch(`${base}/v1/complete`, { method: 'POST', headers: { 'x-api-key': 'test' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('makes the SDK iteration throw when the stream is cut', async () => {
    fake.setResponder(() => ({
      kind: 'message',
      text: 'one two three four five',
      usage: { input_tokens: 5, output_tokens: 5 },
      cutAfterDeltas: 2,
    }));
    const seen: string[] = [];
    const stream = await client.messages.create({ ...params, stream: true });
    const iterate = async () => {
      for await (const event of stream) {
        if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') seen.push(event.delta.text);
      }
    };
    await expect(iterate()).rejects.toThrow();
    expect(seen).toEqual(['one ', 'two ']);
  });

  it('makes the SDK throw an overloaded APIError on an in-stream error event', async () => {
    fake.setResponder(() => ({
      kind: 'message',
      text: 'one two three four five',
      usage: { input_tokens: 5, output_tokens: 5 },
      errorAfterDeltas: 1,
    }));
    const stream = client.messages.stream(params);
    const error: unknown = await stream.finalMessage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect((error as Error).message).toMatch(/Overloaded/);
    expect(error).toMatchObject({ type: 'overloaded_error' });
  });

  it('honours delayMs and chunkDelayMs, and stop() ends streams in flight', async () => {
    const slow = new FakeAnthropic((): FakeAnthropicReply => ({
      kind: 'message',
      text: 'a b c',
      usage: { input_tokens: 1, output_tokens: 3 },
      delayMs: 50,
      chunkDelayMs: 10_000,
    }));
    const slowBase = await slow.start();
    const slowClient = new Anthropic({ baseURL: slowBase, apiKey: 'test', maxRetries: 0 });
    const started = Date.now();
    const stream = await slowClient.messages.create({ ...params, stream: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ type: 'message_start' });
    const pending = iterator.next();
    await slow.stop();
    await expect(pending).rejects.toThrow();
    expect(slow.requests).toHaveLength(1);
  });
});

describe('FakeAnthropic: thinking, redacted thinking, every stream event, count_tokens, recorded headers', () => {
  const fake = new FakeAnthropic();
  let base: string;
  let client: Anthropic;
  const params = {
    model: 'claude-sonnet-4-5',
    max_tokens: 2048,
    thinking: { type: 'enabled' as const, budget_tokens: 1024 },
    messages: [{ role: 'user' as const, content: 'What is the weather in Paris?' }],
  };
  const toolId = newToolUseId();
  const toolInput = { city: 'Paris', units: 'metric', days: [1, 2, 3], note: 'a "quoted" value, long enough to split' };
  const blocks: FakeAnthropicBlock[] = [
    {
      type: 'thinking',
      thinking: 'The user wants the weather. I should call the tool.',
      signature: 'EqQBCgIYAhIM1gbcDa9GJwZA',
    },
    { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP' },
    { type: 'text', text: 'Let me check the weather for you.' },
    { type: 'tool_use', id: toolId, name: 'get_weather', input: toolInput },
  ];
  const usage = {
    input_tokens: 420,
    output_tokens: 96,
    cache_creation_input_tokens: 300,
    cache_read_input_tokens: 1200,
  };

  beforeAll(async () => {
    base = await fake.start();
    client = new Anthropic({ baseURL: base, apiKey: 'test', maxRetries: 0 });
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.setResponder(() => ({ kind: 'message', blocks, usage })));

  it('answers thinking, redacted_thinking, text and tool_use blocks in order, with cache usage', async () => {
    const message = await client.messages.create(params);
    expect(message.content).toEqual(blocks);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toMatchObject(usage);
  });

  it('streams every block type with its own deltas, pings, and a final message the SDK assembles', async () => {
    const stream = client.messages.stream(params);
    const raw: Anthropic.MessageStreamEvent[] = [];
    const thinking: string[] = [];
    const signatures: string[] = [];
    const json: string[] = [];
    const text: string[] = [];
    stream.on('streamEvent', (event) => raw.push(event));
    stream.on('thinking', (delta) => thinking.push(delta));
    stream.on('signature', (signature) => signatures.push(signature));
    stream.on('inputJson', (partial) => json.push(partial));
    stream.on('text', (delta) => text.push(delta));
    const message = await stream.finalMessage();

    expect(message.content).toEqual(blocks);
    expect(message.usage).toMatchObject(usage);
    expect(message.stop_reason).toBe('tool_use');
    expect(thinking.length).toBeGreaterThan(1);
    expect(thinking.join('')).toBe((blocks[0] as { thinking: string }).thinking);
    expect(signatures).toEqual([(blocks[0] as { signature: string }).signature]);
    expect(json.length).toBeGreaterThan(2);
    expect(JSON.parse(json.join(''))).toEqual(toolInput);
    expect(text.join('')).toBe('Let me check the weather for you.');

    const types = raw.map((event) =>
      event.type === 'content_block_delta' ? `${event.type}:${event.index}:${event.delta.type}` : event.type,
    );
    expect(types[0]).toBe('message_start');
    expect(types.at(-2)).toBe('message_delta');
    expect(types.at(-1)).toBe('message_stop');
    expect(new Set(types)).toEqual(
      new Set([
        'message_start',
        'content_block_start',
        'content_block_stop',
        'content_block_delta:0:thinking_delta',
        'content_block_delta:0:signature_delta',
        'content_block_delta:2:text_delta',
        'content_block_delta:3:input_json_delta',
        'message_delta',
        'message_stop',
      ]),
    );
    // The signature closes the thinking block; the redacted block has no deltas.
    const signatureAt = types.indexOf('content_block_delta:0:signature_delta');
    expect(raw[signatureAt + 1]).toEqual({ type: 'content_block_stop', index: 0 });
    expect(raw.filter((e) => e.type === 'content_block_start').map((e) => e.content_block)).toEqual([
      { type: 'thinking', thinking: '', signature: '' },
      blocks[1],
      { type: 'text', text: '' },
      { type: 'tool_use', id: toolId, name: 'get_weather', input: {} },
    ]);
  });

  it('sends ping events between the SSE frames (the SDK skips them)', async () => {
    const response = await fetch(`${base}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...params, stream: true }),
    });
    const names = [...(await response.text()).matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(names).toContain('ping');
    expect(names.filter((n) => n === 'content_block_start')).toHaveLength(4);
  });

  it('sends a mid-stream error event that the SDK raises with its type', async () => {
    fake.setResponder(() => ({
      kind: 'message',
      text: 'one two three four',
      usage: { input_tokens: 5, output_tokens: 4 },
      errorAfterDeltas: 2,
      streamError: { type: 'api_error', message: 'Internal server error' },
    }));
    const stream = client.messages.stream(params);
    const error = await stream.finalMessage().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.APIError);
    expect(error).toMatchObject({ type: 'api_error', error: { type: 'error', error: { type: 'api_error' } } });
  });

  it('answers count_tokens with input_tokens that grow with the input, and records the call', async () => {
    const short = await client.messages.countTokens({ model: params.model, messages: params.messages });
    const long = await client.messages.countTokens({
      model: params.model,
      system: 'You are a meteorologist. '.repeat(20),
      messages: params.messages,
    });
    expect(short.input_tokens).toBeGreaterThan(0);
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens);
    expect(fake.requests.at(-1)).toMatchObject({ path: '/v1/messages/count_tokens' });
    expect(fake.messageRequests.every((r) => r.path === '/v1/messages')).toBe(true);

    fake.setTokenCounter(() => 4242);
    expect(await client.messages.countTokens({ model: params.model, messages: params.messages })).toEqual({
      input_tokens: 4242,
    });
    const refused = await client.messages
      .countTokens({ model: params.model, messages: params.messages, max_tokens: 5 } as never)
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('records betas, the query, the raw body and both auth styles', async () => {
    await client.beta.messages.create({
      ...params,
      betas: ['interleaved-thinking-2025-05-14', 'fine-grained-tool-streaming-2025-05-14'],
    });
    const sent = fake.requests.at(-1)!;
    expect(betasOf(sent)).toEqual(['interleaved-thinking-2025-05-14', 'fine-grained-tool-streaming-2025-05-14']);
    expect(sent.query).toEqual({});
    expect(JSON.parse(sent.raw!)).toEqual(sent.body);
    expect(sent.headers['authorization']).toBe('Bearer test');

    // x-api-key, as clients of API version 2023-06-01 send it (the SDK sends a bearer token by default).
    const keyed = new Anthropic({
      baseURL: base,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { authorization: null, 'x-api-key': 'sk-ant-header' },
    });
    await keyed.messages.create(params, { headers: { 'anthropic-beta': 'a-2025-01-01, b-2025-02-02' } });
    const keyedSent = fake.requests.at(-1)!;
    expect(keyedSent.headers['x-api-key']).toBe('sk-ant-header');
    expect(keyedSent.headers['authorization']).toBeUndefined();
    expect(betasOf(keyedSent)).toEqual(['a-2025-01-01', 'b-2025-02-02']);
    expect(betasOf({ headers: {} })).toEqual([]);

    await client.beta.messages.countTokens({ model: params.model, messages: params.messages });
    expect(betasOf(fake.requests.at(-1)!)).toEqual(['token-counting-2024-11-01']);
    await fetch(`${base}/v1/messages/count_tokens?beta=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: params.model, messages: params.messages }),
    });
    expect(fake.requests.at(-1)).toMatchObject({ path: '/v1/messages/count_tokens', query: { beta: 'true' } });
  });
});
