import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** When the delayed transactions went out and came back (`performance.now()`). */
export interface SlowTransactions {
  /** When each delayed transaction completed. */
  completedAt: number[];
  /** When each transaction that writes a request's usage record (a ledger entry) was sent. */
  recordSentAt: number[];
}

/** Whether a transaction's input writes a ledger entry (bigints as strings: the document form holds them). */
function writesLedgerEntry(input: unknown): boolean {
  return JSON.stringify(input, (_, value: unknown) => (typeof value === 'bigint' ? String(value) : value)).includes(
    'LEDGER#',
  );
}

/**
 * Delays DynamoDB transactions sent through `db` by `delayMs` (every one, or with `onlyRecords`
 * only those that write a usage record) and notes when they were sent and completed, so a test
 * can tell whether a client's answer waited for its usage write.
 *
 * @example
 * const writes = slowTransactions(db, 300);
 * // ... a request ...
 * expect(client.endedAt).toBeLessThan(writes.completedAt[0]! - 200);
 */
export function slowTransactions(
  db: DynamoDBDocumentClient,
  delayMs: number,
  { onlyRecords = false } = {},
): SlowTransactions {
  const writes: SlowTransactions = { completedAt: [], recordSentAt: [] };
  db.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      const record = writesLedgerEntry(args.input);
      if (onlyRecords && !record) return next(args);
      if (record) writes.recordSentAt.push(performance.now());
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const result = await next(args);
      writes.completedAt.push(performance.now());
      return result;
    },
    { step: 'initialize', name: 'slowTransactions' },
  );
  return writes;
}
