import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { matchRoute } from '../../lambdas/shared/http/routes';
import { installAwsLambdaGlobal } from '../../local/awslambda';
import { createLocalStreamServer, toHttpApiEvent, toRestApiEvent } from '../../local/server';
import { toHttpRequest, type GatewayEvent, type HttpRequest } from '../../lambdas/shared/http/request';

/** The `awslambda` global as a streaming handler sees it (installed by the local runtime here). */
function awslambdaGlobal() {
  return (globalThis as unknown as { awslambda: { HttpResponseStream: { from(s: Writable, p: object): Writable } } })
    .awslambda;
}

describe('local API Gateway emulation', () => {
  it('matches routes from the shared table with path parameters', () => {
    expect(matchRoute('POST', '/v1/admin/teams/payments/keys')).toMatchObject({
      route: { path: '/v1/admin/teams/{teamId}/keys', function: 'auth' },
      pathParameters: { teamId: 'payments' },
    });
    expect(matchRoute('GET', '/v1/chat/completions')).toBeUndefined();
    expect(matchRoute('POST', '/v1/chat/completions/extra')).toBeUndefined();
  });

  it('builds an HTTP API payload 2.0 event like API Gateway', () => {
    const matched = matchRoute('GET', '/v1/usage')!;
    const before = Date.now();
    const event = toHttpApiEvent(
      {
        method: 'GET',
        url: '/v1/usage?days=7&tag=a&tag=b',
        headers: { Authorization: 'Bearer x', 'X-Forwarded-For': ['1.1.1.1', '2.2.2.2'], cookie: 'a=1; b=2' },
      },
      matched,
    );
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('GET /v1/usage');
    expect(event.rawPath).toBe('/v1/usage');
    expect(event.rawQueryString).toBe('days=7&tag=a&tag=b');
    expect(event.queryStringParameters).toEqual({ days: '7', tag: 'a,b' });
    expect(event.headers).toEqual({ authorization: 'Bearer x', 'x-forwarded-for': '1.1.1.1,2.2.2.2' });
    expect(event.cookies).toEqual(['a=1', 'b=2']);
    expect(event.requestContext.http).toMatchObject({ method: 'GET', path: '/v1/usage', protocol: 'HTTP/1.1' });
    expect(event.requestContext.requestId).toMatch(/^[A-Za-z0-9+/=]{16}$/);
    expect(event.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.body).toBeUndefined();
  });

  it('base64-encodes binary bodies and the handler side decodes them', () => {
    const matched = matchRoute('POST', '/v1/chat/completions')!;
    const event = toHttpApiEvent(
      {
        method: 'POST',
        url: '/v1/chat/completions',
        headers: { 'content-type': 'application/octet-stream' },
        body: '{"a":1}',
      },
      matched,
    );
    expect(event.isBase64Encoded).toBe(true);
    expect(toHttpRequest(event).body).toBe('{"a":1}');
  });

  it('passes the IAM principal only when the admin check passed', () => {
    const matched = matchRoute('POST', '/v1/admin/teams')!;
    const event = toHttpApiEvent(
      { method: 'POST', url: '/v1/admin/teams', headers: {} },
      matched,
      'arn:aws:iam::1:user/a',
    );
    expect(toHttpRequest(event).iamPrincipal).toBe('arn:aws:iam::1:user/a');
    expect(
      toHttpRequest(toHttpApiEvent({ method: 'POST', url: '/v1/admin/teams', headers: {} }, matched)).iamPrincipal,
    ).toBeUndefined();
  });
});

describe('local REST API emulation (the streaming door)', () => {
  const chat = () => matchRoute('POST', '/v1/chat/completions')!;

  it('builds the REST API payload 1.0 event API Gateway sends a Lambda proxy integration', () => {
    const before = Date.now();
    const event = toRestApiEvent(
      {
        method: 'POST',
        url: '/v1/chat/completions?tag=a&tag=b%20c&days=7',
        headers: {
          Authorization: 'Bearer x',
          'Content-Type': 'application/json',
          'X-Forwarded-For': ['1.1.1.1', '2.2.2.2'],
          Cookie: 'a=1; b=2',
        },
        body: '{"model":"m"}',
        sourceIp: '203.0.113.9',
      },
      chat(),
    );
    expect(event).toMatchObject({
      resource: '/v1/chat/completions',
      path: '/v1/chat/completions',
      httpMethod: 'POST',
      body: '{"model":"m"}',
      isBase64Encoded: false,
      pathParameters: null,
      stageVariables: null,
    });
    // The client's casing; `headers` keeps a repeated header's last value, `multiValueHeaders` all.
    expect(event.headers).toEqual({
      Authorization: 'Bearer x',
      'Content-Type': 'application/json',
      'X-Forwarded-For': '2.2.2.2',
      Cookie: 'a=1; b=2',
    });
    expect(event.multiValueHeaders['X-Forwarded-For']).toEqual(['1.1.1.1', '2.2.2.2']);
    expect(event.queryStringParameters).toEqual({ tag: 'b c', days: '7' });
    expect(event.multiValueQueryStringParameters).toEqual({ tag: ['a', 'b c'], days: ['7'] });
    expect(event.requestContext).toMatchObject({
      httpMethod: 'POST',
      resourcePath: '/v1/chat/completions',
      path: '/local/v1/chat/completions',
      stage: 'local',
      protocol: 'HTTP/1.1',
      identity: { sourceIp: '203.0.113.9', userArn: null },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(event.requestContext.requestTimeEpoch).toBeGreaterThanOrEqual(before);
    expect(event.requestContext.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
  });

  it('gives an empty body and no query as nulls, as API Gateway does', () => {
    const event = toRestApiEvent({ method: 'GET', url: '/v1/models', headers: {} }, matchRoute('GET', '/v1/models')!);
    expect(event.body).toBeNull();
    expect(event.queryStringParameters).toBeNull();
    expect(event.multiValueQueryStringParameters).toBeNull();
  });

  it('normalises a REST API event into the same request as the HTTP API event of the same call', () => {
    const plain = {
      method: 'POST',
      url: '/v1/chat/completions?tag=a&tag=b',
      headers: { Authorization: 'Bearer k', 'X-Forwarded-For': ['1.1.1.1', '2.2.2.2'] },
      body: '{"a":1}',
      sourceIp: '198.51.100.7',
      receivedAt: 1_700_000_000_000,
    };
    const rest = toHttpRequest(toRestApiEvent(plain, chat()));
    const http = toHttpRequest(toHttpApiEvent(plain, chat()));
    const { apiRequestId: restId, ...restRequest } = rest;
    const { apiRequestId: httpId, ...httpRequest } = http;
    expect(restRequest).toEqual(httpRequest);
    expect(restRequest).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      routeKey: 'POST /v1/chat/completions',
      headers: { authorization: 'Bearer k', 'x-forwarded-for': '1.1.1.1,2.2.2.2' },
      query: { tag: 'a,b' },
      body: '{"a":1}',
      receivedAt: 1_700_000_000_000,
      sourceIp: '198.51.100.7',
      iamPrincipal: undefined,
    });
    expect(restId).not.toBe(httpId);
    expect(restId.length).toBeGreaterThan(0);
  });

  it('decodes a base64 REST body (a binary media type) and merges headers that differ only in case', () => {
    const event = toRestApiEvent({ method: 'POST', url: '/v1/chat', headers: {} }, matchRoute('POST', '/v1/chat')!);
    const request = toHttpRequest({
      ...event,
      body: Buffer.from('{"b":2}').toString('base64'),
      isBase64Encoded: true,
      headers: { Accept: 'text/event-stream' },
      multiValueHeaders: { Accept: ['text/event-stream'], accept: ['application/json'] },
    });
    expect(request.body).toBe('{"b":2}');
    expect(request.headers).toEqual({ accept: 'text/event-stream,application/json' });
    expect(request.routeKey).toBe('POST /v1/chat');
  });

  it('reports the source IP of an HTTP API event too', () => {
    const event = toHttpApiEvent({ method: 'GET', url: '/health', headers: {}, sourceIp: '192.0.2.1' }, undefined);
    expect(toHttpRequest(event)).toMatchObject({ sourceIp: '192.0.2.1', routeKey: '$default' });
  });
});

describe('local streaming door server', () => {
  type Seen = { event: GatewayEvent; request: HttpRequest };
  let server: Server;
  let base: string;
  const seen: Seen[] = [];

  beforeAll(async () => {
    installAwsLambdaGlobal();
    server = createLocalStreamServer(async (event, responseStream) => {
      seen.push({ event, request: toHttpRequest(event) });
      const stream = awslambdaGlobal().HttpResponseStream.from(responseStream, {
        statusCode: 200,
        headers: { 'content-type': 'text/event-stream' },
      });
      stream.write('data: one\n\n');
      await new Promise((resolve) => setTimeout(resolve, 20));
      stream.end('data: [DONE]\n\n');
      await once(stream, 'finish');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("answers a route the REST API has no resource for with the door's 404 in OpenAI's shape, without calling the Lambda", async () => {
    const before = seen.length;
    for (const [method, path] of [
      ['GET', '/v1/nope'],
      ['GET', '/v1/chat/completions'], // a resource, but not this method
      ['GET', '/v1/usage'], // an HTTP API route only
      ['POST', '/v1/admin/teams'],
    ] as const) {
      const response = await fetch(`${base}${path}`, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        error: { message: 'Unknown route.', type: 'invalid_request_error', param: null, code: 'not_found' },
      });
    }
    expect(seen.length).toBe(before);
  });

  it('calls the Lambda with a REST API event for a gateway route and streams its answer', async () => {
    const response = await fetch(`${base}/v1/chat/completions?x=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer k' },
      body: '{"stream":true}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe('data: one\n\ndata: [DONE]\n\n');
    const last = seen.at(-1)!;
    expect(last.event).toMatchObject({ httpMethod: 'POST', resource: '/v1/chat/completions', body: '{"stream":true}' });
    // Node.js hands the client's header casing to the event, as API Gateway does.
    expect((last.event as { headers: Record<string, string> }).headers['Authorization']).toBe('Bearer k');
    expect(last.request).toMatchObject({
      routeKey: 'POST /v1/chat/completions',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      query: { x: '1' },
      sourceIp: '127.0.0.1',
    });
  });
});
