import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  ModelStreamErrorException,
  ThrottlingException,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { FakeBedrock, messageReply, type FakeBedrockReply } from '../fakes/bedrock-server';

/**
 * Self-test of the fake Bedrock runtime: the real SDK (ConverseCommand, ConverseStreamCommand)
 * must parse what the fake sends, so the fake's wire format (REST-JSON, binary event stream) is
 * faithful enough for the adapter tests built on it.
 */
describe('FakeBedrock speaks Converse and ConverseStream to the real SDK', () => {
  const fake = new FakeBedrock(() => messageReply('unused', { inputTokens: 1, outputTokens: 1 }));
  const modelId = 'us.anthropic.claude-sonnet-4-20250514-v1:0';
  const input = { modelId, messages: [{ role: 'user' as const, content: [{ text: 'Hi' }] }] };
  let client: BedrockRuntimeClient;

  beforeAll(async () => {
    const base = await fake.start();
    client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: base, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await fake.stop();
  });

  /** Streams one reply and collects every event, and the error the iteration threw, if any. */
  async function stream(reply: FakeBedrockReply) {
    fake.setResponder(() => reply);
    const response = await client.send(new ConverseStreamCommand(input));
    const events: ConverseStreamOutput[] = [];
    let error: unknown;
    try {
      for await (const event of response.stream!) events.push(event);
    } catch (e) {
      error = e;
    }
    return { response, events, error };
  }

  const deltasText = (events: ConverseStreamOutput[]) =>
    events.map((e) => e.contentBlockDelta?.delta?.text ?? '').join('');

  it('streams text: deltas concatenate to the text, then stop reason and usage (with cache fields)', async () => {
    const text = 'Hello there, how are you today?';
    const { response, events, error } = await stream(
      messageReply(text, { inputTokens: 12, outputTokens: 7, cacheReadInputTokens: 100, cacheWriteInputTokens: 5 }),
    );
    expect(error).toBeUndefined();
    expect(response.$metadata.httpStatusCode).toBe(200);
    expect(response.$metadata.requestId).toBe('fake-request');

    expect(events[0]).toEqual({ messageStart: { role: 'assistant' } });
    const deltas = events.filter((e) => e.contentBlockDelta);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.every((e) => e.contentBlockDelta!.contentBlockIndex === 0)).toBe(true);
    expect(deltasText(events)).toBe(text);
    // The padding member `p` of the real service is dropped by the SDK.
    expect(deltas[0]).toEqual({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Hello ' } } });
    expect(events.filter((e) => e.contentBlockStop)).toEqual([{ contentBlockStop: { contentBlockIndex: 0 } }]);
    expect(events.at(-2)).toEqual({ messageStop: { stopReason: 'end_turn' } });
    const metadata = events.at(-1)!.metadata!;
    expect(metadata.usage).toEqual({
      inputTokens: 12,
      outputTokens: 7,
      totalTokens: 124,
      cacheReadInputTokens: 100,
      cacheWriteInputTokens: 5,
    });
    expect(typeof metadata.metrics?.latencyMs).toBe('number');

    const sent = fake.requests.at(-1)!;
    expect(sent.operation).toBe('converse-stream');
    expect(sent.modelId).toBe(modelId);
    expect(sent.body).toEqual({ messages: [{ role: 'user', content: [{ text: 'Hi' }] }] });
    expect(String(sent.headers['authorization'])).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it('streams a tool use whose input fragments reassemble to the JSON input', async () => {
    const toolInput = { city: 'Paris', units: 'celsius', days: [1, 2] };
    const { events, error } = await stream({
      kind: 'message',
      text: 'Let me check.',
      toolUses: [{ toolUseId: 't1', name: 'get_weather', input: toolInput }],
      usage: { inputTokens: 30, outputTokens: 20 },
      chunkDelayMs: 2,
    });
    expect(error).toBeUndefined();
    expect(deltasText(events)).toBe('Let me check.');
    expect(events.filter((e) => e.contentBlockStart)).toEqual([
      { contentBlockStart: { contentBlockIndex: 1, start: { toolUse: { toolUseId: 't1', name: 'get_weather' } } } },
    ]);
    const fragments = events
      .filter((e) => e.contentBlockDelta?.contentBlockIndex === 1)
      .map((e) => e.contentBlockDelta!.delta!.toolUse!.input!);
    expect(fragments.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(fragments.join(''))).toEqual(toolInput);
    expect(events.filter((e) => e.contentBlockStop).map((e) => e.contentBlockStop!.contentBlockIndex)).toEqual([0, 1]);
    expect(events.at(-2)).toEqual({ messageStop: { stopReason: 'tool_use' } });
    expect(events.at(-1)!.metadata!.usage).toEqual({ inputTokens: 30, outputTokens: 20, totalTokens: 50 });
  });

  it('rejects send() on an HTTP error before the stream', async () => {
    fake.setResponder(() => ({ kind: 'error', status: 429, errorType: 'ThrottlingException', message: 'slow down' }));
    const error = await client.send(new ConverseStreamCommand(input)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(error).toMatchObject({
      name: 'ThrottlingException',
      message: 'slow down',
      $metadata: { httpStatusCode: 429 },
    });
  });

  it.each([
    ['modelStreamErrorException', 'ModelStreamErrorException'],
    ['throttlingException', 'ThrottlingException'],
    ['internalServerException', 'InternalServerException'],
    ['serviceUnavailableException', 'ServiceUnavailableException'],
    ['validationException', 'ValidationException'],
  ])('throws an in-stream %s from the iteration as %s', async (exceptionType, name) => {
    const { events, error } = await stream({
      ...messageReply('one two three four', { inputTokens: 1, outputTokens: 4 }),
      exceptionAfterDeltas: { count: 2, exceptionType, message: 'model went away' },
    });
    expect(deltasText(events)).toBe('one two ');
    expect(events.some((e) => e.messageStop || e.metadata)).toBe(false);
    expect(error).toMatchObject({ name, message: 'model went away' });
    if (name === 'ModelStreamErrorException') expect(error).toBeInstanceOf(ModelStreamErrorException);
  });

  it('resets the stream after cutAfterDeltas: the iteration throws, without messageStop or metadata', async () => {
    const { events, error } = await stream({
      ...messageReply('one two three four', { inputTokens: 1, outputTokens: 4 }),
      cutAfterDeltas: 3,
    });
    expect(deltasText(events)).toBe('one two three ');
    expect(events.some((e) => e.messageStop || e.metadata)).toBe(false);
    // Node's HTTP/2 client error, passed through by the SDK as is (not an SDK exception).
    expect(error).toMatchObject({
      name: 'Error',
      code: 'ERR_HTTP2_STREAM_ERROR',
      message: 'Stream closed with error code NGHTTP2_INTERNAL_ERROR',
    });
  });

  it('cuts right after messageStart when cutAfterDeltas is 0', async () => {
    const { events, error } = await stream({
      ...messageReply('one two', { inputTokens: 1, outputTokens: 2 }),
      cutAfterDeltas: 0,
    });
    expect(events).toEqual([{ messageStart: { role: 'assistant' } }]);
    expect(error).toMatchObject({ code: 'ERR_HTTP2_STREAM_ERROR' });
  });

  it('delivers events as they are written (chunkDelayMs), not all at the end', async () => {
    fake.setResponder(() => ({ ...messageReply('a b c d', { inputTokens: 1, outputTokens: 4 }), chunkDelayMs: 40 }));
    const started = Date.now();
    const response = await client.send(new ConverseStreamCommand(input));
    const arrivals: number[] = [];
    for await (const _event of response.stream!) arrivals.push(Date.now() - started);
    // 8 events (start, 4 deltas, stop, messageStop, metadata), 40 ms apart.
    expect(arrivals).toHaveLength(8);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(200);
  });

  it('answers a message reply on Converse with the JSON body', async () => {
    fake.setResponder(() => ({
      kind: 'message',
      text: 'Checking.',
      toolUses: [{ toolUseId: 't9', name: 'lookup', input: { q: 'x' } }],
      usage: { inputTokens: 5, outputTokens: 6, cacheReadInputTokens: 7 },
    }));
    const response = await client.send(new ConverseCommand(input));
    expect(response.output).toEqual({
      message: {
        role: 'assistant',
        content: [{ text: 'Checking.' }, { toolUse: { toolUseId: 't9', name: 'lookup', input: { q: 'x' } } }],
      },
    });
    expect(response.stopReason).toBe('tool_use');
    expect(response.usage).toEqual({ inputTokens: 5, outputTokens: 6, totalTokens: 18, cacheReadInputTokens: 7 });
    expect(typeof response.metrics?.latencyMs).toBe('number');
    expect(fake.requests.at(-1)!.operation).toBe('converse');
  });

  it('answers a misuse error for a raw ok body on converse-stream', async () => {
    fake.setResponder(() => ({ kind: 'ok', body: {} }));
    const spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const error = await client.send(new ConverseStreamCommand(input)).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'FakeBedrockMisuseException', $metadata: { httpStatusCode: 500 } });
    } finally {
      spy.mockRestore();
    }
  });
});
