export {
  conflict,
  ERROR_CODES,
  forbidden,
  GatewayError,
  internalError,
  invalidRequest,
  notFound,
  payloadTooLarge,
  unauthenticated,
  type ErrorCode,
  type ErrorType,
  type GatewayErrorOptions,
  type OpenAiErrorBody,
} from './errors';
export { GATEWAY_HEADERS, RATE_LIMIT_HEADERS } from './headers';
export { httpErrors } from './middleware';
export {
  MAX_BODY_BYTES,
  parseJsonBody,
  presentedApiKey,
  requireAdmin,
  toHttpRequest,
  type HttpRequest,
} from './request';
export {
  errorResponse,
  jsonResponse,
  requestIdHeader,
  type HttpResponse,
  type StreamingHttpResponse,
} from './response';
export { PATH_PARAMETERS, parsePathParameters, type PathParametersOf } from './path-parameters';
export {
  authorizeRoute,
  checkRoles,
  createGuardedRouter,
  type AdminPrincipal,
  type GuardedRouteHandler,
  type GuardedRouteHandlers,
  type KeyAuthenticator,
  type RouteContext,
  type RouteGuards,
  type RouteGuardsFor,
  type RouteRequest,
} from './router';
export {
  matchRoute,
  pathParameterNames,
  routeByKey,
  ROUTES,
  routeKey,
  type FunctionName,
  type PathParameterName,
  type PathParameterNameOf,
  type RouteAuth,
  type RouteAuthOf,
  type RouteDefinition,
  type RouteKey,
  type RouteKeyOf,
  type RouteOf,
} from './routes';
export { parseWith } from './validation';
