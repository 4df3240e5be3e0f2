import {
  BedrockRuntimeClient,
  ConverseCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ModelStreamErrorException,
  ThrottlingException,
  ValidationException,
  type ResponseStream,
} from '@aws-sdk/client-bedrock-runtime';
import type Anthropic from '@anthropic-ai/sdk';
import { newToolUseId, type FakeAnthropicBlock } from '../fakes/anthropic-server';
import {
  anthropicReply,
  bedrockBetasOf,
  FakeBedrock,
  messageReply,
  type FakeBedrockReply,
} from '../fakes/bedrock-server';

/**
 * Self-test of the fake Bedrock runtime's InvokeModel and InvokeModelWithResponseStream for Claude:
 * the real SDK must send the Anthropic body and read back the Anthropic Message JSON, or the
 * `chunk` events (base64 Anthropic streaming events) and exception messages of the event stream.
 */
describe('FakeBedrock speaks InvokeModel and InvokeModelWithResponseStream (Claude) to the real SDK', () => {
  const fake = new FakeBedrock(() => messageReply('unused', { inputTokens: 1, outputTokens: 1 }));
  const modelId = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
  let client: BedrockRuntimeClient;
  const body = {
    anthropic_version: 'bedrock-2023-05-31',
    anthropic_beta: ['interleaved-thinking-2025-05-14'],
    max_tokens: 2048,
    thinking: { type: 'enabled', budget_tokens: 1024 },
    system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
  };
  const toolId = newToolUseId();
  const blocks: FakeAnthropicBlock[] = [
    { type: 'thinking', thinking: 'I need the weather tool for this.', signature: 'EqQBCgIYAhIMsig' },
    { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix' },
    { type: 'text', text: 'Checking the forecast now.' },
    { type: 'tool_use', id: toolId, name: 'get_weather', input: { city: 'Paris', days: [1, 2] } },
  ];
  const usage = { input_tokens: 50, output_tokens: 30, cache_read_input_tokens: 200, cache_creation_input_tokens: 10 };

  beforeAll(async () => {
    client = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: await fake.start(), maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await fake.stop();
  });
  beforeEach(() => fake.setResponder(() => anthropicReply({ blocks, usage })));

  const invoke = (payload: unknown = body) =>
    client.send(
      new InvokeModelCommand({
        modelId,
        contentType: 'application/json',
        accept: 'application/json',
        body: JSON.stringify(payload),
      }),
    );

  /** Streams one call; returns the decoded Anthropic events, the raw stream events and the error thrown, if any. */
  async function invokeStream(reply?: FakeBedrockReply, payload: unknown = body) {
    if (reply) fake.setResponder(() => reply);
    const response = await client.send(
      new InvokeModelWithResponseStreamCommand({
        modelId,
        contentType: 'application/json',
        body: JSON.stringify(payload),
      }),
    );
    const raw: ResponseStream[] = [];
    const events: Record<string, unknown>[] = [];
    let error: unknown;
    try {
      for await (const event of response.body!) {
        raw.push(event);
        if (event.chunk?.bytes) events.push(JSON.parse(Buffer.from(event.chunk.bytes).toString('utf8')));
      }
    } catch (e) {
      error = e;
    }
    return { response, raw, events, error };
  }

  it('InvokeModel: takes the Anthropic body and answers the Anthropic Message JSON', async () => {
    const response = await invoke();
    expect(response.$metadata.httpStatusCode).toBe(200);
    expect(response.contentType).toBe('application/json');
    const message = JSON.parse(Buffer.from(response.body).toString('utf8')) as Anthropic.Message;
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: blocks,
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage,
    });
    expect(message.id).toMatch(/^msg_/);

    const sent = fake.requests.at(-1)!;
    expect(sent.operation).toBe('invoke');
    expect(sent.modelId).toBe(modelId);
    expect(sent.body).toEqual(body);
    expect(bedrockBetasOf(sent)).toEqual(['interleaved-thinking-2025-05-14']);
    expect(String(sent.headers['authorization'])).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it('InvokeModelWithResponseStream: each Anthropic event as a base64 chunk, metrics on message_stop', async () => {
    const { response, raw, events, error } = await invokeStream();
    expect(error).toBeUndefined();
    expect(response.contentType).toBe('application/json');
    expect(raw.every((event) => event.chunk !== undefined)).toBe(true);
    expect(events[0]).toMatchObject({
      type: 'message_start',
      message: { role: 'assistant', content: [], usage: { input_tokens: 50 } },
    });
    const types = events.map((e) => e['type']);
    expect(types.at(-2)).toBe('message_delta');
    expect(types.at(-1)).toBe('message_stop');
    expect(events.at(-2)).toMatchObject({
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 30 },
    });
    expect(events.at(-1)!['amazon-bedrock-invocationMetrics']).toMatchObject({
      inputTokenCount: 50,
      outputTokenCount: 30,
    });

    const deltas = events.filter(
      (e) => e['type'] === 'content_block_delta',
    ) as unknown as Anthropic.RawContentBlockDeltaEvent[];
    const of = (kind: string) => deltas.filter((e) => e.delta.type === kind).map((e) => e.delta);
    expect(
      of('thinking_delta')
        .map((d) => (d as Anthropic.ThinkingDelta).thinking)
        .join(''),
    ).toBe('I need the weather tool for this.');
    expect(of('signature_delta')).toEqual([{ type: 'signature_delta', signature: 'EqQBCgIYAhIMsig' }]);
    expect(
      of('text_delta')
        .map((d) => (d as Anthropic.TextDelta).text)
        .join(''),
    ).toBe('Checking the forecast now.');
    const json = of('input_json_delta').map((d) => (d as Anthropic.InputJSONDelta).partial_json);
    expect(json.length).toBeGreaterThan(1);
    expect(JSON.parse(json.join(''))).toEqual({ city: 'Paris', days: [1, 2] });
    expect(events.filter((e) => e['type'] === 'content_block_start').map((e) => e['content_block'])).toEqual([
      { type: 'thinking', thinking: '', signature: '' },
      blocks[1],
      { type: 'text', text: '' },
      { type: 'tool_use', id: toolId, name: 'get_weather', input: {} },
    ]);
    expect(fake.requests.at(-1)!.operation).toBe('invoke-stream');
  });

  it('renders a Converse structured reply on InvokeModel, and an Anthropic reply on Converse', async () => {
    fake.setResponder(() =>
      messageReply('Hello from Converse.', { inputTokens: 7, outputTokens: 3, cacheReadInputTokens: 4 }),
    );
    const message = JSON.parse(Buffer.from((await invoke()).body).toString('utf8')) as Anthropic.Message;
    expect(message).toMatchObject({
      content: [{ type: 'text', text: 'Hello from Converse.' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 7, output_tokens: 3, cache_read_input_tokens: 4 },
    });

    fake.setResponder(() => anthropicReply({ blocks, usage }));
    const converse = await client.send(
      new ConverseCommand({ modelId, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }),
    );
    expect(converse.output?.message?.content).toEqual([
      { text: 'Checking the forecast now.' },
      { toolUse: { toolUseId: toolId, name: 'get_weather', input: { city: 'Paris', days: [1, 2] } } },
    ]);
    expect(converse.usage).toMatchObject({
      inputTokens: 50,
      outputTokens: 30,
      cacheReadInputTokens: 200,
      cacheWriteInputTokens: 10,
    });
  });

  it('raises a mid-stream exception event: modelStreamErrorException by default, or the type asked', async () => {
    const text = 'one two three four five';
    const failing = await invokeStream(
      anthropicReply({
        text,
        usage: { input_tokens: 3, output_tokens: 5 },
        errorAfterDeltas: 2,
        streamError: { type: 'overloaded_error', message: 'Overloaded' },
      }),
    );
    expect(failing.error).toBeInstanceOf(ModelStreamErrorException);
    expect((failing.error as Error).message).toBe('Overloaded');
    expect(failing.events.filter((e) => e['type'] === 'content_block_delta')).toHaveLength(2);

    const throttled = await invokeStream(
      anthropicReply(
        { text, usage: { input_tokens: 3, output_tokens: 5 }, errorAfterDeltas: 1 },
        'throttlingException',
      ),
    );
    expect(throttled.error).toBeInstanceOf(ThrottlingException);
  });

  it('resets the stream for a cut, and answers errors before the body as the SDK exceptions', async () => {
    const cut = await invokeStream(
      anthropicReply({ text: 'a b c d e f', usage: { input_tokens: 1, output_tokens: 6 }, cutAfterDeltas: 2 }),
    );
    expect(cut.error).toBeDefined();
    expect(cut.events.some((e) => e['type'] === 'message_stop')).toBe(false);

    fake.setResponder(() => ({
      kind: 'error',
      status: 429,
      errorType: 'ThrottlingException',
      message: 'Too many requests',
    }));
    await expect(invoke()).rejects.toBeInstanceOf(ThrottlingException);
    await expect(invokeStream()).rejects.toBeInstanceOf(ThrottlingException);
  });

  it('refuses bodies Bedrock refuses: model or stream fields, a missing anthropic_version or max_tokens', async () => {
    for (const payload of [
      { ...body, model: 'claude-sonnet-4-5' },
      { ...body, stream: true },
      { ...body, anthropic_version: undefined },
      { ...body, max_tokens: undefined },
    ]) {
      const error = await invoke(payload).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationException);
      expect((error as Error).message).toMatch(/^Malformed input request/);
    }
    await expect(invokeStream(undefined, { ...body, model: 'x' })).rejects.toBeInstanceOf(ValidationException);
  });
});
