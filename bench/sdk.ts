import { DynamoDBClient, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../lambdas/shared/store/client';
import { marshalledItems, transactWrite } from '../lambdas/shared/store/transactions';
import type { BenchRow } from './dlp';
import type { ReplayStore } from './replay-store';

const SECTION = 'DynamoDB client (usage transaction, answered from memory)';

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;

/**
 * What one usage transaction costs in the AWS SDK (building, marshalling, signing, sending and
 * parsing; the network and DynamoDB answered from memory by the replay store), on the gateway's
 * path and on the ways each tuning is measured against:
 * - the gateway's path, `transactWrite`: its items marshalled once, sent by a low-level client that
 *   resolves the middleware chain once (`cacheMiddleware`);
 * - the document client (lib-dynamodb), which the gateway used before: it marshals on every send
 *   and resolves the chain per call (it refuses `cacheMiddleware`);
 * - the SDK as it comes (a document client with the logger middleware the gateway removes);
 * - the low-level client sent the items already marshalled, with and without the cached chain.
 * Each variant sends the gateway's own last usage transaction (the input `store` captured), in
 * interleaved rounds so machine noise hits all alike; a row is the median of the rounds' medians.
 */
export async function benchDynamoDbClient(store: ReplayStore, rounds = 60, perRound = 30): Promise<BenchRow[]> {
  const document = store.lastInput.get('TransactWriteItemsCommand') as TransactWriteCommandInput | undefined;
  if (!document) throw new Error('no usage transaction was captured');
  const items = document.TransactItems ?? [];
  const marshalled = { TransactItems: marshalledItems(items) };
  const endpoint = 'http://dynamodb.replay';
  const gateway = createDocumentClient({ region: 'us-east-1', endpoint, requestHandler: store.handler });
  // The SDK's defaults otherwise as createDocumentClient sets them, the logger middleware left in.
  const sdkConfig = {
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: store.handler,
    retryMode: 'standard',
    maxAttempts: 3,
  };
  const withLogger = DynamoDBDocumentClient.from(new DynamoDBClient(sdkConfig), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const lowLevel = new DynamoDBClient(sdkConfig);
  lowLevel.middlewareStack.remove('loggerMiddleware');
  const cached = new DynamoDBClient({ ...sdkConfig, cacheMiddleware: true });
  cached.middlewareStack.remove('loggerMiddleware');
  const variants = {
    gateway: () => transactWrite(gateway, items),
    document: () => gateway.send(new TransactWriteCommand(document)),
    withLogger: () => withLogger.send(new TransactWriteCommand(document)),
    premarshalled: () => lowLevel.send(new TransactWriteItemsCommand(marshalled)),
    cached: () => cached.send(new TransactWriteItemsCommand(marshalled)),
  };
  const perCall: Record<keyof typeof variants, number[]> = {
    gateway: [],
    document: [],
    withLogger: [],
    premarshalled: [],
    cached: [],
  };
  const names = Object.keys(variants) as (keyof typeof variants)[];
  for (let round = -3; round < rounds; round++) {
    // The order rotates each round, so none always runs after another (and its garbage).
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + 3 + k) % names.length]!;
      const start = performance.now();
      for (let i = 0; i < perRound; i++) await variants[name]();
      // The first rounds warm the JIT up; they are not counted.
      if (round >= 0) perCall[name].push(((performance.now() - start) / perRound) * 1000);
    }
  }
  const [ours, documentClient, logger, premarshalled, cachedChain] = [
    median(perCall.gateway),
    median(perCall.document),
    median(perCall.withLogger),
    median(perCall.premarshalled),
    median(perCall.cached),
  ];
  const row = (metric: string, value: number): BenchRow => ({ section: SECTION, metric, value, unit: 'µs' });
  return [
    row("gateway's path (transactWrite: marshalled once, cached chain): per call", ours),
    row('the document client (lib-dynamodb), as before: per call', documentClient),
    row("the gateway's path saves against the document client per call", documentClient - ours),
    row("the SDK's defaults (a document client, logger middleware kept): per call", logger),
    row('low-level client, items marshalled beforehand: per call', premarshalled),
    row('the same with cacheMiddleware (middleware chain resolved once): per call', cachedChain),
    row("lib-dynamodb's marshalling costs per call", documentClient - premarshalled),
    row('resolving the middleware chain per call costs', premarshalled - cachedChain),
  ];
}
