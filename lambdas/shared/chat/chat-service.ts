import type { Catalog } from '../catalog/catalog';
import type { ModelEntry } from '../catalog/schema';
import { lineItemMicros, priceUsage, type CostBreakdown } from '../cost/pricing';
import { ERROR_CODES, forbidden, notFound, type GatewayError } from '../http/errors';
import type { AuthenticatedCaller } from '../keys/authenticator';
import { logger } from '../observability/logger';
import { isModelAllowed } from '../policy/model-access';
import { ProviderError } from '../providers/errors';
import { adapterFor } from '../providers/registry';
import type { SecretResolver } from '../providers/secrets';
import type { ProviderAdapter, ProviderTarget } from '../providers/types';
import type { RateLimitStatus } from '../quota/limits';
import type { Admission, QuotaService } from '../quota/quota-service';
import {
  RouteFailedError,
  type AttemptRecord,
  type RouteCandidate,
  type Router,
  type RouteSuccess,
} from '../routing/router';
import type { UsageRecord } from '../usage/record';
import type { QuotaSettlement, UsageRecorder } from '../usage/recorder';
import { outputTokenLimit, toChatRequest, type ChatCompletionRequest } from './openai-request';
import { StreamMeter } from './stream-meter';
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
  usage: UsageRecorder;
  router: Router;
  secrets: SecretResolver;
  /**
   * Overall deadline for getting an answer (all retries and fallbacks included); for a stream,
   * for getting its first event. Kept under the API's own timeout (30 s on an HTTP API).
   */
  providerTimeoutMs: number;
  adapters?: (id: ProviderTarget['connection']['adapter']) => ProviderAdapter;
  now?: () => number;
}

/** Identity of one request as the HTTP layer saw it. */
export interface RequestContext {
  requestId: string;
  /** Epoch ms at which the request arrived; fixes its ledger day. */
  receivedAt: number;
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
}

/** A served, non-streamed completion. */
export interface ChatOutcome extends RoutingFacts {
  completion: ChatCompletion;
  cost: CostBreakdown;
  latencyMs: number;
}

/**
 * What a streamed completion yields: the provider's events, then exactly one of `settled`
 * (usage recorded, with its price) or `failed` (the upstream broke off; what was delivered is
 * recorded and priced). Either comes after the ledger write.
 */
export type ServedStreamEvent =
  | ChatStreamEvent
  | { type: 'settled'; usage: TokenUsage; cost: CostBreakdown; latencyMs: number }
  | { type: 'failed'; error: GatewayError; usage: TokenUsage; cost: CostBreakdown; latencyMs: number };

/** A stream whose first event has arrived: routing is decided, the rest is in `events`. */
export interface ChatStreamStart extends RoutingFacts {
  events: AsyncIterable<ServedStreamEvent>;
}

/** A validated request, resolved against the catalog and the caller's permissions. */
interface ChatPlan {
  requested: ModelEntry;
  request: ChatRequest;
  candidates: RouteCandidate[];
  promptTokens: number;
}

function routingFacts(
  body: ChatCompletionRequest,
  routed: RouteSuccess<unknown>,
  rateLimit: RateLimitStatus,
): RoutingFacts {
  return {
    model: routed.candidate.model,
    requestedModel: body.model,
    target: routed.candidate.target,
    attempts: routed.attempts,
    attemptLog: routed.log,
    rateLimit,
  };
}

/**
 * The Chat Completions request path after validation and authentication: authorise the model,
 * admit against the rate limits, route to the provider (retries, fallbacks, deadline), price
 * the call and record it in the ledger before the response leaves. A request refused before
 * admission writes nothing; every admitted request leaves exactly one ledger entry, priced for
 * the model that served it, whether it was served, failed, or (streamed) broke off.
 */
export class ChatService {
  private readonly now: () => number;
  private readonly adapters: NonNullable<ChatServiceDeps['adapters']>;

  constructor(private readonly deps: ChatServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.adapters = deps.adapters ?? adapterFor;
  }

  /**
   * The model a caller named (id or alias), if it exists and the caller may use it; else 404 or 403.
   *
   * @example
   * const model = chat.authorizeModel(caller, 'mock-small');
   */
  authorizeModel(caller: AuthenticatedCaller, modelId: string): ModelEntry {
    const model = this.deps.catalog.findModel(modelId);
    if (!model) {
      throw notFound(`The model '${modelId}' does not exist.`, ERROR_CODES.modelNotFound, 'model');
    }
    if (!this.mayUse(caller, model)) {
      throw forbidden(`This key may not use the model '${modelId}'.`, ERROR_CODES.modelNotAllowed, 'model');
    }
    return model;
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
    const plan = this.plan(caller, body);
    const admission = await this.admit(caller, plan, context);
    let routed;
    try {
      routed = await this.deps.router.route(
        plan.candidates,
        this.now() + this.deps.providerTimeoutMs,
        (candidate, signal) =>
          this.adapters(candidate.target.connection.adapter).complete(plan.request, candidate.target, {
            signal,
            secrets: this.deps.secrets,
          }),
      );
    } catch (error) {
      throw await this.failedRoute(caller, body, context, plan, admission, error, false);
    }
    const facts = routingFacts(body, routed, admission.status);
    const record = this.usageRecord(caller, facts, context, {
      usage: routed.value.usage,
      status: 'ok',
      httpStatus: 200,
      streamed: false,
    });
    await this.recordSafely(record, admission);
    return { ...facts, completion: routed.value, cost: record.cost, latencyMs: record.latencyMs };
  }

  /**
   * Starts a streamed completion: routes until one provider produces its first event (so
   * failures before that are retried, fall back, or become a proper HTTP error), then hands
   * back the rest of the stream. The stream records its usage before it ends, also when it
   * breaks off or its consumer stops reading (`signal` aborts the upstream call).
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
    const plan = this.plan(caller, body);
    const admission = await this.admit(caller, plan, context);
    const upstream = new AbortController();
    const routeSignal = signal ? AbortSignal.any([signal, upstream.signal]) : upstream.signal;
    let routed;
    try {
      routed = await this.deps.router.route(
        plan.candidates,
        this.now() + this.deps.providerTimeoutMs,
        async (candidate, attemptSignal) => {
          const iterator = this.adapters(candidate.target.connection.adapter)
            .stream(plan.request, candidate.target, { signal: attemptSignal, secrets: this.deps.secrets })
            [Symbol.asyncIterator]();
          const first = await iterator.next();
          return { iterator, first };
        },
        routeSignal,
      );
    } catch (error) {
      throw await this.failedRoute(caller, body, context, plan, admission, error, true);
    }
    const facts = routingFacts(body, routed, admission.status);
    return {
      ...facts,
      events: this.meteredEvents(caller, facts, context, plan, admission, routed.value, upstream, signal),
    };
  }

  /** The rest of a started stream, metered, recorded before it ends. */
  private async *meteredEvents(
    caller: AuthenticatedCaller,
    facts: RoutingFacts,
    context: RequestContext,
    plan: ChatPlan,
    admission: Admission,
    started: { iterator: AsyncIterator<ChatStreamEvent>; first: IteratorResult<ChatStreamEvent> },
    upstream: AbortController,
    clientSignal: AbortSignal | undefined,
  ): AsyncGenerator<ServedStreamEvent> {
    const meter = new StreamMeter();
    let completed = false;
    let failure: ProviderError | undefined;
    let record: UsageRecord | undefined;
    try {
      let next = started.first;
      while (!next.done) {
        meter.observe(next.value);
        yield next.value;
        next = await started.iterator.next();
      }
      completed = true;
    } catch (error) {
      failure =
        error instanceof ProviderError ? error : new ProviderError('upstream_error', String(error), { cause: error });
      logger.warn('stream broke off', {
        requestId: context.requestId,
        provider: facts.target.connectionName,
        failure: failure.failure,
      });
    } finally {
      // Runs on completion, on an upstream failure, and when the consumer stops reading
      // (client gone): stop the upstream, then price and record what was delivered.
      if (!completed) {
        upstream.abort();
        void started.iterator.return?.()?.catch(() => undefined);
      }
      // 499 (nginx's "client closed request"): the client left; whatever the upstream did after
      // that is a consequence, not the cause.
      const clientGone = clientSignal?.aborted === true || (!completed && !failure);
      const usage = meter.usage(plan.promptTokens, completed);
      record = this.usageRecord(caller, facts, context, {
        usage,
        status: completed ? 'ok' : 'error',
        httpStatus: completed ? 200 : clientGone ? 499 : toClientError(failure!, facts.target.connectionName).status,
        streamed: true,
      });
      await this.recordSafely(record, admission);
    }
    if (failure) {
      yield {
        type: 'failed',
        error: toClientError(failure, facts.target.connectionName),
        usage: record.usage,
        cost: record.cost,
        latencyMs: record.latencyMs,
      };
    } else {
      yield { type: 'settled', usage: record.usage, cost: record.cost, latencyMs: record.latencyMs };
    }
  }

  private mayUse(caller: AuthenticatedCaller, model: ModelEntry): boolean {
    return isModelAllowed(model.id, caller.team.allowedModels, caller.key.allowedModels);
  }

  /** Resolves the request: model, output cap, gateway request, candidates the caller may use. */
  private plan(caller: AuthenticatedCaller, body: ChatCompletionRequest): ChatPlan {
    const requested = this.authorizeModel(caller, body.model);
    const request = toChatRequest(body, outputTokenLimit(body, requested.maxOutputTokens));
    const candidates = this.deps.catalog
      .routeOf(requested)
      .filter((model, index) => index === 0 || this.mayUse(caller, model))
      .map((model) => ({
        model,
        target: {
          connectionName: model.provider,
          connection: this.deps.catalog.connectionOf(model),
          upstreamModel: model.upstreamModel,
        },
      }));
    return { requested, request, candidates, promptTokens: estimatePromptTokens(request) };
  }

  /**
   * Admits the request against the team's and key's per-minute limits and, for a team with a
   * budget, reserves its worst-case cost: the prompt estimate at the highest prompt price and the
   * output cap at the highest output price among the models it may be routed to. The provider is
   * always called with that output cap, so the reservation bounds the real cost.
   */
  private admit(caller: AuthenticatedCaller, plan: ChatPlan, context: RequestContext): Promise<Admission> {
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
    return this.deps.quota.admit({
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
    const clientError = routeFailed
      ? toClientError(routeFailed.lastError, routeFailed.lastCandidate.target.connectionName)
      : undefined;
    if (routeFailed) {
      logger.warn('no provider served the request', {
        requestId: context.requestId,
        attempts: routeFailed.attempts,
        route: routeFailed.log,
      });
    }
    const candidate = routeFailed?.lastCandidate ?? plan.candidates[0]!;
    const facts = {
      model: candidate.model,
      requestedModel: body.model,
      target: candidate.target,
      attempts: routeFailed?.attempts ?? 0,
    };
    await this.recordSafely(
      this.usageRecord(caller, facts, context, {
        usage: { ...ZERO_USAGE },
        status: 'error',
        httpStatus: clientError?.status ?? 500,
        streamed,
      }),
      admission,
    );
    if (!clientError) throw error;
    return clientError;
  }

  private usageRecord(
    caller: AuthenticatedCaller,
    facts: Pick<RoutingFacts, 'model' | 'requestedModel' | 'target' | 'attempts'>,
    context: RequestContext,
    result: { usage: TokenUsage; status: UsageRecord['status']; httpStatus: number; streamed: boolean },
  ): UsageRecord {
    return {
      requestId: context.requestId,
      teamId: caller.team.teamId,
      keyId: caller.key.keyId,
      model: facts.model.id,
      requestedModel: facts.requestedModel,
      provider: facts.target.connectionName,
      upstreamModel: facts.target.upstreamModel,
      attempts: facts.attempts,
      status: result.status,
      httpStatus: result.httpStatus,
      streamed: result.streamed,
      usage: result.usage,
      cost: priceUsage(result.usage, facts.model.prices),
      latencyMs: this.now() - context.receivedAt,
      createdAt: new Date(context.receivedAt).toISOString(),
    };
  }

  /**
   * Records usage before the response leaves. If DynamoDB refuses even after retries, the
   * answer is still returned (the provider has already been paid) and the full record is logged
   * as an error so it can be replayed into the ledger.
   */
  private async recordSafely(record: UsageRecord, admission: Admission): Promise<void> {
    const tokens = totalTokens(record.usage);
    const settlement: QuotaSettlement = {
      ...this.deps.quota.settlement(admission, tokens, record.cost.totalMicros),
      ifSwept: () => this.deps.quota.lateSettlement(admission, tokens, record.cost.totalMicros),
    };
    try {
      await this.deps.usage.record(record, settlement);
    } catch (error) {
      logger.error('usage record failed; replay this record', { usageRecord: record, error: error as Error });
    }
  }
}
