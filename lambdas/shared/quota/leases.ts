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
 * returned: blocks therefore start at what the instance used in its previous minute (one request
 * for a new instance) and double with use ("slow start"), and never take more than a small share
 * of what is left, so near a limit they shrink back to one request, i.e. to exact per-request
 * admission. A steady instance thus leases its minute in one write, and parks little.
 */

import { RATE_WINDOW_SECONDS as WINDOW_SECONDS } from './rate-window';

/** No block takes more than this fraction (1/n) of what is left unleased. */
export const LEASE_SHARE = 64;

/** The most a block may grow to, as a multiple of what the request needs. */
const MAX_GROWTH = 2 ** 12;

/**
 * How much of a limit (requests, tokens or pico-dollars) to lease for a request that needs `need`:
 * what this instance used in its previous period (minute), or `need` doubled for each block it
 * already took in this one if that is more, but never more than `LEASE_SHARE`th of what is still
 * unleased, and never less than `need`.
 *
 * @example
 * blockSize(0, 1_000, 1)     // 1: a new instance's first block is what the request needs
 * blockSize(5, 6_400, 1)     // 32
 * blockSize(5, 640, 1)       // 10: a 64th of what is left
 * blockSize(0, 64_000, 1, 6) // 6: what the instance used last minute, in one block
 */
export function blockSize(blocksTaken: number, unleased: number, need: number, usedBefore = 0): number {
  const grown = Math.max(need * Math.min(MAX_GROWTH, 2 ** blocksTaken), usedBefore);
  return Math.max(need, Math.min(grown, Math.floor(unleased / LEASE_SHARE)));
}

/** {@link blockSize} for pico-dollar amounts. */
export function budgetBlockSize(blocksTaken: number, unleased: bigint, need: bigint, usedBefore = 0n): bigint {
  let grown = need * BigInt(Math.min(MAX_GROWTH, 2 ** blocksTaken));
  if (usedBefore > grown) grown = usedBefore;
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
  /** Requests and tokens taken from the pool in this window (admitted, less what came back). */
  usedRequests: number;
  usedTokens: number;
  /** What this instance used in the previous window: its first block here. */
  previousRequests: number;
  previousTokens: number;
  /** What the window item counted as leased after this instance's last block (every instance's blocks). */
  leasedRequests: number;
  leasedTokens: number;
}

function emptyPool(previous?: WindowPool): WindowPool {
  return {
    requests: 0,
    tokens: 0,
    blocks: 0,
    leasedRequests: 0,
    leasedTokens: 0,
    usedRequests: 0,
    usedTokens: 0,
    previousRequests: previous?.usedRequests ?? 0,
    previousTokens: previous?.usedTokens ?? 0,
  };
}

/** This instance's budget leases of one team's month, and how much it reserved lately. */
export interface BudgetHolding {
  month: string;
  leases: BudgetLease[];
  /** Start (epoch ms) of the current period of {@link BUDGET_LEASE_ADMIT_MS}. */
  periodStart: number;
  /** Leases taken in the current period (they grow with each). */
  blocks: number;
  /** Reserved in the current period, and in the one before it (the next lease's size). */
  reserved: bigint;
  reservedBefore: bigint;
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
 * How long a budget lease admits requests, and the period whose reservations size an instance's
 * next lease. Its requests then run to their end (at most 15 minutes), the instance returns what
 * they did not use, and the sweeper returns it for an instance that went away (see
 * `RESERVATION_LIFETIME_SECONDS`). Five minutes: a lease and its return are two writes on the
 * team's budget item per instance per five minutes, and money parked by an instance that went
 * away is back within 25.
 */
export const BUDGET_LEASE_ADMIT_MS = 5 * 60_000;

/**
 * One instance's leases: rate windows per team and key, budget leases per team. Pure memory, no
 * I/O: the quota service takes blocks from DynamoDB and puts them here.
 */
export class LeaseBook {
  private readonly windows = new Map<
    string,
    { windowStart: number; team: WindowPool; keys: Map<string, WindowPool> }
  >();
  private readonly budgets = new Map<string, BudgetHolding>();

  /** The team's pool of a window (a new window starts empty), and the key's if asked. */
  window(teamId: string, windowStart: number, keyId?: string): { team: WindowPool; key?: WindowPool } {
    let entry = this.windows.get(teamId);
    if (!entry || entry.windowStart !== windowStart) {
      if (entry && entry.windowStart > windowStart) {
        // A request stamped in an earlier window than this instance's latest (clock skew between
        // instances, or a slow hand-off): it gets pools of its own that are never reused.
        return { team: emptyPool(), ...(keyId !== undefined ? { key: emptyPool() } : {}) };
      }
      // The window right after the last one starts from what was used in it.
      const follows = entry && entry.windowStart === windowStart - WINDOW_SECONDS;
      entry = {
        windowStart,
        team: emptyPool(follows ? entry!.team : undefined),
        keys: new Map(follows ? [...entry!.keys].map(([id, pool]) => [id, emptyPool(pool)]) : []),
      };
      this.windows.set(teamId, entry);
    }
    if (keyId === undefined) return { team: entry.team };
    let key = entry.keys.get(keyId);
    if (!key) entry.keys.set(keyId, (key = emptyPool()));
    return { team: entry.team, key };
  }

  /** This instance's budget leases of a team's month, with its current period rolled forward to `now`. */
  budget(teamId: string, month: string, now: number): BudgetHolding {
    const key = `${teamId}#${month}`;
    let entry = this.budgets.get(key);
    if (!entry) {
      entry = { month, leases: [], periodStart: now, blocks: 0, reserved: 0n, reservedBefore: 0n };
      this.budgets.set(key, entry);
    }
    const periods = Math.floor((now - entry.periodStart) / BUDGET_LEASE_ADMIT_MS);
    if (periods > 0) {
      entry.reservedBefore = periods === 1 ? entry.reserved : 0n;
      entry.reserved = 0n;
      entry.blocks = 0;
      entry.periodStart += periods * BUDGET_LEASE_ADMIT_MS;
    }
    return entry;
  }

  /** Forgets a returned lease. */
  forget(lease: BudgetLease): void {
    const key = `${lease.teamId}#${lease.month}`;
    const entry = this.budgets.get(key);
    if (entry) entry.leases = entry.leases.filter((held) => held !== lease);
  }
}
