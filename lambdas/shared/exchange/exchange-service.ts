import type { Catalog } from '../catalog/catalog';
import type { ModelEntry } from '../catalog/schema';
import { lineItemMicros, priceUsage, type CostBreakdown } from '../cost/pricing';
import type { AuditLog } from '../audit/audit-log';
import { auditRecordOf, type AuditRecord } from '../audit/record';
import { ERROR_CODES, forbidden, GatewayError, notFound } from '../http/errors';
import { GATEWAY_HEADERS } from '../http/headers';
import type { AuthenticatedCaller } from '../keys/authenticator';
import { logger } from '../observability/logger';
import { observeRequest, type RequestObservation } from '../observability/metrics';
import { ALLOW, combine, type CompiledPolicy, type PolicyDecision, type PolicyEngine } from '../policy/engine';
import { guardrailUnavailable, PolicyViolationError } from '../policy/errors';
import type { GuardrailChecker } from '../policy/guardrail';
import { isModelAllowed } from '../policy/model-access';
import type { Redactor } from '../policy/redactor';
import { ProviderError } from '../providers/errors';
import { adapterFor } from '../providers/registry';
import type { SecretResolver } from '../providers/secrets';
import type { ProviderAdapter, ProviderTarget } from '../providers/types';
import type { RateLimitStatus } from '../quota/limits';
import { BudgetExhaustedError, RateLimitExceededError } from '../quota/errors';
import type { Admission, QuotaService } from '../quota/quota-service';
import {
  RouteFailedError,
  type AttemptRecord,
  type RouteCandidate,
  type Router,
  type RouteSuccess,
} from '../routing/router';
import type { UsageRecord } from '../usage/record';
import { singleItemWrite, type DurableUsageRecorder } from '../usage/durable-recorder';
import type { QuotaSettlement } from '../usage/recorder';
import { AnswerPolicy } from './answer-policy';
import { outputTokenLimit, toChatRequest, type ChatCompletionRequest } from './openai-request';
import { checkInputGuardrail, checkLocalPolicy, lastUserText } from './request-policy';
import { billedUsage, StreamMeter } from './stream-meter';
import { estimatePromptTokens } from './token-estimate';
import {
  totalTokens,
  ZERO_USAGE,
  type ChatCompletion,
  type ChatRequest,
  type ChatStreamEvent,
  type TokenUsage,
} from './types';
import { toClientError } from './upstream-errors';

/** What the chat service needs; everything is injected so tests can point it anywhere. */
export interface ChatServiceDeps {
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
  /** Where each request's metrics and summary log go (EMF on stdout by default). */
  observe?: (observation: RequestObservation) => void;
  now?: () => number;
}

/** Identity of one request as the HTTP layer saw it. */
export interface RequestContext {
  requestId: string;
  /** Epoch ms at which the request arrived; fixes its ledger day. */
  receivedAt: number;
  /**
   * Epoch ms by which a stream must be over: one still running then is cut with an error
   * event, so that it is recorded before its Lambda is stopped. None: no limit.
   */
  streamDeadline?: number;
  /**
   * Epoch ms at which Lambda stops the invocation: usage writes are retried inline only while
   * there is time left to hand them to the replay queue instead. None: no limit.
   */
  invocationDeadline?: number;
}

/** How a request was routed, for headers and the `gateway` field. */
export interface RoutingFacts {
  /** The model that served the request (a fallback when one was used). */
  model: ModelEntry;
  /** The model id or alias the caller asked for. */
  requestedModel: string;
  target: ProviderTarget;
  attempts: number;
  attemptLog: AttemptRecord[];
  rateLimit: RateLimitStatus;
  /** What the policy decided about the request (for a non-streamed answer, and the answer). */
  policy: PolicyDecision;
}

/** A served, non-streamed completion. */
export interface ChatOutcome extends RoutingFacts {
  completion: ChatCompletion;
  cost: CostBreakdown;
  latencyMs: number;
}

/** How a finished request ended, for the ledger, the audit trail and metrics. */
interface Ending {
  usage: TokenUsage;
  status: UsageRecord['status'];
  httpStatus: number;
  streamed: boolean;
  decision: PolicyDecision;
  responseExcerpt?: string;
  upstreamMs?: number;
  timeToFirstTokenMs?: number;
}

/**
 * What a streamed completion yields: the provider's events, then exactly one of `settled`
 * (usage metered and priced) or `failed` (the upstream broke off; what was delivered is metered
 * and priced). The ledger write starts just before either and ends with `recorded`.
 */
export type ServedStreamEvent =
  | ChatStreamEvent
  | { type: 'settled'; usage: TokenUsage; cost: CostBreakdown; latencyMs: number; policy: PolicyDecision }
  | {
      type: 'failed';
      error: GatewayError;
      usage: TokenUsage;
      cost: CostBreakdown;
      latencyMs: number;
      policy: PolicyDecision;
    };

/** A stream whose first event has arrived: routing is decided, the rest is in `events`. */
export interface ChatStreamStart extends RoutingFacts {
  events: AsyncIterable<ServedStreamEvent>;
  /**
   * Settles once the stream's usage is recorded (never rejects). The write starts when the
   * provider's stream ends or the consumer stops reading, and runs while the last events are
   * delivered: a consumer awaits this after its client has the last byte, or before answering
   * if it cannot work after answering.
   */
  recorded: Promise<void>;
}

/** A validated request, resolved against the catalog and the caller's permissions. */
interface ChatPlan {
  requested: ModelEntry;
  /** The request as it goes upstream (redacted where the profile says). */
  request: ChatRequest;
  candidates: RouteCandidate[];
  promptTokens: number;
  policy: CompiledPolicy;
  /** One per request: the same value gets the same placeholder in prompt, answer and audit. */
  redactor: Redactor;
  /** What the policy decided about the request. */
  decision: PolicyDecision;
  promptExcerpt?: string;
}

function routingFacts(
  body: ChatCompletionRequest,
  routed: RouteSuccess<unknown>,
  rateLimit: RateLimitStatus,
  policy: PolicyDecision,
): RoutingFacts {
  return {
    model: routed.candidate.model,
    requestedModel: body.model,
    target: routed.candidate.target,
    attempts: routed.attempts,
    attemptLog: routed.log,
    rateLimit,
    policy,
  };
}

/** Facts of a request that ended without a provider answer. */
type AttemptFacts = Pick<RoutingFacts, 'model' | 'requestedModel' | 'target' | 'attempts'> & {
  attemptLog?: AttemptRecord[];
};

/**
 * The Chat Completions request path after validation and authentication: apply the team's
 * policy profile to the request (allow-list, limits, deny rules, DLP, guardrail), admit it
 * against the rate limits and budget, route it to a provider (retries, fallbacks, deadline),
 * apply the profile to the answer, price the call and record it (ledger, aggregates, quota and
 * audit record in one transaction) before the response leaves (a stream: as it ends, see
 * {@link ChatStreamStart.recorded}). A request refused before
 * admission writes nothing but, when the policy blocked it, its audit record; every admitted
 * request leaves exactly one ledger entry and one audit record, whether it was served, failed,
 * or (streamed) broke off.
 */
export class ChatService {
  private readonly now: () => number;
  private readonly adapters: NonNullable<ChatServiceDeps['adapters']>;
  private readonly observe: NonNullable<ChatServiceDeps['observe']>;

  constructor(private readonly deps: ChatServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.adapters = deps.adapters ?? adapterFor;
    this.observe = deps.observe ?? observeRequest;
  }

  /**
   * Whether a caller may use a model: the team's, the key's and the team's policy profile's
   * allow-lists must all allow it.
   *
   * @example
   * catalog.listModels().filter((model) => chat.mayUse(caller, model))
   */
  mayUse(caller: AuthenticatedCaller, model: ModelEntry, policy = this.policyOf(caller)): boolean {
    return (
      isModelAllowed(model.id, caller.team.allowedModels, caller.key.allowedModels) &&
      isModelAllowed(model.id, policy.profile.allowedModels)
    );
  }

  private policyOf(caller: AuthenticatedCaller): CompiledPolicy {
    return this.deps.policies.profileFor(caller.team.policyProfile);
  }

  /**
   * Serves one non-streamed completion.
   *
   * @example
   * const outcome = await chat.complete(caller, body, { requestId, receivedAt });
   */
  async complete(
    caller: AuthenticatedCaller,
    body: ChatCompletionRequest,
    context: RequestContext,
  ): Promise<ChatOutcome> {
    const planned = await this.plan(caller, body, context, false);
    const admission = await this.admit(caller, body, planned, context);
    const plan = await this.guard(caller, body, context, planned, admission, false);
    const answers = new AnswerPolicy(plan.policy, plan.redactor, this.deps.guardrails);
    const { routed, upstreamMs } = await this.route(
      caller,
      body,
      context,
      plan,
      admission,
      false,
      (candidate, signal) =>
        this.adapters(candidate.target.connection.adapter).complete(plan.request, candidate.target, {
          signal,
          secrets: this.deps.secrets,
        }),
    );
    const facts = routingFacts(body, routed, admission.status, plan.decision);
    const answered = { ...routed.value, usage: billedUsage(routed.value, plan.promptTokens) };
    let completion: ChatCompletion;
    try {
      completion = await answers.checkCompletion(answered);
    } catch (error) {
      // The output guardrail failed: the provider has answered (and is paid), the answer is withheld.
      const failure = guardrailUnavailable(error);
      await this.finish(caller, facts, context, plan, admission, {
        usage: answered.usage,
        status: 'error',
        httpStatus: failure.status,
        streamed: false,
        decision: plan.decision,
        upstreamMs,
      });
      throw failure;
    }
    const decision = combine(plan.decision, answers.decision);
    const record = await this.finish(caller, facts, context, plan, admission, {
      usage: answered.usage,
      status: 'ok',
      httpStatus: 200,
      streamed: false,
      decision,
      upstreamMs,
      ...responseExcerptOf(answers),
    });
    return { ...facts, policy: decision, completion, cost: record.cost, latencyMs: record.latencyMs };
  }

  /**
   * Starts a streamed completion: routes until one provider produces its first event (so
   * failures before that are retried, fall back, or become a proper HTTP error), then hands
   * back the rest of the stream, checked by the policy as it flows. The stream's usage is
   * recorded as it ends (`recorded`), also when it breaks off or its consumer stops reading
   * (`signal` aborts the upstream call).
   *
   * @example
   * const start = await chat.stream(caller, body, { requestId, receivedAt });
   * for await (const event of start.events) send(event);
   */
  async stream(
    caller: AuthenticatedCaller,
    body: ChatCompletionRequest,
    context: RequestContext,
    signal?: AbortSignal,
  ): Promise<ChatStreamStart> {
    const planned = await this.plan(caller, body, context, true);
    const admission = await this.admit(caller, body, planned, context);
    const plan = await this.guard(caller, body, context, planned, admission, true);
    const upstream = new AbortController();
    const routeSignal = signal ? AbortSignal.any([signal, upstream.signal]) : upstream.signal;
    const { routed, upstreamMs } = await this.route(
      caller,
      body,
      context,
      plan,
      admission,
      true,
      async (candidate, attemptSignal) => {
        const iterator = this.adapters(candidate.target.connection.adapter)
          .stream(plan.request, candidate.target, { signal: attemptSignal, secrets: this.deps.secrets })
          [Symbol.asyncIterator]();
        const first = await iterator.next();
        return { iterator, first };
      },
      routeSignal,
    );
    const facts = routingFacts(body, routed, admission.status, plan.decision);
    let recording!: (written: Promise<void>) => void;
    const recorded = new Promise<void>((resolve) => (recording = resolve));
    return {
      ...facts,
      events: this.meteredEvents(caller, facts, context, plan, admission, routed.value, upstream, signal, recording, {
        upstreamMs,
        timeToFirstTokenMs: this.now() - context.receivedAt,
      }),
      recorded,
    };
  }

  /**
   * Routes an admitted request to a provider within the deadline (retries, fallbacks) and says
   * how long the providers took (for a stream, until its first event). A route that fails is
   * recorded (see {@link failedRoute}) and thrown as the client's error.
   */
  private async route<T>(
    caller: AuthenticatedCaller,
    body: ChatCompletionRequest,
    context: RequestContext,
    plan: ChatPlan,
    admission: Admission,
    streamed: boolean,
    call: (candidate: RouteCandidate, signal: AbortSignal) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<{ routed: RouteSuccess<T>; upstreamMs: number }> {
    const start = this.now();
    try {
      const routed = await this.deps.router.route(
        plan.candidates,
        start + this.deps.providerTimeoutMs,
        call,
        signal,
        caller.team.teamId,
      );
      return { routed, upstreamMs: this.now() - start };
    } catch (error) {
      throw await this.failedRoute(caller, body, context, plan, admission, error, streamed);
    }
  }

  /**
   * The rest of a started stream, checked by the policy and metered; its record is started
   * before the last event and handed to `recording`.
   */
  private async *meteredEvents(
    caller: AuthenticatedCaller,
    facts: RoutingFacts,
    context: RequestContext,
    plan: ChatPlan,
    admission: Admission,
    started: { iterator: AsyncIterator<ChatStreamEvent>; first: IteratorResult<ChatStreamEvent> },
    upstream: AbortController,
    clientSignal: AbortSignal | undefined,
    recording: (written: Promise<void>) => void,
    timing: { upstreamMs: number; timeToFirstTokenMs: number },
  ): AsyncGenerator<ServedStreamEvent> {
    // The meter sees the provider's events before the policy filters them: the caller pays for
    // what the model produced, including text a redaction or a block withheld.
    const meter = new StreamMeter();
    let upstreamDone = false;
    // A stream that goes silent is given up like a call that never answers, and one still
    // running at the deadline is cut: either way it ends with an error event and is recorded.
    const idleMs = facts.target.connection.timeoutMs ?? this.deps.providerTimeoutMs;
    const deadline = context.streamDeadline ?? Infinity;
    const now = this.now;
    async function* providerEvents() {
      let next = started.first;
      while (!next.done) {
        meter.observe(next.value);
        yield next.value;
        const left = deadline - now();
        next = await nextWithin(
          started.iterator,
          Math.min(idleMs, left),
          idleMs <= left ? `no event from the provider for ${idleMs} ms` : 'the stream reached its deadline',
        );
      }
      upstreamDone = true;
    }
    const answers = new AnswerPolicy(plan.policy, plan.redactor, this.deps.guardrails);
    let completed = false;
    let failure: GatewayError | undefined;
    let clientGone = false;
    let record: UsageRecord | undefined;
    let decision: PolicyDecision | undefined;
    try {
      for await (const event of answers.filterStream(providerEvents())) yield event;
      // Either the provider finished, or the policy blocked the answer (the upstream is stopped below).
      completed = true;
    } catch (error) {
      failure = this.streamFailure(error, facts);
      logger.warn('stream broke off', {
        requestId: context.requestId,
        provider: facts.target.connectionName,
        failure: failure.code,
      });
    } finally {
      // Runs on completion, on a failure, and when the consumer stops reading (client gone):
      // stop the upstream, then price and record what the provider produced.
      if (!upstreamDone) {
        upstream.abort();
        void started.iterator.return?.()?.catch(() => undefined);
      }
      // 499 (nginx's "client closed request"): the client left; whatever the upstream did after
      // that is a consequence, not the cause.
      clientGone = clientSignal?.aborted === true || (!completed && !failure);
      decision = combine(plan.decision, answers.decision);
      const settled = this.settle(caller, facts, context, plan, admission, {
        usage: meter.usage(plan.promptTokens, upstreamDone),
        status: completed ? 'ok' : 'error',
        httpStatus: completed ? 200 : clientGone ? 499 : failure!.status,
        streamed: true,
        decision,
        ...timing,
        ...responseExcerptOf(answers),
      });
      record = settled.record;
      recording(settled.recorded);
    }
    const ended = {
      usage: record.usage,
      cost: record.cost,
      latencyMs: record.latencyMs,
      policy: decision,
    };
    if (failure) yield { type: 'failed', error: failure, ...ended };
    else yield { type: 'settled', ...ended };
  }

  /** The client error for a stream that broke off. */
  private streamFailure(error: unknown, facts: RoutingFacts): GatewayError {
    if (error instanceof GatewayError) return error;
    const failure =
      error instanceof ProviderError ? error : new ProviderError('upstream_error', String(error), { cause: error });
    return toClientError(failure, facts.target.connectionName);
  }

  /**
   * Resolves the request against the catalog and the team's policy profile: the model, the
   * output cap, the request as it will go upstream (checked and redacted), the candidates the
   * caller may be routed to. A policy block is audited here and thrown (nothing else is written).
   */
  private async plan(
    caller: AuthenticatedCaller,
    body: ChatCompletionRequest,
    context: RequestContext,
    streamed: boolean,
  ): Promise<ChatPlan> {
    const policy = this.policyOf(caller);
    const requested = this.deps.catalog.findModel(body.model);
    if (!requested) {
      throw notFound(`The model '${body.model}' does not exist.`, ERROR_CODES.modelNotFound, 'model');
    }
    if (!this.mayUse(caller, requested, policy)) {
      throw forbidden(`This key may not use the model '${body.model}'.`, ERROR_CODES.modelNotAllowed, 'model');
    }
    const outputCap = Math.min(requested.maxOutputTokens, policy.profile.maxOutputTokens ?? Infinity);
    const original = toChatRequest(body, outputTokenLimit(body, outputCap));
    const promptTokens = estimatePromptTokens(original);
    const redactor = policy.newRedactor();
    const excerptChars = policy.profile.audit.promptExcerptChars;
    const promptExcerpt =
      excerptChars > 0 ? policy.redactAll(lastUserText(original), redactor).slice(0, excerptChars) : undefined;
    const base = { requested, policy, redactor, promptTokens, ...(promptExcerpt ? { promptExcerpt } : {}) };
    let checked;
    try {
      // Only the free, local checks here: a request they block never counts against a limit.
      checked = checkLocalPolicy(policy, original, promptTokens, redactor);
    } catch (error) {
      if (!(error instanceof PolicyViolationError)) throw error;
      await this.refused(caller, body, context, { ...base, decision: ALLOW }, error, streamed);
      throw error;
    }
    const candidates = this.deps.catalog
      .routeOf(requested)
      .filter((model, index) => index === 0 || this.mayUse(caller, model, policy))
      .map((model) => ({
        model,
        target: {
          connectionName: model.provider,
          connection: this.deps.catalog.connectionOf(model),
          upstreamModel: model.upstreamModel,
        },
      }));
    return { ...base, request: checked.request, decision: checked.decision, candidates };
  }

  /**
   * Applies the profile's billed Bedrock guardrail to an admitted request. It runs after
   * admission so that a request refused by a rate limit or budget never costs a guardrail call;
   * a request the guardrail blocks (or cannot judge) gives its admission back, is audited as
   * refused and writes no ledger entry.
   */
  private async guard(
    caller: AuthenticatedCaller,
    body: ChatCompletionRequest,
    context: RequestContext,
    plan: ChatPlan,
    admission: Admission,
    streamed: boolean,
  ): Promise<ChatPlan> {
    try {
      const checked = await checkInputGuardrail(plan.policy, plan, this.deps.guardrails);
      return { ...plan, request: checked.request, decision: checked.decision };
    } catch (error) {
      const refusal = error instanceof PolicyViolationError ? error : guardrailUnavailable(error);
      try {
        await this.deps.quota.release(admission);
      } catch (releaseError) {
        // The sweeper gives the reservation back later; the window's count lapses with the minute.
        logger.warn('admission not released after a guardrail refusal', {
          requestId: context.requestId,
          error: (releaseError as Error).name,
        });
      }
      await this.refused(caller, body, context, plan, refusal, streamed);
      throw refusal;
    }
  }

  /** Audits and observes a request the policy refused (or could not judge) before it was served. */
  private async refused(
    caller: AuthenticatedCaller,
    body: ChatCompletionRequest,
    context: RequestContext,
    plan: Pick<ChatPlan, 'requested' | 'decision' | 'promptExcerpt'>,
    refusal: GatewayError,
    streamed: boolean,
  ): Promise<void> {
    const blocked = refusal instanceof PolicyViolationError;
    const decision: PolicyDecision = blocked ? { action: 'block', ruleIds: [refusal.ruleId] } : plan.decision;
    const latencyMs = this.now() - context.receivedAt;
    const record: AuditRecord = {
      requestId: context.requestId,
      teamId: caller.team.teamId,
      keyId: caller.key.keyId,
      requestedModel: body.model,
      model: plan.requested.id,
      decision: decision.action,
      ruleIds: decision.ruleIds,
      status: blocked ? 'blocked' : 'error',
      httpStatus: refusal.status,
      streamed,
      costMicros: 0,
      latencyMs,
      ...(plan.promptExcerpt ? { promptExcerpt: plan.promptExcerpt } : {}),
      createdAt: new Date(context.receivedAt).toISOString(),
    };
    await this.deps.usage.record(
      singleItemWrite(record.requestId, record.teamId, this.deps.audit.entryItem(record)),
      context.invocationDeadline,
    );
    this.observeRefusal(caller, body, context, decision, streamed, {
      outcome: blocked ? 'blocked' : 'error',
      httpStatus: refusal.status,
      latencyMs,
    });
  }

  /** Observes a request refused before any provider was called (nothing was admitted). */
  private observeRefusal(
    caller: AuthenticatedCaller,
    body: ChatCompletionRequest,
    context: RequestContext,
    decision: PolicyDecision,
    streamed: boolean,
    refusal: Pick<RequestObservation, 'outcome' | 'httpStatus' | 'limitType' | 'latencyMs'>,
  ): void {
    this.observe({
      requestId: context.requestId,
      teamId: caller.team.teamId,
      keyId: caller.key.keyId,
      requestedModel: body.model,
      streamed,
      decision: decision.action,
      ruleIds: decision.ruleIds,
      ...refusal,
    });
  }

  /**
   * Admits the request against the team's and key's per-minute limits and, for a team with a
   * budget, reserves its worst-case cost: the prompt estimate at the highest prompt price and the
   * output cap at the highest output price among the models it may be routed to. The provider is
   * always called with that output cap, so the reservation bounds the real cost.
   */
  private async admit(
    caller: AuthenticatedCaller,
    body: ChatCompletionRequest,
    plan: ChatPlan,
    context: RequestContext,
  ): Promise<Admission> {
    const { team, key } = caller;
    const reserveMicros = Math.max(
      ...plan.candidates.map(({ model: { prices } }) => {
        const promptPrice = Math.max(
          prices.inputMicrosPerMTok,
          prices.cacheReadMicrosPerMTok,
          prices.cacheWriteMicrosPerMTok,
        );
        return (
          lineItemMicros(plan.promptTokens, promptPrice) +
          lineItemMicros(plan.request.maxOutputTokens, prices.outputMicrosPerMTok)
        );
      }),
    );
    try {
      return await this.deps.quota.admit({
        teamId: team.teamId,
        keyId: key.keyId,
        receivedAt: context.receivedAt,
        promptTokens: plan.promptTokens,
        limits: {
          teamRequestsPerMinute: team.requestsPerMinute,
          teamTokensPerMinute: team.tokensPerMinute,
          ...(key.requestsPerMinute !== undefined ? { keyRequestsPerMinute: key.requestsPerMinute } : {}),
          ...(key.tokensPerMinute !== undefined ? { keyTokensPerMinute: key.tokensPerMinute } : {}),
        },
        ...(team.monthlyBudgetMicros !== undefined
          ? {
              budget: {
                monthlyBudgetMicros: team.monthlyBudgetMicros,
                reserveMicros,
                softAlertPercent: team.softAlertPercent,
              },
            }
          : {}),
      });
    } catch (error) {
      // Refusals by quota are counted, not audited: a client hammering a spent limit would
      // otherwise turn every refused request into a DynamoDB write.
      if (error instanceof RateLimitExceededError || error instanceof BudgetExhaustedError) {
        this.observeRefusal(caller, body, context, plan.decision, body.stream === true, {
          outcome: error instanceof RateLimitExceededError ? 'throttled' : 'budget_exhausted',
          httpStatus: error.status,
          ...(error instanceof RateLimitExceededError ? { limitType: error.limitType } : {}),
          latencyMs: this.now() - context.receivedAt,
        });
      }
      throw error;
    }
  }

  /**
   * Records a request no provider served (giving back what admission took) and returns the
   * client error to throw. Anything that is not a routing failure (a bug, DynamoDB down) is
   * recorded the same way and rethrown.
   */
  private async failedRoute(
    caller: AuthenticatedCaller,
    body: ChatCompletionRequest,
    context: RequestContext,
    plan: ChatPlan,
    admission: Admission,
    error: unknown,
    streamed: boolean,
  ): Promise<GatewayError> {
    const routeFailed = error instanceof RouteFailedError ? error : undefined;
    const candidate = routeFailed?.lastCandidate ?? plan.candidates[0]!;
    let clientError: GatewayError | undefined;
    if (routeFailed) {
      logger.warn('no provider served the request', {
        requestId: context.requestId,
        attempts: routeFailed.attempts,
        route: routeFailed.log,
      });
      clientError = toClientError(routeFailed.lastError, candidate.target.connectionName);
      // A failure says how it was routed too, as a success does (headers only: the body is OpenAI's).
      Object.assign(clientError.headers, {
        [GATEWAY_HEADERS.model]: candidate.model.id,
        [GATEWAY_HEADERS.provider]: candidate.target.connectionName,
        [GATEWAY_HEADERS.attempts]: String(routeFailed.attempts),
      });
    }
    await this.finish(
      caller,
      {
        model: candidate.model,
        requestedModel: body.model,
        target: candidate.target,
        attempts: routeFailed?.attempts ?? 0,
        ...(routeFailed ? { attemptLog: routeFailed.log } : {}),
      },
      context,
      plan,
      admission,
      {
        usage: { ...ZERO_USAGE },
        status: 'error',
        httpStatus: clientError?.status ?? 500,
        streamed,
        decision: plan.decision,
      },
    );
    if (!clientError) throw error;
    return clientError;
  }

  /**
   * Records an admitted request: its ledger entry, aggregates, quota settlement and audit
   * record in one transaction; then its metrics and summary log.
   */
  private async finish(...request: Parameters<ChatService['settle']>): Promise<UsageRecord> {
    const { record, recorded } = this.settle(...request);
    await recorded;
    return record;
  }

  /**
   * Prices an admitted request at once and starts recording it (see {@link finish}); `recorded`
   * settles when the usage is recorded: in DynamoDB, retried while the failure is transient and
   * the invocation has time, else on the replay queue, which lands it later exactly once. The
   * answer stands either way (the provider has already been paid): `recorded` never rejects.
   */
  private settle(
    caller: AuthenticatedCaller,
    facts: AttemptFacts,
    context: RequestContext,
    plan: ChatPlan,
    admission: Admission,
    ending: Ending,
  ): { record: UsageRecord; recorded: Promise<void> } {
    const record: UsageRecord = {
      requestId: context.requestId,
      teamId: caller.team.teamId,
      keyId: caller.key.keyId,
      model: facts.model.id,
      requestedModel: facts.requestedModel,
      provider: facts.target.connectionName,
      upstreamModel: facts.target.upstreamModel,
      attempts: facts.attempts,
      status: ending.status,
      httpStatus: ending.httpStatus,
      streamed: ending.streamed,
      usage: ending.usage,
      cost: priceUsage(ending.usage, facts.model.prices),
      latencyMs: this.now() - context.receivedAt,
      createdAt: new Date(context.receivedAt).toISOString(),
    };
    const audit = auditRecordOf(record, ending.decision, {
      promptExcerpt: plan.promptExcerpt,
      responseExcerpt: ending.responseExcerpt,
    });
    const tokens = totalTokens(record.usage);
    const settlement: QuotaSettlement = {
      ...this.deps.quota.settlement(admission, tokens, record.cost.totalMicros),
      ifSwept: () => this.deps.quota.lateSettlement(admission, tokens, record.cost.totalMicros),
    };
    const attemptLog = facts.attemptLog ?? [];
    const observation: RequestObservation = {
      requestId: record.requestId,
      teamId: record.teamId,
      keyId: record.keyId,
      requestedModel: record.requestedModel,
      model: record.model,
      provider: record.provider,
      outcome: record.status,
      httpStatus: record.httpStatus,
      streamed: record.streamed,
      decision: ending.decision.action,
      ruleIds: ending.decision.ruleIds,
      usage: record.usage,
      costMicros: record.cost.totalMicros,
      latencyMs: record.latencyMs,
      ...(ending.upstreamMs !== undefined ? { upstreamMs: ending.upstreamMs } : {}),
      ...(ending.timeToFirstTokenMs !== undefined ? { timeToFirstTokenMs: ending.timeToFirstTokenMs } : {}),
      attempts: record.attempts,
      fellBack: record.model !== plan.requested.id,
      failedAttempts: attemptLog.filter((attempt) => attempt.outcome === 'failed').length,
    };
    const write = this.deps.usage.prepare(record, settlement, [this.deps.audit.entryItem(audit)]);
    const recorded = (async () => {
      await this.deps.usage.record(write, context.invocationDeadline);
      this.observe(observation);
    })();
    return { record, recorded };
  }
}

/**
 * The iterator's next result, or a `timeout` ProviderError when none arrives within `ms`. The
 * read left behind fails once the caller aborts the upstream; that failure is expected.
 */
async function nextWithin<T>(iterator: AsyncIterator<T>, ms: number, reason: string): Promise<IteratorResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const next = iterator.next();
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProviderError('timeout', reason)), Math.max(0, ms));
  });
  try {
    return await Promise.race([next, expired]);
  } finally {
    clearTimeout(timer);
    next.catch(() => undefined);
  }
}

/** The answer's redacted excerpt, when the profile keeps one. */
function responseExcerptOf(answers: AnswerPolicy): { responseExcerpt?: string } {
  const excerpt = answers.responseExcerpt();
  return excerpt ? { responseExcerpt: excerpt } : {};
}
