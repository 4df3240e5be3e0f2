import { toProviderError } from '../../lambdas/shared/providers/bedrock/errors';
import { toConverseInput } from '../../lambdas/shared/providers/bedrock/request';
import { finishReasonOf, fromConverseOutput } from '../../lambdas/shared/providers/bedrock/response';

describe('Bedrock Converse mapping', () => {
  it('puts system text apart, tool results in user turns and merges same-role turns', () => {
    const input = toConverseInput(
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
          {
            role: 'assistant',
            content: 'Checking.',
            toolCalls: [
              { id: 't1', name: 'weather', arguments: '{"city":"Paris"}' },
              { id: 't2', name: 'weather', arguments: '{"city":"Rome"}' },
            ],
          },
          { role: 'tool', toolCallId: 't1', content: 'sunny' },
          { role: 'tool', toolCallId: 't2', content: 'rain' },
        ],
        maxOutputTokens: 100,
        temperature: 0.5,
        stop: ['END'],
        tools: [{ name: 'weather', parameters: { type: 'object' } }],
        toolChoice: 'required',
      },
      'us.amazon.nova-lite-v1:0',
    );
    expect(input.system).toEqual([{ text: 'Be brief.' }]);
    expect(input.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { text: 'Checking.' },
          { toolUse: { toolUseId: 't1', name: 'weather', input: { city: 'Paris' } } },
          { toolUse: { toolUseId: 't2', name: 'weather', input: { city: 'Rome' } } },
        ],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }] } },
          { toolResult: { toolUseId: 't2', content: [{ text: 'rain' }] } },
        ],
      },
    ]);
    expect(input.inferenceConfig).toEqual({ maxTokens: 100, temperature: 0.5, stopSequences: ['END'] });
    expect(input.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'weather', inputSchema: { json: { type: 'object' } } } }],
      toolChoice: { any: {} },
    });
  });

  it('maps stop reasons to OpenAI finish reasons', () => {
    expect(finishReasonOf('end_turn')).toBe('stop');
    expect(finishReasonOf('stop_sequence')).toBe('stop');
    expect(finishReasonOf('max_tokens')).toBe('length');
    expect(finishReasonOf('tool_use')).toBe('tool_calls');
    expect(finishReasonOf('guardrail_intervened')).toBe('content_filter');
    expect(finishReasonOf('content_filtered')).toBe('content_filter');
  });

  it('reads text, tool calls and cache token counts from a response', () => {
    const completion = fromConverseOutput({
      output: {
        message: {
          role: 'assistant',
          content: [
            { text: 'Let me check.' },
            { toolUse: { toolUseId: 't1', name: 'weather', input: { city: 'Paris' } } },
          ],
        },
      },
      stopReason: 'tool_use',
      usage: {
        inputTokens: 10,
        outputTokens: 20,
        totalTokens: 130,
        cacheReadInputTokens: 100,
        cacheWriteInputTokens: 0,
      },
      metrics: { latencyMs: 5 },
      $metadata: {},
    });
    expect(completion).toEqual({
      text: 'Let me check.',
      toolCalls: [{ id: 't1', name: 'weather', arguments: '{"city":"Paris"}' }],
      finishReason: 'tool_calls',
      usage: { inputTokens: 10, outputTokens: 20, cacheReadTokens: 100, cacheWriteTokens: 0 },
    });
  });

  it('classifies Bedrock errors', () => {
    expect(toProviderError({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } }).failure).toBe(
      'throttled',
    );
    expect(toProviderError({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } }).failure).toBe(
      'invalid_request',
    );
    expect(toProviderError({ name: 'ModelTimeoutException', $metadata: { httpStatusCode: 408 } }).failure).toBe(
      'timeout',
    );
    expect(toProviderError({ name: 'ServiceUnavailableException', $metadata: { httpStatusCode: 503 } }).failure).toBe(
      'unavailable',
    );
    expect(toProviderError({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }).failure).toBe(
      'misconfigured',
    );
    expect(toProviderError({ name: 'Weird', $metadata: { httpStatusCode: 500 } }).failure).toBe('upstream_error');
    expect(toProviderError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })).failure).toBe('unavailable');
  });
});
