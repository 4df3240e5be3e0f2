import type { AuditRecord } from '../audit/record';
import type { ModelEntry } from '../catalog/schema';
import type { TokenUsage } from '../chat/types';
import { picosToMicrosApprox } from '../cost/money';
import type { CostBreakdown } from '../cost/pricing';
import type { RequestObservation } from '../observability/metrics';
import type { PolicyDecision } from '../policy/engine';
import type { ProviderTarget } from '../providers/types';
import type { VariantAssignment } from '../routing/experiments';
import type { CacheStatus } from '../response-cache/plan';
import type { AttemptRecord } from '../routing/router';
import type { UsageRecord } from '../usage/record';

/** How a request ended, as the ledger, the audit trail and the metrics tell it. */
export type OutcomeKind = 'ok' | 'error' | 'blocked' | 'throttled' | 'budget_exhausted';

/** Where a request was routed: the model that served it (or was tried last) and how. */
export interface RouteTaken {
  model: ModelEntry;
  target: ProviderTarget;
  /** Provider calls made, retries and fallbacks included. */
  attempts: number;
  attemptLog: readonly AttemptRecord[];
}

/**
 * Everything known about one finished request, stated once. The ledger entry, the audit record,
 * the metrics observation and the response's facts are views of it (pure functions below), so a
 * new fact is added here and in the views that show it, never copied by hand between shapes.
 */
export interface Outcome {
  requestId: string;
  /** Epoch ms at which the request arrived. */
  receivedAt: number;
  teamId: string;
  keyId: string;
  /** The model id or alias the caller asked for. */
  requestedModel: string;
  /** The catalog model the request named, once it was resolved. */
  requestedEntry?: string;
  /** The caller's own end user (OpenAI's `user`, Anthropic's `metadata.user_id`), as the caller named them. */
  endUser?: string;
  /** The experiment variant the request was assigned to, if its model runs one. */
  variant?: VariantAssignment;
  /** The routing strategy that ordered its deployments (a provider was tried). */
  strategy?: string;
  streamed: boolean;
  kind: OutcomeKind;
  httpStatus: number;
  decision: PolicyDecision;
  latencyMs: number;
  /** Set when a provider was tried. */
  route?: RouteTaken;
  usage?: TokenUsage;
  cost?: CostBreakdown;
  upstreamMs?: number;
  timeToFirstTokenMs?: number;
  /** For a throttled request: which limit refused it. */
  limitType?: string;
  promptExcerpt?: string;
  responseExcerpt?: string;
  /** What the response cache did (teams with a cache only). */
  cache?: CacheStatus;
  /** Served from the cache: what the provider call that produced the answer cost. */
  savedPicos?: bigint;
}

/** Whether a request was answered from the response cache (fresh or stale). */
export function servedFromCache(outcome: Pick<Outcome, 'cache'>): boolean {
  return outcome.cache === 'hit' || outcome.cache === 'stale';
}

/** The ISO instant of the request's arrival: it fixes the ledger day and month. */
function createdAt(outcome: Outcome): string {
  return new Date(outcome.receivedAt).toISOString();
}

/** The experiment and variant, as the ledger and audit record store them (absent outside experiments). */
function variantFields(outcome: Outcome): { experiment?: string; variant?: string } {
  return outcome.variant ? { experiment: outcome.variant.experiment, variant: outcome.variant.variant } : {};
}

/**
 * The ledger entry of an admitted request (one a provider was tried for).
 *
 * @example
 * const record = usageRecordOf(outcome); // then recorder.prepare(record, settlement)
 */
export function usageRecordOf(outcome: Outcome & Required<Pick<Outcome, 'route' | 'usage' | 'cost'>>): UsageRecord {
  const { route } = outcome;
  return {
    requestId: outcome.requestId,
    teamId: outcome.teamId,
    keyId: outcome.keyId,
    model: route.model.id,
    requestedModel: outcome.requestedModel,
    ...(outcome.endUser !== undefined ? { endUser: outcome.endUser } : {}),
    ...variantFields(outcome),
    ...(outcome.strategy !== undefined ? { strategy: outcome.strategy } : {}),
    provider: route.target.connectionName,
    upstreamModel: route.target.upstreamModel,
    attempts: route.attempts,
    status: outcome.kind === 'ok' ? 'ok' : 'error',
    httpStatus: outcome.httpStatus,
    streamed: outcome.streamed,
    usage: outcome.usage,
    cost: outcome.cost,
    latencyMs: outcome.latencyMs,
    ...(servedFromCache(outcome) ? { cacheHit: true, savedPicos: outcome.savedPicos ?? 0n } : {}),
    createdAt: createdAt(outcome),
  };
}

/**
 * The audit record of a request that reached the policy: served, failed, or refused by it.
 *
 * @example
 * audit.entryItem(auditRecordOf(outcome))
 */
export function auditRecordOf(outcome: Outcome): AuditRecord {
  const model = outcome.route?.model.id ?? outcome.requestedEntry;
  return {
    requestId: outcome.requestId,
    teamId: outcome.teamId,
    keyId: outcome.keyId,
    requestedModel: outcome.requestedModel,
    ...(outcome.endUser !== undefined ? { endUser: outcome.endUser } : {}),
    ...variantFields(outcome),
    model,
    provider: outcome.route?.target.connectionName,
    decision: outcome.decision.action,
    ruleIds: outcome.decision.ruleIds,
    status: outcome.kind === 'blocked' ? 'blocked' : outcome.kind === 'ok' ? 'ok' : 'error',
    httpStatus: outcome.httpStatus,
    streamed: outcome.streamed,
    usage: outcome.usage,
    costPicos: outcome.cost?.totalPicos ?? 0n,
    latencyMs: outcome.latencyMs,
    // an empty excerpt is stored as none
    ...(outcome.promptExcerpt ? { promptExcerpt: outcome.promptExcerpt } : {}),
    ...(outcome.responseExcerpt ? { responseExcerpt: outcome.responseExcerpt } : {}),
    createdAt: createdAt(outcome),
  };
}

/**
 * The metrics and summary-log observation of a request.
 *
 * @example
 * observeRequest(observationOf(outcome));
 */
export function observationOf(outcome: Outcome): RequestObservation {
  const { route } = outcome;
  return {
    requestId: outcome.requestId,
    teamId: outcome.teamId,
    keyId: outcome.keyId,
    requestedModel: outcome.requestedModel,
    ...(outcome.endUser !== undefined ? { endUser: outcome.endUser } : {}),
    outcome: outcome.kind,
    httpStatus: outcome.httpStatus,
    streamed: outcome.streamed,
    decision: outcome.decision.action,
    ruleIds: outcome.decision.ruleIds,
    latencyMs: outcome.latencyMs,
    limitType: outcome.limitType,
    ...(route
      ? {
          model: route.model.id,
          provider: route.target.connectionName,
          attempts: route.attempts,
          // Against the first deployment tried, not the model asked for: a strategy or an experiment may pick another.
          fellBack: route.attemptLog.length > 0 && route.attemptLog[0]!.model !== route.model.id,
          failedAttempts: route.attemptLog.filter((attempt) => attempt.outcome === 'failed').length,
          usage: outcome.usage,
          costMicros: picosToMicrosApprox(outcome.cost?.totalPicos ?? 0n),
        }
      : {}),
    upstreamMs: outcome.upstreamMs,
    timeToFirstTokenMs: outcome.timeToFirstTokenMs,
    cache: outcome.cache,
  };
}
