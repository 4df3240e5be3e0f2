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
export { openAiErrors } from './middleware';
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
export { createRouter, type RouteHandler } from './router';
export {
  matchRoute,
  ROUTES,
  routeKey,
  type FunctionName,
  type RouteAuth,
  type RouteDefinition,
  type RouteKey,
  type RouteKeyOf,
} from './routes';
export { parseWith } from './validation';
