import { randomBytes } from 'node:crypto';
import type { ModelEntry } from '../../catalog/schema';
import { formatMicros, formatPicos } from '../../cost/money';
import type { PolicyDecision } from '../../policy/engine';
import type { ChatCompletion, TokenUsage } from '../../chat/types';

/** What the gateway says about how it served a request, in the `gateway` field and headers. */
export interface GatewayFacts {
  requestId: string;
  teamId: string;
  keyId: string;
  /** The catalog model that served the request (a fallback when one was used). */
  model: string;
  provider: string;
  upstreamModel: string;
  /** Provider calls made, retries and fallbacks included. */
  attempts: number;
  /** What the policy decided about the request and its answer. */
  policy: PolicyDecision;
  /** Exact cost in pico-dollars. */
  costPicos: bigint;
  latencyMs: number;
}

/** A fresh completion id in OpenAI's style. */
export function newCompletionId(): string {
  return `chatcmpl-${randomBytes(18).toString('base64url')}`;
}

/**
 * OpenAI's `usage` object. `prompt_tokens` counts every input token, cached or not, as OpenAI
 * does; `cached_tokens` are the cache reads among them.
 *
 * @example
 * openAiUsage({ inputTokens: 10, outputTokens: 5, cacheReadTokens: 90, cacheWriteTokens: 0 })
 * // { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 90 }, ... }
 */
export function openAiUsage(usage: TokenUsage) {
  const promptTokens = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: promptTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cacheReadTokens, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  };
}

/** The `gateway` field: facts OpenAI clients ignore and gateway users read. */
export function gatewayField(facts: GatewayFacts) {
  return {
    request_id: facts.requestId,
    team: facts.teamId,
    key_id: facts.keyId,
    model: facts.model,
    provider: facts.provider,
    upstream_model: facts.upstreamModel,
    attempts: facts.attempts,
    policy: { decision: facts.policy.action, rule_ids: facts.policy.ruleIds },
    cost_picos: String(facts.costPicos),
    cost_usd: formatPicos(facts.costPicos),
    latency_ms: facts.latencyMs,
  };
}

/**
 * A `chat.completion` object exactly as OpenAI returns it, plus the `gateway` field.
 *
 * @example
 * jsonResponse(200, toChatCompletionResponse({ id, created, model, completion, facts }))
 */
export function toChatCompletionResponse(args: {
  id: string;
  created: number;
  model: string;
  completion: ChatCompletion;
  facts: GatewayFacts;
}) {
  const { completion } = args;
  const toolCalls = completion.toolCalls.map((call) => ({
    id: call.id,
    type: 'function' as const,
    function: { name: call.name, arguments: call.arguments },
  }));
  return {
    id: args.id,
    object: 'chat.completion' as const,
    created: args.created,
    model: args.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant' as const,
          content: completion.text === '' && toolCalls.length > 0 ? null : completion.text,
          refusal: null,
          tool_calls: toolCalls.length > 0 ? toolCalls : undefined,
        },
        logprobs: null,
        finish_reason: completion.finishReason,
      },
    ],
    usage: openAiUsage(completion.usage),
    system_fingerprint: null,
    gateway: gatewayField(args.facts),
  };
}

/**
 * A catalog model as OpenAI's `GET /v1/models` lists it, with the gateway's facts (provider,
 * kind, vector sizes, aliases, fallbacks, output cap, prices) in a `gateway` field OpenAI clients ignore.
 *
 * @example
 * jsonResponse(200, { object: 'list', data: models.map(modelView) })
 */
export function modelView(model: ModelEntry) {
  return {
    id: model.id,
    object: 'model' as const,
    created: 0,
    owned_by: model.provider,
    gateway: {
      provider: model.provider,
      kind: model.kind,
      dimensions: model.dimensions ?? null,
      description: model.description ?? null,
      aliases: model.aliases,
      fallbacks: model.fallbacks,
      max_output_tokens: model.maxOutputTokens,
      prices_usd_per_million_tokens: {
        input: formatMicros(model.prices.inputMicrosPerMTok),
        output: formatMicros(model.prices.outputMicrosPerMTok),
        cache_read: formatMicros(model.prices.cacheReadMicrosPerMTok),
        cache_write: formatMicros(model.prices.cacheWriteMicrosPerMTok),
      },
    },
  };
}
