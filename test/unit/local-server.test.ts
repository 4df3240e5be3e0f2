import { matchRoute } from '../../lambdas/shared/http/routes';
import { toHttpApiEvent } from '../../local/server';
import { toHttpRequest } from '../../lambdas/shared/http/request';

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
