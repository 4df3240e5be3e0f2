import type { TokenUsage } from '../chat/types';
import { picosOf } from '../cost/money';
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
  /** The caller's end user, when it named one (OpenAI's `user`, Anthropic's `metadata.user_id`). */
  endUser?: string;
  /** The experiment the request took part in, and the variant it was assigned to (both or neither). */
  experiment?: string;
  variant?: string;
  /** The routing strategy that ordered the deployments (`fallback`, `weighted`, …). */
  strategy?: string;
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
  /**
   * Served from the response cache: no provider was paid (`cost` is zero) and `savedPicos` is
   * what the provider call that produced the stored answer cost. Absent on every other request.
   */
  cacheHit?: true;
  savedPicos?: bigint;
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
  /** Requests answered from the response cache (at zero cost). */
  cacheHits: number;
  /** Exact cost in pico-dollars (see `cost/money.ts`). */
  costPicos: bigint;
  /** What cache hits would have cost had a provider answered them, in pico-dollars. */
  savedPicos: bigint;
}

/** Names of the summed counts (requests and tokens: plain numbers). */
const COUNT_FIELDS = [
  'requests',
  'errors',
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'cacheHits',
] as const satisfies readonly (keyof UsageTotals)[];

/** Names of the summed attributes, in one place for writers and readers. */
export const TOTAL_FIELDS = [
  ...COUNT_FIELDS,
  'costPicos',
  'savedPicos',
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
    cacheHits: 0,
    costPicos: 0n,
    savedPicos: 0n,
  };
}

/**
 * What one ledger record adds to every aggregate it belongs to.
 *
 * @example
 * totalsOf(record).costPicos === record.cost.totalPicos
 */
export function totalsOf(record: UsageRecord): UsageTotals {
  return {
    requests: 1,
    errors: record.status === 'ok' ? 0 : 1,
    inputTokens: record.usage.inputTokens,
    outputTokens: record.usage.outputTokens,
    cacheReadTokens: record.usage.cacheReadTokens,
    cacheWriteTokens: record.usage.cacheWriteTokens,
    cacheHits: record.cacheHit ? 1 : 0,
    costPicos: record.cost.totalPicos,
    savedPicos: record.savedPicos ?? 0n,
  };
}

/**
 * Adds `delta` into `target` in place and returns it. `delta` may be an aggregate item as
 * DynamoDB returned it (cost a number, or a bigint past 2^53): the cost is summed as a bigint.
 */
export function addTotals(target: UsageTotals, delta: Partial<Record<keyof UsageTotals, unknown>>): UsageTotals {
  for (const field of COUNT_FIELDS) target[field] += Number(delta[field] ?? 0);
  target.costPicos += picosOf(delta.costPicos);
  target.savedPicos += picosOf(delta.savedPicos);
  return target;
}

export { dayOf, monthOf } from '../time/calendar';
