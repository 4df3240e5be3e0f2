import Anthropic from '@anthropic-ai/sdk';
import {
  estimateInputTokens,
  betasOf,
  newToolUseId,
  type FakeAnthropicBlock,
  type FakeAnthropicRequest,
} from '../fakes/anthropic-server';
import { anthropicReply, bedrockBetasOf, type FakeBedrockRequest } from '../fakes/bedrock-server';
import {
  anthropicClient,
  eventually,
  messagesSince,
  startAnthropicFace,
  UPSTREAM,
  UPSTREAM_ANTHROPIC_KEY,
  type AnthropicFace,
  type AuthStyle,
} from '../helpers/anthropic-face';

/**
 * Black-box tests of the gateway's Anthropic Messages face (`POST /v1/messages`,
 * `POST /v1/messages/count_tokens`) with the official `@anthropic-ai/sdk` client, on both doors
 * of the local gateway, through the mock, the fake Anthropic API and the fake Bedrock
 * (InvokeModel / InvokeModelWithResponseStream). Written from Anthropic's public documentation.
 */

/** A small PNG (1×1, transparent), base64. */
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
/** A minimal PDF, base64. */
const PDF_MINIMAL = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj ' +
    '3 0 obj<</Type/Page/MediaBox[0 0 3 3]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
).toString('base64');

const WEATHER_TOOL: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Get the current weather in a given city.',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, units: { type: 'string', enum: ['metric', 'imperial'] } },
    required: ['city'],
  },
};

const THINKING_BLOCKS: FakeAnthropicBlock[] = [
  {
    type: 'thinking',
    thinking: 'The user asks for the weather; call get_weather.',
    signature: 'EqQBCkgIARABGAIiQL2UoU0b',
  },
  { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP' },
];

/** The Anthropic streaming event types the SDK reads, with each delta's type. */
function eventTypes(events: Anthropic.MessageStreamEvent[]): string[] {
  return events.map((e) => (e.type === 'content_block_delta' ? `${e.type}:${e.delta.type}` : e.type));
}

/** The body of a raw (non-SDK) call. */
async function rawCall(
  base: string,
  path: string,
  init: { key?: string; body?: string; headers?: Record<string, string> },
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      ...(init.key ? { 'x-api-key': init.key } : {}),
      ...init.headers,
    },
    body: init.body ?? '{}',
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // an SSE body stays text
  }
  return { status: response.status, headers: response.headers, body };
}

describe('Anthropic Messages face with the official client', () => {
  let face: AnthropicFace;

  beforeAll(async () => {
    face = await startAnthropicFace('anthropic-face');
  });
  afterAll(() => face?.stop());
  beforeEach(() => {
    face.anthropic.setResponder(() => ({
      kind: 'message',
      text: 'Hello from the fake Anthropic.',
      usage: { input_tokens: 25, output_tokens: 8, cache_read_input_tokens: 100, cache_creation_input_tokens: 40 },
    }));
    face.bedrock.setResponder(() =>
      anthropicReply({
        text: 'Hello from the fake Bedrock.',
        usage: { input_tokens: 25, output_tokens: 8, cache_read_input_tokens: 100, cache_creation_input_tokens: 40 },
      }),
    );
  });

  const doors = [
    ['buffered door', () => face.gateway.url],
    ['streaming door', () => face.gateway.streamUrl],
  ] as const;

  describe.each(doors)('on the %s', (_door, base) => {
    const client = (style: AuthStyle = 'bearer (apiKey)', key = face.gateway.demoKey) =>
      anthropicClient(base(), key, style);

    describe.each(['bearer (apiKey)', 'bearer (authToken)', 'x-api-key'] as const)('authenticated by %s', (style) => {
      it('creates a message through the mock, in the Anthropic wire format, with the gateway headers', async () => {
        const { data: message, response } = await client(style)
          .messages.create({
            model: 'mock-small',
            max_tokens: 200,
            messages: [{ role: 'user', content: 'Hello from the Anthropic SDK' }],
          })
          .withResponse();
        expect(message.id).toMatch(/^msg_/);
        expect(message).toMatchObject({
          type: 'message',
          role: 'assistant',
          stop_reason: 'end_turn',
          stop_sequence: null,
        });
        expect(message.content).toHaveLength(1);
        expect(message.content[0]).toMatchObject({ type: 'text' });
        expect((message.content[0] as Anthropic.TextBlock).text).toContain('Hello from the Anthropic SDK');
        expect(message.usage.input_tokens).toBeGreaterThan(0);
        expect(message.usage.output_tokens).toBeGreaterThan(0);
        expect(message.usage.cache_read_input_tokens ?? 0).toBe(0);
        expect(message.usage.cache_creation_input_tokens ?? 0).toBe(0);
        expect(response.headers.get('x-request-id')).toBeTruthy();
        expect(response.headers.get('x-gateway-team')).toBe(face.gateway.demoTeamId);
        expect(response.headers.get('x-gateway-model')).toBe('mock-small');
        expect(response.headers.get('x-gateway-provider')).toBe('mock');
        expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeGreaterThan(0);
        expect(response.headers.get('x-ratelimit-limit-requests')).toBeTruthy();
        expect(response.headers.get('x-ratelimit-remaining-requests')).toBeTruthy();
      });

      it('streams a message through the fake Anthropic', async () => {
        const from = face.anthropic.requests.length;
        const stream = client(style).messages.stream({
          model: 'claude-sonnet-4-5',
          max_tokens: 300,
          messages: [{ role: 'user', content: 'Say hello' }],
        });
        const text: string[] = [];
        stream.on('text', (delta) => text.push(delta));
        const message = await stream.finalMessage();
        expect(text.join('')).toBe('Hello from the fake Anthropic.');
        expect(message.content).toEqual([{ type: 'text', text: 'Hello from the fake Anthropic.' }]);
        expect(message.usage).toMatchObject({
          input_tokens: 25,
          output_tokens: 8,
          cache_read_input_tokens: 100,
          cache_creation_input_tokens: 40,
        });
        const [sent] = messagesSince(face.anthropic, from);
        expect(sent!.body).toMatchObject({ model: UPSTREAM.sonnet, stream: true, max_tokens: 300 });
        // The gateway calls upstream with its own key, never the team's.
        const upstreamAuth = [sent!.headers['x-api-key'], sent!.headers['authorization']].join(' ');
        expect(upstreamAuth).toContain(UPSTREAM_ANTHROPIC_KEY);
        expect(upstreamAuth).not.toContain(face.gateway.demoKey);
        expect(sent!.headers['anthropic-version']).toBeTruthy();
      });
    });

    it('answers the fake Anthropic message as Anthropic sent it: blocks, stop fields, cache usage', async () => {
      const id = newToolUseId();
      const blocks: FakeAnthropicBlock[] = [
        ...THINKING_BLOCKS,
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id, name: 'get_weather', input: { city: 'Paris', units: 'metric' } },
      ];
      face.anthropic.setResponder(() => ({
        kind: 'message',
        blocks,
        usage: { input_tokens: 30, output_tokens: 20, cache_read_input_tokens: 1000, cache_creation_input_tokens: 500 },
      }));
      const { data: message, response } = await client()
        .messages.create({
          model: 'claude-sonnet-4-5',
          max_tokens: 4096,
          thinking: { type: 'enabled', budget_tokens: 2048 },
          tools: [WEATHER_TOOL],
          messages: [{ role: 'user', content: 'Weather in Paris?' }],
        })
        .withResponse();
      expect(message.content).toEqual(blocks);
      expect(message).toMatchObject({ stop_reason: 'tool_use', stop_sequence: null });
      expect(message.usage).toMatchObject({
        input_tokens: 30,
        output_tokens: 20,
        cache_read_input_tokens: 1000,
        cache_creation_input_tokens: 500,
      });
      expect(response.headers.get('x-gateway-provider')).toBe('anthropic');
      expect(response.headers.get('x-gateway-model')).toBe('claude-sonnet-4-5');
      // 30 × $3 + 20 × $15 + 1000 × $0.30 + 500 × $3.75 per million tokens.
      expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeCloseTo(
        (30 * 3 + 20 * 15 + 1000 * 0.3 + 500 * 3.75) / 1e6,
        12,
      );
    });

    it('streams every event type (thinking, signature, redacted thinking, text, tool input) in order', async () => {
      const id = newToolUseId();
      const input = { city: 'São Paulo', units: 'metric', note: 'long enough to arrive in several pieces' };
      const blocks: FakeAnthropicBlock[] = [
        ...THINKING_BLOCKS,
        { type: 'text', text: 'Checking the weather now.' },
        { type: 'tool_use', id, name: 'get_weather', input },
      ];
      face.anthropic.setResponder(() => ({
        kind: 'message',
        blocks,
        usage: { input_tokens: 40, output_tokens: 60, cache_read_input_tokens: 10 },
      }));
      const stream = client().messages.stream({
        model: 'claude-sonnet-4-5',
        max_tokens: 4096,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        tools: [WEATHER_TOOL],
        messages: [{ role: 'user', content: 'Weather in São Paulo?' }],
      });
      const events: Anthropic.MessageStreamEvent[] = [];
      const json: string[] = [];
      const signatures: string[] = [];
      stream.on('streamEvent', (event) => events.push(event));
      stream.on('inputJson', (partial) => json.push(partial));
      stream.on('signature', (signature) => signatures.push(signature));
      const message = await stream.finalMessage();
      const { response } = await stream.withResponse();

      expect(message.content).toEqual(blocks);
      expect(message.stop_reason).toBe('tool_use');
      expect(message.usage).toMatchObject({ input_tokens: 40, output_tokens: 60, cache_read_input_tokens: 10 });
      expect(signatures).toEqual(['EqQBCkgIARABGAIiQL2UoU0b']);
      expect(json.length).toBeGreaterThan(1);
      expect(JSON.parse(json.join(''))).toEqual(input);

      const types = eventTypes(events);
      expect(types[0]).toBe('message_start');
      expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
      for (const type of [
        'content_block_delta:thinking_delta',
        'content_block_delta:signature_delta',
        'content_block_delta:text_delta',
        'content_block_delta:input_json_delta',
      ]) {
        expect(types).toContain(type);
      }
      const starts = events.filter((e) => e.type === 'content_block_start');
      expect(starts.map((e) => [e.index, e.content_block.type])).toEqual([
        [0, 'thinking'],
        [1, 'redacted_thinking'],
        [2, 'text'],
        [3, 'tool_use'],
      ]);
      // Every block is opened, filled and closed before the next one starts.
      const stops = events.filter((e) => e.type === 'content_block_stop').map((e) => e.index);
      expect(stops).toEqual([0, 1, 2, 3]);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(response.headers.get('x-request-id')).toBeTruthy();
      expect(response.headers.get('x-gateway-model')).toBe('claude-sonnet-4-5');
    });

    it('streams raw events with stream: true (the SDK iterator) through the mock', async () => {
      const stream = await client().messages.create({
        model: 'mock-small',
        max_tokens: 200,
        stream: true,
        messages: [{ role: 'user', content: 'one two three' }],
      });
      const events: Anthropic.RawMessageStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      const types = eventTypes(events);
      expect(types[0]).toBe('message_start');
      expect(types).toContain('content_block_start');
      expect(types).toContain('content_block_delta:text_delta');
      expect(types).toContain('content_block_stop');
      expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
      const text = events
        .flatMap((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? [e.delta.text] : []))
        .join('');
      expect(text).toContain('one two three');
      const delta = events.find((e) => e.type === 'message_delta') as Anthropic.RawMessageDeltaEvent;
      expect(delta.delta.stop_reason).toBe('end_turn');
      expect(delta.usage.output_tokens).toBeGreaterThan(0);
      const start = events[0] as Anthropic.RawMessageStartEvent;
      expect(start.message).toMatchObject({ role: 'assistant', content: [], stop_reason: null });
    });

    it('tools: tool_use out, tool_result back in, tool_choice forwarded', async () => {
      const id = newToolUseId();
      face.anthropic.setResponder((request) => {
        const messages = request.body['messages'] as Anthropic.MessageParam[];
        const last = messages.at(-1)!;
        const answered = Array.isArray(last.content) && last.content.some((block) => block.type === 'tool_result');
        return answered
          ? { kind: 'message', text: 'It is 21°C and sunny in Paris.', usage: { input_tokens: 60, output_tokens: 12 } }
          : {
              kind: 'message',
              toolUses: [{ id, name: 'get_weather', input: { city: 'Paris' } }],
              usage: { input_tokens: 50, output_tokens: 15 },
            };
      });
      const from = face.anthropic.requests.length;
      const first = await client().messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 500,
        tools: [WEATHER_TOOL],
        tool_choice: { type: 'tool', name: 'get_weather' },
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      });
      expect(first.stop_reason).toBe('tool_use');
      expect(first.content).toEqual([{ type: 'tool_use', id, name: 'get_weather', input: { city: 'Paris' } }]);

      const followUp: Anthropic.MessageParam[] = [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content as Anthropic.ContentBlockParam[] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: '21°C, sunny' }] },
      ];
      const second = await client().messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 500,
        tools: [WEATHER_TOOL],
        tool_choice: { type: 'auto', disable_parallel_tool_use: true },
        messages: followUp,
      });
      expect(second.content).toEqual([{ type: 'text', text: 'It is 21°C and sunny in Paris.' }]);
      expect(second.stop_reason).toBe('end_turn');

      const [sentFirst, sentSecond] = messagesSince(face.anthropic, from);
      expect(sentFirst!.body['tools']).toEqual([WEATHER_TOOL]);
      expect(sentFirst!.body['tool_choice']).toEqual({ type: 'tool', name: 'get_weather' });
      expect(sentSecond!.body['tool_choice']).toEqual({ type: 'auto', disable_parallel_tool_use: true });
      expect(sentSecond!.body['messages']).toEqual(followUp);
    });

    it('extended thinking: the budget goes upstream, and thinking blocks passed back reach it unchanged', async () => {
      const id = newToolUseId();
      const from = face.anthropic.requests.length;
      const messages: Anthropic.MessageParam[] = [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [
            ...(THINKING_BLOCKS as Anthropic.ContentBlockParam[]),
            { type: 'tool_use', id, name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: id, content: [{ type: 'text', text: '21°C' }] }],
        },
      ];
      await client().messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 8000,
        thinking: { type: 'enabled', budget_tokens: 4000 },
        tools: [WEATHER_TOOL],
        messages,
      });
      const [sent] = messagesSince(face.anthropic, from);
      expect(sent!.body['thinking']).toEqual({ type: 'enabled', budget_tokens: 4000 });
      expect(sent!.body['messages']).toEqual(messages);
    });

    it('system as a string and as blocks with cache_control; images and PDFs as base64; metadata; stop sequences', async () => {
      face.anthropic.setResponder(() => ({
        kind: 'message',
        text: 'Described',
        stopReason: 'stop_sequence',
        usage: { input_tokens: 900, output_tokens: 3, cache_creation_input_tokens: 2048 },
      }));
      const from = face.anthropic.requests.length;
      await client().messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 100,
        system: 'You are a careful assistant.',
        messages: [{ role: 'user', content: 'hi' }],
      });
      const system: Anthropic.TextBlockParam[] = [
        { type: 'text', text: 'You describe images and documents.' },
        { type: 'text', text: 'A long, cacheable instruction. '.repeat(50), cache_control: { type: 'ephemeral' } },
      ];
      const messages: Anthropic.MessageParam[] = [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1X1 } },
            {
              type: 'document',
              source: { type: 'base64', media_type: 'application/pdf', data: PDF_MINIMAL },
              cache_control: { type: 'ephemeral' },
            },
            { type: 'text', text: 'Describe both, then say END.' },
          ],
        },
      ];
      const message = await client().messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 100,
        system,
        messages,
        metadata: { user_id: 'user-42' },
        stop_sequences: ['END', 'STOP'],
      });
      expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
      expect(message.usage.cache_creation_input_tokens).toBe(2048);

      const [plain, rich] = messagesSince(face.anthropic, from);
      expect(plain!.body['system']).toBe('You are a careful assistant.');
      expect(rich!.body).toMatchObject({
        system,
        messages,
        metadata: { user_id: 'user-42' },
        stop_sequences: ['END', 'STOP'],
      });

      // The mock takes the same shapes.
      const mocked = await client().messages.create({
        model: 'mock-small',
        max_tokens: 100,
        system,
        messages,
        metadata: { user_id: 'user-42' },
        stop_sequences: ['END'],
      });
      expect(mocked.type).toBe('message');
    });

    it('stop_reason max_tokens, from the fake Anthropic and from the mock', async () => {
      face.anthropic.setResponder(() => ({
        kind: 'message',
        text: 'cut short',
        stopReason: 'max_tokens',
        usage: { input_tokens: 5, output_tokens: 5 },
      }));
      const upstream = await client().messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'Write a long essay.' }],
      });
      expect(upstream.stop_reason).toBe('max_tokens');
      const mocked = await client().messages.create({
        model: 'mock-small',
        max_tokens: 3,
        messages: [{ role: 'user', content: 'x'.repeat(400) }],
      });
      expect(mocked.stop_reason).toBe('max_tokens');
      expect(mocked.usage.output_tokens).toBeLessThanOrEqual(3);
    });

    it('resolves dated names to the undated catalog id or alias, unless the dated name is in the catalog', async () => {
      const from = face.anthropic.requests.length;
      const dated = await client()
        .messages.create({
          model: 'claude-sonnet-4-5-20250929',
          max_tokens: 50,
          messages: [{ role: 'user', content: 'hi' }],
        })
        .withResponse();
      expect(dated.response.headers.get('x-gateway-model')).toBe('claude-sonnet-4-5');
      expect(messagesSince(face.anthropic, from)[0]!.body['model']).toBe(UPSTREAM.sonnet);

      const alias = await client()
        .messages.create({ model: 'sonnet', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      expect(alias.response.headers.get('x-gateway-model')).toBe('claude-sonnet-4-5');

      const datedAlias = await client()
        .messages.create({
          model: 'claude-sonnet-4-6-20260101',
          max_tokens: 50,
          messages: [{ role: 'user', content: 'hi' }],
        })
        .withResponse();
      expect(datedAlias.response.headers.get('x-gateway-model')).toBe('bedrock-claude');
      expect(datedAlias.response.headers.get('x-gateway-provider')).toBe('bedrock');

      const exact = await client()
        .messages.create({ model: UPSTREAM.opusDated, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      expect(exact.response.headers.get('x-gateway-model')).toBe(UPSTREAM.opusDated);
      expect(exact.response.headers.get('x-gateway-provider')).toBe('anthropic');
      const undated = await client()
        .messages.create({ model: 'claude-opus-4-1', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
        .withResponse();
      expect(undated.response.headers.get('x-gateway-provider')).toBe('mock');

      await expect(
        client().messages.create({
          model: 'claude-nope-4-5-20250929',
          max_tokens: 50,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    });

    it('forwards allowed betas, drops the others and names them in x-gateway-dropped-betas', async () => {
      const from = face.anthropic.requests.length;
      const { response } = await client()
        .messages.create(
          { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
          {
            headers: {
              'anthropic-beta': 'interleaved-thinking-2025-05-14,made-up-beta-2099-01-01, other-beta-2098-02-02',
            },
          },
        )
        .withResponse();
      expect(betasOf(messagesSince(face.anthropic, from)[0]!)).toEqual(['interleaved-thinking-2025-05-14']);
      expect(
        response.headers
          .get('x-gateway-dropped-betas')
          ?.split(',')
          .map((beta) => beta.trim())
          .sort(),
      ).toEqual(['made-up-beta-2099-01-01', 'other-beta-2098-02-02']);

      // The SDK's beta resource sends them as the same header.
      const beforeBeta = face.anthropic.requests.length;
      const viaBeta = await client()
        .beta.messages.create({
          model: 'claude-sonnet-4-5',
          max_tokens: 50,
          betas: ['fine-grained-tool-streaming-2025-05-14'],
          messages: [{ role: 'user', content: 'hi' }],
        })
        .withResponse();
      expect(betasOf(messagesSince(face.anthropic, beforeBeta)[0]!)).toEqual([
        'fine-grained-tool-streaming-2025-05-14',
      ]);
      expect(viaBeta.response.headers.get('x-gateway-dropped-betas')).toBeNull();

      // A connection without an allow-list passes every beta.
      const beforeOpen = face.anthropic.requests.length;
      const open = await client()
        .messages.create(
          { model: 'claude-open', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] },
          { headers: { 'anthropic-beta': 'made-up-beta-2099-01-01,interleaved-thinking-2025-05-14' } },
        )
        .withResponse();
      expect(betasOf(messagesSince(face.anthropic, beforeOpen)[0]!)).toEqual([
        'made-up-beta-2099-01-01',
        'interleaved-thinking-2025-05-14',
      ]);
      expect(open.response.headers.get('x-gateway-dropped-betas')).toBeNull();

      // Without betas, no anthropic-beta header goes upstream.
      const beforePlain = face.anthropic.requests.length;
      await client().messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(betasOf(messagesSince(face.anthropic, beforePlain)[0]!)).toEqual([]);
    });

    describe('through the fake Bedrock (InvokeModel with the Anthropic body)', () => {
      const lastBedrock = (from: number): FakeBedrockRequest[] => face.bedrock.requests.slice(from);

      it('creates a message with InvokeModel: Anthropic body without model or stream, the answer as Bedrock gave it', async () => {
        const id = newToolUseId();
        const blocks: FakeAnthropicBlock[] = [
          ...THINKING_BLOCKS,
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id, name: 'get_weather', input: { city: 'Oslo' } },
        ];
        face.bedrock.setResponder(() =>
          anthropicReply({
            blocks,
            usage: {
              input_tokens: 70,
              output_tokens: 33,
              cache_read_input_tokens: 512,
              cache_creation_input_tokens: 64,
            },
          }),
        );
        const from = face.bedrock.requests.length;
        const system: Anthropic.TextBlockParam[] = [
          { type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } },
        ];
        const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Oslo?' }];
        const { data: message, response } = await client()
          .messages.create(
            {
              model: 'bedrock-claude',
              max_tokens: 4096,
              system,
              thinking: { type: 'enabled', budget_tokens: 2048 },
              tools: [WEATHER_TOOL],
              tool_choice: { type: 'any' },
              stop_sequences: ['###'],
              messages,
            },
            { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14,claude-code-20250219' } },
          )
          .withResponse();
        expect(message.content).toEqual(blocks);
        expect(message.stop_reason).toBe('tool_use');
        expect(message.usage).toMatchObject({
          input_tokens: 70,
          output_tokens: 33,
          cache_read_input_tokens: 512,
          cache_creation_input_tokens: 64,
        });
        expect(response.headers.get('x-gateway-provider')).toBe('bedrock');
        expect(response.headers.get('x-gateway-dropped-betas')).toBe('claude-code-20250219');

        const [sent] = lastBedrock(from);
        expect(sent!.operation).toBe('invoke');
        expect(sent!.modelId).toBe(UPSTREAM.bedrock);
        expect(sent!.body['anthropic_version']).toBe('bedrock-2023-05-31');
        expect(sent!.body).not.toHaveProperty('model');
        expect(sent!.body).not.toHaveProperty('stream');
        expect(sent!.body).toMatchObject({
          max_tokens: 4096,
          system,
          thinking: { type: 'enabled', budget_tokens: 2048 },
          tools: [WEATHER_TOOL],
          tool_choice: { type: 'any' },
          stop_sequences: ['###'],
          messages,
        });
        expect(bedrockBetasOf(sent!)).toEqual(['interleaved-thinking-2025-05-14']);
      });

      it('streams with InvokeModelWithResponseStream: every event, reassembled tool input, thinking passed back', async () => {
        const id = newToolUseId();
        const input = { path: '/src/index.ts', content: 'export const answer = 42;\n'.repeat(3) };
        const blocks: FakeAnthropicBlock[] = [
          { type: 'thinking', thinking: 'Write the file.', signature: 'sig-bedrock-1' },
          { type: 'text', text: 'Writing it.' },
          { type: 'tool_use', id, name: 'write_file', input },
        ];
        face.bedrock.setResponder(() =>
          anthropicReply({ blocks, usage: { input_tokens: 90, output_tokens: 44, cache_read_input_tokens: 2000 } }),
        );
        const from = face.bedrock.requests.length;
        const previous: Anthropic.MessageParam[] = [
          { role: 'user', content: 'Create the file.' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'Earlier reasoning.', signature: 'sig-earlier' },
              { type: 'tool_use', id: 'toolu_earlier', name: 'read_file', input: { path: '/src' } },
            ],
          },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: 'toolu_earlier', content: 'not found', is_error: true }],
          },
        ];
        const stream = client().messages.stream({
          model: 'claude-sonnet-4-6',
          max_tokens: 8000,
          thinking: { type: 'enabled', budget_tokens: 2000 },
          messages: previous,
        });
        const events: Anthropic.MessageStreamEvent[] = [];
        stream.on('streamEvent', (event) => events.push(event));
        const message = await stream.finalMessage();
        expect(message.content).toEqual(blocks);
        expect(message.usage).toMatchObject({ input_tokens: 90, output_tokens: 44, cache_read_input_tokens: 2000 });
        const types = eventTypes(events);
        expect(types[0]).toBe('message_start');
        expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
        expect(types).toEqual(
          expect.arrayContaining(['content_block_delta:signature_delta', 'content_block_delta:input_json_delta']),
        );

        const [sent] = lastBedrock(from);
        expect(sent!.operation).toBe('invoke-stream');
        expect(sent!.body).not.toHaveProperty('stream');
        expect(sent!.body['messages']).toEqual(previous);
      });

      it('counts tokens for a Bedrock model with Bedrock CountTokens over the InvokeModel body', async () => {
        const { data: counted, response } = await client()
          .messages.countTokens({
            model: 'bedrock-claude',
            messages: [{ role: 'user', content: 'How many tokens is this?' }],
          })
          .withResponse();
        const sent = face.bedrock.countRequests.at(-1)!;
        expect(counted.input_tokens).toBe(estimateInputTokens(sent.body));
        expect(response.headers.get('x-gateway-token-count')).toBe('provider');
        expect(sent.body).toMatchObject({ anthropic_version: 'bedrock-2023-05-31' });
      });

      it('raises an upstream Bedrock throttle as RateLimitError and a mid-stream exception as an error event', async () => {
        face.bedrock.setResponder(() => ({
          kind: 'error',
          status: 429,
          errorType: 'ThrottlingException',
          message: 'Too many requests, please wait before trying again.',
        }));
        const throttled = await client()
          .messages.create({ model: 'bedrock-haiku', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
          .catch((e: unknown) => e);
        expect(throttled).toBeInstanceOf(Anthropic.RateLimitError);
        expect(throttled).toMatchObject({ status: 429, error: { type: 'error', error: { type: 'rate_limit_error' } } });

        face.bedrock.setResponder(() =>
          anthropicReply({
            text: 'one two three four five',
            usage: { input_tokens: 5, output_tokens: 5 },
            errorAfterDeltas: 2,
          }),
        );
        const stream = client().messages.stream({
          model: 'bedrock-haiku',
          max_tokens: 50,
          messages: [{ role: 'user', content: 'count' }],
        });
        const text: string[] = [];
        stream.on('text', (delta) => text.push(delta));
        const error = await stream.finalMessage().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(Anthropic.APIError);
        expect(text.join('')).toBe('one two ');
      });
    });

    it('counts tokens: input_tokens > 0, growing with the input, and not billed', async () => {
      const team = await newTeam(`count-${_door.split(' ')[0]}`);
      const counter = anthropicClient(base(), team.key);
      const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Hello there' }];
      for (const model of ['mock-small', 'claude-sonnet-4-5']) {
        const small = await counter.messages.countTokens({ model, messages });
        const large = await counter.messages.countTokens({
          model,
          system: 'You are a meticulous reviewer of long documents. '.repeat(40),
          tools: [WEATHER_TOOL],
          messages: [
            ...messages,
            { role: 'assistant', content: 'Hi!' },
            { role: 'user', content: 'More words. '.repeat(100) },
          ],
        });
        expect(small).toEqual({ input_tokens: expect.any(Number) });
        expect(small.input_tokens).toBeGreaterThan(0);
        expect(large.input_tokens).toBeGreaterThan(small.input_tokens);
      }
      await counter.messages.create({ model: 'mock-small', max_tokens: 20, messages });
      const usage = await eventually(
        () => usageOf(team.key),
        (report) => report.totals.requests >= 1,
      );
      expect(usage.totals.requests).toBe(1);
    });
  });

  /** A fresh team and key, through the admin API (the demo team's usage is shared by every test). */
  async function newTeam(prefix: string): Promise<{ id: string; key: string }> {
    const id = `${prefix}-${Date.now() % 1_000_000}`;
    const admin = { 'content-type': 'application/json', authorization: `Bearer ${face.gateway.adminToken}` };
    const created = await fetch(`${face.gateway.url}/v1/admin/teams`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ id, name: id }),
    });
    expect(created.status).toBe(201);
    const issued = await fetch(`${face.gateway.url}/v1/admin/teams/${id}/keys`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'anthropic face' }),
    });
    expect(issued.status).toBe(201);
    return { id, key: ((await issued.json()) as { key: string }).key };
  }

  interface UsageLine {
    requests: number;
    input_tokens: number;
    output_tokens: number;
    cache_read_tokens: number;
    cache_write_tokens: number;
    cost_picos: string;
  }
  interface UsageReport {
    totals: UsageLine;
    by_model: (UsageLine & { model: string })[];
  }

  async function usageOf(key: string): Promise<UsageReport> {
    const response = await fetch(`${face.gateway.url}/v1/usage?days=1`, { headers: { 'x-api-key': key } });
    expect(response.status).toBe(200);
    return (await response.json()) as UsageReport;
  }

  it('shows /v1/messages requests in GET /v1/usage with tokens, cache lines and their cost', async () => {
    const team = await newTeam('usage');
    face.anthropic.setResponder(() => ({
      kind: 'message',
      text: 'Cached answer.',
      usage: { input_tokens: 120, output_tokens: 30, cache_read_input_tokens: 4000, cache_creation_input_tokens: 800 },
    }));
    const buffered = anthropicClient(face.gateway.url, team.key, 'x-api-key');
    const streaming = anthropicClient(face.gateway.streamUrl, team.key);
    const params = {
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [{ role: 'user' as const, content: 'cache me' }],
    };
    const { response } = await buffered.messages.create(params).withResponse();
    await streaming.messages.stream(params).finalMessage();

    const report = await eventually(
      () => usageOf(team.key),
      (r) => r.totals.requests >= 2,
    );
    const line = report.by_model.find((row) => row.model === 'claude-sonnet-4-5');
    expect(line).toMatchObject({
      requests: 2,
      input_tokens: 240,
      output_tokens: 60,
      cache_read_tokens: 8000,
      cache_write_tokens: 1600,
    });
    // Per request, in pico-dollars: 120 × 3 + 30 × 15 + 4000 × 0.3 + 800 × 3.75 µ$ (× 10^6).
    const perRequest = BigInt(120 * 3_000_000 + 30 * 15_000_000 + 4000 * 300_000 + 800 * 3_750_000);
    expect(line!.cost_picos).toBe(String(2n * perRequest));
    expect(Number(response.headers.get('x-gateway-cost-usd'))).toBeCloseTo(Number(perRequest) / 1e12, 12);
  });

  describe('errors in Anthropic shape, raised by the SDK as its error classes', () => {
    const anthropicError = (type: string) => ({ type: 'error', error: { type, message: expect.any(String) } });

    it.each(doors)(
      'on the %s: missing max_tokens, empty messages, invalid JSON, no key, wrong key, unknown model',
      async (_door, base) => {
        const key = face.gateway.demoKey;
        const noMax = await rawCall(base(), '/v1/messages', {
          key,
          body: JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(noMax).toMatchObject({ status: 400, body: anthropicError('invalid_request_error') });

        const empty = await rawCall(base(), '/v1/messages', {
          key,
          body: JSON.stringify({ model: 'mock-small', max_tokens: 10, messages: [] }),
        });
        expect(empty).toMatchObject({ status: 400, body: anthropicError('invalid_request_error') });

        const invalid = await rawCall(base(), '/v1/messages', { key, body: '{"model": "mock-small", "max_tokens": ' });
        expect(invalid).toMatchObject({ status: 400, body: anthropicError('invalid_request_error') });

        const none = await rawCall(base(), '/v1/messages', {
          body: JSON.stringify({ model: 'mock-small', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(none).toMatchObject({ status: 401, body: anthropicError('authentication_error') });

        const sdk = anthropicClient(base(), key);
        await expect(
          sdk.messages.create({ model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] } as never),
        ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
        const emptyError = await sdk.messages
          .create({ model: 'mock-small', max_tokens: 10, messages: [] })
          .catch((e: unknown) => e);
        expect(emptyError).toBeInstanceOf(Anthropic.BadRequestError);
        expect(emptyError).toMatchObject({ status: 400, error: anthropicError('invalid_request_error') });

        for (const style of ['bearer (apiKey)', 'x-api-key'] as const) {
          const wrong = anthropicClient(base(), 'gwk_aaaaaaaaaaaa_nope', style);
          const error = await wrong.messages
            .create({ model: 'mock-small', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
          expect(error).toMatchObject({ status: 401, error: anthropicError('authentication_error') });
        }

        const unknown = await sdk.messages
          .create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
          .catch((e: unknown) => e);
        expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
        expect(unknown).toMatchObject({ status: 404, error: anthropicError('not_found_error') });

        const countWithoutModel = await sdk.messages
          .countTokens({ messages: [{ role: 'user', content: 'hi' }] } as never)
          .catch((e: unknown) => e);
        expect(countWithoutModel).toBeInstanceOf(Anthropic.BadRequestError);
      },
    );

    it('a model the key may not use is a 403 permission_error', async () => {
      const admin = { 'content-type': 'application/json', authorization: `Bearer ${face.gateway.adminToken}` };
      const issued = await fetch(`${face.gateway.url}/v1/admin/teams/${face.gateway.demoTeamId}/keys`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'mock only', allowed_models: ['mock-small'] }),
      });
      expect(issued.status).toBe(201);
      const narrow = anthropicClient(face.gateway.url, ((await issued.json()) as { key: string }).key);
      const error = await narrow.messages
        .create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
      expect(error).toMatchObject({ status: 403, error: anthropicError('permission_error') });
    });

    it('a body over the size limit is a 413 request_too_large', async () => {
      const huge = await rawCall(face.gateway.url, '/v1/messages', {
        key: face.gateway.demoKey,
        body: JSON.stringify({
          model: 'mock-small',
          max_tokens: 10,
          messages: [{ role: 'user', content: 'x'.repeat(6 * 1024 * 1024) }],
        }),
      });
      expect(huge).toMatchObject({ status: 413, body: anthropicError('request_too_large') });
    });

    it('upstream errors keep their Anthropic type: 429 rate_limit_error, 529 overloaded_error, 500 api_error', async () => {
      // A team of its own: these failures open its circuit to the fake Anthropic (breakers are per
      // team), which must not skip the demo team's later calls.
      const admin = { 'content-type': 'application/json', authorization: `Bearer ${face.gateway.adminToken}` };
      const team = await fetch(`${face.gateway.url}/v1/admin/teams`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ id: 'upstream-errors', name: 'Upstream errors' }),
      });
      expect(team.status).toBe(201);
      const issued = await fetch(`${face.gateway.url}/v1/admin/teams/upstream-errors/keys`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'errors' }),
      });
      const sdk = anthropicClient(face.gateway.url, ((await issued.json()) as { key: string }).key);
      const params = {
        model: 'claude-sonnet-4-5',
        max_tokens: 10,
        messages: [{ role: 'user' as const, content: 'hi' }],
      };

      face.anthropic.setResponder(() => ({
        kind: 'error',
        status: 429,
        type: 'rate_limit_error',
        message: 'slow down',
      }));
      const limited = await sdk.messages.create(params).catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
      expect(limited).toMatchObject({ status: 429, error: anthropicError('rate_limit_error') });

      face.anthropic.setResponder(() => ({
        kind: 'error',
        status: 529,
        type: 'overloaded_error',
        message: 'Overloaded',
      }));
      const overloaded = await sdk.messages.create(params).catch((e: unknown) => e);
      expect(overloaded).toBeInstanceOf(Anthropic.APIError);
      // The gateway keeps one status vocabulary on every face (an unavailable upstream is its 503);
      // the type is the face's own.
      expect(overloaded).toMatchObject({ status: 503, error: anthropicError('overloaded_error') });

      face.anthropic.setResponder(() => ({
        kind: 'error',
        status: 500,
        type: 'api_error',
        message: 'Internal server error',
      }));
      const failed = await sdk.messages.create(params).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(Anthropic.InternalServerError);
      expect(failed).toMatchObject({ error: anthropicError('api_error') });
    });

    it.each(doors)(
      'on the %s: a mid-stream upstream error arrives as an error event after the text so far',
      async (_door, base) => {
        face.anthropic.setResponder(() => ({
          kind: 'message',
          text: 'one two three four five six',
          usage: { input_tokens: 10, output_tokens: 6 },
          errorAfterDeltas: 3,
        }));
        const stream = anthropicClient(base(), face.gateway.demoKey).messages.stream({
          model: 'claude-sonnet-4-5',
          max_tokens: 100,
          messages: [{ role: 'user', content: 'count to six' }],
        });
        const text: string[] = [];
        stream.on('text', (delta) => text.push(delta));
        const error = await stream.finalMessage().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(Anthropic.APIError);
        expect((error as InstanceType<typeof Anthropic.APIError>).type).toMatch(/^(overloaded_error|api_error)$/);
        expect(text.join('')).toBe('one two three ');

        // On the wire: named SSE events, the last one `event: error` with the Anthropic error body.
        const raw = await rawCall(base(), '/v1/messages', {
          key: face.gateway.demoKey,
          body: JSON.stringify({
            model: 'claude-sonnet-4-5',
            max_tokens: 100,
            stream: true,
            messages: [{ role: 'user', content: 'again' }],
          }),
        });
        expect(raw.status).toBe(200);
        const frames = String(raw.body).split('\n\n').filter(Boolean);
        const last = /^event: (\w+)\ndata: (.*)$/s.exec(frames.at(-1)!);
        expect(last?.[1]).toBe('error');
        expect(JSON.parse(last![2]!)).toMatchObject({
          type: 'error',
          error: { type: expect.any(String), message: expect.any(String) },
        });
      },
    );
  });

  it('sends nothing upstream for a request it refuses', async () => {
    const fromAnthropic = face.anthropic.requests.length;
    const fromBedrock = face.bedrock.requests.length;
    await rawCall(face.gateway.url, '/v1/messages', {
      key: face.gateway.demoKey,
      body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'no max_tokens' }] }),
    });
    await rawCall(face.gateway.url, '/v1/messages', {
      key: 'gwk_aaaaaaaaaaaa_nope',
      body: JSON.stringify({ model: 'bedrock-claude', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(face.anthropic.requests.slice(fromAnthropic)).toEqual([] as FakeAnthropicRequest[]);
    expect(face.bedrock.requests.slice(fromBedrock)).toEqual([]);
  });
});
