import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { FakeOpenAi, newToolCallId } from '../fakes/openai-server';

/**
 * Self-test of the OpenAI fake: the official `openai` client must read everything the fake sends
 * exactly as it reads the real API (chat.completion objects, chat.completion.chunk streams, the
 * usage chunk, errors), so adapter tests against the fake mean something.
 */
describe('FakeOpenAi speaks the Chat Completions wire format (checked with the openai client)', () => {
  const fake = new FakeOpenAi();
  let base: string;
  let client: OpenAI;
  const model = 'gpt-4o-mini';
  const params = { model, messages: [{ role: 'user' as const, content: 'Say hi' }] };

  /** Collects every chunk of a streamed completion. */
  const collect = async (stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> => {
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    return chunks;
  };

  beforeAll(async () => {
    base = await fake.start();
    client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'test', maxRetries: 0 });
  });
  afterAll(() => fake.stop());
  beforeEach(() =>
    fake.setResponder(() => ({
      kind: 'completion',
      text: 'Hi there',
      usage: { prompt_tokens: 5, completion_tokens: 2 },
    })),
  );

  it('answers a non-streamed request with a chat.completion object', async () => {
    fake.setResponder(() => ({
      kind: 'completion',
      text: 'Hello there, friend.',
      usage: { prompt_tokens: 12, completion_tokens: 5, cached_tokens: 4 },
    }));
    const { data: completion, response, request_id } = await client.chat.completions.create(params).withResponse();
    expect(completion.id).toMatch(/^chatcmpl-[0-9A-Za-z]{29}$/);
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello there, friend.', refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 5,
        total_tokens: 17,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
    expect(completion.choices[0]!.message.tool_calls).toBeUndefined();
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(5);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(request_id).toMatch(/^req_[0-9a-f]{32}$/); // the SDK reads x-request-id

    const sent = fake.requests.at(-1)!;
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/chat/completions', query: {}, body: params });
    expect(sent.headers['authorization']).toBe('Bearer test');
  });

  it('answers tool calls with content null, tool_calls and finish_reason tool_calls', async () => {
    const id = newToolCallId();
    fake.setResponder(() => ({
      kind: 'completion',
      toolCalls: [{ id, name: 'get_weather', arguments: '{"city":"Paris"}' }],
      usage: { prompt_tokens: 30, completion_tokens: 9 },
    }));
    const completion = await client.chat.completions.create(params);
    expect(id).toMatch(/^call_[0-9A-Za-z]{24}$/);
    expect(completion.choices[0]).toMatchObject({
      message: {
        role: 'assistant',
        content: null,
        tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      finish_reason: 'tool_calls',
    });
  });

  it('streams text as chunks, then the finish chunk, the usage chunk (include_usage) and [DONE]', async () => {
    fake.setResponder(() => ({
      kind: 'completion',
      text: 'Hi, how are you today?',
      usage: { prompt_tokens: 10, completion_tokens: 7, cached_tokens: 2 },
    }));
    const stream = await client.chat.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);

    const first = chunks[0]!;
    expect(first.object).toBe('chat.completion.chunk');
    expect(first.choices[0]!.delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.model === model)).toBe(true);

    const contentDeltas = chunks.flatMap((c) => c.choices.map((choice) => choice.delta.content ?? ''));
    expect(contentDeltas.filter((d) => d !== '').length).toBeGreaterThanOrEqual(4);
    expect(contentDeltas.join('')).toBe('Hi, how are you today?');

    const finish = chunks.at(-2)!;
    expect(finish.choices).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);

    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({
      prompt_tokens: 10,
      completion_tokens: 7,
      total_tokens: 17,
      prompt_tokens_details: { cached_tokens: 2 },
    });
  });

  it('sends no usage field and no usage chunk without include_usage, and ends with data: [DONE]', async () => {
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer test', 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, stream: true, stream_options: { include_obfuscation: false } }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    const text = await response.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events.every((e) => e.startsWith('data: '))).toBe(true);
    expect(events.at(-1)).toBe('data: [DONE]');
    const payloads = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)) as Record<string, unknown>);
    expect(payloads.every((p) => !('usage' in p) && !('obfuscation' in p))).toBe(true);
    expect(payloads.at(-1)).toMatchObject({ choices: [{ delta: {}, finish_reason: 'stop' }] });
  });

  it('streams tool calls with index, id and name first, then argument fragments', async () => {
    const first = newToolCallId();
    const second = newToolCallId();
    const args1 = '{"city":"Paris","unit":"celsius"}';
    const args2 = '{"timezone":"Europe/Paris"}';
    fake.setResponder(() => ({
      kind: 'completion',
      toolCalls: [
        { id: first, name: 'get_weather', arguments: args1 },
        { id: second, name: 'get_time', arguments: args2 },
      ],
      usage: { prompt_tokens: 40, completion_tokens: 20 },
    }));
    const chunks = await collect(
      await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }),
    );

    // Like the API, a tool-only answer carries the role in the first tool call's delta.
    expect(chunks[0]!.choices[0]!.delta).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, id: first, type: 'function', function: { name: 'get_weather', arguments: '' } }],
      refusal: null,
    });
    const calls = new Map<number, { id?: string; name?: string; arguments: string }>();
    let fragments = 0;
    for (const chunk of chunks) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        const entry = calls.get(call.index) ?? { arguments: '' };
        if (call.id) {
          expect(call).toEqual({
            index: call.index,
            id: call.id,
            type: 'function',
            function: { name: expect.any(String), arguments: '' },
          });
          entry.id = call.id;
          entry.name = call.function!.name!;
        } else {
          expect(Object.keys(call).sort()).toEqual(['function', 'index']);
          expect(Object.keys(call.function!)).toEqual(['arguments']);
          fragments++;
        }
        entry.arguments += call.function?.arguments ?? '';
        calls.set(call.index, entry);
      }
    }
    expect(fragments).toBeGreaterThan(4);
    expect([...calls.entries()]).toEqual([
      [0, { id: first, name: 'get_weather', arguments: args1 }],
      [1, { id: second, name: 'get_time', arguments: args2 }],
    ]);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 20, total_tokens: 60 });
  });

  it('raises RateLimitError for a 429, with retry-after and the error fields', async () => {
    fake.setResponder(() => ({
      kind: 'error',
      status: 429,
      type: 'requests',
      code: 'rate_limit_exceeded',
      message: 'Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.',
      retryAfterSeconds: 7,
    }));
    const error: unknown = await client.chat.completions.create(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimit.status).toBe(429);
    expect(rateLimit.headers.get('retry-after')).toBe('7');
    expect(rateLimit.code).toBe('rate_limit_exceeded');
    expect(rateLimit.type).toBe('requests');
    expect(rateLimit.param).toBeNull();
    expect(rateLimit.requestID).toMatch(/^req_/);
    expect(rateLimit.message).toContain('Rate limit reached');
  });

  it('raises BadRequestError for a 400, also on a streamed request', async () => {
    fake.setResponder(() => ({
      kind: 'error',
      status: 400,
      type: 'invalid_request_error',
      code: 'context_length_exceeded',
      param: 'messages',
      message: "This model's maximum context length is 128000 tokens.",
    }));
    const error: unknown = await client.chat.completions.create(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'messages' });
    await expect(client.chat.completions.create({ ...params, stream: true })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
  });

  it('rejects a request without a key with a 401 (AuthenticationError in the SDK)', async () => {
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(body).toEqual({
      error: {
        message: expect.stringContaining("You didn't provide an API key"),
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });

    // The same answer, as the SDK sees it (its own key header is removed for this call).
    const error: unknown = await client.chat.completions
      .create(params, { headers: { Authorization: null } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('answers 404 with an OpenAI error for other paths', async () => {
    const response = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer test', 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: {
        message: 'Invalid URL (POST /v1/completions)',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
  });

  it('makes the SDK iteration throw when the stream is cut', async () => {
    fake.setResponder(() => ({
      kind: 'completion',
      text: 'one two three four five six',
      usage: { prompt_tokens: 3, completion_tokens: 6 },
      cutAfterChunks: 2,
    }));
    const stream = await client.chat.completions.create({
      ...params,
      stream: true,
      stream_options: { include_usage: true },
    });
    const seen: ChatCompletionChunk[] = [];
    const iterate = async () => {
      for await (const chunk of stream) seen.push(chunk);
    };
    await expect(iterate()).rejects.toThrow();
    // The role chunk and two content chunks arrived; no finish reason, no usage.
    expect(seen.map((c) => c.choices[0]?.delta.content)).toEqual(['', 'one', ' two']);
    expect(seen.every((c) => c.choices[0]?.finish_reason === null && c.usage === null)).toBe(true);
  });

  it('waits delayMs before answering and chunkDelayMs between chunks', async () => {
    fake.setResponder(() => ({
      kind: 'completion',
      text: 'a b c',
      usage: { prompt_tokens: 1, completion_tokens: 3 },
      delayMs: 60,
      chunkDelayMs: 20,
    }));
    const started = Date.now();
    const stream = await client.chat.completions.create({ ...params, stream: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    const chunks = await collect(stream);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55 + 4 * 20 - 10);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('a b c');
  });

  it('serves the Azure deployment path with an api-key header', async () => {
    fake.setResponder(() => ({
      kind: 'completion',
      text: 'From Azure',
      usage: { prompt_tokens: 4, completion_tokens: 2 },
    }));
    const response = await fetch(`${base}/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21`, {
      method: 'POST',
      headers: { 'api-key': 'azure-key', 'content-type': 'application/json' },
      body: JSON.stringify({ messages: params.messages }),
    });
    expect(response.status).toBe(200);
    const completion = (await response.json()) as OpenAI.ChatCompletion;
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'gpt4o', // no model in the body: the deployment name
      choices: [{ message: { role: 'assistant', content: 'From Azure' }, finish_reason: 'stop' }],
    });

    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe('/openai/deployments/gpt4o/chat/completions');
    expect(sent.query).toEqual({ 'api-version': '2024-10-21' });
    expect(sent.headers['api-key']).toBe('azure-key');
    expect(sent.headers['authorization']).toBeUndefined();
  });

  it('echoes the last user message by default', async () => {
    const echo = new FakeOpenAi();
    const echoBase = await echo.start();
    try {
      const echoClient = new OpenAI({ baseURL: `${echoBase}/openai/v1`, apiKey: 'test', maxRetries: 0 });
      const completion = await echoClient.chat.completions.create({
        model,
        messages: [
          { role: 'user', content: 'first' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: [{ type: 'text', text: 'second' }] },
        ],
      });
      expect(completion.choices[0]!.message.content).toBe('Echo: second');
      expect(echo.requests[0]!.path).toBe('/openai/v1/chat/completions');
    } finally {
      await echo.stop();
    }
  });
});
