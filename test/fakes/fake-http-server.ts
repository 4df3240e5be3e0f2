import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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

/**
 * The lifecycle every HTTP/1.1 provider fake shares: a server on a free local port, a swappable
 * responder, and a stop() that destroys open connections (streams in flight included) so Jest
 * can exit. Subclasses only decode requests and render replies in their provider's format.
 */
export abstract class FakeHttpServer<Request, Reply> {
  /** Every request received, in order. */
  readonly requests: Request[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(protected respond: (request: Request) => Reply) {}

  /** Replaces the reply logic (per test). */
  setResponder(respond: (request: Request) => Reply): void {
    this.respond = respond;
  }

  /** Starts on 127.0.0.1 with a free port; resolves to the base URL without trailing slash. */
  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.handle(req, res, Buffer.concat(chunks).toString('utf8')).catch(() => {
          if (!res.destroyed) res.destroy();
        });
      });
    });
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Closes the server, destroying open connections (including streams in flight). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Whether the server is still running (replies in flight stop writing once it is not). */
  protected get running(): boolean {
    return this.server !== undefined;
  }

  /** Decodes one request (body already read) and writes the reply. */
  protected abstract handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void>;
}
