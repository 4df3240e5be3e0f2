import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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
