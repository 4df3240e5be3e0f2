import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { formatPicos, picosOf } from '../cost/money';
import { GATEWAY_HEADERS, RATE_LIMIT_HEADERS } from '../http/headers';
import { logger } from '../observability/logger';
import { itemKeys } from '../store/schema';
import { TransactionCancelledError, transactWrite, withConflictRetry, type TransactItem } from '../store/transactions';
import type { BudgetAlerts } from './budget-alerts';
import { BudgetExhaustedError, RateLimitExceededError } from './errors';
import {
  BUDGET_LEASE_ADMIT_MS,
  blockSize,
  budgetBlockSize,
  LeaseBook,
  type BudgetHolding,
  type BudgetLease,
  type WindowPool,
} from './leases';
import { rateLimitHeaders, rateLimitStatus, type QuotaLimits, type RateLimitStatus, type WindowCounts } from './limits';
import {
  formatResetDuration,
  RATE_WINDOW_RETENTION_SECONDS,
  RATE_WINDOW_SECONDS,
  windowStartSeconds,
} from './rate-window';
import { monthAt, nextMonthStart } from '../time/calendar';

/** A request asking to be admitted. */
export interface AdmissionRequest {
  teamId: string;
  keyId: string;
  /** When the request arrived (epoch ms): fixes its rate window and budget month. */
  receivedAt: number;
  limits: QuotaLimits;
  /**
   * Tokens counted against the tokens-per-minute windows until the request settles: a true upper
   * bound of what it can use (its prompt-token bound plus its output cap), so the tokens a window
   * actually serves never exceed its limit.
   */
  reservedTokens: number;
  /** The team's monthly budget and this request's worst-case cost (p$), when the team has a budget. */
  budget?: { monthlyBudgetPicos: bigint; reservePicos: bigint; softAlertPercent: number };
}

/** An admitted request: what it holds until it is settled. */
export interface Admission {
  request: AdmissionRequest;
  windowStart: number;
  month: string;
  status: RateLimitStatus;
  reservedPicos: bigint;
  /** The budget lease its reservation came from (teams with a budget). */
  lease?: BudgetLease;
  /** Whether admitting it took a new budget lease (the alerts are checked once it settles). */
  tookLease?: boolean;
}

/** What settling an admission adds to the usage transaction. */
export interface Settlement {
  /** Items of the transaction: the budget lease's consumption, when the team has a budget. */
  items: TransactItem[];
}

/** Attribute names in a team's rate window item: what every instance leased of it. */
export const RATE_WINDOW_ATTRIBUTES = {
  teamRequests: 'teamRequests',
  teamTokens: 'teamTokens',
  keyRequests: (keyId: string) => `key_${keyId}_requests`,
  keyTokens: (keyId: string) => `key_${keyId}_tokens`,
} as const;
const WINDOW = RATE_WINDOW_ATTRIBUTES;

/** The month budget attribute holding settled spend plus what leases still hold (p$). */
export const COMMITTED_PICOS = 'committedPicos';

/** Attribute names of a budget lease item. */
export const BUDGET_LEASE_ATTRIBUTES = {
  amount: 'amountPicos',
  consumed: 'consumedPicos',
  takenAt: 'takenAt',
  returned: 'returnedAt',
  swept: 'sweptAt',
} as const;
const LEASE = BUDGET_LEASE_ATTRIBUTES;

/**
 * How long a budget lease item is kept: well past its sweep (25 minutes after it was taken) and
 * any request admitted from it (15 more), and short, since the sweeper scans them. A settlement
 * that finds it gone commits its cost to the budget directly, as after a sweep.
 */
const LEASE_RETENTION_SECONDS = 2 * 60 * 60;

/** Spend plus outstanding leases leaves room for this block. */
const budgetHasRoom = 'attribute_not_exists(#committed) OR #committed <= :room';
/** The lease is still open: neither returned by its instance nor swept. */
const leaseOpen = 'attribute_not_exists(#returned) AND attribute_not_exists(#swept)';

/** How often an admission may find its block taken by a concurrent instance before it gives up. */
const MAX_LEASE_ATTEMPTS = 5;

const NO_RETRY = { [GATEWAY_HEADERS.shouldRetry]: 'false' };

function countsOf(item: Record<string, unknown> | undefined, keyId: string): WindowCounts {
  const n = (name: string) => Number(item?.[name] ?? 0);
  return {
    teamRequests: n(WINDOW.teamRequests),
    keyRequests: n(WINDOW.keyRequests(keyId)),
    teamTokens: n(WINDOW.teamTokens),
    keyTokens: n(WINDOW.keyTokens(keyId)),
  };
}

/** Whether `pool` (absent: no limit at this level) can admit a request of `tokens`. */
function fits(pool: WindowPool | undefined, tokens: number): boolean {
  return !pool || (pool.requests >= 1 && pool.tokens >= tokens);
}

/**
 * Admission and settlement of requests against per-minute limits and monthly budgets, shared by
 * every Lambda instance through DynamoDB, with capacity leased to each instance in blocks (see
 * `leases.ts`).
 *
 * Admission takes a request and its token bound from this instance's share of the window, and
 * its worst-case cost from this instance's budget lease; only when either falls short does it
 * lease a block, with one conditional write each (sent together): on the team's rate window item
 * (team and per-key leased counts, checked atomically against all four limits) and on the team's
 * month budget (spend plus outstanding leases must leave room; the lease gets an item of its own,
 * in the same transaction, so a lease whose instance disappears can be returned by the
 * {@link ReservationSweeper}). A refusal leaves what was leased in this instance's pools. Settling
 * adds the actual cost to the lease's item in the usage transaction; the instance gives the
 * difference back to its lease and its window in memory, and returns a finished lease's unused
 * amount to the budget.
 */
export class QuotaService {
  private readonly now: () => number;
  private readonly book = new LeaseBook();
  private readonly instance = randomBytes(6).toString('base64url');
  private leaseCount = 0;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { counters: string; usage: string },
    private readonly options: { alerts?: BudgetAlerts; now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Admits a request or throws {@link RateLimitExceededError} / {@link BudgetExhaustedError}. A
   * refused request takes nothing: what was leased for it stays with this instance.
   *
   * @example
   * const admission = await quota.admit({ teamId, keyId, receivedAt, limits, reservedTokens, budget });
   */
  async admit(request: AdmissionRequest): Promise<Admission> {
    const windowStart = windowStartSeconds(request.receivedAt);
    const resetMs = Math.max(0, (windowStart + RATE_WINDOW_SECONDS) * 1000 - this.now());
    const month = monthAt(request.receivedAt);
    this.refuseImpossible(request, month, resetMs);
    const [rate, budget] = await Promise.allSettled([
      this.takeFromWindow(request, windowStart, resetMs),
      request.budget ? this.takeFromBudget(request, month) : Promise.resolve(undefined),
    ]);
    if (rate.status === 'fulfilled' && budget.status === 'fulfilled') {
      return {
        request,
        windowStart,
        month,
        status: rate.value,
        reservedPicos: request.budget?.reservePicos ?? 0n,
        ...(budget.value ? { lease: budget.value.lease, tookLease: budget.value.tookLease } : {}),
      };
    }
    // One side refused (or failed): give the other back to this instance's pools.
    if (rate.status === 'fulfilled') this.giveBackToWindow(request, windowStart, request.reservedTokens);
    if (budget.status === 'fulfilled' && budget.value)
      this.giveBackToLease(budget.value.lease, request.budget!.reservePicos);
    throw (rate.status === 'rejected' ? rate.reason : (budget as PromiseRejectedResult).reason) as Error;
  }

  /**
   * Gives an admission back untouched, as if the request had never been admitted: its place in
   * the window, its token bound and its reservation. For a request refused after admission
   * without being served (the billed guardrail blocked it).
   *
   * @example
   * await quota.release(admission);
   */
  async release(admission: Admission): Promise<void> {
    this.giveBackToWindow(admission.request, admission.windowStart, admission.request.reservedTokens);
    if (admission.lease) {
      this.giveBackToLease(admission.lease, admission.reservedPicos);
      await this.returnIdleLeases(admission.lease.teamId, admission.month);
    }
  }

  /**
   * The usage transaction's share of settling an admission: the actual cost is added to its
   * budget lease's item (the condition fails if the sweeper returned the lease meanwhile; see
   * {@link lateSettlement}).
   *
   * @example
   * await recorder.record(usageRecord, quota.settlement(admission, cost.totalPicos));
   */
  settlement(admission: Admission, costPicos: bigint): Settlement {
    const { lease } = admission;
    if (!lease) return { items: [] };
    return {
      items: [
        {
          Update: {
            TableName: this.tables.counters,
            Key: itemKeys.budgetLease(lease.teamId, lease.month, lease.id),
            UpdateExpression: 'ADD #consumed :cost',
            ConditionExpression: `attribute_exists(#amount) AND ${leaseOpen}`,
            ExpressionAttributeNames: {
              '#consumed': LEASE.consumed,
              '#amount': LEASE.amount,
              '#returned': LEASE.returned,
              '#swept': LEASE.swept,
            },
            ExpressionAttributeValues: { ':cost': costPicos },
          },
        },
      ],
    };
  }

  /**
   * The settlement to use when the lease was returned before this request settled (its instance
   * outlived the sweep cut-off): the cost is committed to the month's budget directly.
   */
  lateSettlement(admission: Admission, costPicos: bigint): Settlement {
    if (!admission.lease) return { items: [] };
    return {
      items: [
        {
          Update: {
            TableName: this.tables.usage,
            Key: itemKeys.monthBudget(admission.request.teamId, admission.month),
            UpdateExpression: 'ADD #committed :cost',
            ExpressionAttributeNames: { '#committed': COMMITTED_PICOS },
            ExpressionAttributeValues: { ':cost': costPicos },
          },
        },
      ],
    };
  }

  /**
   * Called once the request's usage is recorded (`landed`) or handed to the replay queue: its
   * unused token bound goes back to this instance's window, its unused reservation to its lease,
   * and a lease that admits no more is returned once its last request has settled. Never throws:
   * what it cannot return, the sweeper will.
   *
   * @example
   * await quota.settled(admission, tokens, cost.totalPicos, outcome === 'recorded');
   */
  async settled(admission: Admission, actualTokens: number, costPicos: bigint, landed: boolean): Promise<void> {
    this.giveBackTokens(admission.request, admission.windowStart, admission.request.reservedTokens - actualTokens);
    const { lease } = admission;
    if (!lease) return;
    lease.consumed += costPicos;
    if (!landed) lease.unsure = true;
    this.giveBackToLease(lease, admission.reservedPicos - costPicos);
    // A lease that could not admit this request again is returned now rather than parked.
    if (lease.left < admission.reservedPicos) lease.retired = true;
    try {
      await this.returnIdleLeases(lease.teamId, admission.month);
      // The month's committed amount moved when this lease was taken (and maybe returned).
      if (admission.tookLease) await this.checkAlerts(admission.request, admission.month);
    } catch (error) {
      logger.warn('budget lease bookkeeping failed; the sweeper returns the lease', {
        teamId: lease.teamId,
        error: error as Error,
      });
    }
  }

  /** Requests that can never be admitted are refused without touching DynamoDB. */
  private refuseImpossible(request: AdmissionRequest, month: string, resetMs: number): void {
    const { limits, reservedTokens, teamId, keyId } = request;
    for (const [scope, limit, limitType] of [
      [`team ${teamId}`, limits.teamTokensPerMinute, 'team_tokens'],
      [`key ${keyId}`, limits.keyTokensPerMinute, 'key_tokens'],
    ] as const) {
      if (limit !== undefined && reservedTokens > limit) {
        throw new RateLimitExceededError(
          `Request too large for tokens per minute (TPM) on ${scope}: Limit ${limit}, Requested ${reservedTokens} (prompt bound and output cap). ` +
            'Send a shorter prompt or ask for fewer output tokens.',
          'tokens',
          { ...rateLimitHeaders(rateLimitStatus(limits, countsOf(undefined, keyId), resetMs)), ...NO_RETRY },
          limitType,
        );
      }
    }
    if (request.budget && request.budget.reservePicos > request.budget.monthlyBudgetPicos) {
      throw new BudgetExhaustedError(
        `This request may cost up to $${formatPicos(request.budget.reservePicos)}, more than team ${teamId}'s whole ` +
          `monthly budget of $${formatPicos(request.budget.monthlyBudgetPicos)} (month ${month}). Lower max_tokens.`,
      );
    }
  }

  /** Whether the request's key has limits of its own (only then does the window count it). */
  private keyLimited(request: AdmissionRequest): boolean {
    return request.limits.keyRequestsPerMinute !== undefined || request.limits.keyTokensPerMinute !== undefined;
  }

  /** Takes one request and its token bound from this instance's pools, leasing blocks when short. */
  private async takeFromWindow(
    request: AdmissionRequest,
    windowStart: number,
    resetMs: number,
  ): Promise<RateLimitStatus> {
    const keyId = this.keyLimited(request) ? request.keyId : undefined;
    for (let attempt = 0; ; attempt++) {
      const pools = this.book.window(request.teamId, windowStart, keyId);
      if (fits(pools.team, request.reservedTokens) && fits(pools.key, request.reservedTokens)) {
        for (const pool of [pools.team, pools.key]) {
          if (!pool) continue;
          pool.requests -= 1;
          pool.tokens -= request.reservedTokens;
          pool.usedRequests += 1;
          pool.usedTokens += request.reservedTokens;
        }
        return this.statusOf(request, pools, resetMs);
      }
      // Others took what this instance leased meanwhile (concurrent requests); lease again.
      if (attempt >= MAX_LEASE_ATTEMPTS) throw this.rateRefusal(request, undefined, resetMs);
      await this.leaseWindow(request, windowStart, pools, resetMs);
    }
  }

  /**
   * What OpenAI's headers report: the limit minus what every instance leased, plus what this
   * instance still holds (capacity parked elsewhere is not available to this caller).
   */
  private statusOf(
    request: AdmissionRequest,
    pools: { team: WindowPool; key?: WindowPool },
    resetMs: number,
  ): RateLimitStatus {
    const used = (
      pool: WindowPool | undefined,
      leased: 'leasedRequests' | 'leasedTokens',
      held: 'requests' | 'tokens',
    ) => (pool ? pool[leased] - pool[held] : 0);
    return rateLimitStatus(
      request.limits,
      {
        teamRequests: used(pools.team, 'leasedRequests', 'requests'),
        teamTokens: used(pools.team, 'leasedTokens', 'tokens'),
        keyRequests: used(pools.key, 'leasedRequests', 'requests'),
        keyTokens: used(pools.key, 'leasedTokens', 'tokens'),
      },
      resetMs,
    );
  }

  /**
   * Leases blocks of the window for what the pools lack, with one conditional update of the
   * window item. When the blocks do not fit, the item as it was says how much is left: the
   * blocks shrink to it, or the request is refused if even its own needs do not fit.
   */
  private async leaseWindow(
    request: AdmissionRequest,
    windowStart: number,
    pools: { team: WindowPool; key?: WindowPool },
    resetMs: number,
  ): Promise<void> {
    const { limits, reservedTokens: need } = request;
    const levels = [
      {
        pool: pools.team,
        names: { requests: WINDOW.teamRequests, tokens: WINDOW.teamTokens },
        limits: { requests: limits.teamRequestsPerMinute, tokens: limits.teamTokensPerMinute },
      },
      ...(pools.key
        ? [
            {
              pool: pools.key,
              names: { requests: WINDOW.keyRequests(request.keyId), tokens: WINDOW.keyTokens(request.keyId) },
              limits: {
                requests: limits.keyRequestsPerMinute ?? Number.MAX_SAFE_INTEGER,
                tokens: limits.keyTokensPerMinute ?? Number.MAX_SAFE_INTEGER,
              },
            },
          ]
        : []),
    ].filter((level) => !fits(level.pool, need));
    // What each pool lacks, leased in blocks sized from what this instance last saw leased
    // (corrected below if others leased more).
    const missing = levels.map(({ pool }) => ({
      requests: Math.max(0, 1 - pool.requests),
      tokens: Math.max(0, need - pool.tokens),
    }));
    let blocks = levels.map(({ pool, limits: limit }, i) => ({
      requests:
        missing[i]!.requests &&
        blockSize(pool.blocks, limit.requests - pool.leasedRequests, missing[i]!.requests, pool.previousRequests),
      tokens:
        missing[i]!.tokens &&
        blockSize(pool.blocks, limit.tokens - pool.leasedTokens, missing[i]!.tokens, pool.previousTokens),
    }));
    for (let attempt = 0; attempt < MAX_LEASE_ATTEMPTS; attempt++) {
      const names: Record<string, string> = {};
      const values: Record<string, number> = {
        ':windowStart': windowStart,
        ':expiresAt': windowStart + RATE_WINDOW_SECONDS + RATE_WINDOW_RETENTION_SECONDS,
      };
      const adds: string[] = [];
      const conditions: string[] = [];
      levels.forEach((level, i) => {
        for (const kind of ['requests', 'tokens'] as const) {
          const block = blocks[i]![kind];
          if (block === 0) continue;
          const name = `#${kind[0]}${i}`;
          names[name] = level.names[kind];
          values[`:${kind[0]}${i}`] = block;
          values[`:${kind[0]}${i}room`] = level.limits[kind] - block;
          adds.push(`${name} :${kind[0]}${i}`);
          conditions.push(`(attribute_not_exists(${name}) OR ${name} <= :${kind[0]}${i}room)`);
        }
      });
      const input: UpdateCommandInput = {
        TableName: this.tables.counters,
        Key: itemKeys.rateWindow(request.teamId, windowStart),
        UpdateExpression: `ADD ${adds.join(', ')} SET windowStart = :windowStart, expiresAt = :expiresAt`,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      };
      try {
        const { Attributes } = await withConflictRetry(() => this.db.send(new UpdateCommand(input)));
        levels.forEach(({ pool, names: attribute }, i) => {
          pool.requests += blocks[i]!.requests;
          pool.tokens += blocks[i]!.tokens;
          pool.blocks += 1;
          pool.leasedRequests = Number(Attributes?.[attribute.requests] ?? pool.leasedRequests);
          pool.leasedTokens = Number(Attributes?.[attribute.tokens] ?? pool.leasedTokens);
        });
        return;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const item = error.Item ? unmarshall(error.Item) : {};
        // Shrink each block to what is left; refuse if the request's own needs do not fit.
        const shrunk = levels.map(({ pool, names: attribute, limits: limit }, i) => {
          pool.leasedRequests = Number(item[attribute.requests] ?? 0);
          pool.leasedTokens = Number(item[attribute.tokens] ?? 0);
          const left = { requests: limit.requests - pool.leasedRequests, tokens: limit.tokens - pool.leasedTokens };
          const want = blocks[i]!;
          const lack = missing[i]!;
          if (left.requests < lack.requests || left.tokens < lack.tokens) return undefined;
          return {
            requests: want.requests && Math.max(lack.requests, Math.min(want.requests, left.requests)),
            tokens: want.tokens && Math.max(lack.tokens, Math.min(want.tokens, left.tokens)),
          };
        });
        if (shrunk.some((block) => block === undefined)) throw this.rateRefusal(request, item, resetMs);
        blocks = shrunk as typeof blocks;
      }
    }
    throw this.rateRefusal(request, undefined, resetMs);
  }

  /** Gives a request's place and token bound back to this instance's pools of its window. */
  private giveBackToWindow(request: AdmissionRequest, windowStart: number, tokens: number): void {
    const pools = this.book.window(request.teamId, windowStart, this.keyLimited(request) ? request.keyId : undefined);
    for (const pool of [pools.team, pools.key]) {
      if (!pool) continue;
      pool.requests += 1;
      pool.tokens += tokens;
      pool.usedRequests -= 1;
      pool.usedTokens -= tokens;
    }
  }

  /** Gives unused tokens of a settled request back to this instance's pools of its window. */
  private giveBackTokens(request: AdmissionRequest, windowStart: number, tokens: number): void {
    const pools = this.book.window(request.teamId, windowStart, this.keyLimited(request) ? request.keyId : undefined);
    // What the window used stays counted at the bound: that is what the next window's first block must cover.
    for (const pool of [pools.team, pools.key]) if (pool) pool.tokens += tokens;
  }

  /** Reserves the request's worst case from one of this instance's budget leases, leasing a block when none has room. */
  private async takeFromBudget(
    request: AdmissionRequest,
    month: string,
  ): Promise<{ lease: BudgetLease; tookLease: boolean }> {
    const reserve = request.budget!.reservePicos;
    let tookLease = false;
    for (let attempt = 0; ; attempt++) {
      const now = this.now();
      const held = this.book.budget(request.teamId, month, now);
      for (const lease of held.leases) {
        if (!lease.retired && now - lease.takenAt >= BUDGET_LEASE_ADMIT_MS) lease.retired = true;
      }
      const lease = held.leases.find((candidate) => !candidate.retired && candidate.left >= reserve);
      if (lease) {
        lease.left -= reserve;
        lease.inFlight += 1;
        held.reserved += reserve;
        return { lease, tookLease };
      }
      // A lease too small for this request admits no more; it is returned once its requests have
      // settled, after a response (`settled`, `release`), never on the admission path.
      for (const small of held.leases) small.retired = true;
      if (attempt >= MAX_LEASE_ATTEMPTS) throw await this.budgetRefusal(request, month, undefined);
      await this.leaseBudget(request, month, held);
      tookLease = true;
    }
  }

  /**
   * Leases a block of the team's month budget: the budget item's committed amount grows by the
   * block if it leaves room, and the lease gets its own item, in one transaction. When the block
   * does not fit, it shrinks to what is left, or the request is refused.
   */
  private async leaseBudget(request: AdmissionRequest, month: string, held: BudgetHolding): Promise<void> {
    const { monthlyBudgetPicos: budget, reservePicos: reserve } = request.budget!;
    let amount = budgetBlockSize(held.blocks, budget, reserve, held.reservedBefore);
    for (let attempt = 0; attempt < MAX_LEASE_ATTEMPTS; attempt++) {
      const id = `${this.instance}-${(this.leaseCount += 1)}`;
      const takenAt = this.now();
      try {
        await transactWrite(this.db, [
          {
            Update: {
              TableName: this.tables.usage,
              Key: itemKeys.monthBudget(request.teamId, month),
              UpdateExpression: 'ADD #committed :amount SET teamId = :team, #month = :month',
              ConditionExpression: budgetHasRoom,
              ExpressionAttributeNames: { '#committed': COMMITTED_PICOS, '#month': 'month' },
              ExpressionAttributeValues: {
                ':amount': amount,
                ':room': budget - amount,
                ':team': request.teamId,
                ':month': month,
              },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            },
          },
          {
            Put: {
              TableName: this.tables.counters,
              Item: {
                ...itemKeys.budgetLease(request.teamId, month, id),
                teamId: request.teamId,
                month,
                [LEASE.amount]: amount,
                [LEASE.consumed]: 0,
                [LEASE.takenAt]: Math.floor(takenAt / 1000),
                expiresAt: Math.floor(takenAt / 1000) + LEASE_RETENTION_SECONDS,
              },
            },
          },
        ]);
        held.blocks += 1;
        held.leases.push({
          id,
          teamId: request.teamId,
          month,
          amount,
          left: amount,
          consumed: 0n,
          inFlight: 0,
          takenAt,
          retired: false,
          unsure: false,
        });
        return;
      } catch (error) {
        if (!(error instanceof TransactionCancelledError) || !error.conditionFailedAt(0)) throw error;
        const committed = picosOf(error.items[0]?.[COMMITTED_PICOS]);
        const left = budget - committed;
        if (left < reserve) throw await this.budgetRefusal(request, month, committed);
        amount = budgetBlockSize(held.blocks, left, reserve, held.reservedBefore);
        if (amount > left) amount = left;
      }
    }
    throw await this.budgetRefusal(request, month, undefined);
  }

  /** Gives an unused reservation back to its lease (an admission refused or released, or a settled cost below it). */
  private giveBackToLease(lease: BudgetLease, picos: bigint): void {
    lease.left += picos;
    lease.inFlight -= 1;
  }

  /** Returns every lease of a team's month that admits no more and has no request in flight. */
  private async returnIdleLeases(teamId: string, month: string): Promise<void> {
    for (const lease of [...this.book.budget(teamId, month, this.now()).leases]) {
      try {
        await this.finish(lease);
      } catch (error) {
        logger.warn('budget lease return failed; the sweeper returns it', {
          teamId: lease.teamId,
          error: error as Error,
        });
      }
    }
  }

  /**
   * Returns a retired lease whose requests have all settled: its unused amount goes back to the
   * month's budget, and the lease item is marked returned, in one transaction, on condition that
   * every settlement landed (its consumed amount is what this instance settled) and the sweeper
   * did not return it first. A lease whose settlement went to the replay queue is left to the
   * sweeper, which waits for the queue.
   */
  private async finish(lease: BudgetLease): Promise<void> {
    if (!lease.retired || lease.inFlight > 0) return;
    this.book.forget(lease);
    if (lease.unsure) return;
    try {
      await transactWrite(this.db, [
        {
          Update: {
            TableName: this.tables.counters,
            Key: itemKeys.budgetLease(lease.teamId, lease.month, lease.id),
            UpdateExpression: 'SET #returned = :now',
            ConditionExpression: `#consumed = :consumed AND ${leaseOpen}`,
            ExpressionAttributeNames: {
              '#returned': LEASE.returned,
              '#swept': LEASE.swept,
              '#consumed': LEASE.consumed,
            },
            ExpressionAttributeValues: { ':now': new Date(this.now()).toISOString(), ':consumed': lease.consumed },
          },
        },
        {
          Update: {
            TableName: this.tables.usage,
            Key: itemKeys.monthBudget(lease.teamId, lease.month),
            UpdateExpression: 'ADD #committed :unused',
            ExpressionAttributeNames: { '#committed': COMMITTED_PICOS },
            ExpressionAttributeValues: { ':unused': -(lease.amount - lease.consumed) },
          },
        },
      ]);
    } catch (error) {
      if (error instanceof TransactionCancelledError && error.conditionFailedAt(0)) return; // the sweeper's now
      throw error;
    }
  }

  private rateRefusal(
    request: AdmissionRequest,
    item: Record<string, unknown> | undefined,
    resetMs: number,
  ): RateLimitExceededError {
    const { limits, keyId, teamId } = request;
    const counts = countsOf(item, keyId);
    const checks = [
      ['requests', 'requests per minute (RPM)', `team ${teamId}`, limits.teamRequestsPerMinute, counts.teamRequests, 1],
      ['requests', 'requests per minute (RPM)', `key ${keyId}`, limits.keyRequestsPerMinute, counts.keyRequests, 1],
      [
        'tokens',
        'tokens per minute (TPM)',
        `team ${teamId}`,
        limits.teamTokensPerMinute,
        counts.teamTokens,
        request.reservedTokens,
      ],
      [
        'tokens',
        'tokens per minute (TPM)',
        `key ${keyId}`,
        limits.keyTokensPerMinute,
        counts.keyTokens,
        request.reservedTokens,
      ],
    ] as const;
    const [kind, label, scope, limit, used, requested] =
      checks.find(([, , , limit, used, requested]) => limit !== undefined && used + requested > limit) ?? checks[0];
    const reset = formatResetDuration(resetMs);
    return new RateLimitExceededError(
      `Rate limit reached for ${label} on ${scope}: Limit ${limit}, Used ${used}, Requested ${requested}. ` +
        `Please try again in ${reset}.`,
      kind,
      {
        ...rateLimitHeaders(rateLimitStatus(limits, counts, resetMs)),
        [RATE_LIMIT_HEADERS.retryAfter]: String(Math.max(1, Math.ceil(resetMs / 1000))),
      },
      `${scope.startsWith('team') ? 'team' : 'key'}_${kind}`,
    );
  }

  private async budgetRefusal(
    request: AdmissionRequest,
    month: string,
    committed: bigint | undefined,
  ): Promise<BudgetExhaustedError> {
    const budget = request.budget!;
    if (committed !== undefined) await this.checkAlerts(request, month, committed, true);
    return new BudgetExhaustedError(
      `Team ${request.teamId} has used its monthly budget: ` +
        (committed !== undefined ? `$${formatPicos(committed)} of ` : '') +
        `$${formatPicos(budget.monthlyBudgetPicos)} spent or reserved in ${month}, and this request may cost up to ` +
        `$${formatPicos(budget.reservePicos)}. The budget resets on ${nextMonthStart(month)}.`,
    );
  }

  /**
   * Checks the month's budget alerts against its committed amount (read when not given). Alerts
   * never fail a request: a failure is logged and the next check retries.
   */
  private async checkAlerts(
    request: AdmissionRequest,
    month: string,
    committed?: bigint,
    refused = false,
  ): Promise<void> {
    if (!this.options.alerts || !request.budget) return;
    try {
      const { Item = {} } = await this.db.send(
        new GetCommand({
          TableName: this.tables.usage,
          Key: itemKeys.monthBudget(request.teamId, month),
          ConsistentRead: true,
        }),
      );
      const budget = {
        budgetPicos: request.budget.monthlyBudgetPicos,
        softAlertPercent: request.budget.softAlertPercent,
      };
      await this.options.alerts.check(
        request.teamId,
        month,
        committed ?? picosOf(Item[COMMITTED_PICOS]),
        Item,
        budget,
        refused,
      );
    } catch (error) {
      logger.error('budget alert failed', { teamId: request.teamId, month, error: error as Error });
    }
  }
}
