import { ALLOW } from '../../lambdas/shared/policy/engine';
import { GatewayError } from '../../lambdas/shared/http/errors';
import { createChunkEncoder } from '../../lambdas/shared/faces/openai-chat/stream';
import { billedUsage, StreamMeter } from '../../lambdas/shared/chat/stream-meter';
import type { ServedStreamEvent } from '../../lambdas/shared/exchange/metered-stream';

const facts = {
  requestId: 'r1',
  teamId: 't',
  keyId: 'k',
  model: 'm',
  provider: 'p',
  upstreamModel: 'u',
  attempts: 1,
};

function decode(frames: string[]) {
  return frames.map((frame) => {
    expect(frame.startsWith('data: ')).toBe(true);
    expect(frame.endsWith('\n\n')).toBe(true);
    const data = frame.slice(6, -2);
    return data === '[DONE]' ? data : JSON.parse(data);
  });
}

const usage = { inputTokens: 10, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 };
const cost = { inputPicos: 1_000n, outputPicos: 2_000n, cacheReadPicos: 0n, cacheWritePicos: 0n, totalPicos: 3_000n };

describe('OpenAI chunk encoder', () => {
  it('frames a text stream like OpenAI: role chunk, deltas, finish, usage chunk, [DONE]', () => {
    const encode = createChunkEncoder({ id: 'chatcmpl-1', created: 1, model: 'm', includeUsage: true, facts });
    const events: ServedStreamEvent[] = [
      { type: 'usage', usage: { inputTokens: 10 } },
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
      { type: 'finish', finishReason: 'stop' },
      { type: 'settled', usage, cost, latencyMs: 5, policy: { action: 'redact', ruleIds: ['dlp:email'] } },
    ];
    const chunks = decode(events.flatMap(encode));
    expect(chunks.map((c) => (c === '[DONE]' ? c : (c.choices[0]?.delta ?? 'usage')))).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Hel' },
      { content: 'lo' },
      {},
      'usage',
      '[DONE]',
    ]);
    expect(chunks[0]).toMatchObject({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'm', usage: null });
    expect(chunks[3].choices[0].finish_reason).toBe('stop');
    expect(chunks[4]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
      gateway: {
        cost_picos: '3000',
        cost_usd: '0.000000003',
        provider: 'p',
        policy: { decision: 'redact', rule_ids: ['dlp:email'] },
      },
    });
  });

  it('streams tool calls with OpenAI indexes and omits the usage chunk unless asked', () => {
    const encode = createChunkEncoder({ id: 'c', created: 1, model: 'm', includeUsage: false, facts });
    const chunks = decode(
      [
        { type: 'tool_call_start', index: 0, id: 'call_1', name: 'weather' },
        { type: 'tool_call_delta', index: 0, arguments: '{"city":' },
        { type: 'tool_call_delta', index: 0, arguments: '"Paris"}' },
        { type: 'finish', finishReason: 'tool_calls' },
        { type: 'settled', usage, cost, latencyMs: 1, policy: ALLOW },
      ].flatMap((e) => encode(e as ServedStreamEvent)),
    );
    expect(chunks[1].choices[0].delta).toEqual({
      tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } }],
    });
    expect(chunks[2].choices[0].delta).toEqual({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] });
    expect(chunks.at(-2).choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toBe('[DONE]');
    expect(chunks.some((c) => c !== '[DONE]' && 'usage' in c)).toBe(false);
  });

  it('closes a stream the upstream never finished with a stop chunk', () => {
    const encode = createChunkEncoder({ id: 'c', created: 1, model: 'm', includeUsage: false, facts });
    const chunks = decode([
      ...encode({ type: 'text', text: 'x' }),
      ...encode({ type: 'settled', usage, cost, latencyMs: 1, policy: ALLOW }),
    ]);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
  });

  it('ends a broken stream with an OpenAI error frame and no [DONE]', () => {
    const encode = createChunkEncoder({ id: 'c', created: 1, model: 'm', includeUsage: true, facts });
    const error = new GatewayError(502, 'server_error', 'The provider p failed to answer.', { code: 'upstream_error' });
    const chunks = decode([
      ...encode({ type: 'text', text: 'x' }),
      ...encode({ type: 'failed', error, usage, cost, latencyMs: 1, policy: ALLOW }),
    ]);
    expect(chunks.at(-1)).toEqual({
      error: { message: 'The provider p failed to answer.', type: 'server_error', param: null, code: 'upstream_error' },
    });
    expect(chunks).not.toContain('[DONE]');
  });
});

describe('stream meter', () => {
  it('bills a completed stream as the provider reported it', () => {
    const meter = new StreamMeter();
    meter.observe({ type: 'usage', usage: { inputTokens: 50, cacheReadTokens: 10 } });
    meter.observe({ type: 'text', text: 'a'.repeat(300) });
    meter.observe({ type: 'usage', usage: { outputTokens: 20 } });
    expect(meter.usage(999, true)).toEqual({
      inputTokens: 50,
      outputTokens: 20,
      cacheReadTokens: 10,
      cacheWriteTokens: 0,
    });
  });

  it('bills a broken stream for what it delivered, never less than reported', () => {
    const meter = new StreamMeter();
    meter.observe({ type: 'text', text: 'a'.repeat(300) });
    meter.observe({ type: 'tool_call_delta', index: 0, arguments: 'é'.repeat(15) });
    // Nothing reported: input from the prompt estimate, output from 330 delivered bytes / 3.
    expect(meter.usage(40, false)).toEqual({
      inputTokens: 40,
      outputTokens: 110,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    });
    meter.observe({ type: 'usage', usage: { outputTokens: 500 } });
    expect(meter.usage(40, false).outputTokens).toBe(500);
  });
});

describe('billed usage of a non-streamed answer', () => {
  const none = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };

  it('bills what the provider reported', () => {
    const usage = { inputTokens: 12, outputTokens: 7, cacheReadTokens: 3, cacheWriteTokens: 0 };
    expect(billedUsage({ text: 'a'.repeat(900), toolCalls: [], finishReason: 'stop', usage }, 40)).toEqual(usage);
  });

  it('estimates what a provider that sent no usage did not say: an answer is never free', () => {
    // 300 bytes of text and 30 of tool call / 3 bytes per token; the prompt from its estimate.
    const answer = {
      text: 'a'.repeat(300),
      toolCalls: [{ id: 'c', name: 'lookup', arguments: '{"q":"' + 'x'.repeat(16) + '"}' }],
      finishReason: 'stop' as const,
      usage: none,
    };
    expect(billedUsage(answer, 40)).toEqual({ ...none, inputTokens: 40, outputTokens: 110 });
  });

  it('keeps a reported prompt made only of cache reads, and an empty answer at 0 output tokens', () => {
    const usage = { ...none, cacheReadTokens: 90 };
    expect(billedUsage({ text: '', toolCalls: [], finishReason: 'stop', usage }, 40)).toEqual(usage);
  });
});
