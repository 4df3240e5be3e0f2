import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { isAdminPrincipal, type AdminAllowList } from '../config/admin-principals';
import { observeAdminRefusal } from '../observability/metrics';
import { ERROR_CODES, forbidden, invalidRequest, payloadTooLarge } from './errors';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth';

/**
 * Largest request body accepted. Lambda's synchronous payload limit is 6 MB for the whole event,
 * so larger bodies cannot arrive anyway; refusing them here gives a clear 413 instead.
 */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;

/**
 * The events the gateway's Lambdas receive: an HTTP API payload 2.0 event (the HTTP API; a
 * Lambda Function URL sends the same shape) or a REST API proxy (payload 1.0) event (the
 * streaming door, a REST API with response streaming).
 */
export type GatewayEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent;

/**
 * The parts of an API Gateway event that handlers use, the same whichever API sent it (HTTP API
 * payload 2.0 or REST API payload 1.0); the local runtime builds both from a plain HTTP request.
 */
export interface HttpRequest {
  method: string;
  path: string;
  /** `METHOD /path/{param}`, as in the shared route table (`$default` from a Function URL). */
  routeKey: string;
  /** Header names are lower-case, as API Gateway delivers them. */
  headers: Readonly<Record<string, string>>;
  /** Decoded query parameters; a repeated parameter's values are joined with commas. */
  query: Readonly<Record<string, string>>;
  pathParameters: Readonly<Record<string, string>>;
  body: string | undefined;
  /** API Gateway's request id. */
  apiRequestId: string;
  /** When API Gateway received the request (epoch ms). */
  receivedAt: number;
  /** The client's IP address as API Gateway saw it (for refusal logs; never trusted for auth). */
  sourceIp: string;
  /** The IAM principal that signed the request, present only behind the IAM authorizer. */
  iamPrincipal: string | undefined;
  /** When Lambda will stop this invocation (epoch ms), when the handler was given its context. */
  lambdaDeadline: number | undefined;
}

/** The IAM authorizer context API Gateway attaches to SigV4-authorized requests. */
interface IamAuthorizerContext {
  iam?: { userArn?: string; userId?: string };
}

/** Entries of an event map whose values API Gateway may send as `undefined`/`null`. */
function definedEntries<V>(map: Record<string, V | undefined | null> | null | undefined): [string, V][] {
  return Object.entries(map ?? {}).filter((entry): entry is [string, V] => entry[1] !== undefined && entry[1] !== null);
}

/**
 * A REST API event's headers, lower-cased, repeated ones joined with commas as the HTTP API
 * does. `multiValueHeaders` holds every value (`headers` only the last) and the client's casing.
 */
function restHeaders(event: APIGatewayProxyEvent): Record<string, string> {
  const headers: Record<string, string> = {};
  const multi = definedEntries(event.multiValueHeaders);
  const source: [string, string[]][] =
    multi.length > 0 ? multi : definedEntries(event.headers).map(([name, value]) => [name, [value]]);
  for (const [name, values] of source) {
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? values.join(',') : `${headers[key]},${values.join(',')}`;
  }
  return headers;
}

/** A REST API event's query, repeated parameters joined with commas as the HTTP API does. */
function restQuery(event: APIGatewayProxyEvent): Record<string, string> {
  const multi = definedEntries(event.multiValueQueryStringParameters);
  if (multi.length > 0) return Object.fromEntries(multi.map(([name, values]) => [name, values.join(',')]));
  return Object.fromEntries(definedEntries(event.queryStringParameters));
}

function decodedBody(body: string | null | undefined, isBase64Encoded: boolean): string | undefined {
  if (body === undefined || body === null) return undefined;
  return isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
}

/**
 * Normalises an API Gateway event, HTTP API payload 2.0 or REST API payload 1.0, into one
 * {@link HttpRequest}, so handlers never know which door a request came through.
 *
 * @example
 * const request = toHttpRequest(event, context);
 */
export function toHttpRequest(event: GatewayEvent, context?: Pick<Context, 'getRemainingTimeInMillis'>): HttpRequest {
  const lambdaDeadline = context ? Date.now() + context.getRemainingTimeInMillis() : undefined;
  const pathParameters = Object.fromEntries(definedEntries(event.pathParameters));
  if ('httpMethod' in event) {
    // REST API (payload 1.0): the route is the method and the resource's path template.
    const method = event.httpMethod.toUpperCase();
    return {
      method,
      path: event.path,
      routeKey: `${method} ${event.resource}`,
      headers: restHeaders(event),
      query: restQuery(event),
      pathParameters,
      body: decodedBody(event.body, event.isBase64Encoded),
      apiRequestId: event.requestContext.requestId,
      receivedAt: event.requestContext.requestTimeEpoch,
      sourceIp: event.requestContext.identity.sourceIp,
      // A REST method with AWS_IAM authorization puts the signer here; the streaming door has none.
      iamPrincipal: event.requestContext.identity.userArn ?? undefined,
      lambdaDeadline,
    };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of definedEntries(event.headers)) headers[name.toLowerCase()] = value;
  const authorizer = (event.requestContext as { authorizer?: IamAuthorizerContext }).authorizer;
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    routeKey: event.routeKey,
    headers,
    query: Object.fromEntries(definedEntries(event.queryStringParameters)),
    pathParameters,
    body: decodedBody(event.body, event.isBase64Encoded),
    apiRequestId: event.requestContext.requestId,
    receivedAt: event.requestContext.timeEpoch,
    sourceIp: event.requestContext.http.sourceIp,
    iamPrincipal: authorizer?.iam?.userArn ?? undefined,
    lambdaDeadline,
  };
}

/**
 * Parses a JSON object body, refusing empty, oversized, non-JSON and non-object bodies with 4xx
 * errors in OpenAI's shape.
 *
 * @example
 * const body = parseJsonBody(request); // then validate with zod
 */
export function parseJsonBody(request: Pick<HttpRequest, 'body'>): Record<string, unknown> {
  const body = request.body;
  if (body === undefined || body.trim() === '') {
    throw invalidRequest('The request body is empty; send a JSON object.', { code: ERROR_CODES.invalidJson });
  }
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) {
    throw payloadTooLarge(`The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  }
  // Checked before parsing: every later walk over the value (zod, JSON.stringify, SDK marshalling) is then bounded.
  if (exceedsJsonDepth(body)) {
    throw invalidRequest(`The request body nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`, {
      code: ERROR_CODES.invalidJson,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Also a RangeError, should the parser ever run out of stack: still the client's malformed body.
    throw invalidRequest('The request body is not valid JSON.', { code: ERROR_CODES.invalidJson });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidRequest('The request body must be a JSON object.', { code: ERROR_CODES.invalidJson });
  }
  return parsed as Record<string, unknown>;
}

/**
 * The API key a client presented, from `Authorization: Bearer <key>` (what OpenAI SDKs send) or
 * `x-api-key`.
 *
 * @example
 * presentedApiKey(request) // 'gwk_…' or undefined
 */
export function presentedApiKey(request: Pick<HttpRequest, 'headers'>): string | undefined {
  const authorization = request.headers['authorization'];
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1] : undefined;
  }
  const apiKey = request.headers['x-api-key']?.trim();
  return apiKey ? apiKey : undefined;
}

/**
 * The admin principal of a request. Admin routes sit behind API Gateway's IAM authorizer, which
 * puts the caller's IAM ARN in the request context; a request without one did not come through
 * it (or came with a team key) and is refused, whatever headers it carries. The authorizer admits
 * any principal of the account allowed to invoke the API, so the principal must also be on the
 * config's admin allow-list; anyone else is refused with 403 `admin_not_allowed`, logged and
 * counted. The router runs this first on every `iam` route (see `createGuardedRouter`), before
 * the route's input is read.
 *
 * @example
 * const actor = requireAdmin(request, admins); // 'arn:aws:sts::123456789012:assumed-role/Admin/alice'
 */
export function requireAdmin(request: HttpRequest, admins: AdminAllowList): string {
  if (!request.iamPrincipal) {
    throw forbidden(
      'Admin routes require an IAM-signed (SigV4) request; team API keys are not accepted here.',
      ERROR_CODES.adminOnly,
    );
  }
  if (!isAdminPrincipal(request.iamPrincipal, admins)) {
    observeAdminRefusal({
      principal: request.iamPrincipal,
      route: request.routeKey,
      sourceIp: request.sourceIp,
      requestId: request.apiRequestId,
    });
    throw forbidden(
      "This IAM principal is not on the gateway's admin allow-list (the config's `admins` section).",
      ERROR_CODES.adminNotAllowed,
    );
  }
  return request.iamPrincipal;
}
