import type { Context } from 'aws-lambda';
import { notFound } from './errors';
import { toHttpRequest, type GatewayEvent, type HttpRequest } from './request';
import { matchRoute, routeKey, type FunctionName } from './routes';

/** Handles one route. */
export type RouteHandler<R> = (request: HttpRequest) => Promise<R>;

/**
 * Dispatches an API Gateway event to the handler of its route key. The map's keys are checked
 * against the shared route table, so a Lambda cannot serve a route the API does not have.
 * HTTP API events carry the route key; REST API events (the streaming door) carry the method
 * and resource template, which {@link toHttpRequest} turns into the same key. Events without a
 * route (`$default`: a Function URL, the HTTP API's default route) are matched against the same
 * table, and only routes of `serves` are accepted.
 *
 * @example
 * const route = createRouter<RouteKeyOf<'usage'>, HttpResponse>('usage', { 'GET /v1/usage': getUsage });
 */
export function createRouter<K extends string, R>(
  serves: FunctionName,
  handlers: Record<K, RouteHandler<R>>,
): (event: GatewayEvent, context?: Context) => Promise<R> {
  const table = handlers as Record<string, RouteHandler<R>>;
  return async function route(event, context) {
    let request = toHttpRequest(event, context);
    if (request.routeKey === '$default') {
      const matched = matchRoute(request.method, request.path);
      if (matched && matched.route.function === serves) {
        request = { ...request, routeKey: routeKey(matched.route), pathParameters: matched.pathParameters };
      }
    }
    const handler = Object.hasOwn(table, request.routeKey) ? table[request.routeKey] : undefined;
    if (!handler) throw notFound(`Unknown route: ${request.method} ${request.path}`);
    return handler(request);
  };
}
