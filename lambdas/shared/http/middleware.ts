import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ApiKeyRefusedError } from '../keys/errors';
import { logger } from '../observability/logger';
import { observeAuthRefusal } from '../observability/metrics';
import { isStoreUnavailable, storeUnavailable } from '../store/unavailable';
import { GatewayError, internalError } from './errors';
import { errorResponse, requestIdHeader, type HttpResponse, type StreamingHttpResponse } from './response';

/**
 * Turns any error a handler throws into an OpenAI-shaped response. Gateway errors keep their
 * status and message; anything else is logged and answered with a bare 500, so no internal
 * detail (table names, stack traces, upstream payloads) reaches a client.
 *
 * @example
 * export const handler = middy(route).use(openAiErrors());
 */
export function openAiErrors<R extends HttpResponse | StreamingHttpResponse = HttpResponse>(): MiddlewareObj<
  APIGatewayProxyEventV2,
  R
> {
  const openAiErrorsOnError: MiddlewareObj<APIGatewayProxyEventV2, R>['onError'] = async (request) => {
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
    request.response = errorResponse(gatewayError, requestIdHeader(request.event.requestContext.requestId)) as R;
  };
  return { onError: openAiErrorsOnError };
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
