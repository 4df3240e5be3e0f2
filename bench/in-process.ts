import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createGatewayHandler, gatewayDependencies } from '../lambdas/gateway/handler';
import { AfterResponse, withAfterResponse } from '../lambdas/shared/lifecycle/after-response';
import { Catalog } from '../lambdas/shared/catalog/catalog';
import { parseGatewayConfig, type GatewayConfigInput } from '../lambdas/shared/catalog/schema';
import { matchRoute } from '../lambdas/shared/http/routes';
import { staticSecrets } from '../lambdas/shared/providers/secrets';
import { InMemoryAlertPublisher } from '../lambdas/shared/quota/budget-alerts';
import type { TableNames } from '../lambdas/shared/store/schema';
import { lambdaContext, toHttpApiEvent, type HttpLambdaHandler } from '../local/server';
import { ReplayStore } from './replay-store';

/** The gateway Lambda's handler in this process, on DynamoDB answered from memory. */
export interface InProcessGateway {
  /** The handler itself, for serving it behind an HTTP server (bench/memory-server.ts). */
  handler: HttpLambdaHandler;
  /** Sends one chat completion through the handler; resolves when the answer is ready (its usage write may still run). */
  call(body: string): Promise<void>;
  /** Settles once the usage writes deferred past the answers (the post-response extension's part) are done. */
  settled(): Promise<void>;
  /** Switches storage from recording (DynamoDB Local) to answering from memory. */
  replay(): void;
  /** DynamoDB requests answered from memory so far. */
  replayed(): number;
  /** The storage under the handler: recorded answers, and the last input of each command. */
  store: ReplayStore;
}

/**
 * The same handler the gateway Lambda exports, wired as `index.ts` wires it (with the
 * post-response extension: usage written after the answer), called with the HTTP API event directly: no HTTP server in front, and (after `replay()`) no database behind.
 * What remains between the client and the upstream is the gateway's own compute, including
 * the AWS SDK's request building, signing and parsing.
 */
export function inProcessGateway(options: {
  config: GatewayConfigInput;
  dynamodbEndpoint: string;
  tables: TableNames;
  apiKey: string;
  secrets: Record<string, string>;
}): InProcessGateway {
  const store = new ReplayStore(options.dynamodbEndpoint);
  // As `index.ts` wires it in Lambda with the post-response extension: usage is written after the answer.
  const afterResponse = new AfterResponse();
  const handler = withAfterResponse(
    (defer) =>
      createGatewayHandler(
        gatewayDependencies({
          db: store.db,
          tables: options.tables,
          catalog: new Catalog(parseGatewayConfig(options.config)),
          secrets: staticSecrets(options.secrets),
          alerts: new InMemoryAlertPublisher(),
          identityCacheTtlMs: 30_000,
          providerTimeoutMs: 25_000,
        }),
        defer,
      ),
    (error) => process.stderr.write(`post-response work failed: ${String(error)}\n`),
    afterResponse,
  );
  const route = matchRoute('POST', '/v1/chat/completions');
  return {
    handler,
    async call(body) {
      const event: APIGatewayProxyEventV2 = toHttpApiEvent(
        {
          method: 'POST',
          url: '/v1/chat/completions',
          headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/json' },
          body,
        },
        route,
      );
      // A context per invocation, as Lambda gives: one shared context's deadline ran out 29 s
      // after the bench started, and every later call then failed with middy's timeout.
      const response = await handler(event, lambdaContext('gateway'));
      if (typeof response !== 'object' || response.statusCode !== 200) {
        throw new Error(`in-process request failed: ${JSON.stringify(response).slice(0, 300)}`);
      }
    },
    settled: () => afterResponse.drain(),
    replay: () => store.replay(),
    replayed: () => store.replayed,
    store,
  };
}
