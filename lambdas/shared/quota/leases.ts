/**
 * Capacity leased to one gateway instance (one Lambda execution environment), held in its memory.
 *
 * Every request of a team once wrote its rate window item and its month budget item: one busy
 * team was one hot partition, a few hundred requests per second at most. Instead, an instance
 * takes a block of its team's window (requests and tokens) or budget with one conditional write
 * and admits the following requests from memory until the block is spent. The bounds stay exact:
 * DynamoDB's condition keeps the sum of the blocks within the limit or the budget, and an instance
 * admits a request only from what it holds. The price is capacity parked in instances that do not
 * use it (idle, or gone), which other instances cannot have until the window ends or the lease is
 * returned: blocks therefore start at one request and double with use ("slow start"), and never
 * take more than a small share of what is left, so near a limit they shrink back to one request,
 * i.e. to exact per-request admission.
 */

/** No block takes more than this fraction (1/n) of what is left unleased. */
export const LEASE_SHARE = 64;

/** The most a block may grow to, as a multiple of what the request needs. */
const MAX_GROWTH = 2 ** 12;

/**
 * How much of a limit (requests, tokens or pico-dollars) to lease for a request that needs `need`:
 * `need` doubled for each block this instance already took in the period, but never more than
 * `LEASE_SHARE`th of what is still unleased, and never less than `need`.
 *
 * @example
 * blockSize(0, 1_000, 1) // 1: the first block is what the request needs
 * blockSize(5, 6_400, 1) // 32
 * blockSize(5, 640, 1)   // 10: a 64th of what is left
 */
export function blockSize(blocksTaken: number, unleased: number, need: number): number {
  const grown = need * Math.min(MAX_GROWTH, 2 ** blocksTaken);
  return Math.max(need, Math.min(grown, Math.floor(unleased / LEASE_SHARE)));
}

/** {@link blockSize} for pico-dollar amounts. */
export function budgetBlockSize(blocksTaken: number, unleased: bigint, need: bigint): bigint {
  const grown = need * BigInt(Math.min(MAX_GROWTH, 2 ** blocksTaken));
  const share = unleased / BigInt(LEASE_SHARE);
  const block = grown < share ? grown : share;
  return block > need ? block : need;
}

/** Requests and tokens of one rate window held by this instance, for a team or one of its keys. */
export interface WindowPool {
  requests: number;
  tokens: number;
  /** Blocks taken in this window (they grow with each). */
  blocks: number;
  /** What the window item counted as leased after this instance's last block (every instance's blocks). */
  leasedRequests: number;
  leasedTokens: number;
}

function emptyPool(): WindowPool {
  return { requests: 0, tokens: 0, blocks: 0, leasedRequests: 0, leasedTokens: 0 };
}

/** A block of a team's month budget held by this instance. */
export interface BudgetLease {
  id: string;
  teamId: string;
  month: string;
  /** What the lease took from the budget (p$). */
  amount: bigint;
  /** Not yet reserved by a request (p$). */
  left: bigint;
  /** Actual cost of the requests settled against it, as recorded (p$). */
  consumed: bigint;
  /** Requests admitted from it that have not settled yet. */
  inFlight: number;
  /** When it was taken (epoch ms): it admits for {@link BUDGET_LEASE_ADMIT_MS} only. */
  takenAt: number;
  /** Admits no more; it is returned once its last request settles. */
  retired: boolean;
  /** Some settlement went to the replay queue: the lease is left to the sweeper. */
  unsure: boolean;
}

/**
 * How long a budget lease admits requests. Its requests then run to their end (at most 15
 * minutes), the instance returns what they did not use, and the sweeper returns it for an
 * instance that went away (see `RESERVATION_LIFETIME_SECONDS`).
 */
export const BUDGET_LEASE_ADMIT_MS = 60_000;

/**
 * One instance's leases: rate windows per team and key, budget leases per team. Pure memory, no
 * I/O: the quota service takes blocks from DynamoDB and puts them here.
 */
export class LeaseBook {
  private readonly windows = new Map<
    string,
    { windowStart: number; team: WindowPool; keys: Map<string, WindowPool> }
  >();
  private readonly budgets = new Map<string, { month: string; blocks: number; leases: BudgetLease[] }>();

  /** The team's pool of a window (a new window starts empty), and the key's if asked. */
  window(teamId: string, windowStart: number, keyId?: string): { team: WindowPool; key?: WindowPool } {
    let entry = this.windows.get(teamId);
    if (!entry || entry.windowStart !== windowStart) {
      if (entry && entry.windowStart > windowStart) {
        // A request stamped in an earlier window than this instance's latest (clock skew between
        // instances, or a slow hand-off): it gets pools of its own that are never reused.
        return { team: emptyPool(), ...(keyId !== undefined ? { key: emptyPool() } : {}) };
      }
      entry = { windowStart, team: emptyPool(), keys: new Map() };
      this.windows.set(teamId, entry);
    }
    if (keyId === undefined) return { team: entry.team };
    let key = entry.keys.get(keyId);
    if (!key) entry.keys.set(keyId, (key = emptyPool()));
    return { team: entry.team, key };
  }

  /** The budget leases of a team's month and how many blocks this instance took in it. */
  budget(teamId: string, month: string): { blocks: number; leases: BudgetLease[] } {
    const key = `${teamId}#${month}`;
    let entry = this.budgets.get(key);
    if (!entry) this.budgets.set(key, (entry = { month, blocks: 0, leases: [] }));
    return entry;
  }

  /** Forgets a returned lease. */
  forget(lease: BudgetLease): void {
    const key = `${lease.teamId}#${lease.month}`;
    const entry = this.budgets.get(key);
    if (entry) entry.leases = entry.leases.filter((held) => held !== lease);
  }
}
