import middy from '@middy/core';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Catalog } from '../shared/catalog/catalog';
import { ChatService, newCompletionId, parseChatCompletionRequest, toChatCompletionResponse } from '../shared/chat';
import { formatMicros } from '../shared/cost/money';
import {
  createRouter,
  GATEWAY_HEADERS,
  jsonResponse,
  openAiErrors,
  parseJsonBody,
  presentedApiKey,
  requestIdHeader,
  type HttpRequest,
  type RouteKeyOf,
} from '../shared/http';
import { createAuthenticator, type ApiKeyAuthenticator } from '../shared/keys/authenticator';
import { isModelAllowed } from '../shared/policy/model-access';
import { RateLimiter, rateLimitHeaders } from '../shared/quota/rate-limiter';
import type { TableNames } from '../shared/store/schema';
import { UsageRecorder } from '../shared/usage/recorder';

/** What the gateway Lambda needs; `index.ts` builds it from the environment, tests from DynamoDB Local. */
export interface GatewayHandlerDeps {
  catalog: Catalog;
  authenticator: ApiKeyAuthenticator;
  chat: ChatService;
}

/**
 * The gateway Lambda: health, the models a key may use, and Chat Completions. Each route
 * parses, calls the shared library and formats; no policy or quota logic lives here.
 *
 * @example
 * export const handler = createGatewayHandler(deps);
 */
export function createGatewayHandler(deps: GatewayHandlerDeps) {
  async function health() {
    return jsonResponse(200, { status: 'ok' });
  }

  async function listModels(request: HttpRequest) {
    const caller = await deps.authenticator.authenticate(presentedApiKey(request));
    const data = deps.catalog
      .listModels()
      .filter((model) => isModelAllowed(model.id, caller.team.allowedModels, caller.key.allowedModels))
      .map((model) => ({
        id: model.id,
        object: 'model' as const,
        created: 0,
        owned_by: model.provider,
        gateway: {
          provider: model.provider,
          description: model.description ?? null,
          max_output_tokens: model.maxOutputTokens,
          prices_usd_per_million_tokens: {
            input: formatMicros(model.prices.inputMicrosPerMTok),
            output: formatMicros(model.prices.outputMicrosPerMTok),
            cache_read: formatMicros(model.prices.cacheReadMicrosPerMTok),
            cache_write: formatMicros(model.prices.cacheWriteMicrosPerMTok),
          },
        },
      }));
    return jsonResponse(200, { object: 'list', data }, requestIdHeader(request.apiRequestId));
  }

  async function chatCompletions(request: HttpRequest) {
    const body = parseChatCompletionRequest(parseJsonBody(request));
    const caller = await deps.authenticator.authenticate(presentedApiKey(request));
    const outcome = await deps.chat.complete(caller, body, {
      requestId: request.apiRequestId,
      receivedAt: request.receivedAt,
    });
    const facts = {
      requestId: request.apiRequestId,
      teamId: caller.team.teamId,
      keyId: caller.key.keyId,
      provider: outcome.target.connectionName,
      upstreamModel: outcome.target.upstreamModel,
      costMicros: outcome.cost.totalMicros,
      latencyMs: outcome.latencyMs,
    };
    const payload = toChatCompletionResponse({
      id: newCompletionId(),
      created: Math.floor(request.receivedAt / 1000),
      model: outcome.model.id,
      completion: outcome.completion,
      facts,
    });
    return jsonResponse(200, payload, {
      ...requestIdHeader(request.apiRequestId),
      ...rateLimitHeaders(outcome.rateLimit),
      [GATEWAY_HEADERS.team]: facts.teamId,
      [GATEWAY_HEADERS.keyId]: facts.keyId,
      [GATEWAY_HEADERS.provider]: facts.provider,
      [GATEWAY_HEADERS.upstreamModel]: facts.upstreamModel,
      [GATEWAY_HEADERS.costUsd]: formatMicros(facts.costMicros),
    });
  }

  const route = createRouter<RouteKeyOf<'gateway'>>({
    'GET /health': health,
    'GET /v1/models': listModels,
    'POST /v1/chat/completions': chatCompletions,
    'POST /v1/chat': chatCompletions,
  });
  return middy(route).use(openAiErrors());
}

/** Settings the gateway Lambda is built from (the environment in AWS, DynamoDB Local in tests). */
export interface GatewaySettings {
  db: DynamoDBDocumentClient;
  tables: Pick<TableNames, 'identity' | 'counters' | 'usage'>;
  catalog: Catalog;
  identityCacheTtlMs: number;
  providerTimeoutMs: number;
  now?: () => number;
}

/**
 * Wires the gateway's dependencies; `index.ts` and the tests share this wiring.
 *
 * @example
 * createGatewayHandler(gatewayDependencies({ db, tables, catalog, identityCacheTtlMs: 30_000, providerTimeoutMs: 25_000 }))
 */
export function gatewayDependencies(settings: GatewaySettings): GatewayHandlerDeps {
  const now = settings.now ?? Date.now;
  return {
    catalog: settings.catalog,
    authenticator: createAuthenticator(settings.db, settings.tables.identity, settings.identityCacheTtlMs, now),
    chat: new ChatService({
      catalog: settings.catalog,
      rateLimiter: new RateLimiter(settings.db, settings.tables.counters, now),
      usage: new UsageRecorder(settings.db, settings.tables.usage),
      providerTimeoutMs: settings.providerTimeoutMs,
      now,
    }),
  };
}
