import type { Catalog } from '../catalog/catalog';
import type { ModelEntry } from '../catalog/schema';
import { priceUsage, type CostBreakdown } from '../cost/pricing';
import { ERROR_CODES, forbidden, invalidRequest, notFound } from '../http/errors';
import type { AuthenticatedCaller } from '../keys/authenticator';
import { logger } from '../observability/logger';
import { isModelAllowed } from '../policy/model-access';
import { ProviderError } from '../providers/errors';
import { adapterFor } from '../providers/registry';
import type { ProviderAdapter, ProviderTarget } from '../providers/types';
import type { RateLimiter, RateLimitStatus } from '../quota/rate-limiter';
import type { UsageRecord } from '../usage/record';
import type { UsageRecorder } from '../usage/recorder';
import { outputTokenLimit, toChatRequest, type ChatCompletionRequest } from './openai-request';
import { ZERO_USAGE, type ChatCompletion } from './types';
import { toClientError } from './upstream-errors';

/** What the chat service needs; everything is injected so tests can point it anywhere. */
export interface ChatServiceDeps {
  catalog: Catalog;
  rateLimiter: RateLimiter;
  usage: UsageRecorder;
  /** Longest wait for a provider, kept under the API's own timeout (30 s on an HTTP API). */
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

/** A served completion and everything the response reports about it. */
export interface ChatOutcome {
  model: ModelEntry;
  target: ProviderTarget;
  completion: ChatCompletion;
  cost: CostBreakdown;
  rateLimit: RateLimitStatus;
  latencyMs: number;
}

/**
 * The Chat Completions request path after validation and authentication: authorise the model,
 * admit against the rate limits, call the provider with a deadline, price the call and record it
 * in the ledger before the response is returned. A request refused before admission writes
 * nothing; every admitted request leaves exactly one ledger entry, served or failed.
 */
export class ChatService {
  private readonly now: () => number;
  private readonly adapters: NonNullable<ChatServiceDeps['adapters']>;

  constructor(private readonly deps: ChatServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.adapters = deps.adapters ?? adapterFor;
  }

  /**
   * The model a caller named, if it exists and the caller may use it; else 404 or 403.
   *
   * @example
   * const model = chat.authorizeModel(caller, 'mock-small');
   */
  authorizeModel(caller: AuthenticatedCaller, modelId: string): ModelEntry {
    const model = this.deps.catalog.findModel(modelId);
    if (!model) {
      throw notFound(`The model '${modelId}' does not exist.`, ERROR_CODES.modelNotFound, 'model');
    }
    if (!isModelAllowed(model.id, caller.team.allowedModels, caller.key.allowedModels)) {
      throw forbidden(`This key may not use the model '${model.id}'.`, ERROR_CODES.modelNotAllowed, 'model');
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
    if (body.stream) {
      throw invalidRequest('stream: true is not supported on this endpoint yet; send stream: false.', {
        param: 'stream',
      });
    }
    const model = this.authorizeModel(caller, body.model);
    const request = toChatRequest(body, outputTokenLimit(body, model.maxOutputTokens));
    const connection = this.deps.catalog.connectionOf(model);
    const target: ProviderTarget = { connectionName: model.provider, connection, upstreamModel: model.upstreamModel };

    const rateLimit = await this.deps.rateLimiter.admit({
      teamId: caller.team.teamId,
      keyId: caller.key.keyId,
      teamRequestsPerMinute: caller.team.requestsPerMinute,
      ...(caller.key.requestsPerMinute !== undefined ? { keyRequestsPerMinute: caller.key.requestsPerMinute } : {}),
    });

    let completion: ChatCompletion;
    try {
      completion = await this.adapters(connection.adapter).complete(request, target, {
        signal: AbortSignal.timeout(this.deps.providerTimeoutMs),
      });
    } catch (error) {
      const providerError =
        error instanceof ProviderError ? error : new ProviderError('upstream_error', String(error), { cause: error });
      const clientError = toClientError(providerError, model.provider);
      logger.warn('provider call failed', {
        requestId: context.requestId,
        provider: model.provider,
        failure: providerError.failure,
        upstreamStatus: providerError.upstreamStatus,
      });
      await this.recordSafely(
        this.usageRecord(caller, model, target, context, {
          completion: { text: '', toolCalls: [], finishReason: 'stop', usage: { ...ZERO_USAGE } },
          status: 'error',
          httpStatus: clientError.status,
        }),
      );
      throw clientError;
    }

    const record = this.usageRecord(caller, model, target, context, { completion, status: 'ok', httpStatus: 200 });
    await this.recordSafely(record);
    return { model, target, completion, cost: record.cost, rateLimit, latencyMs: record.latencyMs };
  }

  private usageRecord(
    caller: AuthenticatedCaller,
    model: ModelEntry,
    target: ProviderTarget,
    context: RequestContext,
    result: { completion: ChatCompletion; status: UsageRecord['status']; httpStatus: number },
  ): UsageRecord {
    return {
      requestId: context.requestId,
      teamId: caller.team.teamId,
      keyId: caller.key.keyId,
      model: model.id,
      provider: target.connectionName,
      upstreamModel: target.upstreamModel,
      status: result.status,
      httpStatus: result.httpStatus,
      streamed: false,
      usage: result.completion.usage,
      cost: priceUsage(result.completion.usage, model.prices),
      latencyMs: this.now() - context.receivedAt,
      createdAt: new Date(context.receivedAt).toISOString(),
    };
  }

  /**
   * Records usage before the response leaves. If DynamoDB refuses even after retries, the
   * answer is still returned (the provider has already been paid) and the full record is logged
   * as an error so it can be replayed into the ledger.
   */
  private async recordSafely(record: UsageRecord): Promise<void> {
    try {
      await this.deps.usage.record(record);
    } catch (error) {
      logger.error('usage record failed; replay this record', { usageRecord: record, error: error as Error });
    }
  }
}
