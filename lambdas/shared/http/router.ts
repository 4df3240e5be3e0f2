import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { notFound } from './errors';
import { toHttpRequest, type HttpRequest } from './request';
import type { HttpResponse } from './response';

/** Handles one route. */
export type RouteHandler = (request: HttpRequest) => Promise<HttpResponse>;

/**
 * Dispatches an HTTP API event to the handler of its route key. The map's keys are checked
 * against the shared route table, so a Lambda cannot serve a route the API does not have.
 *
 * @example
 * const route = createRouter<RouteKeyOf<'usage'>>({ 'GET /v1/usage': getUsage });
 */
export function createRouter<K extends string>(
  handlers: Record<K, RouteHandler>,
): (event: APIGatewayProxyEventV2) => Promise<HttpResponse> {
  const table = handlers as Record<string, RouteHandler>;
  return async function route(event) {
    const request = toHttpRequest(event);
    const handler = Object.hasOwn(table, request.routeKey) ? table[request.routeKey] : undefined;
    if (!handler) throw notFound(`Unknown route: ${request.method} ${request.path}`);
    return handler(request);
  };
}
