import type { TokenUsage } from '../chat/types';
import type { DecisionAction } from '../policy/engine';

/** What the gateway observed about one request, once it is answered. */
export interface RequestObservation {
  requestId: string;
  teamId: string;
  keyId: string;
  requestedModel: string;
  /** The model that served (or was last tried); absent when refused before routing. */
  model?: string;
  provider?: string;
  outcome: 'ok' | 'error' | 'blocked' | 'throttled' | 'budget_exhausted';
  httpStatus: number;
  streamed: boolean;
  decision: DecisionAction;
  ruleIds: readonly string[];
  /** For throttles: which limit (team or key, requests or tokens), one of `RATE_LIMIT_TYPES`. */
  limitType?: string;
  usage?: TokenUsage;
  /** Cost in micro-dollars, fractional (a metric, not money of record: that is the ledger). */
  costMicros?: number;
  latencyMs: number;
  upstreamMs?: number;
  timeToFirstTokenMs?: number;
  attempts?: number;
  /** Whether a fallback model served (or was last tried). */
  fellBack?: boolean;
  failedAttempts?: number;
  /** What the response cache did (teams with a cache only). */
  cache?: 'hit' | 'stale' | 'miss' | 'bypass';
}

/**
 * The per-request summary log line, as data: its message and the name of each field it carries.
 * `observeRequest` writes the line from this table and the CDK's saved Logs Insights queries
 * name their fields from it, and a test checks that every field a saved query names is one the
 * line carries. Ids and counts only: never prompt text, answers or keys. Pure (type-only
 * imports), so the CDK app reads it without loading runtime code.
 */
export const REQUEST_SUMMARY = {
  /** The line's `message`; the queries filter on it. */
  message: 'request completed',
  fields: {
    requestId: 'requestId',
    teamId: 'teamId',
    /** The key's public id (never any part of the secret). */
    keyId: 'keyId',
    requestedModel: 'requestedModel',
    model: 'model',
    provider: 'provider',
    outcome: 'outcome',
    httpStatus: 'httpStatus',
    streamed: 'streamed',
    /** The policy's decision: allow, alert, redact or block. */
    decision: 'decision',
    ruleIds: 'ruleIds',
    limitType: 'limitType',
    /** Prompt tokens, cache reads and writes included. */
    inputTokens: 'inputTokens',
    outputTokens: 'outputTokens',
    /** Micro-dollars (1,000,000 = $1), integers like the ledger. */
    costMicros: 'costMicros',
    latencyMs: 'latencyMs',
    upstreamMs: 'upstreamMs',
    timeToFirstTokenMs: 'timeToFirstTokenMs',
    attempts: 'attempts',
    /** The response cache: hit, stale, miss or bypass (teams with a cache only). */
    cache: 'cache',
  },
} as const;

/** One field of the request summary line. */
export type RequestSummaryField = keyof typeof REQUEST_SUMMARY.fields;

/**
 * The summary line's fields for one request, named from {@link REQUEST_SUMMARY}. Every field of
 * the table gets a value here (absent ones are `undefined` and left out of the JSON line), so a
 * field cannot be added to the table without being written.
 *
 * @example
 * logger.info(REQUEST_SUMMARY.message, requestSummary(observation));
 */
export function requestSummary(o: RequestObservation): Record<string, unknown> {
  const values: Record<RequestSummaryField, unknown> = {
    requestId: o.requestId,
    teamId: o.teamId,
    keyId: o.keyId,
    requestedModel: o.requestedModel,
    model: o.model,
    provider: o.provider,
    outcome: o.outcome,
    httpStatus: o.httpStatus,
    streamed: o.streamed,
    decision: o.decision,
    ruleIds: o.ruleIds,
    limitType: o.limitType,
    inputTokens: o.usage ? o.usage.inputTokens + o.usage.cacheReadTokens + o.usage.cacheWriteTokens : undefined,
    outputTokens: o.usage?.outputTokens,
    costMicros: o.costMicros,
    latencyMs: o.latencyMs,
    upstreamMs: o.upstreamMs,
    timeToFirstTokenMs: o.timeToFirstTokenMs,
    attempts: o.attempts,
    cache: o.cache,
  };
  return Object.fromEntries(
    (Object.keys(values) as RequestSummaryField[]).map((key) => [REQUEST_SUMMARY.fields[key], values[key]]),
  );
}
