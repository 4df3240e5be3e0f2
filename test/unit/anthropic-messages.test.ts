import { deflateSync } from 'node:zlib';
import type { ChatRequest } from '../../lambdas/shared/chat/types';
import { PDF_MAX_PAGES, pdfPages, promptTokenBound } from '../../lambdas/shared/chat/token-estimate';
import type { ServedStreamEvent } from '../../lambdas/shared/exchange/metered-stream';
import {
  anthropicBetas,
  checkAnthropicVersion,
  createMessageEncoder,
  parseMessagesRequest,
  toAnthropicMessage,
  toExchangeRequest,
} from '../../lambdas/shared/faces/anthropic-messages';
import { anthropicErrorType } from '../../lambdas/shared/http/error-shapes';
import { GatewayError, invalidRequest, unauthenticated } from '../../lambdas/shared/http/errors';
import { errorResponse } from '../../lambdas/shared/http/response';
import { anthropicMessagesBody } from '../../lambdas/shared/providers/anthropic/request';
import { fromAnthropicStreamEvent, newAnthropicStreamState } from '../../lambdas/shared/providers/anthropic/response';
import { acceptedBetas, BEDROCK_DEFAULT_BETAS, droppedBetas } from '../../lambdas/shared/providers/betas';
import { bedrockAnthropicBody } from '../../lambdas/shared/providers/bedrock/anthropic-messages';
import { unsupportedFeatures } from '../../lambdas/shared/providers/capabilities';
import { providerConnectionSchema, type ProviderConnection } from '../../lambdas/shared/providers/options';
import { ZERO_USAGE } from '../../lambdas/shared/chat/types';
import { priceUsage } from '../../lambdas/shared/cost/pricing';

const connection = (input: Record<string, unknown>): ProviderConnection => providerConnectionSchema.parse(input);
const anthropic = connection({ adapter: 'anthropic', apiKeySecret: 's' });
const bedrock = connection({ adapter: 'bedrock' });
const openai = connection({ adapter: 'openai' });

/** A request as a coding agent sends it: every block kind the face maps. */
const AGENT_MESSAGES = [
  { role: 'user', content: 'Fix the failing test.' },
  {
    role: 'assistant',
    content: [
      { type: 'thinking', thinking: 'Look at the test first.', signature: 'sig-1' },
      { type: 'redacted_thinking', data: 'ENCRYPTED' },
      { type: 'text', text: 'Reading it.' },
      { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { path: 'a.ts' } },
      { type: 'tool_use', id: 'toolu_2', name: 'Grep', input: { pattern: 'day(' } },
    ],
  },
  {
    role: 'user',
    content: [
      { type: 'tool_result', tool_use_id: 'toolu_1', content: 'export const a = 1;' },
      {
        type: 'tool_result',
        tool_use_id: 'toolu_2',
        content: [{ type: 'text', text: 'no match' }],
        is_error: true,
        cache_control: { type: 'ephemeral' },
      },
      { type: 'text', text: 'Go on.' },
    ],
  },
] as const;

function agentRequest(extra: Record<string, unknown> = {}) {
  return parseMessagesRequest({
    model: 'claude-sonnet-4-6',
    max_tokens: 4096,
    system: [
      { type: 'text', text: 'You are a coding agent.' },
      { type: 'text', text: 'Long instructions.', cache_control: { type: 'ephemeral', ttl: '1h' } },
    ],
    messages: AGENT_MESSAGES,
    tools: [
      { name: 'Read', description: 'Read a file', input_schema: { type: 'object', properties: {} } },
      {
        name: 'Grep',
        input_schema: { type: 'object', properties: {} },
        cache_control: { type: 'ephemeral' },
      },
      { type: 'bash_20250124', name: 'bash' },
    ],
    tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    thinking: { type: 'enabled', budget_tokens: 2048 },
    metadata: { user_id: 'user-42' },
    stop_sequences: ['END'],
    top_k: 40,
    ...extra,
  });
}

const status = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return { status: (error as GatewayError).status, param: (error as GatewayError).param };
  }
  return undefined;
};

describe('Anthropic Messages face: request', () => {
  it('maps every block kind into the neutral request, and back into the same Messages body', () => {
    const exchange = toExchangeRequest(agentRequest(), ['interleaved-thinking-2025-05-14']);
    expect(exchange).toMatchObject({ model: 'claude-sonnet-4-6', stream: false });
    expect(exchange.maxOutputTokens).toEqual({ value: 4096, param: 'max_tokens' });
    const chat = exchange.chat;
    expect(chat).toMatchObject({
      user: 'user-42',
      topK: 40,
      stop: ['END'],
      toolChoice: 'auto',
      parallelToolCalls: false,
      thinking: { type: 'enabled', budgetTokens: 2048 },
      betas: ['interleaved-thinking-2025-05-14'],
      anthropicNative: true,
    });
    expect(chat.messages.map((m) => m.role)).toEqual(['system', 'system', 'user', 'assistant', 'tool', 'tool', 'user']);
    expect(chat.tools?.[2]).toMatchObject({ name: 'bash', anthropicType: { type: 'bash_20250124' } });

    const body = anthropicMessagesBody({ ...chat, maxOutputTokens: 4096 } as ChatRequest);
    expect(body['messages']).toEqual(AGENT_MESSAGES);
    expect(body['system']).toEqual([
      { type: 'text', text: 'You are a coding agent.' },
      { type: 'text', text: 'Long instructions.', cache_control: { type: 'ephemeral', ttl: '1h' } },
    ]);
    expect(body['tools']).toEqual([
      { name: 'Read', description: 'Read a file', input_schema: { type: 'object', properties: {} } },
      { name: 'Grep', input_schema: { type: 'object', properties: {} }, cache_control: { type: 'ephemeral' } },
      { type: 'bash_20250124', name: 'bash' },
    ]);
    expect(body['tool_choice']).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(body['thinking']).toEqual({ type: 'enabled', budget_tokens: 2048 });
  });

  it('keeps images and documents, and refuses URL sources the gateway would have to fetch', () => {
    const pdf = Buffer.from('%PDF-1.4 1 0 obj << /Type /Page >> endobj').toString('base64');
    const exchange = toExchangeRequest(
      parseMessagesRequest({
        model: 'm',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf }, title: 'T' },
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain words' } },
            ],
          },
        ],
      }),
    );
    expect(exchange.chat.messages[0]).toMatchObject({
      role: 'user',
      content: [
        { type: 'image', mediaType: 'image/png' },
        { type: 'document', source: { kind: 'pdf', base64: pdf }, title: 'T' },
        { type: 'document', source: { kind: 'text', text: 'plain words' } },
      ],
    });
    const urlImage = {
      model: 'm',
      max_tokens: 10,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] }],
    };
    expect(status(() => toExchangeRequest(parseMessagesRequest(urlImage)))).toEqual({
      status: 400,
      param: 'messages[0].content[0].source',
    });
  });

  it.each([
    ['no max_tokens', { max_tokens: undefined }, 'max_tokens'],
    ['an unknown parameter', { top_n: 3 }, 'top_n'],
    ['a temperature above 1', { temperature: 1.5 }, 'temperature'],
    ['a thinking budget under 1024', { thinking: { type: 'enabled', budget_tokens: 100 } }, 'thinking.budget_tokens'],
    ['empty messages', { messages: [] }, 'messages'],
  ])('refuses %s with a 400 naming it', (_, change, param) => {
    const body = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...change };
    expect(status(() => parseMessagesRequest(body))).toEqual({ status: 400, param });
  });

  it('refuses a thinking budget that is not under max_tokens, unless interleaved thinking spans the turn', () => {
    const body = parseMessagesRequest({
      model: 'm',
      max_tokens: 2000,
      thinking: { type: 'enabled', budget_tokens: 4000 },
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(status(() => toExchangeRequest(body))).toEqual({ status: 400, param: 'thinking.budget_tokens' });
    expect(status(() => toExchangeRequest(body, ['interleaved-thinking-2025-05-14']))).toBeUndefined();
  });

  it('refuses server tools, which Anthropic bills per use, and accepts client tools as declared', () => {
    const body = (type: string) =>
      parseMessagesRequest({
        model: 'm',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ type, name: 'web_search' }],
      });
    expect(status(() => toExchangeRequest(body('web_search_20250305')))).toEqual({
      status: 400,
      param: 'tools[0].type',
    });
    expect(status(() => toExchangeRequest(body('code_execution_20250825')))).toEqual({
      status: 400,
      param: 'tools[0].type',
    });
    expect(toExchangeRequest(body('text_editor_20250728')).chat.tools?.[0]?.anthropicType?.type).toBe(
      'text_editor_20250728',
    );
  });

  it('passes cache_control fields of newer betas on as sent', () => {
    const chat = toExchangeRequest(
      parseMessagesRequest({
        model: 'm',
        max_tokens: 10,
        messages: [
          {
            role: 'user',
            content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral', scope: 'global' } }],
          },
        ],
      }),
    ).chat;
    const body = anthropicMessagesBody({ ...chat, maxOutputTokens: 10 } as ChatRequest);
    expect(body['messages']).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral', scope: 'global' } }] },
    ]);
  });

  it('forwards the Messages parameters it does not model to Anthropic only', () => {
    const chat = toExchangeRequest(
      parseMessagesRequest({
        model: 'm',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
        context_management: { edits: [] },
        service_tier: 'auto',
      }),
    ).chat;
    expect(chat.anthropicExtras).toEqual({ context_management: { edits: [] }, service_tier: 'auto' });
    const request = { ...chat, maxOutputTokens: 10 } as ChatRequest;
    const target = { connectionName: 'bedrock', connection: bedrock as never, upstreamModel: 'anthropic.claude-x' };
    expect(bedrockAnthropicBody(request, target)).not.toHaveProperty('context_management');
    expect(bedrockAnthropicBody(request, target)).toMatchObject({ anthropic_version: 'bedrock-2023-05-31' });
  });

  it('reads anthropic-beta as a de-duplicated list, and refuses values that are not beta names', () => {
    expect(anthropicBetas({ 'anthropic-beta': ' a-1 , b-2,a-1,,' })).toEqual(['a-1', 'b-2']);
    expect(anthropicBetas({})).toEqual([]);
    expect(status(() => anthropicBetas({ 'anthropic-beta': 'x; rm -rf' }))).toEqual({
      status: 400,
      param: 'anthropic-beta',
    });
    expect(status(() => checkAnthropicVersion({ 'anthropic-version': '2026-10-21' }))).toBeUndefined();
    expect(status(() => checkAnthropicVersion({ 'anthropic-version': 'latest' }))).toEqual({
      status: 400,
      param: 'anthropic-version',
    });
  });
});

describe('Anthropic Messages face: answers and streams', () => {
  it('answers a completion as a message: thinking, text, tool use, Anthropic stop reasons and usage', () => {
    const message = toAnthropicMessage({
      id: 'msg_1',
      model: 'claude',
      completion: {
        text: 'Done',
        toolCalls: [{ id: 't1', name: 'Read', arguments: '{"path":"a"}' }],
        thinking: [{ type: 'thinking', thinking: 'hmm', signature: 's' }],
        finishReason: 'tool_calls',
        usage: { inputTokens: 5, outputTokens: 7, cacheReadTokens: 100, cacheWriteTokens: 20 },
      },
    });
    expect(message).toEqual({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude',
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 's' },
        { type: 'text', text: 'Done' },
        { type: 'tool_use', id: 't1', name: 'Read', input: { path: 'a' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 7, cache_creation_input_tokens: 20, cache_read_input_tokens: 100 },
    });
    const stopped = toAnthropicMessage({
      id: 'm',
      model: 'c',
      completion: { text: 'a', toolCalls: [], finishReason: 'stop', stopSequence: 'END', usage: { ...ZERO_USAGE } },
    });
    expect(stopped).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
  });

  /** The frames of a sequence of events, parsed back into (event, data) pairs. */
  function encodeAll(events: ServedStreamEvent[]) {
    const encode = createMessageEncoder({ id: 'msg_1', model: 'claude', requestId: 'req-1' });
    return events
      .flatMap(encode)
      .map((frame) => /^event: (\w+)\ndata: (.*)\n\n$/s.exec(frame)!)
      .map((match) => ({ event: match[1]!, data: JSON.parse(match[2]!) as Record<string, unknown> }));
  }

  const ending = {
    usage: { inputTokens: 9, outputTokens: 4, cacheReadTokens: 1, cacheWriteTokens: 2 },
    cost: priceUsage(
      { ...ZERO_USAGE },
      { inputMicrosPerMTok: 0, outputMicrosPerMTok: 0, cacheReadMicrosPerMTok: 0, cacheWriteMicrosPerMTok: 0 },
    ),
    latencyMs: 5,
    policy: { action: 'allow' as const, ruleIds: [] },
  };

  it("streams Anthropic's event sequence: one block per run, signatures close thinking, usage at the end", () => {
    const frames = encodeAll([
      { type: 'usage', usage: { inputTokens: 9 } },
      { type: 'thinking', text: 'one ' },
      { type: 'thinking', text: 'two' },
      { type: 'thinking_signature', signature: 'sig' },
      { type: 'redacted_thinking', data: 'ENC' },
      { type: 'text', text: 'Hello' },
      { type: 'tool_call_start', index: 0, id: 't1', name: 'Read' },
      { type: 'tool_call_delta', index: 0, arguments: '{"pa' },
      { type: 'tool_call_delta', index: 0, arguments: 'th":1}' },
      { type: 'finish', finishReason: 'tool_calls' },
      { type: 'settled', ...ending },
    ]);
    expect(frames.map((f) => f.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(frames[0]!.data).toMatchObject({ message: { id: 'msg_1', usage: { input_tokens: 9, output_tokens: 0 } } });
    expect(frames.filter((f) => f.event === 'content_block_start').map((f) => f.data['index'])).toEqual([0, 1, 2, 3]);
    expect(frames[5]!.data).toEqual({
      type: 'content_block_delta',
      index: 0,
      delta: { type: 'signature_delta', signature: 'sig' },
    });
    expect(frames.at(-2)!.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 9, output_tokens: 4, cache_creation_input_tokens: 2, cache_read_input_tokens: 1 },
    });
  });

  it('ends a broken stream with an error event in Anthropic shape', () => {
    const frames = encodeAll([
      { type: 'text', text: 'partial' },
      { type: 'failed', error: new GatewayError(503, 'server_error', 'gone'), ...ending },
    ]);
    expect(frames.at(-1)).toEqual({
      event: 'error',
      data: { type: 'error', error: { type: 'overloaded_error', message: 'gone' }, request_id: 'req-1' },
    });
  });

  it("decodes Anthropic's own thinking and signature deltas into the neutral stream", () => {
    const state = newAnthropicStreamState();
    const events = [
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'why' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'S' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'redacted_thinking', data: 'D' } },
      { type: 'message_delta', delta: { stop_reason: 'stop_sequence', stop_sequence: 'END' }, usage: {} },
    ].flatMap((event) => fromAnthropicStreamEvent(state, event));
    expect(events).toEqual([
      { type: 'thinking', text: 'why' },
      { type: 'thinking_signature', signature: 'S' },
      { type: 'redacted_thinking', data: 'D' },
      { type: 'finish', finishReason: 'stop', stopSequence: 'END' },
      { type: 'usage', usage: {} },
    ]);
  });
});

describe('error shapes', () => {
  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'request_too_large'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [502, 'api_error'],
    [503, 'overloaded_error'],
    [504, 'timeout_error'],
  ])('status %i is %s', (code, type) => expect(anthropicErrorType(code)).toBe(type));

  it('answers an Anthropic route in its shape with request-id, and every other route in OpenAI shape', () => {
    const anthropicResponse = errorResponse(unauthenticated('Invalid API key.'), { 'x-request-id': 'r1' }, 'anthropic');
    expect(JSON.parse(anthropicResponse.body)).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'Invalid API key.' },
      request_id: 'r1',
    });
    expect(anthropicResponse.headers['request-id']).toBe('r1');
    const openAiResponse = errorResponse(invalidRequest('bad', { param: 'x' }), { 'x-request-id': 'r1' });
    expect(JSON.parse(openAiResponse.body)).toEqual({
      error: { message: 'bad', type: 'invalid_request_error', param: 'x', code: 'invalid_request' },
    });
  });
});

describe('betas and capabilities', () => {
  const betas = ['claude-code-20250219', 'interleaved-thinking-2025-05-14', 'context-1m-2025-08-07'];

  it("passes Anthropic's API every beta but the repricing ones, Bedrock its documented ones, others none", () => {
    expect(acceptedBetas(anthropic, betas)).toEqual(['claude-code-20250219', 'interleaved-thinking-2025-05-14']);
    expect(acceptedBetas(bedrock, betas)).toEqual(['interleaved-thinking-2025-05-14']);
    expect(BEDROCK_DEFAULT_BETAS).not.toContain('context-1m-2025-08-07');
    expect(acceptedBetas(openai, betas)).toEqual([]);
    expect(droppedBetas(bedrock, betas)).toEqual(['claude-code-20250219', 'context-1m-2025-08-07']);
  });

  it("follows a connection's allow-list, with * for all", () => {
    const listed = connection({ adapter: 'bedrock', betas: ['context-1m-2025-08-07'] });
    expect(acceptedBetas(listed, betas)).toEqual(['context-1m-2025-08-07']);
    expect(acceptedBetas(connection({ adapter: 'anthropic', apiKeySecret: 's', betas: ['*'] }), betas)).toEqual(betas);
  });

  it('names the features a provider lacks; Claude on Bedrock through the Messages API lacks none', () => {
    const request = {
      ...toExchangeRequest(agentRequest()).chat,
      maxOutputTokens: 4096,
    } as ChatRequest;
    expect(unsupportedFeatures(request, { connection: anthropic, upstreamModel: 'claude' })).toEqual([]);
    expect(
      unsupportedFeatures(request, { connection: bedrock, upstreamModel: 'us.anthropic.claude-sonnet-4-6' }),
    ).toEqual([]);
    expect(unsupportedFeatures(request, { connection: bedrock, upstreamModel: 'us.amazon.nova-pro-v1:0' })).toEqual([
      'thinking',
      'top_k',
      'Anthropic-defined tools',
    ]);
    expect(
      unsupportedFeatures(
        { ...request, anthropicNative: false },
        {
          connection: bedrock,
          upstreamModel: 'us.anthropic.claude-sonnet-4-6',
        },
      ),
    ).toContain('thinking');
    expect(unsupportedFeatures(request, { connection: openai, upstreamModel: 'gpt-4o' })).toContain('thinking');
  });
});

describe('prompt bound of documents and reasoning', () => {
  const pdfWith = (body: string) => Buffer.from(`%PDF-1.5\n${body}\n%%EOF`, 'latin1').toString('base64');

  it('counts PDF pages, also inside compressed object streams, and assumes the maximum when none show', () => {
    expect(
      pdfPages(pdfWith('1 0 obj << /Type /Pages /Count 2 >> 2 0 obj << /Type /Page >> 3 0 obj <</Type/Page>>')),
    ).toBe(2);
    const packed = deflateSync(Buffer.from('<< /Type /Page >> << /Type /Page >> << /Type /Page >>', 'latin1'));
    const compressed = Buffer.concat([
      Buffer.from('%PDF-1.5\n4 0 obj << /Type /ObjStm /Filter /FlateDecode >>\nstream\n', 'latin1'),
      packed,
      Buffer.from('\nendstream\nendobj\n%%EOF', 'latin1'),
    ]).toString('base64');
    expect(pdfPages(compressed)).toBe(3);
    expect(pdfPages(Buffer.from('not a pdf').toString('base64'))).toBe(PDF_MAX_PAGES);
  });

  it('bounds plain-text documents by their bytes and counts reasoning passed back', () => {
    const base = promptTokenBound({ messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] });
    const text = 'x'.repeat(10_000);
    const withDocument = promptTokenBound({
      messages: [{ role: 'user', content: [{ type: 'document', source: { kind: 'text', text } }] }],
    });
    expect(withDocument - base).toBe(10_000);
    const withThinking = promptTokenBound({
      messages: [
        { role: 'user', content: [{ type: 'text', text: '' }] },
        {
          role: 'assistant',
          content: '',
          toolCalls: [],
          thinking: [{ type: 'thinking', thinking: text, signature: 's' }],
        },
      ],
    });
    expect(withThinking - base).toBeGreaterThanOrEqual(10_000);
  });
});
