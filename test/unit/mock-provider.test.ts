import { mockAdapter, mockCompletion } from '../../lambdas/shared/providers/mock/adapter';
import { ProviderError } from '../../lambdas/shared/providers/errors';
import type { ChatRequest } from '../../lambdas/shared/chat/types';

const request = (text: string, maxOutputTokens = 100): ChatRequest => ({
  messages: [{ role: 'user', content: [{ type: 'text', text }] }],
  maxOutputTokens,
});

const target = (
  options: Partial<{ latencyMs: number; failureRate: number; failStatus: 400 | 429 | 500 | 503 | 504 }> = {},
) => ({
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
      }),
    ).rejects.toMatchObject({ failure: 'throttled', upstreamStatus: 429 });
  });

  it('gives up when its deadline passes', async () => {
    const started = Date.now();
    const error = await mockAdapter
      .complete(request('hi'), target({ latencyMs: 5_000 }), { signal: AbortSignal.timeout(50) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).failure).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
