import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { ProviderError } from '../../lambdas/shared/providers/errors';
import { postJson, serverSentEvents } from '../../lambdas/shared/providers/http';

/**
 * The client the OpenAI and Anthropic adapters call providers with (Node.js's http/https, a
 * keep-alive pool), against local servers: a redirect is not followed, so the credential headers
 * sent to a provider never reach its target, and the call fails at once as misconfigured (final:
 * no retry, no fallback to the same mistake); bodies are bounded; a stream's events arrive as
 * sent, also across a pause longer than the pool's idle timeout.
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

describe('the provider HTTP client', () => {
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

  it('refuses a JSON answer over 64 MB instead of holding it all in memory', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const huge = createServer((request, response) => {
      request.resume();
      response.writeHead(200, { 'content-type': 'application/json' });
      let sent = 0;
      const more = () => {
        while (sent < 80 && !response.destroyed) {
          sent += 1;
          if (!response.write(chunk)) return void response.once('drain', more);
        }
        response.end();
      };
      more();
    });
    await new Promise<void>((resolve) => huge.listen(0, '127.0.0.1', resolve));
    servers.push(huge);
    const url = `http://127.0.0.1:${(huge.address() as AddressInfo).port}/v1/chat/completions`;
    const response = await postJson('OpenAI', url, {}, {}, new AbortController().signal);
    await expect(response.json()).rejects.toThrow(/over 67108864 bytes/);
  });

  it('hands on stream events as they arrive, across a pause longer than the idle timeout, and says when a stream breaks off', async () => {
    for (const cut of [false, true]) {
      const streaming = createServer((request, response) => {
        request.resume();
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write('data: one\n\n');
        setTimeout(() => {
          response.write('event: x\ndata: tw');
          if (cut) return void response.destroy();
          response.end('o\n\ndata: [DONE]\n\n');
        }, 4_500);
      });
      await new Promise<void>((resolve) => streaming.listen(0, '127.0.0.1', resolve));
      servers.push(streaming);
      const url = `http://127.0.0.1:${(streaming.address() as AddressInfo).port}/v1/chat/completions`;
      const signal = new AbortController().signal;
      const seen: string[] = [];
      const read = (async () => {
        for await (const event of serverSentEvents('OpenAI', await postJson('OpenAI', url, {}, {}, signal), signal))
          seen.push(`${event.event ?? ''}:${event.data}`);
      })();
      if (cut) {
        await expect(read).rejects.toMatchObject({ failure: 'upstream_error', message: /stream broke off/ });
        expect(seen).toEqual([':one']);
      } else {
        await read;
        expect(seen).toEqual([':one', 'x:two', ':[DONE]']);
      }
    }
  }, 15_000);

  it('does not reuse a pooled connection that sat idle past the idle timeout while timers could not run (a frozen Lambda)', async () => {
    // The provider answers one request per connection and resets the connection when another
    // arrives on it: what a provider that closed an idle keep-alive connection looks like.
    let connections = 0;
    const sockets: Socket[] = [];
    const server = createNetServer((socket) => {
      connections += 1;
      sockets.push(socket);
      let served = 0;
      let buffered = '';
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        if (!buffered.includes('{"n"')) return;
        buffered = '';
        served += 1;
        if (served > 1) return void socket.resetAndDestroy();
        const body = '{"ok":true}';
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`,
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
    const call = async (n: number) =>
      (await postJson('OpenAI', url, { n }, {}, new AbortController().signal)).json().then(
        (body) => body,
        (error: unknown) => error,
      );
    // Only the wall clock moves, as across a freeze: no timer fires meanwhile.
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
    try {
      expect(await call(1)).toEqual({ ok: true });
      // Within the idle timeout the pooled connection is reused: this provider resets it.
      await expect(postJson('OpenAI', url, { n: 2 }, {}, new AbortController().signal)).rejects.toMatchObject({
        failure: 'unavailable',
      });
      expect(connections).toBe(1);
      expect(await call(3)).toEqual({ ok: true });
      expect(connections).toBe(2);
      // Six seconds later by the wall clock, none of the pool's timers having run: a new connection.
      jest.setSystemTime(Date.now() + 6_000);
      expect(await call(4)).toEqual({ ok: true });
      expect(connections).toBe(3);
    } finally {
      jest.useRealTimers();
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => server.close(resolve));
    }
  });

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
