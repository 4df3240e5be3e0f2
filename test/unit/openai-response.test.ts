import { openAiUsage, toChatCompletionResponse } from '../../lambdas/shared/faces/openai-chat/response';

describe('OpenAI response shape', () => {
  it('counts cached tokens inside prompt_tokens, as OpenAI does', () => {
    expect(openAiUsage({ inputTokens: 10, outputTokens: 5, cacheReadTokens: 90, cacheWriteTokens: 20 })).toEqual({
      prompt_tokens: 120,
      completion_tokens: 5,
      total_tokens: 125,
      prompt_tokens_details: { cached_tokens: 90, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
    });
  });

  it('renders a chat.completion with tool calls, null content and the gateway facts', () => {
    const response = toChatCompletionResponse({
      id: 'chatcmpl-1',
      created: 1_700_000_000,
      model: 'claude-sonnet-4',
      completion: {
        text: '',
        toolCalls: [{ id: 'tu_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
        finishReason: 'tool_calls',
        usage: { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0 },
      },
      facts: {
        requestId: 'r1',
        teamId: 'payments',
        keyId: 'abc',
        model: 'claude-sonnet-4',
        attempts: 2,
        provider: 'bedrock',
        upstreamModel: 'us.anthropic.claude',
        costPicos: 1_234_000_000n,
        latencyMs: 10,
        policy: { action: 'alert', ruleIds: ['dlp:email'] },
      },
    });
    expect(response.object).toBe('chat.completion');
    expect(response.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [
          { id: 'tu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    });
    expect(response.gateway).toMatchObject({
      team: 'payments',
      cost_picos: '1234000000',
      cost_usd: '0.001234',
      provider: 'bedrock',
      policy: { decision: 'alert', rule_ids: ['dlp:email'] },
    });
  });
});
