import type { TokenUsage } from '../chat/types';
import type { CostBreakdown } from '../cost/pricing';

/** One request in the ledger: who, what, how many tokens, what it cost. */
export interface UsageRecord {
  requestId: string;
  teamId: string;
  keyId: string;
  /** Public model id that served (or last tried) the request: a fallback when one was used. */
  model: string;
  /** Public model id (or alias) the caller asked for. */
  requestedModel: string;
  /** Provider connection that served (or last tried) the request. */
  provider: string;
  upstreamModel: string;
  /** Provider calls made, retries and fallbacks included. */
  attempts: number;
  status: 'ok' | 'error';
  httpStatus: number;
  streamed: boolean;
  usage: TokenUsage;
  cost: CostBreakdown;
  latencyMs: number;
  /** When the gateway received the request (ISO 8601, UTC); fixes the ledger day and month. */
  createdAt: string;
}

/** The numbers every aggregate row sums. */
export interface UsageTotals {
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costMicros: number;
}

/** Names of the summed attributes, in one place for writers and readers. */
export const TOTAL_FIELDS = [
  'requests',
  'errors',
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'costMicros',
] as const satisfies readonly (keyof UsageTotals)[];

/** Totals of zero. */
export function emptyTotals(): UsageTotals {
  return {
    requests: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    costMicros: 0,
  };
}

/**
 * What one ledger record adds to every aggregate it belongs to.
 *
 * @example
 * totalsOf(record).costMicros === record.cost.totalMicros
 */
export function totalsOf(record: UsageRecord): UsageTotals {
  return {
    requests: 1,
    errors: record.status === 'ok' ? 0 : 1,
    inputTokens: record.usage.inputTokens,
    outputTokens: record.usage.outputTokens,
    cacheReadTokens: record.usage.cacheReadTokens,
    cacheWriteTokens: record.usage.cacheWriteTokens,
    costMicros: record.cost.totalMicros,
  };
}

/** Adds `delta` into `target` in place and returns it. */
export function addTotals(target: UsageTotals, delta: Partial<UsageTotals>): UsageTotals {
  for (const field of TOTAL_FIELDS) target[field] += Number(delta[field] ?? 0);
  return target;
}

export { dayOf, monthOf } from '../time/calendar';
