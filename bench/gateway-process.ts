/**
 * The gateway in a process of its own, for the side-by-side bench (bench/side-by-side.ts).
 * Portkey's gateway runs in its own process, so ours does too: each then has its own event loop,
 * neither shares one with the client and the mock upstream in the bench process, and the local
 * runtime loads the Lambdas' entry modules afresh (they read their environment once, when first
 * loaded, so a second local runtime in the bench process would reuse the first one's).
 *
 * Input: the JSON of {@link GatewayProcessOptions} in `BENCH_GATEWAY_PROCESS`.
 * - `local`: the local runtime as `npm start` runs it (startLocalGateway, its own DynamoDB Local).
 * - `memory`: the gateway Lambda's real handler behind the local runtime's HTTP server
 *   (local/server.ts, the HTTP API stand-in), DynamoDB answered from memory (bench/replay-store.ts)
 *   after a warm-up recorded against the given DynamoDB Local.
 * It sends {@link GatewayProcessReady} to its parent over IPC once it listens. Then the message
 * `'replayed'` is answered with `{ replayed }` (DynamoDB requests answered from memory so far) and
 * `'stop'` stops it, DynamoDB Local included, and exits.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { GatewayConfigInput } from '../lambdas/shared/catalog/schema';
import type { TableNames } from '../lambdas/shared/store/schema';
import { startLocalGateway } from '../local/local-gateway';
import { createLocalServer } from '../local/server';
import { inProcessGateway } from './in-process';

export type GatewayProcessOptions =
  | { mode: 'local'; config: GatewayConfigInput }
  | {
      mode: 'memory';
      config: GatewayConfigInput;
      dynamodbEndpoint: string;
      tables: TableNames;
      apiKey: string;
      secrets: Record<string, string>;
      /** The request body of the warm-up, the same the load test sends. */
      body: string;
      warmup: number;
    };

/** What the process reports once it listens. */
export interface GatewayProcessReady {
  url: string;
  /** `local` only: the streaming door. */
  streamUrl?: string;
  /** `local` only: what a `memory` process needs to record its warm-up. */
  demoKey?: string;
  dynamodbEndpoint?: string;
  tables?: TableNames;
}

async function startLocal(
  config: GatewayConfigInput,
): Promise<{ ready: GatewayProcessReady; stop: () => Promise<void> }> {
  const gateway = await startLocalGateway({ port: 0, config });
  return {
    ready: {
      url: gateway.url,
      streamUrl: gateway.streamUrl,
      demoKey: gateway.demoKey,
      dynamodbEndpoint: gateway.dynamodbEndpoint,
      tables: gateway.tables,
    },
    stop: () => gateway.stop(),
  };
}

async function startMemory(
  options: Extract<GatewayProcessOptions, { mode: 'memory' }>,
): Promise<{ ready: GatewayProcessReady; stop: () => Promise<void>; replayed: () => number }> {
  const gateway = inProcessGateway(options);
  // Recorded against DynamoDB Local: every kind of request a warm request makes, then replayed.
  for (let i = 0; i < options.warmup; i++) await gateway.call(options.body);
  gateway.replay();
  const handler = gateway.handler;
  // Only the chat completions route is called; the admin token is never presented.
  const server = createLocalServer({
    handlers: { gateway: handler, auth: handler, usage: handler },
    adminToken: randomBytes(24).toString('base64url'),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ready: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    replayed: gateway.replayed,
  };
}

async function main(): Promise<void> {
  const options = JSON.parse(process.env.BENCH_GATEWAY_PROCESS ?? '') as GatewayProcessOptions;
  process.env.OPENAI_API_KEY ??= 'sk-bench';
  const running: { ready: GatewayProcessReady; stop: () => Promise<void>; replayed?: () => number } =
    options.mode === 'local' ? await startLocal(options.config) : await startMemory(options);
  const stop = async () => {
    await running.stop();
    // exit also ends DynamoDB Local's JVM, whatever is left of it (local/emulator-process.ts).
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message === 'stop') void stop();
    if (message === 'replayed') process.send!({ replayed: running.replayed?.() ?? 0 });
  });
  // A parent that went away without saying stop: stop anyway, so no JVM is left behind.
  process.on('disconnect', () => void stop());
  process.send!(running.ready);
}

main().catch((error: unknown) => {
  process.stderr.write(`gateway process failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
