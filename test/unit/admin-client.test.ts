import { AdminClient, regionOfApiUrl } from '../../bin/admin-client';

describe('admin client', () => {
  it('signs requests to a deployed API with SigV4 for execute-api', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: URL, init: RequestInit) => {
      seen.push({ url: url.toString(), init });
      return new Response(JSON.stringify({ object: 'list', data: [] }), { status: 200 });
    }) as unknown as typeof fetch;
    const client = new AdminClient({
      url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/',
      credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session' }),
      fetch: fakeFetch,
    });
    await client.request('POST', '/v1/admin/teams', { id: 'x', name: 'X' });
    const headers = seen[0]!.init.headers as Record<string, string>;
    expect(seen[0]!.url).toBe('https://abc123.execute-api.eu-west-1.amazonaws.com/v1/admin/teams');
    expect(headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers['x-amz-security-token']).toBe('session');
  });

  it('reads the region from an execute-api URL and refuses to guess otherwise', async () => {
    expect(regionOfApiUrl('https://abc.execute-api.us-east-2.amazonaws.com/')).toBe('us-east-2');
    expect(regionOfApiUrl('https://gateway.example.com/')).toBeUndefined();
    const client = new AdminClient({
      url: 'https://gateway.example.com/',
      credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }),
    });
    await expect(client.request('GET', '/v1/admin/teams')).rejects.toThrow(
      'cannot tell the AWS region to sign requests to gateway.example.com (not an execute-api URL): pass --region (or set AWS_REGION)',
    );
  });

  it('asks for the local admin token, never a region, for a local URL without one', async () => {
    const seen: string[] = [];
    const client = new AdminClient({
      url: 'http://localhost:9000',
      fetch: (async (url: URL) => {
        seen.push(url.toString());
        return new Response('{}');
      }) as unknown as typeof fetch,
    });
    const failure = client.request('GET', '/v1/admin/teams');
    await expect(failure).rejects.toThrow(
      'no admin token for the local gateway at http://localhost:9000: pass --admin-token (or set GATEWAY_ADMIN_TOKEN)',
    );
    await expect(failure).rejects.not.toThrow(/region/);
    expect(seen).toEqual([]);
  });

  it('says AWS credentials are missing when the credential chain finds none', async () => {
    const client = new AdminClient({
      url: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
      credentials: async () => {
        throw new Error('Could not load credentials from any providers');
      },
      fetch: (async () => new Response('{}')) as unknown as typeof fetch,
    });
    await expect(client.request('GET', '/v1/admin/teams')).rejects.toThrow(
      'no AWS credentials to sign requests to https://abc.execute-api.eu-west-1.amazonaws.com: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login` (Could not load credentials from any providers)',
    );
  });

  it('reports the API’s error message, status and code', async () => {
    const client = new AdminClient({
      url: 'http://localhost:1',
      adminToken: 't',
      fetch: (async () =>
        new Response(
          JSON.stringify({
            error: { message: 'No team.', type: 'invalid_request_error', param: null, code: 'not_found' },
          }),
          {
            status: 404,
          },
        )) as unknown as typeof fetch,
    });
    await expect(client.request('GET', '/v1/admin/teams/x')).rejects.toMatchObject({
      status: 404,
      code: 'not_found',
      message: 'No team.',
    });
  });
});
