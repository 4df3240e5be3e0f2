import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `length` random base62 characters, for ids shaped like a provider's. */
export function randomBase62(length: number): string {
  let out = '';
  for (const byte of randomBytes(length)) out += BASE62[byte % 62];
  return out;
}

/** Waits `ms` (at once for 0 or less) without keeping Jest alive. */
export function sleep(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Resolves once the chunk is handed to the socket (or the write failed: the peer is gone). */
export function writeChunk(res: ServerResponse, chunk: string): Promise<void> {
  return new Promise((resolve) => res.write(chunk, () => resolve()));
}

/**
 * The text of the last user message of a chat-style body (OpenAI, Anthropic): string content,
 * or its text parts joined; '' if there is none.
 */
export function lastUserMessageText(body: Record<string, unknown>): string {
  const messages = body['messages'];
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as { role?: unknown; content?: unknown } | null;
    if (!message || message.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    if (Array.isArray(message.content)) {
      return message.content
        .filter((p): p is { type: 'text'; text: string } => {
          const part = p as { type?: unknown; text?: unknown } | null;
          return part?.type === 'text' && typeof part.text === 'string';
        })
        .map((p) => p.text)
        .join('');
    }
    return '';
  }
  return '';
}

/** Calls `then` with the body of a request (or HTTP/2 stream), as UTF-8, once all of it has arrived. */
export function onBody(request: NodeJS.ReadableStream, then: (raw: string) => void): void {
  const chunks: Buffer[] = [];
  request.on('data', (c: Buffer) => chunks.push(c));
  request.on('end', () => then(Buffer.concat(chunks).toString('utf8')));
}

/** A socket, or an HTTP/2 session (which owns one). */
interface Connection {
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * A fake's server on a free local port, one at a time: `listen` starts it and tracks its open
 * connections, `stop` closes it and destroys those (streams in flight included) so that the
 * close does not wait on them and Jest can exit.
 */
export class LocalListener {
  private closeServer: (() => Promise<void>) | undefined;

  /** Whether the server is running (replies in flight stop writing once it is not). */
  get running(): boolean {
    return this.closeServer !== undefined;
  }

  /**
   * Starts `server` on 127.0.0.1 with a free port; resolves to the base URL without trailing
   * slash. An HTTP/2 server's connections are its sessions (`connectionEvent` 'session').
   */
  async listen(server: NetServer, connectionEvent: 'connection' | 'session' = 'connection'): Promise<string> {
    const open = new Set<Connection>();
    server.on(connectionEvent, (connection: Connection) => {
      open.add(connection);
      connection.once('close', () => open.delete(connection));
    });
    this.closeServer = async () => {
      for (const connection of open) connection.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Closes the server, destroying open connections; does nothing if it is not running. */
  async stop(): Promise<void> {
    const closeServer = this.closeServer;
    this.closeServer = undefined;
    await closeServer?.();
  }
}

/**
 * The lifecycle every HTTP/1.1 provider fake shares: a server on a free local port, a swappable
 * responder, and a stop() that destroys open connections (streams in flight included) so Jest
 * can exit. Subclasses only decode requests and render replies in their provider's format.
 */
export abstract class FakeHttpServer<Request, Reply> {
  /** Every request received, in order (while {@link keepsRequests}). */
  readonly requests: Request[] = [];
  /**
   * Whether {@link requests} keeps what arrives. A bench that sends thousands of requests turns it
   * off: kept requests would grow the heap of the process the gateway under test shares, and its
   * garbage collector's pauses would be timed as the gateway's.
   */
  keepsRequests = true;
  private readonly listener = new LocalListener();

  constructor(protected respond: (request: Request) => Reply) {}

  /** Notes a request that arrived. */
  protected received(request: Request): void {
    if (this.keepsRequests) this.requests.push(request);
  }

  /** Replaces the reply logic (per test). */
  setResponder(respond: (request: Request) => Reply): void {
    this.respond = respond;
  }

  /** Starts on 127.0.0.1 with a free port; resolves to the base URL without trailing slash. */
  async start(): Promise<string> {
    const server = createServer((req, res) =>
      onBody(req, (raw) => {
        void this.handle(req, res, raw).catch(() => {
          if (!res.destroyed) res.destroy();
        });
      }),
    );
    return this.listener.listen(server);
  }

  /** Closes the server, destroying open connections (including streams in flight). */
  stop(): Promise<void> {
    return this.listener.stop();
  }

  /** Whether the server is still running (replies in flight stop writing once it is not). */
  protected get running(): boolean {
    return this.listener.running;
  }

  /** Decodes one request (body already read) and writes the reply. */
  protected abstract handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void>;
}
