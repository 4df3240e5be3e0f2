import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { ERROR_CODES, forbidden, invalidRequest, payloadTooLarge } from './errors';

/**
 * Largest request body accepted. Lambda's synchronous payload limit is 6 MB for the whole event,
 * so larger bodies cannot arrive anyway; refusing them here gives a clear 413 instead.
 */
export const MAX_BODY_BYTES = 5 * 1024 * 1024;

/**
 * The parts of an API Gateway HTTP API (payload 2.0) event that handlers use. The same shape
 * arrives from a Lambda Function URL, and the local runtime builds it from a plain HTTP request.
 */
export interface HttpRequest {
  method: string;
  path: string;
  routeKey: string;
  /** Header names are lower-case, as API Gateway delivers them. */
  headers: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  pathParameters: Readonly<Record<string, string>>;
  body: string | undefined;
  /** API Gateway's request id. */
  apiRequestId: string;
  /** When API Gateway received the request (epoch ms). */
  receivedAt: number;
  /** The IAM principal that signed the request, present only behind the IAM authorizer. */
  iamPrincipal: string | undefined;
  /** When Lambda will stop this invocation (epoch ms), when the handler was given its context. */
  lambdaDeadline: number | undefined;
}

/** The IAM authorizer context API Gateway attaches to SigV4-authorized requests. */
interface IamAuthorizerContext {
  iam?: { userArn?: string; userId?: string };
}

/**
 * Normalises an HTTP API payload 2.0 event.
 *
 * @example
 * const request = toHttpRequest(event);
 */
export function toHttpRequest(
  event: APIGatewayProxyEventV2,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) query[name] = value;
  }
  const pathParameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
    if (value !== undefined) pathParameters[name] = value;
  }
  const rawBody = event.body;
  const body =
    rawBody === undefined || rawBody === null
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(rawBody, 'base64').toString('utf8')
        : rawBody;
  const authorizer = (event.requestContext as { authorizer?: IamAuthorizerContext }).authorizer;
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    routeKey: event.routeKey,
    headers,
    query,
    pathParameters,
    body,
    apiRequestId: event.requestContext.requestId,
    receivedAt: event.requestContext.timeEpoch,
    iamPrincipal: authorizer?.iam?.userArn ?? undefined,
    lambdaDeadline: context ? Date.now() + context.getRemainingTimeInMillis() : undefined,
  };
}

/**
 * Parses a JSON object body, refusing empty, oversized, non-JSON and non-object bodies with 4xx
 * errors in OpenAI's shape.
 *
 * @example
 * const body = parseJsonBody(request); // then validate with zod
 */
export function parseJsonBody(request: HttpRequest): Record<string, unknown> {
  const body = request.body;
  if (body === undefined || body.trim() === '') {
    throw invalidRequest('The request body is empty; send a JSON object.', { code: ERROR_CODES.invalidJson });
  }
  if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) {
    throw payloadTooLarge(`The request body exceeds ${MAX_BODY_BYTES} bytes.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
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
export function presentedApiKey(request: HttpRequest): string | undefined {
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
 * it (or came with a team key) and is refused, whatever headers it carries.
 *
 * @example
 * const actor = requireAdmin(request); // 'arn:aws:iam::123456789012:user/alice'
 */
export function requireAdmin(request: HttpRequest): string {
  if (!request.iamPrincipal) {
    throw forbidden(
      'Admin routes require an IAM-signed (SigV4) request; team API keys are not accepted here.',
      ERROR_CODES.adminOnly,
    );
  }
  return request.iamPrincipal;
}
