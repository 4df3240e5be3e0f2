import {
  DynamoDBClient,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { createDocumentClient } from '../lambdas/shared/store/client';
import type { BenchRow } from './dlp';
import type { ReplayStore } from './replay-store';

const SECTION = 'DynamoDB client (usage transaction, answered from memory)';

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;

/** The low-level form of a document transaction: its keys, items and values marshalled, as lib-dynamodb does on each call. */
function marshalledTransaction(input: TransactWriteCommandInput): TransactWriteItemsCommandInput {
  const options = { removeUndefinedValues: true };
  const values = (map?: Record<string, unknown>) => (map ? marshall(map, options) : undefined);
  return {
    ...input,
    TransactItems: input.TransactItems?.map(({ Put, Update, Delete, ConditionCheck }) => ({
      ...(Put && {
        Put: {
          ...Put,
          Item: marshall(Put.Item, options),
          ExpressionAttributeValues: values(Put.ExpressionAttributeValues),
        },
      }),
      ...(Update && {
        Update: {
          ...Update,
          Key: marshall(Update.Key, options),
          ExpressionAttributeValues: values(Update.ExpressionAttributeValues),
        },
      }),
      ...(Delete && {
        Delete: {
          ...Delete,
          Key: marshall(Delete.Key, options),
          ExpressionAttributeValues: values(Delete.ExpressionAttributeValues),
        },
      }),
      ...(ConditionCheck && {
        ConditionCheck: {
          ...ConditionCheck,
          Key: marshall(ConditionCheck.Key, options),
          ExpressionAttributeValues: values(ConditionCheck.ExpressionAttributeValues),
        },
      }),
    })),
  };
}

/**
 * What one usage transaction costs in the AWS SDK (building, marshalling, signing, sending and
 * parsing; the network and DynamoDB answered from memory by the replay store), for the client as
 * the gateway configures it and for the variants each tuning is measured against:
 * - the SDK as it comes (its logger middleware kept: the gateway removes it);
 * - the low-level client sent the same items already marshalled: what lib-dynamodb's marshalling
 *   of the document form costs on every call;
 * - that client with `cacheMiddleware` (each command's middleware chain resolved once, not per
 *   call), which lib-dynamodb's document client refuses.
 * Each variant sends the gateway's own last usage transaction (the input `store` captured), in
 * interleaved rounds so machine noise hits all alike; a row is the median of the rounds' medians.
 */
export async function benchDynamoDbClient(store: ReplayStore, rounds = 60, perRound = 30): Promise<BenchRow[]> {
  const document = store.lastInput.get('TransactWriteItemsCommand') as TransactWriteCommandInput | undefined;
  if (!document) throw new Error('no usage transaction was captured');
  const marshalled = marshalledTransaction(document);
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
  // Resolves each command's middleware chain once (lib-dynamodb refuses this option).
  const cached = new DynamoDBClient({ ...sdkConfig, cacheMiddleware: true });
  cached.middlewareStack.remove('loggerMiddleware');
  const variants = {
    gateway: () => gateway.send(new TransactWriteCommand(document)),
    withLogger: () => withLogger.send(new TransactWriteCommand(document)),
    premarshalled: () => lowLevel.send(new TransactWriteItemsCommand(marshalled)),
    cached: () => cached.send(new TransactWriteItemsCommand(marshalled)),
  };
  const perCall: Record<keyof typeof variants, number[]> = {
    gateway: [],
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
  const [ours, logger, premarshalled, cachedChain] = [
    median(perCall.gateway),
    median(perCall.withLogger),
    median(perCall.premarshalled),
    median(perCall.cached),
  ];
  return [
    { section: SECTION, metric: "gateway's client (createDocumentClient): per call", value: ours, unit: 'µs' },
    {
      section: SECTION,
      metric: "the SDK's defaults (its logger middleware kept): per call",
      value: logger,
      unit: 'µs',
    },
    {
      section: SECTION,
      metric: 'low-level client, items marshalled beforehand: per call',
      value: premarshalled,
      unit: 'µs',
    },
    {
      section: SECTION,
      metric: 'the same with cacheMiddleware (middleware chain resolved once): per call',
      value: cachedChain,
      unit: 'µs',
    },
    { section: SECTION, metric: "lib-dynamodb's marshalling costs per call", value: ours - premarshalled, unit: 'µs' },
    {
      section: SECTION,
      metric: 'resolving the middleware chain per call costs',
      value: premarshalled - cachedChain,
      unit: 'µs',
    },
  ];
}
