import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ApiKeyRefusedError } from '../keys/errors';
import { logger } from '../observability/logger';
import { observeAuthRefusal } from '../observability/metrics';
import { isStoreUnavailable, storeUnavailable } from '../store/unavailable';
import type { ErrorShape } from './error-shapes';
import { GatewayError, internalError } from './errors';
import type { GatewayEvent } from './request';
import { matchRoute, routeByKey } from './routes';
import { errorResponse, requestIdHeader, type HttpResponse, type StreamingHttpResponse } from './response';

/**
 * Turns any error a handler throws into a response in the route's error shape (OpenAI's, or
 * Anthropic's on the Messages face). Gateway errors keep their status and message; anything else
 * is logged and answered with a bare 500, so no internal detail (table names, stack traces,
 * upstream payloads) reaches a client.
 *
 * @example
 * export const handler = middy(route).use(httpErrors());
 */
export function httpErrors<R extends HttpResponse | StreamingHttpResponse = HttpResponse>(): MiddlewareObj<
  APIGatewayProxyEventV2,
  R
> {
  const httpErrorsOnError: MiddlewareObj<APIGatewayProxyEventV2, R>['onError'] = async (request) => {
    const error = request.error;
    let gatewayError: GatewayError;
    if (error instanceof GatewayError) {
      gatewayError = error;
      if (error instanceof ApiKeyRefusedError) observeAuthRefusal(authRefusalOf(error, request.event));
    } else if (isStoreUnavailable(error)) {
      logger.error('storage unavailable', { error: error as Error });
      gatewayError = storeUnavailable();
    } else {
      logger.error('unhandled error', { error: error as Error });
      gatewayError = internalError();
    }
    request.response = errorResponse(
      gatewayError,
      requestIdHeader(request.event.requestContext.requestId),
      errorShapeOf(request.event as unknown as GatewayEvent),
    ) as R;
  };
  return { onError: httpErrorsOnError };
}

/** The error shape of the route an event was meant for (OpenAI's for a path the API does not have). */
function errorShapeOf(event: GatewayEvent): ErrorShape {
  if ('httpMethod' in event)
    return routeByKey(`${event.httpMethod.toUpperCase()} ${event.resource}`)?.errors ?? 'openai';
  const route =
    routeByKey(event.routeKey) ?? matchRoute(event.requestContext.http.method.toUpperCase(), event.rawPath)?.route;
  return route?.errors ?? 'openai';
}

/**
 * What a refused key's observation needs from the error and the event. The source IP is in
 * `requestContext.http` on HTTP API and Function URL events (payload 2.0), in
 * `requestContext.identity` on REST API events (payload 1.0).
 */
function authRefusalOf(error: ApiKeyRefusedError, event: APIGatewayProxyEventV2) {
  const context = event.requestContext as {
    requestId?: string;
    http?: { sourceIp?: string };
    identity?: { sourceIp?: string };
  };
  return {
    reason: error.reason,
    keyId: error.keyId,
    sourceIp: context.http?.sourceIp ?? context.identity?.sourceIp,
    requestId: context.requestId ?? '',
  };
}
