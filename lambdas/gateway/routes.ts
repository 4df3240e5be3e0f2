import type { GuardedRouteHandlers, RouteContext, RouteRequest } from '../shared/http';
import { jsonResponse, parseJsonBody, requestIdHeader } from '../shared/http';
import { formatPicos } from '../shared/cost/money';
import { GATEWAY_HEADERS, GATEWAY_REQUEST_HEADERS } from '../shared/http/headers';
import {
  createChunkEncoder,
  modelView,
  newCompletionId,
  parseChatCompletionRequest,
  routedFacts,
  routingHeaders,
  toChatCompletionResponse,
  toExchangeRequest,
} from '../shared/faces/openai-chat';
import type { RequestContext, RoutingFacts } from '../shared/exchange';
import {
  anthropicBetas,
  checkAnthropicVersion,
  createMessageEncoder,
  neutralPrompt,
  newMessageId,
  parseCountTokensRequest,
  parseMessagesRequest,
  toAnthropicMessage,
  toExchangeRequest as toMessagesExchange,
} from '../shared/faces/anthropic-messages';
import { droppedBetas } from '../shared/providers/betas';
import { APPROVAL_ID } from '../shared/approvals/store';
import { invalidRequest } from '../shared/http/errors';
import {
  parseEmbeddingsRequest,
  toEmbeddingExchangeRequest,
  toEmbeddingsResponse,
} from '../shared/faces/openai-embeddings';
import { cacheDirectiveOf } from '../shared/response-cache';
import type { Door } from './doors';
import type { GatewayHandlerDeps } from './wiring';

/** Time kept at the end of an invocation to end a cut stream and record its usage. */
const RECORDING_MARGIN_MS = 5_000;

/** Both chat routes take the same body and give the same answer. */
type ChatRoute = RouteContext<'POST /v1/chat/completions' | 'POST /v1/chat'>;

/** The exchange context of a request: its id, arrival, and the deadlines its invocation sets. */
function contextOf(request: RouteRequest, stream: boolean): RequestContext {
  const deadline = request.lambdaDeadline;
  return {
    requestId: request.apiRequestId,
    receivedAt: request.receivedAt,
    invocationDeadline: deadline,
    // A stream still running this close to the end of the invocation is cut, so it is recorded.
    streamDeadline: deadline !== undefined && stream ? deadline - RECORDING_MARGIN_MS : undefined,
    // An empty header names no session.
    sessionKey: request.headers[GATEWAY_REQUEST_HEADERS.session] || undefined,
    approvalId: approvalIdOf(request),
    cacheDirective: cacheDirectiveOf(request.headers[GATEWAY_HEADERS.cache]),
  };
}

/** The held tool call a request asks for, if any; a value that is not an approval id is a 400 naming the header. */
function approvalIdOf(request: RouteRequest): string | undefined {
  const value = request.headers[GATEWAY_REQUEST_HEADERS.approval]?.trim();
  if (!value) return undefined;
  if (!APPROVAL_ID.test(value)) {
    throw invalidRequest(`${GATEWAY_REQUEST_HEADERS.approval} is not an approval id (apr_…).`, {
      param: GATEWAY_REQUEST_HEADERS.approval,
    });
  }
  return value;
}

/**
 * The gateway function's routes, shared by both doors: the door only decides how a streamed
 * answer is delivered. Each route parses (an OpenAI face), calls the exchange core, formats.
 * Authentication is the router's: `key` routes get their `caller` checked before the body is read.
 *
 * @example
 * createGuardedRouter('gateway', gatewayRoutes(deps, bufferedDoor), { authenticator: deps.authenticator })
 */
export function gatewayRoutes<R>(deps: GatewayHandlerDeps, door: Door<R>): GuardedRouteHandlers<'gateway', R> {
  const answer = (response: ReturnType<typeof jsonResponse>) => response as R;

  async function chatCompletions({ request, caller }: ChatRoute): Promise<R> {
    const body = parseChatCompletionRequest(parseJsonBody(request));
    const exchange = toExchangeRequest(body);
    const context = contextOf(request, exchange.stream);
    const id = newCompletionId();
    const created = Math.floor(request.receivedAt / 1000);
    if (!exchange.stream) {
      const served = await deps.exchanges.complete(caller, exchange, context);
      await door.afterAnswer(served.record);
      const payload = toChatCompletionResponse({
        id,
        created,
        model: served.model.id,
        completion: served.completion,
        facts: {
          ...routedFacts(request.apiRequestId, caller, served),
          costPicos: served.cost.totalPicos,
          latencyMs: served.latencyMs,
          policy: served.policy,
        },
      });
      const headers = routingHeaders(request.apiRequestId, caller, served);
      headers[GATEWAY_HEADERS.costUsd] = formatPicos(served.cost.totalPicos);
      return answer(jsonResponse(200, payload, headers));
    }
    const abort = new AbortController();
    const start = await deps.exchanges.stream(caller, exchange, context, abort.signal);
    const encode = createChunkEncoder({
      id,
      created,
      model: start.model.id,
      includeUsage: body.stream_options?.include_usage === true,
      facts: routedFacts(request.apiRequestId, caller, start),
    });
    async function* frames() {
      for await (const event of start.events) yield* encode(event);
    }
    return door.stream({
      headers: routingHeaders(request.apiRequestId, caller, start),
      frames: frames(),
      abort,
      record: start.record,
    });
  }

  /** Anthropic's Messages API: the same core, Anthropic's wire format in and out. */
  async function messages({ request, caller }: RouteContext<'POST /v1/messages'>): Promise<R> {
    checkAnthropicVersion(request.headers);
    const betas = anthropicBetas(request.headers);
    const exchange = toMessagesExchange(parseMessagesRequest(parseJsonBody(request)), betas);
    const context = contextOf(request, exchange.stream);
    const id = newMessageId();
    const headersOf = (facts: RoutingFacts) => {
      const headers = routingHeaders(request.apiRequestId, caller, facts);
      // Anthropic's SDKs read the request id from `request-id`.
      headers['request-id'] = request.apiRequestId;
      const dropped = droppedBetas(facts.target.connection, betas);
      if (dropped.length > 0) headers[GATEWAY_HEADERS.droppedBetas] = dropped.join(',');
      return headers;
    };
    if (!exchange.stream) {
      const served = await deps.exchanges.complete(caller, exchange, context);
      await door.afterAnswer(served.record);
      const headers = headersOf(served);
      headers[GATEWAY_HEADERS.costUsd] = formatPicos(served.cost.totalPicos);
      return answer(
        jsonResponse(200, toAnthropicMessage({ id, model: served.model.id, completion: served.completion }), headers),
      );
    }
    const abort = new AbortController();
    const start = await deps.exchanges.stream(caller, exchange, context, abort.signal);
    const encode = createMessageEncoder({ id, model: start.model.id, requestId: request.apiRequestId });
    async function* frames() {
      for await (const event of start.events) yield* encode(event);
    }
    return door.stream({ headers: headersOf(start), frames: frames(), abort, record: start.record });
  }

  /** OpenAI's embeddings: the same core's embed path. */
  async function embeddings({ request, caller }: RouteContext<'POST /v1/embeddings'>): Promise<R> {
    const body = parseEmbeddingsRequest(parseJsonBody(request));
    const served = await deps.exchanges.embed(caller, toEmbeddingExchangeRequest(body), contextOf(request, false));
    await door.afterAnswer(served.record);
    const payload = toEmbeddingsResponse({
      model: served.model.id,
      vectors: served.vectors,
      usage: served.usage,
      encoding: body.encoding_format ?? 'float',
    });
    const headers = routingHeaders(request.apiRequestId, caller, served);
    headers[GATEWAY_HEADERS.costUsd] = formatPicos(served.cost.totalPicos);
    return answer(jsonResponse(200, payload, headers));
  }

  return {
    'GET /health': async () => answer(jsonResponse(200, { status: 'ok' })),
    'GET /v1/models': async ({ request, caller }) => {
      const data = deps.catalog
        .listModels()
        .filter((model) => deps.exchanges.mayUse(caller, model))
        .map(modelView);
      return answer(jsonResponse(200, { object: 'list', data }, requestIdHeader(request.apiRequestId)));
    },
    'POST /v1/chat/completions': chatCompletions,
    'POST /v1/chat': chatCompletions,
    'POST /v1/messages': messages,
    'POST /v1/messages/count_tokens': async ({ request, caller }) => {
      checkAnthropicVersion(request.headers);
      const body = parseCountTokensRequest(parseJsonBody(request));
      const chat = neutralPrompt(body, anthropicBetas(request.headers));
      const counted = await deps.exchanges.countTokens(
        caller,
        { model: body.model, chat, stream: false },
        contextOf(request, false),
      );
      const headers = requestIdHeader(request.apiRequestId);
      headers[GATEWAY_HEADERS.tokenCount] = counted.source;
      return answer(jsonResponse(200, { input_tokens: counted.tokens }, headers));
    },
    'POST /v1/embeddings': embeddings,
  };
}
