import {
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2Session,
  type IncomingHttpHeaders,
} from 'node:http2';
import type { AddressInfo } from 'node:net';

/** A request the fake received, decoded. */
export interface FakeBedrockRequest {
  operation: 'converse' | 'converse-stream';
  modelId: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** What the fake answers: a Converse JSON body, or a Bedrock error. */
export type FakeBedrockReply =
  | { kind: 'ok'; body: Record<string, unknown>; delayMs?: number }
  | { kind: 'error'; status: number; errorType: string; message: string; delayMs?: number };

/**
 * A local stand-in for the Bedrock runtime that speaks its REST-JSON protocol over HTTP/2 (the
 * SDK's Bedrock runtime client uses HTTP/2, cleartext against an `http://` endpoint): `POST
 * /model/{modelId}/converse`, JSON in and out, errors as an HTTP status with the exception name
 * in `x-amzn-errortype`, exactly what `@aws-sdk/client-bedrock-runtime` parses.
 */
export class FakeBedrock {
  readonly requests: FakeBedrockRequest[] = [];
  private server: Http2Server | undefined;
  private readonly sessions = new Set<Http2Session>();

  constructor(private respond: (request: FakeBedrockRequest) => FakeBedrockReply) {}

  /** Replaces the reply logic (per test). */
  setResponder(respond: (request: FakeBedrockRequest) => FakeBedrockReply): void {
    this.respond = respond;
  }

  /** Starts listening on a free port and returns the endpoint URL. */
  async start(): Promise<string> {
    this.server = createServer((req: Http2ServerRequest, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const match = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(req.url ?? '');
        if (req.method !== 'POST' || !match) {
          res.writeHead(404, { 'x-amzn-errortype': 'UnknownOperationException' });
          res.end('{}');
          return;
        }
        const request: FakeBedrockRequest = {
          operation: match[2] as FakeBedrockRequest['operation'],
          modelId: decodeURIComponent(match[1]!),
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
        };
        this.requests.push(request);
        const reply = this.respond(request);
        setTimeout(() => {
          if (res.destroyed || res.stream.destroyed) return;
          if (reply.kind === 'error') {
            res.writeHead(reply.status, {
              'content-type': 'application/json',
              'x-amzn-errortype': `${reply.errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
              'x-amzn-requestid': 'fake-request',
            });
            res.end(JSON.stringify({ message: reply.message }));
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': 'fake-request' });
          res.end(JSON.stringify(reply.body));
        }, reply.delayMs ?? 0).unref();
      });
    });
    this.server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

/** A typical successful Converse response body. */
export function converseReply(
  text: string,
  usage: { inputTokens: number; outputTokens: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number },
  stopReason = 'end_turn',
): FakeBedrockReply {
  return {
    kind: 'ok',
    body: {
      output: { message: { role: 'assistant', content: [{ text }] } },
      stopReason,
      usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
      metrics: { latencyMs: 12 },
    },
  };
}
