import type { ChatRequest } from '../../lambdas/shared/chat/types';
import { toAnthropicBody } from '../../lambdas/shared/providers/anthropic/request';
import {
  fromAnthropicMessage,
  fromAnthropicStreamEvent,
  newAnthropicStreamState,
} from '../../lambdas/shared/providers/anthropic/response';
import {
  fromConverseOutput,
  fromConverseStreamEvent,
  newConverseStreamState,
} from '../../lambdas/shared/providers/bedrock/response';
import { ProviderError } from '../../lambdas/shared/providers/errors';
import { retryAfterMs } from '../../lambdas/shared/providers/http';
import { openAiOptionsSchema } from '../../lambdas/shared/providers/openai/options';
import { toOpenAiBody } from '../../lambdas/shared/providers/openai/request';
import { fromOpenAiChunk, fromOpenAiCompletion } from '../../lambdas/shared/providers/openai/response';
import {
  structuredOutputAsText,
  structuredStreamAsText,
  withStructuredOutputTool,
} from '../../lambdas/shared/providers/structured-output';

const conversation: ChatRequest = {
  messages: [
    { role: 'system', content: 'Be brief.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Weather here?' },
        { type: 'image', mediaType: 'image/png', base64: 'iVBO' },
      ],
    },
    { role: 'assistant', content: '', toolCalls: [{ id: 't1', name: 'weather', arguments: '{"city":"Paris"}' }] },
    { role: 'tool', toolCallId: 't1', content: 'sunny' },
  ],
  maxOutputTokens: 100,
  temperature: 0.2,
  stop: ['END'],
  tools: [{ name: 'weather', description: 'Weather by city', parameters: { type: 'object' } }],
  toolChoice: 'auto',
  user: 'user-7',
};

describe('OpenAI mapping', () => {
  const options = openAiOptionsSchema.parse({ adapter: 'openai' });

  it('maps the request back to Chat Completions, asking streams for usage', () => {
    const body = toOpenAiBody(conversation, 'gpt-4o-mini', options, true);
    expect(body).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather here?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBO' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 't1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 't1', content: 'sunny' },
      ],
      max_completion_tokens: 100,
      temperature: 0.2,
      stop: ['END'],
      tools: [
        {
          type: 'function',
          function: { name: 'weather', description: 'Weather by city', parameters: { type: 'object' } },
        },
      ],
      tool_choice: 'auto',
      user: 'user-7',
      stream: true,
      stream_options: { include_usage: true },
    });
    const legacy = openAiOptionsSchema.parse({ adapter: 'openai', maxTokensParameter: 'max_tokens' });
    expect(toOpenAiBody(conversation, 'llama3', legacy, false)).toMatchObject({ max_tokens: 100 });
  });

  it('takes cached tokens out of the input count', () => {
    const completion = fromOpenAiCompletion({
      choices: [{ message: { content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 100, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 80 } },
    });
    expect(completion.usage).toEqual({ inputTokens: 20, outputTokens: 5, cacheReadTokens: 80, cacheWriteTokens: 0 });
  });

  it('decodes stream chunks: text, tool call start and arguments, finish, usage', () => {
    expect(
      fromOpenAiChunk({
        choices: [
          {
            delta: { tool_calls: [{ index: 1, id: 'c2', function: { name: 'f', arguments: '{"a"' } }] },
            finish_reason: null,
          },
        ],
      }),
    ).toEqual([
      { type: 'tool_call_start', index: 1, id: 'c2', name: 'f' },
      { type: 'tool_call_delta', index: 1, arguments: '{"a"' },
    ]);
    expect(fromOpenAiChunk({ choices: [{ delta: { content: 'x' }, finish_reason: 'length' }] })).toEqual([
      { type: 'text', text: 'x' },
      { type: 'finish', finishReason: 'length' },
    ]);
    expect(fromOpenAiChunk({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } })).toEqual([
      { type: 'usage', usage: { inputTokens: 3, outputTokens: 4, cacheReadTokens: 0, cacheWriteTokens: 0 } },
    ]);
  });
});

describe('Anthropic mapping', () => {
  it('maps the request to a Messages body: system apart, tool results in user turns', () => {
    const body = toAnthropicBody(conversation, 'claude-sonnet-4', false);
    expect(body).toEqual({
      model: 'claude-sonnet-4',
      max_tokens: 100,
      system: 'Be brief.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather here?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBO' } },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'sunny' }] },
      ],
      temperature: 0.2,
      stop_sequences: ['END'],
      tools: [{ name: 'weather', description: 'Weather by city', input_schema: { type: 'object' } }],
      tool_choice: { type: 'auto' },
      metadata: { user_id: 'user-7' },
    });
  });

  it('reads cache reads and cache writes as their own counts', () => {
    const completion = fromAnthropicMessage({
      content: [
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Rome' } },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 5, output_tokens: 7, cache_read_input_tokens: 100, cache_creation_input_tokens: 20 },
    });
    expect(completion).toEqual({
      text: 'Let me check.',
      toolCalls: [{ id: 'toolu_1', name: 'weather', arguments: '{"city":"Rome"}' }],
      finishReason: 'tool_calls',
      usage: { inputTokens: 5, outputTokens: 7, cacheReadTokens: 100, cacheWriteTokens: 20 },
    });
  });

  it('decodes a Messages stream and throws its error events', () => {
    const state = newAnthropicStreamState();
    const events = [
      { type: 'message_start', message: { usage: { input_tokens: 12, output_tokens: 1, cache_read_input_tokens: 0 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a":1}' } },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ].flatMap((e) => fromAnthropicStreamEvent(state, e));
    expect(events).toEqual([
      { type: 'usage', usage: { inputTokens: 12, outputTokens: 1, cacheReadTokens: 0 } },
      { type: 'text', text: 'Hi' },
      { type: 'tool_call_start', index: 0, id: 'toolu_1', name: 'f' },
      { type: 'tool_call_delta', index: 0, arguments: '{"a":1}' },
      { type: 'finish', finishReason: 'tool_calls' },
      { type: 'usage', usage: { outputTokens: 9 } },
    ]);
    expect(() =>
      fromAnthropicStreamEvent(state, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
    ).toThrow(expect.objectContaining({ failure: 'unavailable', upstreamStatus: 529 }));
  });
});

describe('Bedrock ConverseStream decoding', () => {
  it('numbers tool calls in start order and throws stream exceptions', () => {
    const state = newConverseStreamState();
    const events = [
      { messageStart: { role: 'assistant' } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Checking' } } },
      { contentBlockStart: { contentBlockIndex: 1, start: { toolUse: { toolUseId: 't1', name: 'weather' } } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '"Rome"}' } } } },
      { messageStop: { stopReason: 'tool_use' } },
      { metadata: { usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7, cacheReadInputTokens: 2 } } },
    ].flatMap((e) => fromConverseStreamEvent(state, e as never));
    expect(events).toEqual([
      { type: 'text', text: 'Checking' },
      { type: 'tool_call_start', index: 0, id: 't1', name: 'weather' },
      { type: 'tool_call_delta', index: 0, arguments: '{"city":' },
      { type: 'tool_call_delta', index: 0, arguments: '"Rome"}' },
      { type: 'finish', finishReason: 'tool_calls' },
      { type: 'usage', usage: { inputTokens: 3, outputTokens: 4, cacheReadTokens: 2, cacheWriteTokens: 0 } },
    ]);
    expect(() => fromConverseStreamEvent(state, { throttlingException: { message: 'slow' } } as never)).toThrow(
      ProviderError,
    );
  });
});

describe('structured output through a forced tool', () => {
  const jsonRequest: ChatRequest = {
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Give me JSON' }] }],
    maxOutputTokens: 50,
    responseFormat: {
      type: 'json_schema',
      name: 'answer',
      schema: { type: 'object', properties: { a: { type: 'number' } } },
      strict: true,
    },
  };

  it('forces a tool whose schema is the requested one and returns its arguments as text', () => {
    const { request, toolName } = withStructuredOutputTool(jsonRequest);
    expect(toolName).toBe('answer');
    expect(request.toolChoice).toEqual({ name: 'answer' });
    expect(request.tools?.[0]?.parameters).toEqual({ type: 'object', properties: { a: { type: 'number' } } });
    const completion = structuredOutputAsText(
      {
        text: '',
        toolCalls: [{ id: 't', name: 'answer', arguments: '{"a":1}' }],
        finishReason: 'tool_calls',
        usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 },
      },
      'answer',
    );
    expect(completion).toMatchObject({ text: '{"a":1}', toolCalls: [], finishReason: 'stop' });
  });

  it('turns the forced tool stream into text deltas', async () => {
    async function* upstream() {
      yield { type: 'tool_call_start' as const, index: 0, id: 't', name: 'answer' };
      yield { type: 'tool_call_delta' as const, index: 0, arguments: '{"a"' };
      yield { type: 'tool_call_delta' as const, index: 0, arguments: ':1}' };
      yield { type: 'finish' as const, finishReason: 'tool_calls' as const };
    }
    const out = [];
    for await (const event of structuredStreamAsText(upstream(), 'answer')) out.push(event);
    expect(out).toEqual([
      { type: 'text', text: '{"a"' },
      { type: 'text', text: ':1}' },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('refuses response_format together with tools', () => {
    expect(() => withStructuredOutputTool({ ...jsonRequest, tools: conversation.tools! })).toThrow(
      expect.objectContaining({ failure: 'invalid_request' }),
    );
  });
});

describe('malformed answers', () => {
  // A 200 whose body is not an answer is the provider failing (502), not an empty answer.
  it.each([
    ['OpenAI without choices', () => fromOpenAiCompletion({ usage: { prompt_tokens: 3 } } as never)],
    ['OpenAI with a choice but no message', () => fromOpenAiCompletion({ choices: [{ index: 0 }] } as never)],
    ['OpenAI that is not an object', () => fromOpenAiCompletion(null as never)],
    ['Anthropic without content', () => fromAnthropicMessage({ type: 'message' } as never)],
    ['Anthropic error object', () => fromAnthropicMessage({ type: 'error', content: [] } as never)],
    ['Bedrock without an output message', () => fromConverseOutput({ $metadata: {} } as never)],
  ])('%s is an upstream_error', (_, map) => {
    expect(map).toThrow(expect.objectContaining({ name: 'ProviderError', failure: 'upstream_error' }));
  });
});

describe('retry-after', () => {
  it('reads milliseconds, seconds and HTTP dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    // As Node.js's client gives them: lower-case names, a repeated unknown header as a list.
    expect(retryAfterMs({ 'retry-after-ms': ['40', '90'] })).toBe(40);
    expect(retryAfterMs({ 'retry-after-ms': '', 'retry-after': '3' })).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2_000);
    expect(
      retryAfterMs(
        new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:10 GMT' }),
        Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'),
      ),
    ).toBe(10_000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });
});
