import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProviderError } from '../../lambdas/shared/providers/errors';
import { postJson } from '../../lambdas/shared/providers/http';

/**
 * A provider endpoint that answers with a redirect: the gateway does not follow it, so the
 * credential headers it sends a provider never reach the redirect's target, and the call fails
 * at once as misconfigured (final: no retry, no fallback to the same mistake).
 */

async function listen(handle: (request: IncomingMessage, body: string) => [number, Record<string, string>, string]) {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const [status, headers, text] = handle(request, body);
      response.writeHead(status, headers).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('a provider that redirects', () => {
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))));

  it.each([301, 302, 307, 308])(
    'is not followed on %i: no credential leaves for the target, the call fails as misconfigured',
    async (status) => {
      const reached: Record<string, string | string[] | undefined>[] = [];
      const target = await listen((request) => {
        reached.push(request.headers);
        return [200, { 'content-type': 'application/json' }, '{"id":"chatcmpl-elsewhere"}'];
      });
      const redirecting = await listen(() => [status, { location: `${target.url}/v1/chat/completions` }, '']);
      servers.push(target.server, redirecting.server);

      const call = postJson(
        'OpenAI-compatible',
        `${redirecting.url}/v1/chat/completions`,
        { model: 'm', messages: [] },
        { authorization: 'Bearer sk-secret', 'x-api-key': 'sk-secret' },
        new AbortController().signal,
      );
      const error = await call.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).failure).toBe('misconfigured');
      expect((error as ProviderError).retryable).toBe(false);
      expect((error as ProviderError).message).toMatch(/redirect/);
      expect((error as ProviderError).message).not.toContain('sk-secret');
      expect(reached).toEqual([]);
    },
  );

  it('still posts the JSON body and headers to a provider that answers', async () => {
    let seen: { body: string; key?: string } | undefined;
    const provider = await listen((request, body) => {
      seen = { body, key: request.headers['x-api-key'] as string };
      return [200, { 'content-type': 'application/json' }, '{"ok":true}'];
    });
    servers.push(provider.server);
    const response = await postJson(
      'Anthropic',
      `${provider.url}/v1/messages`,
      { a: 1 },
      { 'x-api-key': 'k' },
      new AbortController().signal,
    );
    expect(await response.json()).toEqual({ ok: true });
    expect(seen).toEqual({ body: '{"a":1}', key: 'k' });
  });
});
