import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { STREAM_DOOR_RESPONSES } from '../lambdas/shared/http/door-responses';
import { errorBody, type ErrorShape } from '../lambdas/shared/http/error-shapes';
import { ERROR_CODES, GatewayError, forbidden, notFound, payloadTooLarge } from '../lambdas/shared/http/errors';
import { MAX_BODY_BYTES, type GatewayEvent } from '../lambdas/shared/http/request';
import { looksLikeJwt } from '../lambdas/shared/sso/verifier';
import { installedAfterResponse } from '../lambdas/shared/lifecycle/after-response';
import { HttpResponseStream } from './awslambda';
import { matchRoute, routeKey, type FunctionName, type RouteDefinition } from '../lambdas/shared/http/routes';

/** A Lambda handler for HTTP API events, as each Lambda's `index.ts` exports it. */
export type HttpLambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** What the local server serves. */
export interface LocalServerOptions {
  handlers: Record<FunctionName, HttpLambdaHandler>;
  /** Stands in for IAM on admin routes: `Authorization: Bearer <adminToken>`. */
  adminToken: string;
  /** IAM principal reported to admin handlers for the local admin. */
  adminPrincipal?: string;
}

/** API Gateway joins repeated headers and query parameters with commas; so does this. */
function joinValues(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

const TEXT_CONTENT = /^(application\/(json|x-www-form-urlencoded|xml)|text\/)/i;

/** A plain HTTP request, as the local server (or a test) has it. */
export interface PlainHttpRequest {
  method: string;
  /** Path and query, e.g. `/v1/usage?days=7`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body?: Buffer | string;
  sourceIp?: string;
  httpVersion?: string;
  /** When the request arrived (epoch ms); now by default. Tests with a fake clock set it. */
  receivedAt?: number;
}

/** A request matched against the shared route table, with its path parameters. */
export type MatchedRoute = { route: RouteDefinition; pathParameters: Record<string, string> };

/**
 * The HTTP API payload 2.0 event API Gateway (or, without a route, a Function URL) would send
 * for a request: lower-case headers,
 * `rawPath`, `rawQueryString`, `requestContext.http`, a request id and `timeEpoch`, a body that
 * is base64-encoded unless it is text, and the IAM authorizer's context on admin routes.
 *
 * @example
 * toHttpApiEvent({ method: 'GET', url: '/health', headers: {} }, matchRoute('GET', '/health')!)
 */
export function toHttpApiEvent(
  request: PlainHttpRequest,
  matched: MatchedRoute | undefined,
  iamPrincipal?: string,
): APIGatewayProxyEventV2 {
  const url = new URL(request.url, 'http://localhost');
  const body = typeof request.body === 'string' ? Buffer.from(request.body) : (request.body ?? Buffer.alloc(0));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    const joined = joinValues(value);
    if (joined !== undefined && name.toLowerCase() !== 'cookie') headers[name.toLowerCase()] = joined;
  }
  const query: Record<string, string> = {};
  for (const name of new Set(url.searchParams.keys())) query[name] = url.searchParams.getAll(name).join(',');
  const cookieHeader = joinValues(request.headers['cookie']);
  const cookies = cookieHeader?.split(';').map((c) => c.trim());
  const now = request.receivedAt ?? Date.now();
  const isText = body.length === 0 || TEXT_CONTENT.test(headers['content-type'] ?? 'application/json');
  // A Function URL has no routes: its events say `$default`, as API Gateway's default route does.
  const key = matched ? routeKey(matched.route) : '$default';
  // Keys API Gateway leaves out are left out here too (not `undefined`), as in a real event.
  const event: APIGatewayProxyEventV2 & { requestContext: { authorizer?: unknown } } = {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(matched && Object.keys(matched.pathParameters).length > 0 ? { pathParameters: matched.pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers['host'] ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion ?? '1.1'}`,
        sourceIp: request.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomBytes(12).toString('base64'),
      routeKey: key,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
      ...(iamPrincipal ? { authorizer: { iam: { userArn: iamPrincipal, userId: 'LOCALADMIN' } } } : {}),
    },
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
  return event;
}

/** The stage name the local REST API stand-in reports (the deployed stage has its own name). */
export const LOCAL_REST_STAGE = 'local';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A REST API `requestTime`: `29/Nov/2026:17:06:48 +0000`. */
function restRequestTime(epochMs: number): string {
  const date = new Date(epochMs);
  // Not toLocaleString: it builds a date formatter per call, about 0.1 ms on every request.
  const month = MONTHS[date.getUTCMonth()]!;
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${month}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

/**
 * The REST API Lambda proxy (payload 1.0) event API Gateway sends the streaming door's function
 * for a request on one of its resources: `httpMethod`, `path`, `resource` (the path template),
 * headers in the client's casing (`headers` keeps a repeated header's last value,
 * `multiValueHeaders` every value; the Cookie header stays a header), the decoded query the same
 * way (`null` when there is none), `pathParameters` (`null` when none), a UUID request id,
 * `requestTimeEpoch`, `identity.sourceIp`, and the body as text (`null` when empty): the REST
 * API declares no binary media types, so API Gateway never base64-encodes a request body.
 *
 * @example
 * toRestApiEvent({ method: 'GET', url: '/v1/models', headers: {} }, matchRoute('GET', '/v1/models')!)
 */
export function toRestApiEvent(request: PlainHttpRequest, matched: MatchedRoute): APIGatewayProxyEvent {
  const url = new URL(request.url, 'http://localhost');
  const body = typeof request.body === 'string' ? Buffer.from(request.body) : (request.body ?? Buffer.alloc(0));
  const multiValueHeaders: Record<string, string[]> = {};
  const casing = new Map<string, string>();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    // The first casing seen names the header; later ones with another casing add their values.
    const key = casing.get(name.toLowerCase()) ?? name;
    casing.set(name.toLowerCase(), key);
    (multiValueHeaders[key] ??= []).push(...(Array.isArray(value) ? value : [value]));
  }
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([name, values]) => [name, values.at(-1)!]));
  const multiValueQuery: Record<string, string[]> = {};
  for (const name of new Set(url.searchParams.keys())) multiValueQuery[name] = url.searchParams.getAll(name);
  const hasQuery = Object.keys(multiValueQuery).length > 0;
  const hasPathParameters = Object.keys(matched.pathParameters).length > 0;
  const now = request.receivedAt ?? Date.now();
  const requestId = randomUUID();
  const sourceIp = request.sourceIp ?? '127.0.0.1';
  const header = (lowerCaseName: string) => headers[casing.get(lowerCaseName) ?? lowerCaseName];
  return {
    resource: matched.route.path,
    path: url.pathname,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery
      ? Object.fromEntries(Object.entries(multiValueQuery).map(([name, values]) => [name, values.at(-1)!]))
      : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
    pathParameters: hasPathParameters ? { ...matched.pathParameters } : null,
    stageVariables: null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: undefined,
      domainName: header('host') ?? 'localhost',
      domainPrefix: 'localhost',
      extendedRequestId: randomBytes(12).toString('base64'),
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent: header('user-agent') ?? null,
        userArn: null,
      },
      path: `/${LOCAL_REST_STAGE}${url.pathname}`,
      protocol: `HTTP/${request.httpVersion ?? '1.1'}`,
      requestId,
      requestTime: restRequestTime(now),
      requestTimeEpoch: now,
      resourceId: 'local',
      resourcePath: matched.route.path,
      stage: LOCAL_REST_STAGE,
    },
    body: body.length > 0 ? body.toString('utf8') : null,
    isBase64Encoded: false,
  };
}

/** A Lambda context good enough for middy and Powertools. */
export function lambdaContext(functionName: string, timeoutMs = 29_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Answer once the client has sent everything (as API Gateway does): a reset mid-upload
        // would reach the client as a network error instead of the 413.
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () =>
      size > limit
        ? reject(payloadTooLarge(`The request body exceeds ${MAX_BODY_BYTES} bytes.`))
        : resolve(Buffer.concat(chunks)),
    );
    request.on('error', reject);
  });
}

/** Reads a request into its plain form, headers as Node.js hands them (lower-case names). */
async function plainRequestOf(request: IncomingMessage): Promise<PlainHttpRequest> {
  // Leave room for the JSON envelope so the handler, not this server, reports oversized bodies.
  const body = await readBody(request, MAX_BODY_BYTES + 64 * 1024);
  return {
    method: request.method ?? 'GET',
    url: request.url ?? '/',
    headers: request.headers,
    body,
    sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    httpVersion: request.httpVersion,
  };
}

/** Reads a request and builds its HTTP API event. */
async function eventOf(
  request: IncomingMessage,
  matched: MatchedRoute | undefined,
  iamPrincipal?: string,
): Promise<APIGatewayProxyEventV2> {
  return toHttpApiEvent(await plainRequestOf(request), matched, iamPrincipal);
}

/** A request's headers in the client's casing, each with all its values (a REST API keeps both). */
function rawHeadersOf(request: IncomingMessage): Record<string, string[]> {
  const headers: Record<string, string[]> = {};
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    (headers[request.rawHeaders[i]!] ??= []).push(request.rawHeaders[i + 1]!);
  }
  return headers;
}

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function sendError(response: ServerResponse, error: GatewayError, shape: ErrorShape = 'openai'): void {
  response.writeHead(error.status, { 'content-type': 'application/json', ...error.headers });
  response.end(JSON.stringify(errorBody(error, shape)));
}

/** The error shape of the route a request was meant for. */
function shapeOf(request: IncomingMessage): ErrorShape {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  return matchRoute(request.method ?? 'GET', path)?.route.errors ?? 'openai';
}

function sendResult(response: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result === 'string') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(result);
    return;
  }
  const headers: Record<string, string | string[]> = { ...(result.headers as Record<string, string>) };
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(result.body ? Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8') : undefined);
}

/**
 * An HTTP server that plays API Gateway for the gateway's Lambdas: it matches the shared route
 * table, enforces the admin credential where API Gateway would enforce IAM, builds the payload
 * 2.0 event, calls the same handler the Lambda exports and writes its response back.
 *
 * @example
 * createLocalServer({ handlers, adminToken }).listen(8080);
 */
export function createLocalServer(options: LocalServerOptions): Server {
  const adminPrincipal = options.adminPrincipal ?? 'arn:aws:iam::000000000000:user/local-admin';
  return createServer((request, response) => {
    void (async () => {
      try {
        const url = new URL(request.url ?? '/', 'http://localhost');
        const matched = matchRoute(request.method ?? 'GET', url.pathname);
        if (!matched) throw notFound(`Unknown route: ${request.method} ${url.pathname}`);
        let iamPrincipal: string | undefined;
        if (matched.route.auth === 'iam') {
          const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
          // A signed-in user's token goes to the Lambda, which verifies it (the console door's role in AWS).
          if (!looksLikeJwt(token)) {
            if (!token || !sameSecret(token, options.adminToken)) {
              throw forbidden(
                'Admin routes need the local admin token (Authorization: Bearer <token>) or, with single sign-on, a sign-in token; team API keys are not accepted.',
                ERROR_CODES.adminOnly,
              );
            }
            iamPrincipal = adminPrincipal;
          }
        }
        const event = await eventOf(request, matched, iamPrincipal);
        // Usage, audit and admin reads see every answer already given: the gateway's usage writes
        // run just after its answers (in AWS, milliseconds later, in the answering invocation).
        if (matched.route.function !== 'gateway') await installedAfterResponse()?.drain();
        const handler = options.handlers[matched.route.function];
        const result = await handler(event, lambdaContext(`llm-gateway-${matched.route.function}`));
        sendResult(response, result);
      } catch (error) {
        if (error instanceof GatewayError) return sendError(response, error, shapeOf(request));
        process.stderr.write(`local server error: ${(error as Error).stack ?? String(error)}\n`);
        sendError(response, new GatewayError(502, 'server_error', 'The Lambda failed (see the local server log).'));
      }
    })();
  });
}

/** A response-streaming Lambda handler, as `awslambda.streamifyResponse` returns it. */
export type StreamingLambdaHandler = (event: GatewayEvent, responseStream: Writable, context: Context) => Promise<void>;

/**
 * What the streaming door answers, before any Lambda runs, for a method and path it has no
 * resource for (also for a route that exists only on the HTTP API, such as `/v1/usage`): the
 * REST API's MISSING_AUTHENTICATION_TOKEN gateway response, which the CDK app sets to this 404 in
 * OpenAI's shape (API Gateway's default would be a 403 `Missing Authentication Token`).
 */
export const REST_MISSING_ROUTE = STREAM_DOOR_RESPONSES.MISSING_AUTHENTICATION_TOKEN;

/**
 * An HTTP server that plays the streaming door, a REST API whose resources are the gateway
 * function's routes, each a Lambda proxy integration in STREAM mode: an unknown route gets
 * API Gateway's own 404, a known one the REST API (payload 1.0) event, and the handler's
 * response stream is written to the client as it is produced. There is no auth to emulate (the
 * handler checks keys itself); stage throttling and WAF are not emulated.
 *
 * @example
 * createLocalStreamServer(streamHandler).listen(8081);
 */
export function createLocalStreamServer(handler: StreamingLambdaHandler): Server {
  return createServer((request, response) => {
    void (async () => {
      try {
        const url = new URL(request.url ?? '/', 'http://localhost');
        const matched = matchRoute(request.method ?? 'GET', url.pathname);
        if (!matched || matched.route.function !== 'gateway') {
          // API Gateway answers without reading the body; drain it so the connection stays usable.
          request.resume();
          sendError(response, REST_MISSING_ROUTE);
          return;
        }
        const plain = await plainRequestOf(request);
        const event = toRestApiEvent({ ...plain, headers: rawHeadersOf(request) }, matched);
        await handler(event, new HttpResponseStream(response), lambdaContext('llm-gateway-stream', 900_000));
      } catch (error) {
        if (response.headersSent) {
          response.destroy();
          return;
        }
        if (error instanceof GatewayError) return sendError(response, error, shapeOf(request));
        process.stderr.write(`local stream server error: ${(error as Error).stack ?? String(error)}\n`);
        sendError(response, new GatewayError(502, 'server_error', 'The Lambda failed (see the local server log).'));
      }
    })();
  });
}
