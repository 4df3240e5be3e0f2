import { NO_SECRETS } from '../../lambdas/shared/providers/secrets';
import { bedrockAdapter } from '../../lambdas/shared/providers/bedrock/adapter';
import { ProviderError } from '../../lambdas/shared/providers/errors';
import type { ChatRequest } from '../../lambdas/shared/chat/types';
import { converseReply, FakeBedrock } from '../fakes/bedrock-server';

const request: ChatRequest = {
  messages: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: [{ type: 'text', text: 'Say hi' }] },
  ],
  maxOutputTokens: 50,
  temperature: 0.1,
};

describe('Bedrock adapter against a fake Bedrock runtime (REST-JSON Converse)', () => {
  const fake = new FakeBedrock(() => converseReply('hi', { inputTokens: 12, outputTokens: 1 }));
  let target: Parameters<typeof bedrockAdapter.complete>[1];

  beforeAll(async () => {
    const endpoint = await fake.start();
    target = {
      connectionName: 'bedrock',
      upstreamModel: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
      connection: { adapter: 'bedrock', region: 'us-east-1', endpoint },
    };
  });
  afterAll(() => fake.stop());

  it('sends a Converse request for the upstream model and maps the answer', async () => {
    fake.setResponder(() => converseReply('hi', { inputTokens: 12, outputTokens: 1, cacheReadInputTokens: 100 }));
    const completion = await bedrockAdapter.complete(request, target, {
      signal: new AbortController().signal,
      secrets: NO_SECRETS,
    });
    expect(completion).toEqual({
      text: 'hi',
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 12, outputTokens: 1, cacheReadTokens: 100, cacheWriteTokens: 0 },
    });
    const sent = fake.requests.at(-1)!;
    expect(sent.operation).toBe('converse');
    expect(sent.modelId).toBe('us.anthropic.claude-sonnet-4-20250514-v1:0');
    expect(sent.body).toEqual({
      messages: [{ role: 'user', content: [{ text: 'Say hi' }] }],
      system: [{ text: 'You are terse.' }],
      inferenceConfig: { maxTokens: 50, temperature: 0.1 },
    });
    // Signed like a real call.
    expect(String(sent.headers['authorization'])).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it.each([
    [429, 'ThrottlingException', 'throttled'],
    [400, 'ValidationException', 'invalid_request'],
    [503, 'ServiceUnavailableException', 'unavailable'],
    [408, 'ModelTimeoutException', 'timeout'],
    [403, 'AccessDeniedException', 'misconfigured'],
    [500, 'InternalServerException', 'upstream_error'],
  ])('maps HTTP %i %s to %s', async (status, errorType, failure) => {
    fake.setResponder(() => ({ kind: 'error', status, errorType, message: 'nope' }));
    const error = await bedrockAdapter
      .complete(request, target, { signal: new AbortController().signal, secrets: NO_SECRETS })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ failure, upstreamStatus: status });
  });

  it('aborts a call that outlives its deadline', async () => {
    fake.setResponder(() => ({ ...converseReply('late', { inputTokens: 1, outputTokens: 1 }), delayMs: 3_000 }));
    const started = Date.now();
    const error = await bedrockAdapter
      .complete(request, target, { signal: AbortSignal.timeout(100), secrets: NO_SECRETS })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ failure: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('reports an unreachable endpoint as unavailable', async () => {
    const error = await bedrockAdapter
      .complete(
        request,
        { ...target, connection: { ...target.connection, endpoint: 'http://127.0.0.1:9' } },
        { signal: AbortSignal.timeout(5_000), secrets: NO_SECRETS },
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ failure: 'unavailable' });
  });
});
