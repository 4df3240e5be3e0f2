import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { formatPicos, picosOf } from '../cost/money';
import { GATEWAY_HEADERS, RATE_LIMIT_HEADERS } from '../http/headers';
import { logger } from '../observability/logger';
import { itemKeys } from '../store/schema';
import { withConflictRetry, type TransactItem } from '../store/transactions';
import type { BudgetAlerts, MonthBudgetState } from './budget-alerts';
import { BudgetExhaustedError, RateLimitExceededError } from './errors';
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
}

/** What settling an admission adds to the usage transaction. */
export interface Settlement {
  /** Items of the transaction: the rate window's adjustment, then the budget's. */
  items: TransactItem[];
}

/** Attribute names in a team's rate window item. */
export const RATE_WINDOW_ATTRIBUTES = {
  teamRequests: 'teamRequests',
  teamTokens: 'teamTokens',
  keyRequests: (keyId: string) => `key_${keyId}_requests`,
  keyTokens: (keyId: string) => `key_${keyId}_tokens`,
  reserved: 'reservedPicos',
  released: 'releasedPicos',
  swept: 'sweptAt',
} as const;
const WINDOW = RATE_WINDOW_ATTRIBUTES;

/** The month budget attribute holding spend plus outstanding reservations (p$). */
export const COMMITTED_PICOS = 'committedPicos';

const windowNotSwept = 'attribute_not_exists(#swept)';
/** Spend plus outstanding reservations leaves room for this reservation. */
const budgetHasRoom = 'attribute_not_exists(#committed) OR #committed <= :room';

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

/**
 * Admission and settlement of requests against per-minute limits and monthly budgets, shared by
 * every Lambda instance through DynamoDB.
 *
 * Admission is one round trip: two conditional single-item updates sent together, on the team's
 * rate window (team and per-key request and token counters: one item, so all four limits are
 * checked atomically, with no transaction to conflict on hot counters) and, for teams with a
 * budget, on the team's month aggregate (spend plus outstanding reservations must leave room for
 * this request's worst-case cost). If either refuses, the other is undone, so a refused request
 * leaves nothing behind. Settlement rides on the usage transaction: actual tokens replace the
 * prompt estimate, actual cost replaces the reservation. Reservations of requests that never
 * settle are released by {@link ReservationSweeper}.
 */
export class QuotaService {
  private readonly now: () => number;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { counters: string; usage: string },
    private readonly options: { alerts?: BudgetAlerts; now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Admits a request or throws {@link RateLimitExceededError} / {@link BudgetExhaustedError},
   * having changed nothing.
   *
   * @example
   * const admission = await quota.admit({ teamId, keyId, receivedAt, limits, reservedTokens, budget });
   */
  async admit(request: AdmissionRequest): Promise<Admission> {
    const windowStart = windowStartSeconds(request.receivedAt);
    const resetMs = Math.max(0, (windowStart + RATE_WINDOW_SECONDS) * 1000 - this.now());
    const month = monthAt(request.receivedAt);
    this.refuseImpossible(request, month, resetMs);
    const reservedPicos = request.budget?.reservePicos ?? 0n;

    const [window, budget] = await Promise.allSettled([
      this.updateWindow(request, windowStart, reservedPicos, +1),
      request.budget ? this.reserve(request, month, reservedPicos) : Promise.resolve(undefined),
    ]);
    if (window.status === 'fulfilled' && budget.status === 'fulfilled') {
      const status = rateLimitStatus(request.limits, countsOf(window.value, request.keyId), resetMs);
      if (budget.value && request.budget) await this.checkAlerts(request, month, budget.value);
      return { request, windowStart, month, status, reservedPicos };
    }
    // One side refused (or failed): undo the other, then report the refusal.
    await Promise.all([
      window.status === 'fulfilled' ? this.updateWindow(request, windowStart, reservedPicos, -1) : undefined,
      budget.status === 'fulfilled' && request.budget ? this.unreserve(request, month, reservedPicos) : undefined,
    ]);
    if (budget.status === 'rejected') {
      if (!(budget.reason instanceof ConditionalCheckFailedException)) throw budget.reason;
      throw await this.budgetRefusal(request, month, budget.reason);
    }
    const reason = (window as PromiseRejectedResult).reason;
    if (!(reason instanceof ConditionalCheckFailedException)) throw reason;
    throw this.rateRefusal(request, reason, resetMs);
  }

  /**
   * Gives an admission back untouched, as if the request had never been admitted: its place in
   * the window, its prompt tokens and its reservation. For a request refused after admission
   * without being served (the billed guardrail blocked it).
   *
   * @example
   * await quota.release(admission);
   */
  async release(admission: Admission): Promise<void> {
    const { request, windowStart, month, reservedPicos } = admission;
    await Promise.all([
      this.updateWindow(request, windowStart, reservedPicos, -1),
      request.budget ? this.unreserve(request, month, reservedPicos) : undefined,
    ]);
  }

  /**
   * The usage transaction's share of settling an admission: the window's token count moves from
   * the prompt estimate to the actual total, the reservation is released, and the month's
   * committed spend moves from the reservation to the actual cost.
   *
   * @example
   * await recorder.record(usageRecord, quota.settlement(admission, totalTokens, cost.totalPicos));
   */
  settlement(admission: Admission, actualTokens: number, costPicos: bigint): Settlement {
    const { request } = admission;
    const tokensDelta = actualTokens - request.reservedTokens;
    const reserved = admission.reservedPicos;
    return {
      items: [
        {
          Update: {
            TableName: this.tables.counters,
            Key: itemKeys.rateWindow(request.teamId, admission.windowStart),
            UpdateExpression: 'ADD #teamTokens :delta, #keyTokens :delta, #released :reserved',
            // A reservation the sweeper already released must not be released twice.
            ConditionExpression: reserved > 0n ? windowNotSwept : undefined,
            ExpressionAttributeNames: {
              '#teamTokens': WINDOW.teamTokens,
              '#keyTokens': WINDOW.keyTokens(request.keyId),
              '#released': WINDOW.released,
              // no name without the condition: DynamoDB rejects an unused name
              ...(reserved > 0n ? { '#swept': WINDOW.swept } : {}),
            },
            ExpressionAttributeValues: { ':delta': tokensDelta, ':reserved': reserved },
          },
        },
        // A budgeted team's committed spend moves from the reservation to the actual cost.
        ...(request.budget
          ? [
              {
                Update: {
                  TableName: this.tables.usage,
                  Key: itemKeys.monthBudget(request.teamId, admission.month),
                  UpdateExpression: 'ADD #committed :delta',
                  ExpressionAttributeNames: { '#committed': COMMITTED_PICOS },
                  ExpressionAttributeValues: { ':delta': costPicos - reserved },
                },
              },
            ]
          : []),
      ],
    };
  }

  /**
   * The settlement to use when the sweeper released the reservation first (the request outlived
   * the sweep cut-off): no window release, the full cost committed.
   */
  lateSettlement(admission: Admission, actualTokens: number, costPicos: bigint): Settlement {
    return this.settlement({ ...admission, reservedPicos: 0n }, actualTokens, costPicos);
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

  /** Counts (sign +1) or uncounts (-1) a request in its rate window; counting is conditional. */
  private async updateWindow(
    request: AdmissionRequest,
    windowStart: number,
    reservedPicos: bigint,
    sign: 1 | -1,
  ): Promise<Record<string, unknown> | undefined> {
    const { limits } = request;
    const names: Record<string, string> = {
      '#teamRequests': WINDOW.teamRequests,
      '#keyRequests': WINDOW.keyRequests(request.keyId),
      '#teamTokens': WINDOW.teamTokens,
      '#keyTokens': WINDOW.keyTokens(request.keyId),
      '#reserved': WINDOW.reserved,
      '#released': WINDOW.released,
    };
    const values: Record<string, number | bigint> = {
      ':one': sign,
      ':tokens': sign * request.reservedTokens,
      ':reserved': BigInt(sign) * reservedPicos,
      ':zero': 0,
      ':windowStart': windowStart,
      ':expiresAt': windowStart + RATE_WINDOW_SECONDS + RATE_WINDOW_RETENTION_SECONDS,
    };
    const conditions: string[] = [];
    if (sign > 0) {
      const under = (attribute: string, value: string, limit: number, operator: '<' | '<=') => {
        values[value] = limit;
        conditions.push(`(attribute_not_exists(${attribute}) OR ${attribute} ${operator} ${value})`);
      };
      under('#teamRequests', ':teamRpm', limits.teamRequestsPerMinute, '<');
      if (limits.keyRequestsPerMinute !== undefined) under('#keyRequests', ':keyRpm', limits.keyRequestsPerMinute, '<');
      // After adding this prompt the window must still be within the limit.
      under('#teamTokens', ':teamTpmLeft', limits.teamTokensPerMinute - request.reservedTokens, '<=');
      if (limits.keyTokensPerMinute !== undefined) {
        under('#keyTokens', ':keyTpmLeft', limits.keyTokensPerMinute - request.reservedTokens, '<=');
      }
    }
    const input: UpdateCommandInput = {
      TableName: this.tables.counters,
      Key: itemKeys.rateWindow(request.teamId, windowStart),
      UpdateExpression:
        'ADD #teamRequests :one, #keyRequests :one, #teamTokens :tokens, #keyTokens :tokens, #reserved :reserved ' +
        'SET windowStart = :windowStart, expiresAt = :expiresAt, #released = if_not_exists(#released, :zero)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'UPDATED_NEW',
      ConditionExpression: conditions.length > 0 ? conditions.join(' AND ') : undefined,
      ReturnValuesOnConditionCheckFailure: conditions.length > 0 ? 'ALL_OLD' : undefined,
    };
    const { Attributes } = await withConflictRetry(() => this.db.send(new UpdateCommand(input)));
    return Attributes;
  }

  /** Reserves the worst-case cost on the team's month aggregate, if the budget has room. */
  private async reserve(request: AdmissionRequest, month: string, reservedPicos: bigint): Promise<MonthBudgetState> {
    const { Attributes } = await withConflictRetry(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.usage,
          Key: itemKeys.monthBudget(request.teamId, month),
          UpdateExpression: 'ADD #committed :reserve SET teamId = :team, #month = :month',
          ConditionExpression: budgetHasRoom,
          ExpressionAttributeNames: { '#committed': COMMITTED_PICOS, '#month': 'month' },
          ExpressionAttributeValues: {
            ':reserve': reservedPicos,
            ':room': request.budget!.monthlyBudgetPicos - reservedPicos,
            ':team': request.teamId,
            ':month': month,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    return (Attributes ?? {}) as MonthBudgetState;
  }

  private async unreserve(request: AdmissionRequest, month: string, reservedPicos: bigint): Promise<void> {
    await withConflictRetry(() =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tables.usage,
          Key: itemKeys.monthBudget(request.teamId, month),
          UpdateExpression: 'ADD #committed :release',
          ExpressionAttributeNames: { '#committed': COMMITTED_PICOS },
          ExpressionAttributeValues: { ':release': -reservedPicos },
        }),
      ),
    );
  }

  private rateRefusal(
    request: AdmissionRequest,
    error: ConditionalCheckFailedException,
    resetMs: number,
  ): RateLimitExceededError {
    const { limits, keyId, teamId } = request;
    const counts = countsOf(error.Item ? unmarshall(error.Item) : undefined, keyId);
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
    error: ConditionalCheckFailedException,
  ): Promise<BudgetExhaustedError> {
    const budget = request.budget!;
    const state = (error.Item ? unmarshall(error.Item) : {}) as MonthBudgetState;
    await this.checkAlerts(request, month, state);
    const committed = picosOf(state[COMMITTED_PICOS]);
    return new BudgetExhaustedError(
      `Team ${request.teamId} has used its monthly budget: $${formatPicos(committed)} of ` +
        `$${formatPicos(budget.monthlyBudgetPicos)} spent or reserved in ${month}, and this request may cost up to ` +
        `$${formatPicos(budget.reservePicos)}. The budget resets on ${nextMonthStart(month)}.`,
    );
  }

  /** Budget alerts never fail a request: a failure is logged and the next check retries. */
  private async checkAlerts(request: AdmissionRequest, month: string, state: MonthBudgetState): Promise<void> {
    if (!this.options.alerts || !request.budget) return;
    try {
      await this.options.alerts.check(request.teamId, month, picosOf(state[COMMITTED_PICOS]), state, {
        budgetPicos: request.budget.monthlyBudgetPicos,
        softAlertPercent: request.budget.softAlertPercent,
      });
    } catch (error) {
      logger.error('budget alert failed', { teamId: request.teamId, month, error: error as Error });
    }
  }
}
