import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransactionCancelledError, transactWrite } from '../../lambdas/shared/store/transactions';

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
