import type { AuditLog } from '../audit/audit-log';
import type { TokenUsage } from '../chat/types';
import { totalTokens } from '../chat/types';
import { priceUsage } from '../cost/pricing';
import type { RequestObservation } from '../observability/metrics';
import type { PolicyDecision } from '../policy/engine';
import type { QuotaService } from '../quota/quota-service';
import type { CacheStatus } from '../response-cache/plan';
import { singleItemWrite, type DurableUsageRecorder } from '../usage/durable-recorder';
import type { QuotaSettlement } from '../usage/recorder';
import type { ExchangeBase } from './exchange';
import { startOnce, type Work } from '../lifecycle/after-response';
import { auditRecordOf, observationOf, usageRecordOf, type Outcome, type RouteTaken } from './outcome';

/** What recording needs; the exchange service hands it its own dependencies. */
export interface RecordingDeps {
  usage: DurableUsageRecorder;
  audit: AuditLog;
  quota: QuotaService;
  observe: (observation: RequestObservation) => void;
  now: () => number;
}

/** How an admitted request ended: what the ledger needs beyond the exchange and its route. */
export interface Ending {
  usage: TokenUsage;
  kind: 'ok' | 'error';
  httpStatus: number;
  decision: PolicyDecision;
  /** The answer's excerpt for the audit record; called when the record is written. */
  responseExcerpt?: () => string | undefined;
  upstreamMs?: number;
  timeToFirstTokenMs?: number;
  /** What the response cache did; a `hit` or `stale` answer ends with zero usage and `savedPicos`. */
  cache?: CacheStatus;
  savedPicos?: bigint;
}

/**
 * The outcome of a request refused before a provider was called (no route, no usage).
 *
 * @example
 * recording.observe(refusalOutcome(exchange, { kind: 'throttled', httpStatus: 429, ... }))
 */
export function refusalOutcome(
  exchange: Pick<ExchangeBase, 'caller' | 'request' | 'context'> &
    Partial<Pick<ExchangeBase, 'requested' | 'promptExcerpt' | 'endUser' | 'variant'>>,
  refusal: Pick<Outcome, 'kind' | 'httpStatus' | 'decision' | 'limitType'>,
  now: number,
): Outcome {
  const { caller, request, context } = exchange;
  return {
    requestId: context.requestId,
    receivedAt: context.receivedAt,
    teamId: caller.team.teamId,
    keyId: caller.key.keyId,
    requestedModel: request.model,
    endUser: exchange.endUser,
    variant: exchange.variant,
    requestedEntry: exchange.requested?.id,
    streamed: request.stream,
    latencyMs: now - context.receivedAt,
    promptExcerpt: exchange.promptExcerpt,
    ...refusal,
  };
}

/**
 * Records what became of requests: refusals (audited when the policy refused, observed always)
 * and admitted requests (ledger entry, aggregates, quota settlement and audit record in one
 * durable write, then the observation). Every view comes from one {@link Outcome}.
 */
export class ExchangeRecording {
  constructor(private readonly deps: RecordingDeps) {}

  /** Observes a refusal that writes nothing (a rate limit or budget: a write per refusal would let a client hammer the table). */
  observe(outcome: Outcome): void {
    this.deps.observe(observationOf(outcome));
  }

  /**
   * Audits and observes a request that leaves no ledger entry: refused by the policy (or it could
   * not judge), or answered without a provider (a released held tool call).
   */
  async audited(outcome: Outcome, deadline: number | undefined): Promise<void> {
    const record = auditRecordOf(outcome);
    await this.deps.usage.record(
      singleItemWrite(record.requestId, record.teamId, this.deps.audit.entryItem(record)),
      deadline,
    );
    this.observe(outcome);
  }

  /**
   * Prices an admitted request at once: the outcome is returned now, and `record` writes it when
   * called (a door calls it once its answer is out): its promise settles once the usage is
   * recorded (in DynamoDB, or on the replay queue, which lands it later exactly once) and
   * observed. It never rejects. Nothing of the write, not even building its items, runs before.
   *
   * @example
   * const { outcome, record } = recording.settle(exchange, route, ending);
   * await record();
   */
  settle(exchange: ExchangeBase, route: RouteTaken, ending: Ending): { outcome: Outcome; record: Work } {
    const { caller, request, context, admission } = exchange;
    const cost = priceUsage(ending.usage, route.model.prices);
    const outcome: Outcome = {
      requestId: context.requestId,
      receivedAt: context.receivedAt,
      teamId: caller.team.teamId,
      keyId: caller.key.keyId,
      requestedModel: request.model,
      endUser: exchange.endUser,
      variant: exchange.variant,
      strategy: exchange.routedBy.routing.strategy,
      requestedEntry: exchange.requested.id,
      streamed: request.stream,
      kind: ending.kind,
      httpStatus: ending.httpStatus,
      decision: ending.decision,
      latencyMs: this.deps.now() - context.receivedAt,
      route,
      usage: ending.usage,
      cost,
      upstreamMs: ending.upstreamMs,
      timeToFirstTokenMs: ending.timeToFirstTokenMs,
      cache: ending.cache,
      savedPicos: ending.savedPicos,
    };
    const record = startOnce(async () => {
      const tokens = totalTokens(ending.usage);
      const quota = this.deps.quota;
      const settlement: QuotaSettlement | undefined = admission && {
        ...quota.settlement(admission, cost.totalPicos),
        ifSwept: () => quota.lateSettlement(admission, cost.totalPicos),
      };
      // The excerpts are scanned for the audit record here, off the client's wait.
      const audited = {
        ...outcome,
        promptExcerpt: exchange.promptExcerpt,
        responseExcerpt: ending.responseExcerpt?.(),
      };
      const write = this.deps.usage.prepare(
        usageRecordOf({ ...outcome, route, usage: ending.usage, cost }),
        settlement,
        [this.deps.audit.entryItem(auditRecordOf(audited))],
      );
      const result = await this.deps.usage.record(write, context.invocationDeadline);
      this.observe(outcome);
      // The instance's leases take back what the request did not use (no I/O unless a lease is done).
      const landed = result === 'recorded' || result === 'already_recorded';
      if (admission) await quota.settled(admission, tokens, cost.totalPicos, landed);
    });
    return { outcome, record };
  }
}
