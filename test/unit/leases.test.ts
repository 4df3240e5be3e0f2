import {
  BUDGET_LEASE_ADMIT_MS,
  blockSize,
  budgetBlockSize,
  LEASE_SHARE,
  LeaseBook,
} from '../../lambdas/shared/quota/leases';

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

  it('start from what the instance used in its previous minute: a steady instance leases its minute at once', () => {
    expect(blockSize(0, 64_000, 1, 6)).toBe(6);
    expect(blockSize(3, 64_000, 1, 6)).toBe(8); // doubling wins once it passes it
    expect(blockSize(0, 128, 1, 6)).toBe(2); // still never more than a 64th of what is left
    expect(budgetBlockSize(0, 10n ** 12n, 4_000_000n, 24_000_000n)).toBe(24_000_000n);
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

  it('carries what a window used into the next one, and forgets it after a gap', () => {
    const book = new LeaseBook();
    const { team, key } = book.window('t', 60, 'k');
    team.usedRequests = 7;
    team.usedTokens = 700;
    key!.usedRequests = 2;
    expect(book.window('t', 120, 'k')).toMatchObject({
      team: { previousRequests: 7, previousTokens: 700, requests: 0 },
      key: { previousRequests: 2 },
    });
    expect(book.window('t', 240).team.previousRequests).toBe(0);
  });

  it('rolls budget periods: what was reserved in the last period sizes the next lease', () => {
    const book = new LeaseBook();
    const held = book.budget('t', '2026-11', 0);
    held.reserved = 5n;
    held.blocks = 2;
    expect(book.budget('t', '2026-11', BUDGET_LEASE_ADMIT_MS - 1)).toMatchObject({ reserved: 5n, blocks: 2 });
    expect(book.budget('t', '2026-11', BUDGET_LEASE_ADMIT_MS + 1)).toMatchObject({
      reserved: 0n,
      reservedBefore: 5n,
      blocks: 0,
    });
    expect(book.budget('t', '2026-11', 4 * BUDGET_LEASE_ADMIT_MS)).toMatchObject({ reservedBefore: 0n });
  });
});
