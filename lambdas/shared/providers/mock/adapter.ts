import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  ChatCompletion,
  ChatMessage,
  ChatRequest,
  ChatStreamEvent,
  ThinkingBlock,
  ToolCall,
} from '../../chat/types';
import { failureOfStatus, ProviderError } from '../errors';
import type { ProviderAdapter, ProviderCallOptions, ProviderTarget } from '../types';

/** Tokens the mock charges for a text: one per four characters, like a typical BPE tokenizer. */
export function mockTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Text of a message as the mock sees it. */
function messageText(message: ChatMessage): string {
  if (message.role === 'user') {
    return message.content.map((part) => (part.type === 'text' ? part.text : `[${part.type}]`)).join('\n');
  }
  return message.content;
}

function digest(value: unknown): Buffer {
  return createHash('sha256').update(JSON.stringify(value)).digest();
}

/** The tool the mock calls, if any: a forced one, or under `auto` one the user mentions by name. */
function toolToCall(request: ChatRequest, lastText: string): string | undefined {
  const tools = request.tools ?? [];
  const choice = request.toolChoice ?? 'auto';
  if (tools.length === 0 || choice === 'none') return undefined;
  if (typeof choice === 'object') return choice.name;
  if (choice === 'required') return tools[0]!.name;
  return tools.find((tool) => lastText.includes(tool.name))?.name;
}

/**
 * The mock's answer, a pure function of the request so tests can predict it exactly:
 * - after a tool result, it reports the result;
 * - when a tool is forced (or, under `auto`, named in the last user message) it calls it with
 *   `{"input": <last user text>}`;
 * - with a JSON `response_format` it answers a JSON object;
 * - otherwise it repeats the last user message.
 * Output stops at `maxOutputTokens` like a real model (finish reason `length`).
 */
export function mockCompletion(request: ChatRequest, upstreamModel: string): ChatCompletion {
  const last = request.messages[request.messages.length - 1];
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  const userText = lastUser ? messageText(lastUser) : '';
  const inputTokens = request.messages.reduce((sum, m) => sum + 4 + mockTokens(messageText(m)), 0);
  // With thinking on, the mock "reasons" first: a fixed sentence, signed with its digest.
  const thinking: ThinkingBlock[] | undefined =
    request.thinking && request.thinking.type !== 'disabled'
      ? [{ type: 'thinking', thinking: `Mock reasoning about ${mockTokens(userText)} tokens of input.`, signature: '' }]
      : undefined;
  for (const block of thinking ?? [])
    if (block.type === 'thinking') block.signature = digest(block.thinking).toString('base64');
  const thinkingTokens = (thinking ?? []).reduce(
    (sum, b) => sum + (b.type === 'thinking' ? mockTokens(b.thinking) : 0),
    0,
  );
  const usageFor = (text: string, calls: ToolCall[]) => ({
    inputTokens,
    outputTokens:
      thinkingTokens + mockTokens(text) + calls.reduce((sum, c) => sum + mockTokens(c.name + c.arguments), 0),
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
  });
  const reasoning = thinking ? { thinking } : {};

  const tool = last?.role === 'tool' ? undefined : toolToCall(request, userText);
  if (tool) {
    const call = {
      id: `call_${digest([tool, userText]).toString('hex').slice(0, 16)}`,
      name: tool,
      arguments: JSON.stringify({ input: userText }),
    };
    return { text: '', toolCalls: [call], finishReason: 'tool_calls', usage: usageFor('', [call]), ...reasoning };
  }

  let fullText: string;
  if (last?.role === 'tool') fullText = `The tool returned: ${last.content}`;
  else if (request.responseFormat && request.responseFormat.type !== 'text') {
    fullText = JSON.stringify({ model: upstreamModel, echo: userText });
  } else fullText = `This is a mock response from ${upstreamModel}. You said: ${userText}`;

  const maxChars = request.maxOutputTokens * 4;
  const truncated = fullText.length > maxChars;
  let text = truncated ? fullText.slice(0, maxChars) : fullText;
  const finishReason: ChatCompletion['finishReason'] = truncated ? 'length' : 'stop';
  let stopSequence: string | undefined;
  if (!truncated && request.stop) {
    const cuts = request.stop.map((s) => ({ s, at: text.indexOf(s) })).filter((c) => c.at >= 0);
    const first = cuts.sort((a, b) => a.at - b.at)[0];
    if (first) {
      text = text.slice(0, first.at);
      stopSequence = first.s;
    }
  }
  return {
    text,
    toolCalls: [],
    finishReason,
    usage: usageFor(text, []),
    ...reasoning,
    ...(stopSequence !== undefined ? { stopSequence } : {}),
  };
}

/**
 * Waits for the configured latency, then fails if the connection is set to fail this content:
 * the fraction comes from the content's digest, so "random" failures are reproducible. Shared by
 * the mock's chats (their messages) and embeddings (their inputs).
 */
export async function simulateUpstream(content: unknown, target: ProviderTarget<'mock'>, signal: AbortSignal) {
  const { latencyMs, failureRate, failStatus } = target.connection;
  if (latencyMs > 0) {
    try {
      await sleep(latencyMs, undefined, { signal });
    } catch (error) {
      throw new ProviderError('timeout', 'mock call aborted before it answered', { cause: error });
    }
  }
  if (failureRate > 0 && digest(content).readUInt32BE(0) / 2 ** 32 < failureRate) {
    throw new ProviderError(failureOfStatus(failStatus), `mock failure (status ${failStatus})`, {
      upstreamStatus: failStatus,
    });
  }
}

/**
 * The built-in mock provider: deterministic text, tool calls, token counts and cost, with
 * configurable latency and failures (including streams that break off); no network, no
 * credentials.
 */
export const mockAdapter: ProviderAdapter<'mock'> = {
  id: 'mock',

  async complete(request: ChatRequest, target: ProviderTarget<'mock'>, options: ProviderCallOptions) {
    await simulateUpstream(request.messages, target, options.signal);
    return mockCompletion(request, target.upstreamModel);
  },

  async *stream(request: ChatRequest, target: ProviderTarget<'mock'>, options: ProviderCallOptions) {
    await simulateUpstream(request.messages, target, options.signal);
    const completion = mockCompletion(request, target.upstreamModel);
    const breakAfter = target.connection.breakStreamAfterChunks;
    for (const block of completion.thinking ?? []) {
      if (block.type !== 'thinking') continue;
      for (const text of block.thinking.match(/\S+\s*|\s+/g) ?? [])
        yield { type: 'thinking', text } satisfies ChatStreamEvent;
      yield { type: 'thinking_signature', signature: block.signature } satisfies ChatStreamEvent;
    }
    const pieces = completion.text.match(/\S+\s*|\s+/g) ?? [];
    for (const [index, text] of pieces.entries()) {
      if (breakAfter !== undefined && index >= breakAfter) {
        throw new ProviderError('upstream_error', 'mock stream broke off');
      }
      if (options.signal.aborted) throw new ProviderError('timeout', 'mock stream aborted');
      yield { type: 'text', text } satisfies ChatStreamEvent;
    }
    for (const [index, call] of completion.toolCalls.entries()) {
      yield { type: 'tool_call_start', index, id: call.id, name: call.name } satisfies ChatStreamEvent;
      const half = Math.ceil(call.arguments.length / 2);
      yield { type: 'tool_call_delta', index, arguments: call.arguments.slice(0, half) } satisfies ChatStreamEvent;
      yield { type: 'tool_call_delta', index, arguments: call.arguments.slice(half) } satisfies ChatStreamEvent;
    }
    yield {
      type: 'finish',
      finishReason: completion.finishReason,
      ...(completion.stopSequence !== undefined ? { stopSequence: completion.stopSequence } : {}),
    } satisfies ChatStreamEvent;
    yield { type: 'usage', usage: completion.usage } satisfies ChatStreamEvent;
  },
};
