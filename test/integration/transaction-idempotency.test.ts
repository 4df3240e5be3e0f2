import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { transactWrite } from '../../lambdas/shared/store/transactions';
import { createTestStore, type TestStore } from '../helpers/dynamodb';

/**
 * A transaction DynamoDB committed but whose answer never reached the gateway (a timeout after
 * commit) is sent again by the SDK's retry; the SDK fills TransactWriteItems' idempotency token
 * (`ClientRequestToken`) itself and reuses it on the retry, so DynamoDB (Local) answers the retry
 * without applying it again, and a counter the transaction adds to (a budget's commitment) is
 * added to once. Guards that property: a change that sent each attempt as a new request would
 * break it.
 */
describe('transactWrite against DynamoDB Local', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await createTestStore();
  });
  afterAll(() => store.destroy());

  it('applies a transaction once when its first answer is lost after the commit', async () => {
    const db = createDocumentClient({ region: 'us-east-1', endpoint: store.endpoint });
    let lost = 0;
    // After the retry step: each attempt reaches DynamoDB; the first transaction's answer is
    // dropped as a timeout would drop it, so the SDK sends the same command again.
    db.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const target = (args.request as { headers?: Record<string, string> }).headers?.['x-amz-target'] ?? '';
        if (lost === 0 && target.endsWith('TransactWriteItems')) {
          lost += 1;
          throw Object.assign(new Error('socket timed out after the commit'), { name: 'TimeoutError', $retryable: {} });
        }
        return result;
      },
      { step: 'deserialize', name: 'loseFirstTransactionAnswer' },
    );
    const key = { pk: `IDEMPOTENT#${Date.now()}` };
    try {
      await transactWrite(db, [
        {
          Update: {
            TableName: store.tables.counters,
            Key: key,
            UpdateExpression: 'ADD committed :one',
            ExpressionAttributeValues: { ':one': 1 },
          },
        },
      ]);
    } finally {
      db.destroy();
    }
    expect(lost).toBe(1); // the SDK did send the transaction again
    const { Item } = await store.db.send(
      new GetCommand({ TableName: store.tables.counters, Key: key, ConsistentRead: true }),
    );
    expect(Item?.['committed']).toBe(1);
  });

  it('sends concurrent transactions on one client each with its own items (the resolved middleware chain is shared)', async () => {
    const db = createDocumentClient({ region: 'us-east-1', endpoint: store.endpoint });
    const run = `CONCURRENT#${Date.now()}`;
    const counter = { pk: `${run}#counter` };
    try {
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          transactWrite(db, [
            {
              Put: {
                TableName: store.tables.counters,
                Item: { pk: `${run}#${i}`, value: i, label: `item ${i}`, big: 10n ** 20n + BigInt(i) },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: store.tables.counters,
                Key: counter,
                UpdateExpression: 'ADD #n :one, #sum :i',
                ExpressionAttributeNames: { '#n': 'n', '#sum': 'sum' },
                ExpressionAttributeValues: { ':one': 1, ':i': i },
              },
            },
          ]),
        ),
      );
    } finally {
      db.destroy();
    }
    const read = (key: Record<string, string>) =>
      store.db.send(new GetCommand({ TableName: store.tables.counters, Key: key, ConsistentRead: true }));
    for (let i = 0; i < 25; i++) {
      const { Item } = await read({ pk: `${run}#${i}` });
      expect(Item).toEqual({ pk: `${run}#${i}`, value: i, label: `item ${i}`, big: 10n ** 20n + BigInt(i) });
    }
    const { Item } = await read(counter);
    expect(Item).toMatchObject({ n: 25, sum: (24 * 25) / 2 });
  });
});
