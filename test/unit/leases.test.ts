import { blockSize, budgetBlockSize, LEASE_SHARE, LeaseBook } from '../../lambdas/shared/quota/leases';

describe('lease block sizes', () => {
  it('start at what the request needs and double with each block taken', () => {
    expect([0, 1, 2, 3, 4].map((taken) => blockSize(taken, 1_000_000, 1))).toEqual([1, 2, 4, 8, 16]);
    expect(blockSize(3, 10_000_000, 500)).toBe(4_000);
  });

  it(`never take more than 1/${LEASE_SHARE} of what is left, nor less than what is needed`, () => {
    expect(blockSize(10, 640, 1)).toBe(10);
    expect(blockSize(10, 63, 1)).toBe(1); // a small limit: exact, one request at a time
    expect(blockSize(10, 0, 1)).toBe(1); // nothing left: the condition refuses it
    expect(blockSize(30, 1e12, 1)).toBe(4_096); // growth is capped
  });

  it('do the same for pico-dollar amounts', () => {
    expect(budgetBlockSize(0, 10n ** 12n, 4_000_000n)).toBe(4_000_000n);
    expect(budgetBlockSize(3, 10n ** 12n, 4_000_000n)).toBe(32_000_000n);
    expect(budgetBlockSize(9, 64_000_000n, 4_000_000n)).toBe(4_000_000n);
  });
});

describe('LeaseBook', () => {
  it('starts each window empty and keeps keys apart', () => {
    const book = new LeaseBook();
    const first = book.window('t', 60, 'k1');
    first.team.requests = 5;
    first.key!.requests = 2;
    expect(book.window('t', 60, 'k2').key!.requests).toBe(0);
    expect(book.window('t', 60).team.requests).toBe(5);
    expect(book.window('t', 120).team.requests).toBe(0); // a new window
    // A request stamped in an older window gets pools of its own, and the current window is kept.
    expect(book.window('t', 60).team.requests).toBe(0);
    book.window('t', 120).team.requests = 3;
    expect(book.window('t', 120).team.requests).toBe(3);
  });
});
