import type { TokenUsage } from '../chat/types';
import type { DecisionAction, PolicyDecision } from '../policy/engine';
import type { UsageRecord } from '../usage/record';

/**
 * One request in the audit trail: who, which model and provider, what the policy decided and
 * why (rule ids only), what it cost, and short excerpts of the prompt (and, if configured, the
 * answer) with every detector's findings replaced by placeholders. Never raw secrets or PII.
 */
export interface AuditRecord {
  requestId: string;
  teamId: string;
  keyId: string;
  requestedModel: string;
  /** The catalog model that served (or last tried); absent when blocked before routing. */
  model?: string;
  provider?: string;
  decision: DecisionAction;
  ruleIds: string[];
  /** ok: served; error: a provider or the gateway failed; blocked: refused by the policy. */
  status: 'ok' | 'error' | 'blocked';
  httpStatus: number;
  streamed: boolean;
  usage?: TokenUsage;
  costMicros: number;
  latencyMs: number;
  promptExcerpt?: string;
  responseExcerpt?: string;
  createdAt: string;
}

/**
 * The audit record of an admitted request: the facts of its usage record, what the policy
 * decided, and the excerpts (already redacted) the profile keeps.
 *
 * @example
 * auditRecordOf(usageRecord, decision, { promptExcerpt: '[EMAIL_1] asks about invoices' })
 */
export function auditRecordOf(
  record: UsageRecord,
  decision: PolicyDecision,
  excerpts: { promptExcerpt?: string | undefined; responseExcerpt?: string | undefined },
): AuditRecord {
  return {
    requestId: record.requestId,
    teamId: record.teamId,
    keyId: record.keyId,
    requestedModel: record.requestedModel,
    model: record.model,
    provider: record.provider,
    decision: decision.action,
    ruleIds: decision.ruleIds,
    status: record.status,
    httpStatus: record.httpStatus,
    streamed: record.streamed,
    usage: record.usage,
    costMicros: record.cost.totalMicros,
    latencyMs: record.latencyMs,
    ...(excerpts.promptExcerpt ? { promptExcerpt: excerpts.promptExcerpt } : {}),
    ...(excerpts.responseExcerpt ? { responseExcerpt: excerpts.responseExcerpt } : {}),
    createdAt: record.createdAt,
  };
}
