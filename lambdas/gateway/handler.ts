import type { Writable } from 'node:stream';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { createGuardedRouter, httpErrors, type HttpResponse, type StreamingHttpResponse } from '../shared/http';
import type { GatewayEvent } from '../shared/http/request';
import { AfterResponse, type Defer } from '../shared/lifecycle/after-response';
import { bufferedDoor, streamingDoor } from './doors';
import { gatewayRoutes } from './routes';
import type { GatewayHandlerDeps } from './wiring';

export {
  gatewayDependencies,
  gatewayDependenciesFromEnvironment,
  type GatewayHandlerDeps,
  type GatewaySettings,
} from './wiring';

/**
 * The gateway Lambda behind the HTTP API: health, the models a key may use, Chat Completions.
 * `stream: true` gets a complete SSE body (the HTTP API buffers responses). With `defer` (the
 * post-response extension holds invocations open), usage records are written after the answer;
 * without it, before.
 *
 * @example
 * export const handler = withAfterResponse((defer) => createGatewayHandler(deps, defer), logFailure);
 */
export function createGatewayHandler(deps: GatewayHandlerDeps, defer?: Defer) {
  const route = createGuardedRouter('gateway', gatewayRoutes(deps, bufferedDoor(defer)), {
    authenticator: deps.authenticator,
    sso: deps.sso,
  });
  return middy<GatewayEvent, HttpResponse>(route).use(httpErrors());
}

/** A handler as Lambda calls it in RESPONSE_STREAM mode. */
type StreamingHandler = (event: GatewayEvent, responseStream: Writable, context: Context) => Promise<void>;

/** Lambda's Node.js runtime global for response streaming (the local runtime installs a stand-in). */
declare const awslambda: { streamifyResponse<T>(handler: T): T };

/**
 * The gateway Lambda behind the streaming door (a REST API with response streaming): the same
 * routes, with SSE frames written to the client as the provider produces them. The stream's
 * usage record completes after the client has its last byte, within the same invocation (also
 * when the client went away and the response failed): each invocation gets its own door, which
 * collects that work, and awaits it before returning. Needs Lambda's `awslambda` global (the
 * local runtime and tests install a stand-in).
 *
 * @example
 * export const handler = createGatewayStreamHandler(deps);
 */
export function createGatewayStreamHandler(deps: GatewayHandlerDeps) {
  return awslambda.streamifyResponse<StreamingHandler>(async (event, responseStream, context) => {
    const afterResponse = new AfterResponse();
    const respond = middy<GatewayEvent, HttpResponse | StreamingHttpResponse>({ streamifyResponse: true })
      .handler(
        createGuardedRouter(
          'gateway',
          gatewayRoutes(
            deps,
            streamingDoor((work) => afterResponse.defer(work)),
          ),
          { authenticator: deps.authenticator, sso: deps.sso },
        ),
      )
      .use(httpErrors<HttpResponse | StreamingHttpResponse>()) as unknown as StreamingHandler;
    try {
      await respond(event, responseStream, context);
    } finally {
      await afterResponse.drain();
    }
  });
}
