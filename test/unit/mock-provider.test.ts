import { NO_SECRETS } from '../../lambdas/shared/providers/secrets';
import { mockAdapter, mockCompletion } from '../../lambdas/shared/providers/mock/adapter';
import type { MockOptions } from '../../lambdas/shared/providers/mock/options';
import { ProviderError } from '../../lambdas/shared/providers/errors';
import type { ChatRequest } from '../../lambdas/shared/chat/types';

const request = (text: string, maxOutputTokens = 100): ChatRequest => ({
  messages: [{ role: 'user', content: [{ type: 'text', text }] }],
  maxOutputTokens,
});

const target = (options: Partial<Omit<MockOptions, 'adapter'>> = {}) => ({
  connectionName: 'mock',
  upstreamModel: 'mock-small',
  connection: { adapter: 'mock' as const, latencyMs: 0, failureRate: 0, failStatus: 503 as const, ...options },
});

describe('mock provider', () => {
  it('answers deterministically, echoing the last user message', () => {
    const a = mockCompletion(request('Hello there'), 'mock-small');
    const b = mockCompletion(request('Hello there'), 'mock-small');
    expect(a).toEqual(b);
    expect(a.text).toBe('This is a mock response from mock-small. You said: Hello there');
    expect(a.finishReason).toBe('stop');
    expect(a.usage).toEqual({
      inputTokens: 4 + 3,
      outputTokens: Math.ceil(a.text.length / 4),
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
  });

  it('stops at max output tokens with finish reason length', () => {
    const completion = mockCompletion(request('x'.repeat(400), 5), 'mock-small');
    expect(completion.text).toHaveLength(20);
    expect(completion.usage.outputTokens).toBe(5);
    expect(completion.finishReason).toBe('length');
  });

  it('fails with the configured status', async () => {
    await expect(
      mockAdapter.complete(request('hi'), target({ failureRate: 1, failStatus: 429 }), {
        signal: new AbortController().signal,
        secrets: NO_SECRETS,
      }),
    ).rejects.toMatchObject({ failure: 'throttled', upstreamStatus: 429 });
  });

  it('gives up when its deadline passes', async () => {
    const started = Date.now();
    const error = await mockAdapter
      .complete(request('hi'), target({ latencyMs: 5_000 }), { signal: AbortSignal.timeout(50), secrets: NO_SECRETS })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).failure).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('mock provider streaming and tools', () => {
  async function collect(events: AsyncIterable<unknown>) {
    const out: unknown[] = [];
    for await (const event of events) out.push(event);
    return out;
  }

  it('streams the same answer word by word, then finish and usage', async () => {
    const events = await collect(
      mockAdapter.stream(request('one two'), target(), { signal: new AbortController().signal, secrets: NO_SECRETS }),
    );
    const text = (events as { type: string; text?: string }[])
      .filter((e) => e.type === 'text')
      .map((e) => e.text)
      .join('');
    expect(text).toBe(mockCompletion(request('one two'), 'mock-small').text);
    expect(events.slice(-2)).toEqual([
      { type: 'finish', finishReason: 'stop' },
      { type: 'usage', usage: mockCompletion(request('one two'), 'mock-small').usage },
    ]);
  });

  it('breaks a stream off when told to, after the first chunks', async () => {
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const event of mockAdapter.stream(request('a b c d e f'), target({ breakStreamAfterChunks: 2 }), {
        signal: new AbortController().signal,
        secrets: NO_SECRETS,
      }))
        seen.push(event);
    })().catch((e: unknown) => e);
    expect(seen).toHaveLength(2);
    expect(error).toMatchObject({ failure: 'upstream_error' });
  });

  it('calls a forced tool, then reports its result', () => {
    const tools = [{ name: 'lookup', parameters: { type: 'object' } }];
    const call = mockCompletion({ ...request('find x'), tools, toolChoice: 'required' }, 'm');
    expect(call).toMatchObject({
      text: '',
      finishReason: 'tool_calls',
      toolCalls: [{ name: 'lookup', arguments: '{"input":"find x"}' }],
    });
    const answer = mockCompletion(
      {
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'find x' }] },
          { role: 'assistant', content: '', toolCalls: call.toolCalls },
          { role: 'tool', toolCallId: call.toolCalls[0]!.id, content: 'x is 42' },
        ],
        maxOutputTokens: 100,
        tools,
      },
      'm',
    );
    expect(answer).toMatchObject({ text: 'The tool returned: x is 42', finishReason: 'stop', toolCalls: [] });
  });

  it('answers JSON when asked for a JSON response format', () => {
    const completion = mockCompletion({ ...request('hi'), responseFormat: { type: 'json_object' } }, 'm');
    expect(JSON.parse(completion.text)).toEqual({ model: 'm', echo: 'hi' });
  });
});
