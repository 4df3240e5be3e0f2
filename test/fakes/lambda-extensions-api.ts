import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for Lambda's Extensions API (`/2020-01-01/extension/register` and `/event/next`), as
 * an internal extension sees it, with the invocation lifecycle Lambda applies: an invocation ends
 * only when every registered extension has asked for its next event. `invoke()` delivers an
 * INVOKE event to the extension's pending `next` and resolves when the extension asks again,
 * the moment Lambda would consider the invocation over and could freeze the environment or start
 * the next one.
 */
export interface ExtensionsApi {
  /** `host:port`, as `AWS_LAMBDA_RUNTIME_API`. */
  runtimeApi: string;
  /** Registrations received (name, events). */
  registrations: { name: string | undefined; events: unknown }[];
  /** Delivers the next INVOKE event; resolves when the extension asks for the event after it. */
  invoke(): Promise<void>;
  /** Whether the extension is waiting for an event (init done, or the last invocation ended). */
  waiting(): boolean;
  close(): Promise<void>;
}

/**
 * Starts the stand-in; `refuse` makes it answer registrations with 403 (as Lambda does after init).
 *
 * @example
 * const api = await startExtensionsApi();
 * await registerAfterResponseExtension(api.runtimeApi, 'x', registry);
 */
export async function startExtensionsApi(options: { refuse?: boolean } = {}): Promise<ExtensionsApi> {
  const id = randomUUID();
  const registrations: ExtensionsApi['registrations'] = [];
  let pendingNext: ServerResponse | undefined;
  let nextArrived: (() => void) | undefined;
  let requestId = 0;
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/2020-01-01/extension/register') {
        if (options.refuse) {
          response.writeHead(403, { 'content-type': 'application/json' });
          return response.end(JSON.stringify({ errorType: 'Extension.Forbidden', errorMessage: 'init is over' }));
        }
        registrations.push({
          name: request.headers['lambda-extension-name'] as string | undefined,
          events: (JSON.parse(body) as { events: unknown }).events,
        });
        response.writeHead(200, { 'content-type': 'application/json', 'lambda-extension-identifier': id });
        return response.end(
          JSON.stringify({ functionName: 'gateway', functionVersion: '$LATEST', handler: 'index.handler' }),
        );
      }
      if (request.method === 'GET' && request.url === '/2020-01-01/extension/event/next') {
        if (request.headers['lambda-extension-identifier'] !== id) {
          response.writeHead(403);
          return response.end();
        }
        pendingNext = response;
        nextArrived?.();
        nextArrived = undefined;
        return;
      }
      response.writeHead(404);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const waitForNext = () => (pendingNext ? Promise.resolve() : new Promise<void>((resolve) => (nextArrived = resolve)));
  return {
    runtimeApi: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    registrations,
    async invoke() {
      await waitForNext();
      const response = pendingNext!;
      pendingNext = undefined;
      requestId += 1;
      const ended = waitForNext();
      response.writeHead(200, {
        'content-type': 'application/json',
        'lambda-extension-event-identifier': randomUUID(),
      });
      response.end(
        JSON.stringify({ eventType: 'INVOKE', requestId: `req-${requestId}`, deadlineMs: Date.now() + 30_000 }),
      );
      await ended;
    },
    waiting: () => pendingNext !== undefined,
    close: () =>
      new Promise<void>((resolve) => {
        pendingNext?.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
