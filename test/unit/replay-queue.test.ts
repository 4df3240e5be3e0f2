import { decodeQueuedWrite, encodeQueuedWrite } from '../../lambdas/shared/usage/replay-queue';
import type { UsageWrite } from '../../lambdas/shared/usage/recorder';

describe('replay queue messages', () => {
  const write: UsageWrite = {
    requestId: 'r1',
    teamId: 'payments',
    items: [
      {
        Update: {
          TableName: 'usage',
          Key: { pk: 'AGG#payments#2026-11', sk: 'MONTH' },
          UpdateExpression: 'ADD #c :c, #r :r',
          ExpressionAttributeNames: { '#c': 'costPicos', '#r': 'requests' },
          // a cost past 2^53 p$ and a negative settlement delta: both must come back as the same bigints
          ExpressionAttributeValues: { ':c': 123_456_789_012_345_678_901n, ':r': 1, ':d': -35_000n },
        },
      },
    ],
  };

  it('carries bigints (costs in pico-dollars) through JSON unchanged', () => {
    const body = encodeQueuedWrite(write);
    expect(JSON.parse(body).v).toBe(2);
    expect(decodeQueuedWrite(body)).toEqual(write);
  });

  it('leaves an object that only looks like a tagged bigint alone, and refuses other versions', () => {
    const lookalike: UsageWrite = {
      ...write,
      items: [{ Put: { TableName: 'usage', Item: { pk: 'x', note: { $bigint: 'not digits' } } } }],
    };
    expect(decodeQueuedWrite(encodeQueuedWrite(lookalike))).toEqual(lookalike);
    expect(() => decodeQueuedWrite(JSON.stringify({ v: 1, write }))).toThrow();
  });
});
