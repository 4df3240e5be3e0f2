import { outputTokenLimit } from '../../lambdas/shared/exchange/exchange';
import { parseChatCompletionRequest, toExchangeRequest } from '../../lambdas/shared/faces/openai-chat/request';
import { errorOf } from '../helpers/errors';

/** The neutral request of a validated body. */
const neutral = (body: unknown) => toExchangeRequest(parseChatCompletionRequest(body));

const minimal = { model: 'mock-small', messages: [{ role: 'user', content: 'Hi' }] };

describe('Chat Completions request validation', () => {
  it('accepts what OpenAI clients and LangChain send', () => {
    const body = parseChatCompletionRequest({
      ...minimal,
      temperature: 0.2,
      top_p: 1,
      n: 1,
      stream: false,
      presence_penalty: 0,
      frequency_penalty: 0,
      max_tokens: 100,
      stop: ['END'],
      user: 'u-1',
      metadata: { app: 'billing' },
    });
    expect(body.model).toBe('mock-small');
  });

  it('refuses an unsupported parameter with a 400 naming it', () => {
    const error = errorOf(() => parseChatCompletionRequest({ ...minimal, logit_bias: { 50256: -100 } }));
    expect(error.status).toBe(400);
    expect(error.code).toBe('unsupported_parameter');
    expect(error.param).toBe('logit_bias');
    expect(error.message).toContain('logit_bias');
  });

  it('names nested unsupported parameters by path', () => {
    const error = errorOf(() =>
      parseChatCompletionRequest({ model: 'm', messages: [{ role: 'user', content: 'x', audio: {} }] }),
    );
    expect(error.param).toBe('messages[0].audio');
  });

  it('refuses n other than 1', () => {
    const error = errorOf(() => parseChatCompletionRequest({ ...minimal, n: 2 }));
    expect(error.status).toBe(400);
    expect(error.param).toBe('n');
  });

  it('refuses missing or empty messages', () => {
    expect(errorOf(() => parseChatCompletionRequest({ model: 'm' })).param).toBe('messages');
    expect(errorOf(() => parseChatCompletionRequest({ model: 'm', messages: [] })).param).toBe('messages');
  });

  it('refuses out-of-range sampling parameters', () => {
    expect(errorOf(() => parseChatCompletionRequest({ ...minimal, temperature: 3 })).param).toBe('temperature');
    expect(errorOf(() => parseChatCompletionRequest({ ...minimal, max_tokens: 0 })).param).toBe('max_tokens');
  });
});

describe('mapping to the gateway request', () => {
  it('folds developer messages into system, keeps tool turns and parses data-URI images', () => {
    const body = parseChatCompletionRequest({
      model: 'm',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'look', arguments: '{"x":1}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
      ],
      tools: [{ type: 'function', function: { name: 'look', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'look' } },
      stop: 'END',
    });
    const exchange = toExchangeRequest(body);
    const request = exchange.chat;
    expect(request.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image', mediaType: 'image/png', base64: 'iVBORw0KGgo=' },
        ],
      },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'look', arguments: '{"x":1}' }] },
      { role: 'tool', toolCallId: 'call_1', content: 'a cat' },
    ]);
    expect(request.stop).toEqual(['END']);
    expect(request.toolChoice).toEqual({ name: 'look' });
    expect(exchange.stream).toBe(false);
    expect(exchange.maxOutputTokens).toBeUndefined();
  });

  it('refuses remote image URLs: the gateway does not fetch them', () => {
    const body = parseChatCompletionRequest({
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }],
    });
    const error = errorOf(() => toExchangeRequest(body));
    expect(error.status).toBe(400);
    expect(error.param).toBe('messages[0].content[0].image_url.url');
  });

  it('caps output at the model limit and refuses more, naming the parameter the caller used, like OpenAI', () => {
    expect(outputTokenLimit(neutral(minimal), 4096)).toBe(4096);
    expect(outputTokenLimit(neutral({ ...minimal, max_tokens: 10 }), 4096)).toBe(10);
    expect(outputTokenLimit(neutral({ ...minimal, max_tokens: 10, max_completion_tokens: 20 }), 4096)).toBe(20);
    expect(errorOf(() => outputTokenLimit(neutral({ ...minimal, max_tokens: 5000 }), 4096)).param).toBe('max_tokens');
    const error = errorOf(() => outputTokenLimit(neutral({ ...minimal, max_completion_tokens: 5000 }), 4096));
    expect(error.status).toBe(400);
    expect(error.param).toBe('max_completion_tokens');
  });
});
