import type { AuditLog } from '../audit/audit-log';
import type { Catalog } from '../catalog/catalog';
import type { ModelEntry } from '../catalog/schema';
import { billedUsage } from '../chat/stream-meter';
import { ZERO_USAGE, type ChatCompletion, type TokenUsage } from '../chat/types';
import { toClientError } from '../chat/upstream-errors';
import type { CostBreakdown } from '../cost/pricing';
import type { GatewayError } from '../http/errors';
import { GATEWAY_HEADERS } from '../http/headers';
import type { AuthenticatedCaller } from '../keys/authenticator';
import { logger } from '../observability/logger';
import { observeRequest, type RequestObservation } from '../observability/metrics';
import { combine, type PolicyDecision, type PolicyEngine } from '../policy/engine';
import { guardrailUnavailable, PolicyViolationError } from '../policy/errors';
import type { GuardrailChecker } from '../policy/guardrail';
import { embedderFor } from '../providers/embedders';
import { ProviderError } from '../providers/errors';
import { adapterFor } from '../providers/registry';
import type { SecretResolver } from '../providers/secrets';
import type { EmbeddingAdapter, ProviderAdapter, ProviderTarget } from '../providers/types';
import { BudgetExhaustedError, RateLimitExceededError } from '../quota/errors';
import type { RateLimitStatus } from '../quota/limits';
import {
  replayEvents,
  StreamedAnswer,
  type CachedAnswer,
  type CacheStatus,
  type ResponseCache,
} from '../response-cache';
import type { Admission, QuotaService } from '../quota/quota-service';
import type { VariantAssignment } from '../routing/experiments';
import { RouteFailedError, type AttemptRecord, type RouteCandidate, type Router } from '../routing/router';
import { RouteSelector } from '../routing/selector';
import type { DurableUsageRecorder } from '../usage/durable-recorder';
import { admissionRequestOf } from './admission';
import {
  bypassed,
  cachedRoute,
  exchangeCacheOf,
  freshAnswer,
  providerStatus,
  staleAnswer,
  storesAnswer,
  type ExchangeCache,
} from './caching';
import { AnswerPolicy } from './answer-policy';
import type { Approval, ApprovalStore } from '../approvals/store';
import type { ApprovalNotifier } from '../approvals/notifier';
import type { ToolGate } from '../approvals/gate';
import { priceUsage } from '../cost/pricing';
import { notFound } from '../http/errors';
import {
  applyEmbeddingPolicy,
  checkEmbeddingGuardrail,
  resolveEmbeddingExchange,
  type EmbeddingExchangeRequest,
} from './embedding';
import type { Exchange, ExchangeBase, ExchangeRequest, RequestContext } from './exchange';
import { meteredEvents, type AnswerSink, type ServedStreamEvent, type StartedStream } from './metered-stream';
import type { Outcome, RouteTaken } from './outcome';
import { applyLocalPolicy, mayUse, policyOf, resolveExchange } from './planning';
import { ExchangeRecording, refusalOutcome } from './recording';
import { startOnce, type Work } from '../lifecycle/after-response';
import { checkInputGuardrail } from './request-policy';
import { restoreCompletion, restoreEvents, restoresAnswer } from './restoration';

/** What the exchange service needs; everything is injected so tests can point it anywhere. */
export interface ExchangeServiceDeps {
  catalog: Catalog;
  quota: QuotaService;
  /** Records usage exactly once: inline with retries, else through the replay queue. */
  usage: DurableUsageRecorder;
  router: Router;
  secrets: SecretResolver;
  /**
   * Overall deadline for getting an answer (all retries and fallbacks included); for a stream,
   * for getting its first event. Kept under the API's own timeout (30 s on an HTTP API).
   */
  providerTimeoutMs: number;
  /** Policy profiles (allow-lists, limits, deny rules, DLP detectors, guardrails). */
  policies: PolicyEngine;
  /** Applies Bedrock guardrails named by profiles (absent: profiles' guardrails are skipped). */
  guardrails?: GuardrailChecker;
  audit: AuditLog;
  adapters?: (id: ProviderTarget['connection']['adapter']) => ProviderAdapter;
  /** The embedder of a connection type (undefined: it cannot embed). */
  embedders?: (id: ProviderTarget['connection']['adapter']) => EmbeddingAdapter | undefined;
  /** Holds tool calls for approval and releases approved ones; absent: calls needing approval are blocked. */
  approvals?: ApprovalStore;
  /** Tells approvers a call waits (absent: only the log line). */
  approvalNotifier?: ApprovalNotifier;
  /** Where each request's metrics and summary log go (EMF on stdout by default). */
  observe?: (observation: RequestObservation) => void;
  /** Applies the catalog's routing strategies with this instance's state (a fresh one by default). */
  selector?: RouteSelector;
  /** Stored answers for teams with a response cache (absent: no team is served from a cache). */
  responseCache?: ResponseCache;
  now?: () => number;
}

/** How a request was routed, for a face's headers and body. */
export interface RoutingFacts {
  /** The model that served the request (a fallback when one was used). */
  model: ModelEntry;
  /** The model id or alias the caller asked for. */
  requestedModel: string;
  target: ProviderTarget;
  attempts: number;
  attemptLog: AttemptRecord[];
  /** The experiment variant the request was assigned to, if its model runs one. */
  variant?: VariantAssignment;
  /** The caller's rate-limit window; absent for a request admitted against no limit (a released held call). */
  rateLimit?: RateLimitStatus;
  /** What the policy decided about the request (for a non-streamed answer, and the answer). */
  policy: PolicyDecision;
  /** What the response cache did (teams with a cache only): the `x-gateway-cache` header. */
  cache?: CacheStatus;
}

/** A served, non-streamed answer. */
export interface CompletedExchange extends RoutingFacts {
  completion: ChatCompletion;
  cost: CostBreakdown;
  latencyMs: number;
  /**
   * Writes the answer's usage record (and stores the answer, with a response cache); settles
   * once done, never rejects. Nothing of it runs until called: a door that can work after
   * answering calls it once the client has the answer, one that cannot (a buffered Lambda)
   * before answering.
   */
  record: Work;
}

/** A stream whose first event has arrived: routing is decided, the rest is in `events`. */
export interface StreamingExchange extends RoutingFacts {
  events: AsyncIterable<ServedStreamEvent>;
  /**
   * Writes the stream's usage record once the stream has ended (the provider finished or the
   * consumer stopped reading); settles once done, never rejects. Nothing of it runs until called:
   * a consumer calls it after its client has the last byte, or before answering if it cannot work
   * after answering.
   */
  record: Work;
}

/** A served embeddings request: one vector per input, in order. */
export interface EmbeddedExchange extends RoutingFacts {
  vectors: number[][];
  /** The billed usage: input tokens only. */
  usage: TokenUsage;
  cost: CostBreakdown;
  latencyMs: number;
  /** As {@link CompletedExchange.record}. */
  record: Work;
}

/** An admitted exchange (its admission is set). */
type Admitted<E extends ExchangeBase = Exchange> = E & { admission: Admission };

/**
 * The request path after a face has parsed and the caller is authenticated, for every API face:
 * resolve the request and apply the profile's local checks, admit it against the rate limits
 * and budget, apply the billed guardrail, route it to a provider (retries, fallbacks, deadline),
 * apply the profile to the answer, price the call and hand back its record (ledger, aggregates,
 * quota and audit record in one write) unstarted; the caller decides when it runs: before its
 * answer, or once the client has it ({@link CompletedExchange.record},
 * {@link StreamingExchange.record}). A request refused before admission writes nothing but,
 * when the policy refused it, its audit record; every admitted request leaves exactly one ledger
 * entry and one audit record, whether it was served, failed, or (streamed) broke off.
 */
export class ExchangeService {
  private readonly now: () => number;
  private readonly adapters: NonNullable<ExchangeServiceDeps['adapters']>;
  private readonly embedders: NonNullable<ExchangeServiceDeps['embedders']>;
  private readonly recording: ExchangeRecording;
  private readonly selector: RouteSelector;

  constructor(private readonly deps: ExchangeServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.selector = deps.selector ?? new RouteSelector();
    this.adapters = deps.adapters ?? adapterFor;
    this.embedders = deps.embedders ?? embedderFor;
    this.recording = new ExchangeRecording({
      usage: deps.usage,
      audit: deps.audit,
      quota: deps.quota,
      observe: deps.observe ?? observeRequest,
      now: this.now,
    });
  }

  /**
   * Whether a caller may use a model (the team's, the key's and the profile's allow-lists).
   *
   * @example
   * catalog.listModels().filter((model) => exchanges.mayUse(caller, model))
   */
  mayUse(caller: AuthenticatedCaller, model: ModelEntry): boolean {
    return mayUse(caller, model, policyOf(this.deps, caller));
  }

  /**
   * A request's input tokens, for a token-counting route: the model's provider's own count where
   * it offers one (Anthropic's count_tokens, Bedrock's CountTokens for Claude), else (or when that
   * fails) the gateway's estimate, which is what rate limits count. The model is resolved and the
   * caller's right to it checked as for a call; nothing is admitted or recorded, and the prompt
   * goes to the provider as the policy would let it (redacted; a blocked prompt is refused).
   *
   * @example
   * await exchanges.countTokens(caller, request) // { tokens: 1234, source: 'provider' }
   */
  async countTokens(
    caller: AuthenticatedCaller,
    request: ExchangeRequest,
    context: RequestContext,
  ): Promise<{ tokens: number; source: 'provider' | 'estimate' }> {
    const exchange = resolveExchange(this.deps, caller, request, context);
    applyLocalPolicy(exchange);
    const { target } = exchange.candidates[0]!;
    const adapter = this.adapters(target.connection.adapter);
    if (adapter.countTokens) {
      try {
        const tokens = await adapter.countTokens(exchange.upstream, target, {
          signal: AbortSignal.timeout(Math.min(this.deps.providerTimeoutMs, COUNT_TOKENS_TIMEOUT_MS)),
          secrets: this.deps.secrets,
        });
        if (tokens !== undefined) return { tokens, source: 'provider' };
      } catch (error) {
        logger.warn('provider token count failed; answering the estimate', {
          requestId: context.requestId,
          provider: target.connectionName,
          error: (error as Error).name,
        });
      }
    }
    return { tokens: exchange.promptTokens, source: 'estimate' };
  }

  /**
   * Serves one non-streamed answer; its usage write starts when `record` is called.
   *
   * @example
   * const served = await exchanges.complete(caller, request, { requestId, receivedAt });
   * await served.record(); // before answering, on a door that cannot work after it
   */
  async complete(
    caller: AuthenticatedCaller,
    request: ExchangeRequest,
    context: RequestContext,
  ): Promise<CompletedExchange> {
    if (context.approvalId !== undefined) return this.released(caller, request, context);
    const exchange = await this.admitted(caller, request, context);
    const { cache } = exchange;
    const fresh = freshAnswer(cache, this.now());
    if (fresh) return this.completeFromCache(exchange, fresh, 'hit', cachedRoute(exchange, fresh));
    const stale = staleAnswer(cache);
    let routed;
    try {
      routed = await this.route(
        exchange,
        exchange.upstream.maxOutputTokens,
        (candidate, signal) =>
          this.adapters(candidate.target.connection.adapter).complete(exchange.upstream, candidate.target, {
            signal,
            secrets: this.deps.secrets,
          }),
        undefined,
        stale !== undefined,
      );
    } catch (error) {
      if (!(stale && error instanceof RouteFailedError)) throw error;
      return this.completeFromCache(exchange, stale, 'stale', cachedRoute(exchange, stale, error));
    }
    const { route, value, upstreamMs } = routed;
    const answered = { ...value, usage: billedUsage(value, exchange.promptTokens) };
    const answers = new AnswerPolicy(exchange.policy, exchange.redactor, this.deps.guardrails, this.gateOf(exchange));
    let checked: ChatCompletion;
    try {
      checked = await answers.checkCompletion(answered);
    } catch (error) {
      // The output guardrail failed: the provider has answered (and is paid), the answer is withheld.
      const failure = guardrailUnavailable(error);
      await this.recording
        .settle(exchange, route, {
          usage: answered.usage,
          kind: 'error',
          httpStatus: failure.status,
          decision: exchange.decision,
          upstreamMs,
        })
        .record();
      throw failure;
    }
    const completion = restoresAnswer(exchange.policy, exchange.redactor, caller.key.keyId)
      ? restoreCompletion(checked, exchange.redactor)
      : checked;
    const decision = combine(exchange.decision, answers.decision);
    const { outcome, record } = this.recording.settle(exchange, route, {
      usage: answered.usage,
      kind: 'ok',
      httpStatus: 200,
      decision,
      upstreamMs,
      responseExcerpt: () => answers.responseExcerpt(),
      cache: providerStatus(cache),
    });
    // Stored as the policy passed it, before restoration: a hit restores its own request's values.
    const stores = storesAnswer(cache, answers.decision);
    return {
      ...routingFacts(exchange, route),
      policy: decision,
      cache: providerStatus(cache),
      completion,
      cost: outcome.cost!,
      latencyMs: outcome.latencyMs,
      record: stores
        ? startOnce(() =>
            Promise.all([
              record(),
              this.storeAnswer(exchange, cache!, route.model.id, checked, outcome.cost!.totalPicos),
            ]),
          )
        : record,
    };
  }

  /**
   * Serves a stored answer (`hit`, or `stale` after every deployment failed): restored for this
   * request as a provider's answer would be, recorded with zero usage (so zero cost, and the
   * admission's budget reservation settles at 0) and the stored answer's cost as saved.
   */
  private completeFromCache(
    exchange: Admitted,
    answer: CachedAnswer,
    status: 'hit' | 'stale',
    route: RouteTaken,
  ): CompletedExchange {
    const served = { ...answer.completion, usage: { ...ZERO_USAGE } };
    const completion = restoresAnswer(exchange.policy, exchange.redactor, exchange.caller.key.keyId)
      ? restoreCompletion(served, exchange.redactor)
      : served;
    const { outcome, record } = this.recording.settle(exchange, route, {
      usage: { ...ZERO_USAGE },
      kind: 'ok',
      httpStatus: 200,
      decision: exchange.decision,
      cache: status,
      savedPicos: answer.costPicos,
    });
    return {
      ...routingFacts(exchange, route),
      cache: status,
      completion,
      cost: outcome.cost!,
      latencyMs: outcome.latencyMs,
      record,
    };
  }

  /** Stores a provider's answer under the request's slot; the write never rejects. */
  private storeAnswer(
    exchange: Admitted,
    cache: ExchangeCache,
    model: string,
    completion: ChatCompletion,
    costPicos: bigint,
  ): Promise<void> {
    return (
      this.deps.responseCache?.store(
        cache.slot,
        { model, completion, costPicos },
        { now: this.now(), ttlSeconds: cache.plan.ttlSeconds, keepStale: cache.plan.staleIfError },
        exchange.context.requestId,
      ) ?? Promise.resolve()
    );
  }

  /**
   * Starts a streamed answer: routes until one provider produces its first event (so failures
   * before that are retried, fall back, or become a proper HTTP error), then hands back the
   * rest of the stream, checked by the policy as it flows. The stream is priced as it ends and
   * `record` writes its usage, also when it breaks off or its consumer stops reading (`signal` aborts
   * the upstream call).
   *
   * @example
   * const start = await exchanges.stream(caller, request, { requestId, receivedAt });
   * for await (const event of start.events) send(event);
   */
  async stream(
    caller: AuthenticatedCaller,
    request: ExchangeRequest,
    context: RequestContext,
    signal?: AbortSignal,
  ): Promise<StreamingExchange> {
    if (context.approvalId !== undefined) {
      const released = await this.released(caller, request, context);
      return { ...released, events: releasedEvents(released) };
    }
    const exchange = await this.admitted(caller, request, context);
    const { cache } = exchange;
    const fresh = freshAnswer(cache, this.now());
    if (fresh) return this.streamFromCache(exchange, fresh, 'hit', cachedRoute(exchange, fresh));
    const stale = staleAnswer(cache);
    const upstream = new AbortController();
    const routeSignal = signal ? AbortSignal.any([signal, upstream.signal]) : upstream.signal;
    let routed;
    try {
      routed = await this.route(
        exchange,
        exchange.upstream.maxOutputTokens,
        async (candidate, attemptSignal): Promise<StartedStream> => {
          const events = this.adapters(candidate.target.connection.adapter).stream(
            exchange.upstream,
            candidate.target,
            { signal: attemptSignal, secrets: this.deps.secrets },
          );
          const iterator = events[Symbol.asyncIterator]();
          return { iterator, first: await iterator.next() };
        },
        routeSignal,
        stale !== undefined,
      );
    } catch (error) {
      if (!(stale && error instanceof RouteFailedError)) throw error;
      return this.streamFromCache(exchange, stale, 'stale', cachedRoute(exchange, stale, error));
    }
    const { route, value, upstreamMs } = routed;
    // The stream hands over its record as it ends; calling `record` before then waits for that.
    let onRecording!: (record: Work) => void;
    const ended = new Promise<Work>((resolve) => (onRecording = resolve));
    return {
      ...routingFacts(exchange, route),
      cache: providerStatus(cache),
      events: meteredEvents({
        exchange,
        route,
        started: value,
        upstream,
        clientSignal: signal,
        idleMs: route.target.connection.timeoutMs ?? this.deps.providerTimeoutMs,
        timing: { upstreamMs, timeToFirstTokenMs: this.now() - context.receivedAt },
        recording: this.recording,
        guardrails: this.deps.guardrails,
        gate: this.gateOf(exchange),
        now: this.now,
        onRecording,
        cache: providerStatus(cache),
        answered: cache?.plan.mode === 'bypass' ? undefined : this.answerSink(exchange, cache, route.model.id),
      }),
      record: startOnce(async () => (await ended)()),
    };
  }

  /** Collects a streamed answer and stores it once the stream finished and the policy left it untouched. */
  private answerSink(exchange: Admitted, cache: ExchangeCache | undefined, model: string): AnswerSink | undefined {
    if (!cache) return undefined;
    const answer = new StreamedAnswer();
    return {
      add: (event) => answer.add(event),
      end: ({ finished, decision, costPicos }) => {
        const completion = finished ? answer.completion() : undefined;
        if (!completion || !storesAnswer(cache, decision)) return undefined;
        return () => this.storeAnswer(exchange, cache, model, completion, costPicos);
      },
    };
  }

  /**
   * Replays a stored answer as a stream (`hit`, or `stale` after every deployment failed),
   * priced at once as {@link completeFromCache} prices it: nothing is left to meter.
   */
  private streamFromCache(
    exchange: Admitted,
    answer: CachedAnswer,
    status: 'hit' | 'stale',
    route: RouteTaken,
  ): StreamingExchange {
    const usage = { ...ZERO_USAGE };
    const { outcome, record } = this.recording.settle(exchange, route, {
      usage,
      kind: 'ok',
      httpStatus: 200,
      decision: exchange.decision,
      timeToFirstTokenMs: this.now() - exchange.context.receivedAt,
      cache: status,
      savedPicos: answer.costPicos,
    });
    const restoring = restoresAnswer(exchange.policy, exchange.redactor, exchange.caller.key.keyId);
    const ending = { usage, cost: outcome.cost!, latencyMs: outcome.latencyMs, policy: exchange.decision };
    async function* events(): AsyncGenerator<ServedStreamEvent> {
      async function* stored() {
        yield* replayEvents(answer.completion);
      }
      yield* restoring ? restoreEvents(stored(), exchange.redactor) : stored();
      yield { type: 'settled', ...ending };
    }
    return { ...routingFacts(exchange, route), cache: status, events: events(), record };
  }

  /**
   * Serves one embeddings request through the same steps as a chat: the profile's local checks
   * on each input before admission (a block writes only its audit record), admission with an
   * output of 0 tokens, the billed guardrail, routing with retries and fallbacks, then one
   * ledger entry priced on the input tokens the provider reported (the gateway's estimate when
   * it reported none, as for a chat prompt); its usage write starts when `record` is called.
   *
   * @example
   * const served = await exchanges.embed(caller, { model: 'mock-embed', inputs: ['hello'] }, { requestId, receivedAt });
   */
  async embed(
    caller: AuthenticatedCaller,
    request: EmbeddingExchangeRequest,
    context: RequestContext,
  ): Promise<EmbeddedExchange> {
    const exchange = await this.checkedLocally(
      resolveEmbeddingExchange(this.deps, caller, request, context),
      applyEmbeddingPolicy,
    );
    // Embeddings produce no output tokens: the reservation is the input bound alone.
    const admitted = Object.assign(exchange, { admission: await this.admit(exchange, 0) });
    await this.guard(admitted, () => checkEmbeddingGuardrail(admitted, this.deps.guardrails));
    // No output tokens: the strategies weigh the input alone.
    const { route, value, upstreamMs } = await this.route(admitted, 0, (candidate, signal) => {
      const embedder = this.embedders(candidate.target.connection.adapter);
      if (!embedder) {
        throw new ProviderError('misconfigured', `${candidate.target.connectionName} cannot embed`);
      }
      return embedder.embed(admitted.upstream, candidate.target, { signal, secrets: this.deps.secrets });
    });
    const usage: TokenUsage = {
      ...ZERO_USAGE,
      inputTokens: value.inputTokens > 0 ? value.inputTokens : admitted.promptTokens,
    };
    const { outcome, record } = this.recording.settle(admitted, route, {
      usage,
      kind: 'ok',
      httpStatus: 200,
      decision: admitted.decision,
      upstreamMs,
    });
    return {
      ...routingFacts(admitted, route),
      vectors: value.vectors,
      usage,
      cost: outcome.cost!,
      latencyMs: outcome.latencyMs,
      record,
    };
  }

  /**
   * Resolves, checks and admits a request: the local policy before admission (a request it
   * blocks counts against no limit), the billed guardrail after it (a refused request never
   * costs one). Refusals are recorded here and thrown as the client's error.
   */
  /**
   * The tool-call gate of a request: its profile's tool rules, and the approval store bound to
   * this request (who asked, which model, how long a held call waits).
   */
  private gateOf(exchange: Exchange): ToolGate {
    const { approvals } = this.deps;
    const { caller, context, requested, policy } = exchange;
    return {
      rules: policy.toolRules,
      hold: approvals
        ? async (calls) => {
            const held = await Promise.all(
              calls.map(({ call, ruleId }) =>
                approvals.hold({
                  teamId: caller.team.teamId,
                  keyId: caller.key.keyId,
                  requestId: context.requestId,
                  model: requested.id,
                  ruleId,
                  call,
                  ttlSeconds: policy.profile.approvals.ttlSeconds,
                }),
              ),
            );
            logger.info('tool calls held for approval', { requestId: context.requestId, held: held.length });
            await this.notifyApprovers(held);
            return held.map((approval) => approval.approvalId);
          }
        : undefined,
    };
  }

  /** Tells approvers calls wait; a failure to tell is logged, never the request's failure (the calls are held). */
  private async notifyApprovers(held: readonly Approval[]): Promise<void> {
    const notifier = this.deps.approvalNotifier;
    if (!notifier) return;
    await Promise.all(
      held.map((approval) =>
        notifier
          .notify({
            teamId: approval.teamId,
            approvalId: approval.approvalId,
            tool: approval.call.name,
            ruleId: approval.ruleId,
            model: approval.model,
            requestId: approval.requestId,
            deadline: new Date(approval.deadlineMs).toISOString(),
          })
          .catch((error: unknown) =>
            logger.warn('approvers not notified', { approvalId: approval.approvalId, error: (error as Error).name }),
          ),
      ),
    );
  }

  /**
   * Answers a request that asks for an approved held call (`context.approvalId`): the call is
   * released once to the key that asked for it, with no provider call, no admission and no
   * ledger entry (nothing was used); the release is in the audit trail. A call that is not
   * approved (pending, rejected, expired, already released, another key's) is a 403 or 404.
   */
  private async released(
    caller: AuthenticatedCaller,
    request: ExchangeRequest,
    context: RequestContext,
  ): Promise<CompletedExchange> {
    const { approvals } = this.deps;
    if (!approvals) throw notFound(`No held tool call ${context.approvalId}.`);
    const exchange = resolveExchange(this.deps, caller, request, context);
    const approval = await approvals.redeem(caller.team.teamId, caller.key.keyId, context.approvalId!);
    const decision: PolicyDecision = { action: 'allow', ruleIds: [`approval:${approval.approvalId}`] };
    const now = this.now();
    await this.recording.audited(
      refusalOutcome(exchange, { kind: 'ok', httpStatus: 200, decision }, now),
      context.invocationDeadline,
    );
    const candidate = exchange.candidates[0]!;
    return {
      model: candidate.model,
      requestedModel: request.model,
      target: candidate.target,
      attempts: 0,
      attemptLog: [],
      policy: decision,
      completion: { text: '', toolCalls: [approval.call], finishReason: 'tool_calls', usage: { ...ZERO_USAGE } },
      cost: priceUsage({ ...ZERO_USAGE }, candidate.model.prices),
      latencyMs: now - context.receivedAt,
      record: () => Promise.resolve(),
    };
  }

  /**
   * Applies the profile's free, local checks to a resolved exchange; a request they refuse is
   * audited as refused (before admission: it counts against no limit) and thrown as the client's error.
   */
  private async checkedLocally<E extends ExchangeBase>(exchange: E, check: (exchange: E) => void): Promise<E> {
    try {
      check(exchange);
    } catch (error) {
      if (!(error instanceof PolicyViolationError)) throw error;
      await this.refused(exchange, error);
      throw error;
    }
    return exchange;
  }

  private async admitted(
    caller: AuthenticatedCaller,
    request: ExchangeRequest,
    context: RequestContext,
  ): Promise<Admitted> {
    const exchange = await this.checkedLocally(resolveExchange(this.deps, caller, request, context), applyLocalPolicy);
    // The cache lookup runs alongside admission, so it adds no round trip before the provider;
    // a hit's admission still counts against the limits, and settles at zero cost.
    const cache = this.deps.responseCache ? exchangeCacheOf(exchange) : undefined;
    const [admission, found] = await Promise.all([
      this.admit(exchange, exchange.upstream.maxOutputTokens),
      cache?.plan.mode === 'lookup' ? this.deps.responseCache!.lookup(cache.slot, context.requestId) : undefined,
    ]);
    const admitted: Admitted = Object.assign(exchange, { admission });
    admitted.cache = cache && { ...cache, found };
    await this.guard(admitted, async () => {
      const checked = await checkInputGuardrail(
        admitted.policy,
        { request: admitted.upstream, decision: admitted.decision },
        this.deps.guardrails,
      );
      admitted.upstream = checked.request;
      admitted.decision = checked.decision;
    });
    if (admitted.cache && admitted.upstream !== admitted.cache.keyed) admitted.cache = bypassed(admitted.cache);
    return admitted;
  }

  /**
   * Admits the request against the team's and key's per-minute limits and, for a team with a
   * budget, reserves its worst-case cost (see {@link admissionRequestOf}) with `maxOutputTokens`
   * of output.
   */
  private async admit(exchange: ExchangeBase, maxOutputTokens: number): Promise<Admission> {
    try {
      return await this.deps.quota.admit(admissionRequestOf(exchange, maxOutputTokens));
    } catch (error) {
      // Refusals by quota are counted, not audited: a client hammering a spent limit would
      // otherwise turn every refused request into a DynamoDB write.
      if (error instanceof RateLimitExceededError || error instanceof BudgetExhaustedError) {
        const throttled = error instanceof RateLimitExceededError;
        this.recording.observe(
          refusalOutcome(
            exchange,
            {
              kind: throttled ? 'throttled' : 'budget_exhausted',
              httpStatus: error.status,
              decision: exchange.decision,
              limitType: throttled ? error.limitType : undefined,
            },
            this.now(),
          ),
        );
      }
      throw error;
    }
  }

  /**
   * Applies the profile's billed Bedrock guardrail to an admitted request (`check` applies it and
   * updates the exchange). A request the guardrail blocks (or cannot judge) gives its admission
   * back, is audited as refused and writes no ledger entry.
   */
  private async guard(exchange: Admitted<ExchangeBase>, check: () => Promise<void>): Promise<void> {
    try {
      await check();
    } catch (error) {
      const refusal = error instanceof PolicyViolationError ? error : guardrailUnavailable(error);
      try {
        await this.deps.quota.release(exchange.admission);
      } catch (releaseError) {
        // The sweeper gives the reservation back later; the window's count lapses with the minute.
        logger.warn('admission not released after a guardrail refusal', {
          requestId: exchange.context.requestId,
          error: (releaseError as Error).name,
        });
      }
      await this.refused(exchange, refusal);
      throw refusal;
    }
  }

  /** Audits and observes a request the policy refused (or could not judge) before it was served. */
  private async refused(exchange: ExchangeBase, refusal: GatewayError): Promise<void> {
    const blocked = refusal instanceof PolicyViolationError;
    const outcome: Outcome = refusalOutcome(
      exchange,
      {
        kind: blocked ? 'blocked' : 'error',
        httpStatus: refusal.status,
        decision: blocked ? { action: 'block', ruleIds: [refusal.ruleId] } : exchange.decision,
      },
      this.now(),
    );
    await this.recording.audited(outcome, exchange.context.invocationDeadline);
  }

  /**
   * Routes an admitted request to a provider within the deadline (retries, fallbacks) and says
   * how long the providers took (for a stream, until its first event). The candidates are ordered
   * here, by their entry's strategy for a request of `maxOutputTokens` output, so a request refused
   * before routing takes no turn; the serving deployment's latency feeds the instance's averages
   * (`least-latency`). A route that fails is
   * recorded (with zero usage, giving back what admission took) and thrown as the client's error;
   * anything that is not a routing failure (a bug, DynamoDB down) is recorded the same way and
   * rethrown. With `staleOk`, a routing failure is thrown unrecorded: the caller serves a stale
   * cached answer instead, and records that.
   */
  private async route<T>(
    exchange: Admitted<ExchangeBase>,
    maxOutputTokens: number,
    call: (candidate: RouteCandidate, signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
    staleOk = false,
  ): Promise<{ route: RouteTaken; value: T; upstreamMs: number }> {
    const start = this.now();
    const candidates = this.selector.order(exchange.routedBy.id, exchange.routedBy.routing, exchange.candidates, {
      promptTokens: exchange.promptTokens,
      maxOutputTokens,
    });
    try {
      const routed = await this.deps.router.route(
        candidates,
        start + this.deps.providerTimeoutMs,
        call,
        signal,
        exchange.caller.team.teamId,
      );
      const served = routed.log.at(-1)?.latencyMs;
      if (served !== undefined) this.selector.observe(routed.candidate.model.id, served);
      const route = { ...routed.candidate, attempts: routed.attempts, attemptLog: routed.log };
      return { route, value: routed.value, upstreamMs: this.now() - start };
    } catch (error) {
      const routeFailed = error instanceof RouteFailedError ? error : undefined;
      if (routeFailed && staleOk) {
        logger.warn('no provider served the request; serving a stale cached answer', {
          requestId: exchange.context.requestId,
          attempts: routeFailed.attempts,
        });
        throw routeFailed;
      }
      const candidate = routeFailed?.lastCandidate ?? candidates[0]!;
      let clientError: GatewayError | undefined;
      if (routeFailed) {
        logger.warn('no provider served the request', {
          requestId: exchange.context.requestId,
          attempts: routeFailed.attempts,
          route: routeFailed.log,
        });
        clientError = toClientError(routeFailed.lastError, candidate.target.connectionName);
        // A failure says how it was routed too, as a success does (headers only: the body is the face's).
        Object.assign(clientError.headers, {
          [GATEWAY_HEADERS.model]: candidate.model.id,
          [GATEWAY_HEADERS.provider]: candidate.target.connectionName,
          [GATEWAY_HEADERS.attempts]: String(routeFailed.attempts),
          ...(exchange.variant ? { [GATEWAY_HEADERS.variant]: exchange.variant.variant } : {}),
        });
      }
      await this.recording
        .settle(
          exchange,
          { ...candidate, attempts: routeFailed?.attempts ?? 0, attemptLog: routeFailed?.log ?? [] },
          {
            usage: { ...ZERO_USAGE },
            kind: 'error',
            httpStatus: clientError?.status ?? 500,
            decision: exchange.decision,
          },
        )
        .record();
      throw clientError ?? error;
    }
  }
}

/** How long a provider's token count may take before the estimate answers instead. */
const COUNT_TOKENS_TIMEOUT_MS = 5_000;

/** A released held call as a stream: the call, whole, then the finish and the (zero) settlement. */
async function* releasedEvents(released: CompletedExchange): AsyncGenerator<ServedStreamEvent> {
  const [call] = released.completion.toolCalls;
  yield { type: 'tool_call_start', index: 0, id: call!.id, name: call!.name };
  yield { type: 'tool_call_delta', index: 0, arguments: call!.arguments };
  yield { type: 'finish', finishReason: 'tool_calls' };
  const { usage } = released.completion;
  yield { type: 'settled', usage, cost: released.cost, latencyMs: released.latencyMs, policy: released.policy };
}

/** How a request was routed, for the face's headers and body. */
function routingFacts(exchange: Admitted<ExchangeBase>, route: RouteTaken): RoutingFacts {
  return {
    model: route.model,
    requestedModel: exchange.request.model,
    target: route.target,
    attempts: route.attempts,
    attemptLog: [...route.attemptLog],
    variant: exchange.variant,
    rateLimit: exchange.admission.status,
    policy: exchange.decision,
  };
}
