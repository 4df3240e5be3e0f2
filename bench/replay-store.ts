import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions, HttpRequest, HttpResponse, RequestHandler } from '@smithy/types';
import { createDocumentClient } from '../lambdas/shared/store/client';

/** A recorded DynamoDB answer. */
interface Recorded {
  statusCode: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/**
 * DynamoDB answered from memory, for measuring the gateway's own compute apart from the
 * database. While `recording`, requests go to DynamoDB Local and each answer is kept under its
 * operation and request body (reads repeat byte for byte) and under its operation and table
 * (writes differ per request: new ids, times). Once `replaying`, every request is answered
 * in-process with the recorded answer, so the SDK still builds, signs and parses each request
 * exactly as in AWS; only the network and the database's own time are gone.
 */
export class ReplayStore {
  readonly db: DynamoDBDocumentClient;
  /** The HTTP handler under {@link db}, for other clients built on the same recorded answers. */
  readonly handler: RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions>;
  /** The input of the last command sent through {@link db}, by command name. */
  readonly lastInput = new Map<string, unknown>();
  private readonly exact = new Map<string, Recorded>();
  private readonly byOperation = new Map<string, Recorded>();
  private replaying = false;
  /** Requests answered from memory. */
  replayed = 0;

  constructor(endpoint: string) {
    const network = new NodeHttpHandler();
    const handler: RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions> = (this.handler = {
      handle: async (request: HttpRequest) => {
        const [exactKey, operationKey] = keysOf(request);
        if (this.replaying) {
          const recorded = this.exact.get(exactKey) ?? this.byOperation.get(operationKey);
          if (!recorded) throw new Error(`nothing recorded for ${operationKey}`);
          this.replayed += 1;
          return { response: { ...recorded, body: recorded.body } as HttpResponse };
        }
        const { response } = await network.handle(request as Parameters<NodeHttpHandler['handle']>[0]);
        const chunks: Buffer[] = [];
        for await (const chunk of response.body as AsyncIterable<Buffer>) chunks.push(chunk);
        const recorded: Recorded = {
          statusCode: response.statusCode,
          headers: response.headers,
          body: new Uint8Array(Buffer.concat(chunks)),
        };
        // Only successes are worth replaying; a refusal would make every replayed request fail.
        if (recorded.statusCode === 200) {
          this.exact.set(exactKey, recorded);
          this.byOperation.set(operationKey, recorded);
        }
        return { response: { ...recorded } as HttpResponse };
      },
    });
    // The gateway's own client (its middleware, retry and marshalling settings), so what is
    // measured is what the Lambda runs; only the HTTP handler below it is the bench's.
    this.db = createDocumentClient({ region: 'us-east-1', endpoint, requestHandler: handler });
    this.db.middlewareStack.add(
      (next, context) => (args) => {
        this.lastInput.set(context.commandName ?? '', args.input);
        return next(args);
      },
      { step: 'initialize', name: 'benchLastInput' },
    );
  }

  /** From now on, answer from memory. */
  replay(): void {
    this.replaying = true;
  }
}

function keysOf(request: HttpRequest): [string, string] {
  const operation = String(request.headers['x-amz-target'] ?? '');
  const body = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body as Uint8Array);
  const table = /"TableName":"([^"]+)"/.exec(body)?.[1] ?? '';
  return [`${operation} ${body}`, `${operation} ${table}`];
}
