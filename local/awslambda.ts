import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';

/** The metadata a streaming handler sends before its body (status, headers, cookies). */
export interface ResponsePrelude {
  statusCode?: number;
  headers?: Record<string, string>;
  cookies?: string[];
}

/** The subset of Lambda's `awslambda` global that response-streaming handlers use. */
interface AwsLambdaGlobal {
  streamifyResponse<T>(handler: T): T;
  HttpResponseStream: { from(stream: Writable, prelude: ResponsePrelude): Writable };
}

/**
 * Installs a stand-in for the `awslambda` global that Lambda's Node.js runtime gives to
 * response-streaming handlers, so the very same handler runs locally and in tests. A streamed
 * handler is then called as `(event, responseStream, context)`; `HttpResponseStream.from`
 * hands the status and headers to the stream (in Lambda they travel as a JSON prelude).
 */
export function installAwsLambdaGlobal(): void {
  const scope = globalThis as { awslambda?: Partial<AwsLambdaGlobal> };
  // Other libraries (the SDK's invoke store) may have created the object already: add only what
  // is missing, so the real runtime's functions are never replaced.
  const awslambda = (scope.awslambda ??= {});
  awslambda.streamifyResponse ??= (handler) => handler;
  awslambda.HttpResponseStream ??= {
    from(stream, prelude) {
      (stream as Partial<PreludeAware>).setPrelude?.(prelude);
      return stream;
    },
  };
}

interface PreludeAware {
  setPrelude(prelude: ResponsePrelude): void;
}

/**
 * A Lambda response stream over a Node.js HTTP response, as API Gateway's streaming integration delivers it:
 * the prelude becomes the status line and headers; without one the answer is a 200
 * `application/octet-stream`. When the client goes away the stream fails, as it does in Lambda.
 */
export class HttpResponseStream extends Writable implements PreludeAware {
  private headSent = false;

  constructor(private readonly response: ServerResponse) {
    super();
    response.once('close', () => {
      if (!response.writableFinished) this.destroy(new Error('client disconnected'));
    });
  }

  setPrelude(prelude: ResponsePrelude): void {
    if (this.headSent) return;
    this.headSent = true;
    const headers: Record<string, string | string[]> = { ...prelude.headers };
    if (prelude.cookies?.length) headers['set-cookie'] = prelude.cookies;
    this.response.writeHead(prelude.statusCode ?? 200, headers);
  }

  private sendDefaultHead(): void {
    if (!this.headSent) this.setPrelude({ statusCode: 200, headers: { 'content-type': 'application/octet-stream' } });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.sendDefaultHead();
    this.response.write(chunk, (error) => callback(error ?? null));
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sendDefaultHead();
    this.response.end(() => callback());
  }
}
