import { Readable, type Writable } from 'node:stream';
import middy from '@middy/core';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { Catalog } from '../shared/catalog/catalog';
import { loadCatalog } from '../shared/catalog/load';
import {
  ChatService,
  type ChatServiceDeps,
  createChunkEncoder,
  newCompletionId,
  parseChatCompletionRequest,
  toChatCompletionResponse,
  type ChatCompletionRequest,
  type GatewayFacts,
  type RoutingFacts,
} from '../shared/chat';
import { loadEnvironment, loadReplayQueue } from '../shared/config/environment';
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
  type HttpResponse,
  type RouteKeyOf,
  type StreamingHttpResponse,
} from '../shared/http';
import { createAuthenticator, type ApiKeyAuthenticator, type AuthenticatedCaller } from '../shared/keys/authenticator';
import { AuditLog } from '../shared/audit/audit-log';
import { PolicyEngine } from '../shared/policy/engine';
import { BedrockGuardrailChecker, type GuardrailChecker } from '../shared/policy/guardrail';
import type { SecretResolver } from '../shared/providers/secrets';
import { loadSecretResolver } from '../shared/providers/secrets-manager';
import { BudgetAlerts, type BudgetAlertPublisher } from '../shared/quota/budget-alerts';
import { alertPublisherFor } from '../shared/quota/eventbridge-publisher';
import { rateLimitHeaders } from '../shared/quota/limits';
import { QuotaService } from '../shared/quota/quota-service';
import { CircuitBreakers } from '../shared/routing/circuit-breaker';
import { Router } from '../shared/routing/router';
import { createDocumentClient } from '../shared/store/client';
import type { TableNames } from '../shared/store/schema';
import { DurableUsageRecorder, type DurableRecorderOptions, type UsageSpool } from '../shared/usage/durable-recorder';
import { UsageRecorder } from '../shared/usage/recorder';
import { SqsUsageSpool } from '../shared/usage/sqs-spool';

/** What the gateway Lambdas need; `index.ts` builds it from the environment, tests from DynamoDB Local. */
export interface GatewayHandlerDeps {
  catalog: Catalog;
  authenticator: ApiKeyAuthenticator;
  chat: ChatService;
}

/** Time kept at the end of an invocation to end a cut stream and record its usage. */
const RECORDING_MARGIN_MS = 5_000;

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};

/** Headers that say how a request was served, known as soon as routing is decided. */
function routingHeaders(requestId: string, caller: AuthenticatedCaller, facts: RoutingFacts): Record<string, string> {
  return {
    ...requestIdHeader(requestId),
    ...rateLimitHeaders(facts.rateLimit),
    [GATEWAY_HEADERS.team]: caller.team.teamId,
    [GATEWAY_HEADERS.keyId]: caller.key.keyId,
    [GATEWAY_HEADERS.model]: facts.model.id,
    [GATEWAY_HEADERS.provider]: facts.target.connectionName,
    [GATEWAY_HEADERS.upstreamModel]: facts.target.upstreamModel,
    [GATEWAY_HEADERS.attempts]: String(facts.attempts),
    [GATEWAY_HEADERS.policy]: facts.policy.action,
    ...(facts.policy.ruleIds.length ? { [GATEWAY_HEADERS.policyRules]: facts.policy.ruleIds.join(',') } : {}),
  };
}

function factsOf(
  requestId: string,
  caller: AuthenticatedCaller,
  facts: RoutingFacts,
): Omit<GatewayFacts, 'costMicros' | 'latencyMs' | 'policy'> {
  return {
    requestId,
    teamId: caller.team.teamId,
    keyId: caller.key.keyId,
    model: facts.model.id,
    provider: facts.target.connectionName,
    upstreamModel: facts.target.upstreamModel,
    attempts: facts.attempts,
  };
}

/**
 * A Readable over the SSE frames of a stream. Destroying it (the client went away, or the
 * response stream failed) aborts the upstream call first, so the pending provider read ends at
 * once and the stream's usage is recorded without waiting for the next token. A stream that
 * never started is started once, so its first (already received) event is metered too.
 */
function sseReadable(frames: AsyncGenerator<string>, abort: AbortController): Readable {
  let started = false;
  return new Readable({
    async read() {
      started = true;
      try {
        const next = await frames.next();
        this.push(next.done ? null : next.value);
      } catch (error) {
        this.destroy(error as Error);
      }
    },
    destroy(error, callback) {
      abort.abort();
      const close = async () => {
        if (!started) await frames.next();
        await frames.return(undefined);
      };
      close().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}

/**
 * Usage records still being written for streamed responses, by API request id. The streaming
 * face ends the client's response first and waits for its record before the invocation ends:
 * Lambda freezes the instance once the handler returns, and an unawaited write could be lost.
 */
const recording = new Map<string, Promise<void>>();

/**
 * The gateway's routes, shared by both faces of the gateway: the HTTP API function (buffered:
 * a streamed request gets its whole SSE body at once) and the streaming function behind the REST API (true
 * streaming). Each route parses, calls the shared library and formats.
 */
function gatewayRoutes(deps: GatewayHandlerDeps, streaming: boolean) {
  async function health() {
    return jsonResponse(200, { status: 'ok' });
  }

  async function listModels(request: HttpRequest) {
    const caller = await deps.authenticator.authenticate(presentedApiKey(request));
    const data = deps.catalog
      .listModels()
      .filter((model) => deps.chat.mayUse(caller, model))
      .map((model) => ({
        id: model.id,
        object: 'model' as const,
        created: 0,
        owned_by: model.provider,
        gateway: {
          provider: model.provider,
          description: model.description ?? null,
          aliases: model.aliases,
          fallbacks: model.fallbacks,
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

  async function completeChat(request: HttpRequest, caller: AuthenticatedCaller, body: ChatCompletionRequest) {
    const outcome = await deps.chat.complete(caller, body, {
      requestId: request.apiRequestId,
      receivedAt: request.receivedAt,
      ...(request.lambdaDeadline !== undefined ? { invocationDeadline: request.lambdaDeadline } : {}),
    });
    const payload = toChatCompletionResponse({
      id: newCompletionId(),
      created: Math.floor(request.receivedAt / 1000),
      model: outcome.model.id,
      completion: outcome.completion,
      facts: {
        ...factsOf(request.apiRequestId, caller, outcome),
        costMicros: outcome.cost.totalMicros,
        latencyMs: outcome.latencyMs,
        policy: outcome.policy,
      },
    });
    return jsonResponse(200, payload, {
      ...routingHeaders(request.apiRequestId, caller, outcome),
      [GATEWAY_HEADERS.costUsd]: formatMicros(outcome.cost.totalMicros),
    });
  }

  async function streamChat(
    request: HttpRequest,
    caller: AuthenticatedCaller,
    body: ChatCompletionRequest,
  ): Promise<StreamingHttpResponse> {
    const abort = new AbortController();
    const start = await deps.chat.stream(
      caller,
      body,
      {
        requestId: request.apiRequestId,
        receivedAt: request.receivedAt,
        ...(request.lambdaDeadline !== undefined
          ? { streamDeadline: request.lambdaDeadline - RECORDING_MARGIN_MS, invocationDeadline: request.lambdaDeadline }
          : {}),
      },
      abort.signal,
    );
    const encode = createChunkEncoder({
      id: newCompletionId(),
      created: Math.floor(request.receivedAt / 1000),
      model: start.model.id,
      includeUsage: body.stream_options?.include_usage === true,
      facts: factsOf(request.apiRequestId, caller, start),
    });
    async function* frames() {
      for await (const event of start.events) yield* encode(event);
    }
    const headers = { ...SSE_HEADERS, ...routingHeaders(request.apiRequestId, caller, start) };
    if (streaming) {
      recording.set(request.apiRequestId, start.recorded);
      return { statusCode: 200, headers, body: sseReadable(frames(), abort) };
    }
    // The HTTP API buffers responses: send the complete, valid SSE body at once, recorded first
    // (a buffered Lambda cannot work after it has answered).
    let sse = '';
    try {
      for await (const frame of frames()) sse += frame;
    } finally {
      await start.recorded;
    }
    return { statusCode: 200, headers, body: sse };
  }

  async function chatCompletions(request: HttpRequest): Promise<HttpResponse | StreamingHttpResponse> {
    // The key first (a malformed one costs no database read), then the body: an unauthenticated
    // client cannot make the gateway parse and validate megabytes of JSON.
    const caller = await deps.authenticator.authenticate(presentedApiKey(request));
    const body = parseChatCompletionRequest(parseJsonBody(request));
    return body.stream ? streamChat(request, caller, body) : completeChat(request, caller, body);
  }

  return createRouter<RouteKeyOf<'gateway'>, HttpResponse | StreamingHttpResponse>('gateway', {
    'GET /health': health,
    'GET /v1/models': listModels,
    'POST /v1/chat/completions': chatCompletions,
    'POST /v1/chat': chatCompletions,
  });
}

/**
 * The gateway Lambda behind the HTTP API: health, the models a key may use, Chat Completions.
 * `stream: true` gets a complete SSE body (the HTTP API buffers responses).
 *
 * @example
 * export const handler = createGatewayHandler(deps);
 */
export function createGatewayHandler(deps: GatewayHandlerDeps) {
  // Without streaming every route answers a buffered response.
  const route = gatewayRoutes(deps, false) as (event: APIGatewayProxyEventV2) => Promise<HttpResponse>;
  return middy(route).use(openAiErrors());
}

/**
 * The gateway Lambda behind the REST API door (response streaming): the same routes, with SSE
 * frames written to the client as the provider produces them. Needs Lambda's `awslambda` global
 * (the local runtime and tests install a stand-in).
 *
 * @example
 * export const handler = createGatewayStreamHandler(deps);
 */
export function createGatewayStreamHandler(deps: GatewayHandlerDeps) {
  const respond = middy<APIGatewayProxyEventV2, HttpResponse | StreamingHttpResponse>({ streamifyResponse: true })
    .handler(gatewayRoutes(deps, true))
    .use(openAiErrors<HttpResponse | StreamingHttpResponse>()) as unknown as StreamingHandler;
  // The client has its last byte when `respond` ends the response; the stream's usage record,
  // started as the provider finished, completes after that, within the same invocation (also
  // when the client went away and `respond` failed).
  return awslambda.streamifyResponse<StreamingHandler>(async (event, responseStream, context) => {
    try {
      await respond(event, responseStream, context);
    } finally {
      const id = event.requestContext.requestId;
      await recording.get(id);
      recording.delete(id);
    }
  });
}

/** A handler as Lambda calls it in RESPONSE_STREAM mode. */
type StreamingHandler = (event: APIGatewayProxyEventV2, responseStream: Writable, context: Context) => Promise<void>;

/** Lambda's Node.js runtime global for response streaming (the local runtime installs a stand-in). */
declare const awslambda: { streamifyResponse<T>(handler: T): T };

/** Settings the gateway Lambdas are built from (the environment in AWS, DynamoDB Local in tests). */
export interface GatewaySettings {
  db: DynamoDBDocumentClient;
  tables: Pick<TableNames, 'identity' | 'counters' | 'usage' | 'audit'>;
  catalog: Catalog;
  secrets: SecretResolver;
  /** Where budget alerts go (EventBridge in AWS). */
  alerts: BudgetAlertPublisher;
  identityCacheTtlMs: number;
  providerTimeoutMs: number;
  now?: () => number;
  /** Adapter lookup override, for tests that observe provider calls. */
  adapters?: ChatServiceDeps['adapters'];
  /** Guardrail override (tests); Bedrock's ApplyGuardrail otherwise. */
  guardrails?: GuardrailChecker;
  /** Metrics sink override (tests); EMF on stdout otherwise. */
  observe?: ChatServiceDeps['observe'];
  /** The usage replay queue (SQS in AWS, the local emulator locally); none: writes DynamoDB refuses are lost. */
  spool?: UsageSpool;
  /** Inline retry tuning of usage writes (tests shorten it). */
  usageRetries?: DurableRecorderOptions;
}

/**
 * Wires the gateway's dependencies; `index.ts`, `stream.ts` and the tests share this wiring.
 *
 * @example
 * createGatewayHandler(gatewayDependencies({ db, tables, catalog, secrets, identityCacheTtlMs: 30_000, providerTimeoutMs: 25_000 }))
 */
export function gatewayDependencies(settings: GatewaySettings): GatewayHandlerDeps {
  const now = settings.now ?? Date.now;
  return {
    catalog: settings.catalog,
    authenticator: createAuthenticator(settings.db, settings.tables.identity, settings.identityCacheTtlMs, now),
    chat: new ChatService({
      catalog: settings.catalog,
      quota: new QuotaService(settings.db, settings.tables, {
        alerts: new BudgetAlerts(settings.db, settings.tables.usage, settings.alerts, now),
        now,
      }),
      usage: new DurableUsageRecorder(new UsageRecorder(settings.db, settings.tables.usage), settings.spool, {
        now,
        ...settings.usageRetries,
      }),
      router: new Router(new CircuitBreakers({ failureThreshold: 5, cooldownMs: 30_000, now }), {
        maxAttemptsPerCandidate: 2,
        baseDelayMs: 100,
        maxDelayMs: 2_000,
        now,
      }),
      secrets: settings.secrets,
      providerTimeoutMs: settings.providerTimeoutMs,
      policies: new PolicyEngine(settings.catalog.config.policies),
      guardrails: settings.guardrails ?? new BedrockGuardrailChecker(),
      audit: new AuditLog(settings.db, settings.tables.audit, settings.catalog.config.audit.retentionDays),
      now,
      ...(settings.adapters ? { adapters: settings.adapters } : {}),
      ...(settings.observe ? { observe: settings.observe } : {}),
    }),
  };
}

/**
 * The dependencies as a deployed gateway Lambda builds them at cold start: its environment,
 * the config inlined in its bundle, provider keys from Secrets Manager.
 *
 * @example
 * export const handler = createGatewayHandler(gatewayDependenciesFromEnvironment());
 */
export function gatewayDependenciesFromEnvironment(): GatewayHandlerDeps {
  const env = loadEnvironment(['identity', 'counters', 'usage', 'audit']);
  const queue = loadReplayQueue();
  return gatewayDependencies({
    db: createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint }),
    tables: env.tables,
    catalog: loadCatalog(),
    secrets: loadSecretResolver(),
    alerts: alertPublisherFor(env.eventBusName),
    identityCacheTtlMs: env.identityCacheTtlMs,
    providerTimeoutMs: env.providerTimeoutMs,
    ...(queue.queueUrl
      ? { spool: new SqsUsageSpool(queue.queueUrl, { region: env.region, endpoint: queue.endpoint }) }
      : {}),
  });
}
