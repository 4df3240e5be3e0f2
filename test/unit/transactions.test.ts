import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, transactionClientOf } from '../../lambdas/shared/store/client';
import { marshalledItems, TransactionCancelledError, transactWrite } from '../../lambdas/shared/store/transactions';

function cancelled(...codes: string[]) {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

/** A client whose send() fails with the given errors, in order, then succeeds. */
function flakyClient(errors: Error[]) {
  let calls = 0;
  const client = {
    send: async () => {
      const error = errors[calls++];
      if (error) throw error;
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  return { client, calls: () => calls };
}

describe('transactWrite', () => {
  it('retries transactions cancelled only by conflicts with concurrent transactions', async () => {
    const { client, calls } = flakyClient([
      cancelled('TransactionConflict', 'None'),
      cancelled('None', 'TransactionConflict'),
    ]);
    await transactWrite(client, [], { baseDelayMs: 1 });
    expect(calls()).toBe(3);
  });

  it('does not retry a failed condition and says which item failed', async () => {
    const { client, calls } = flakyClient([cancelled('None', 'ConditionalCheckFailed')]);
    const error = await transactWrite(client, [], { baseDelayMs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionCancelledError);
    expect((error as TransactionCancelledError).conditionFailedAt(1)).toBe(true);
    expect((error as TransactionCancelledError).conditionFailedAt(0)).toBe(false);
    expect(calls()).toBe(1);
  });

  it('gives up after the attempt limit', async () => {
    const { client, calls } = flakyClient(Array.from({ length: 10 }, () => cancelled('TransactionConflict')));
    await expect(transactWrite(client, [], { baseDelayMs: 1, maxAttempts: 4 })).rejects.toBeInstanceOf(
      TransactionCancelledError,
    );
    expect(calls()).toBe(4);
  });

  it('passes other errors through untouched', async () => {
    const boom = new Error('network');
    const { client } = flakyClient([boom]);
    await expect(transactWrite(client, [])).rejects.toBe(boom);
  });
});

describe('the transaction path', () => {
  it("marshals items once as lib-dynamodb would (bigints as numbers, undefined left out) and sends them through the document client's low-level transaction client", async () => {
    const db = createDocumentClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
    const lowLevel = transactionClientOf(db)!;
    expect(lowLevel).toBeDefined();
    const sent: unknown[] = [];
    jest.spyOn(lowLevel, 'send').mockImplementation(async (command: unknown) => {
      sent.push((command as { input: unknown }).input);
      return {};
    });
    const docSend = jest.spyOn(db, 'send');
    const items = [
      { Put: { TableName: 't', Item: { pk: 'a', n: 12_345_678_901_234_567_890n, gone: undefined, tags: ['x'] } } },
      {
        Update: {
          TableName: 't',
          Key: { pk: 'b' },
          UpdateExpression: 'ADD #n :n',
          ExpressionAttributeNames: { '#n': 'n' },
          ExpressionAttributeValues: { ':n': 1 },
        },
      },
      { ConditionCheck: { TableName: 't', Key: { pk: 'c' }, ConditionExpression: 'attribute_exists(pk)' } },
      { Delete: { TableName: 't', Key: { pk: 'd' } } },
    ];
    await transactWrite(db, items);
    expect(docSend).not.toHaveBeenCalled();
    expect(sent).toEqual([
      {
        TransactItems: [
          {
            Put: {
              TableName: 't',
              Item: { pk: { S: 'a' }, n: { N: '12345678901234567890' }, tags: { L: [{ S: 'x' }] } },
              ExpressionAttributeValues: undefined,
            },
          },
          {
            Update: {
              TableName: 't',
              Key: { pk: { S: 'b' } },
              UpdateExpression: 'ADD #n :n',
              ExpressionAttributeNames: { '#n': 'n' },
              ExpressionAttributeValues: { ':n': { N: '1' } },
            },
          },
          {
            ConditionCheck: {
              TableName: 't',
              Key: { pk: { S: 'c' } },
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: undefined,
            },
          },
          { Delete: { TableName: 't', Key: { pk: { S: 'd' } }, ExpressionAttributeValues: undefined } },
        ],
      },
    ]);
    expect(marshalledItems([])).toEqual([]);
    expect(() => marshalledItems([{} as never])).toThrow(/Put, Update, Delete or ConditionCheck/);
  });
});
