import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { picosOf } from '../cost/money';
import { batchGetAll } from '../store/batch-get';
import { queryAll } from '../store/query-all';
import { itemKeys } from '../store/schema';
import { mapBounded } from '../store/shards';
import { addTotals, emptyTotals, monthOf, type UsageTotals } from './record';

/** A team's usage over a range of UTC days, read from the aggregates, never from the ledger. */
export interface TeamUsageReport {
  teamId: string;
  from: string;
  to: string;
  totals: UsageTotals;
  byModel: (UsageTotals & { model: string })[];
  byDay: (UsageTotals & { day: string })[];
  /** Requests in experiments, per experiment and variant (also counted in the rows above). */
  byVariant: VariantUsage[];
  /**
   * Requests that named an end user, per user, costliest first (also counted in the rows above).
   * Requests that named none are not a pseudo-user here, whose id could clash with a real one:
   * they are `withoutUser`.
   */
  byUser: UserUsage[];
  /** Requests that named no end user: with `byUser`, exactly `totals`. */
  withoutUser: UsageTotals;
}

/** One end user's usage. */
export type UserUsage = UsageTotals & { endUser: string };

/** What a usage report counts. */
export interface TeamUsageOptions {
  /**
   * Only this end user's requests (a member who may see only their own usage): every figure of
   * the report, totals included, covers their rows alone.
   */
  endUser?: string;
}

/** One experiment variant's usage: its totals and the sum of its requests' latency. */
export type VariantUsage = UsageTotals & { experiment: string; variant: string; latencyMsTotal: number };

/**
 * Every UTC month (`YYYY-MM`) that overlaps the day range, oldest first.
 *
 * @example
 * monthsBetween('2026-01-30', '2026-03-02') // ['2026-01', '2026-02', '2026-03']
 */
export function monthsBetween(fromDay: string, toDay: string): string[] {
  const months: string[] = [];
  let [year, month] = monthOf(fromDay).split('-').map(Number);
  const last = monthOf(toDay);
  for (;;) {
    const current = `${year}-${String(month).padStart(2, '0')}`;
    if (current > last) return months;
    months.push(current);
    month += 1;
    if (month > 12) {
      month = 1;
      year += 1;
    }
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/** Orders bigints largest first, as a sort comparator. */
function compareDescending(a: bigint, b: bigint): number {
  return a === b ? 0 : a > b ? -1 : 1;
}

/** Teams read at once by {@link UsageReader.teamsUsage}: quick, without bursting the table. */
const TEAMS_READ_AT_ONCE = 16;

/**
 * Aggregate shards of one team-month queried at once by {@link UsageReader.teamUsage}: one report
 * reads every shard, a few at a time, so a report is quick and a chargeback (many teams at once)
 * does not open hundreds of queries together.
 */
const SHARDS_READ_AT_ONCE = 8;

/** Where a team's month stands against its budget: spend from the aggregate shards, the rest from the budget item. */
export interface MonthSpend {
  month: string;
  /** Settled cost of the month (p$). */
  spentPicos: bigint;
  /** Spent plus the reservations of requests still in flight (p$), from the budget item. */
  committedPicos: bigint;
  /** When this month's budget alerts went out, if they did. */
  softAlertSentAt?: string;
  exhaustedAlertSentAt?: string;
}

/** Reads usage reports from the aggregate rows. */
export class UsageReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * A team's spend so far in a month: the sum of every aggregate shard's month row (one batch
   * read), and the budget item.
   *
   * @example
   * const { spentPicos } = await reader.monthSpend('payments', '2026-11');
   */
  async monthSpend(teamId: string, month: string): Promise<MonthSpend> {
    const [shards, { Item: budget }] = await Promise.all([
      batchGetAll(this.db, this.tableName, itemKeys.monthAggregates(teamId, month), true),
      this.db.send(
        new GetCommand({ TableName: this.tableName, Key: itemKeys.monthBudget(teamId, month), ConsistentRead: true }),
      ),
    ]);
    return {
      month,
      // Exact: each shard's cost is a bigint (or a safe number), summed as bigints.
      spentPicos: shards.reduce<bigint>((total, row) => total + picosOf(row['costPicos']), 0n),
      committedPicos: picosOf(budget?.committedPicos),
      softAlertSentAt: budget?.softAlertSentAt ? String(budget.softAlertSentAt) : undefined,
      exhaustedAlertSentAt: budget?.exhaustedAlertSentAt ? String(budget.exhaustedAlertSentAt) : undefined,
    };
  }

  /**
   * Usage of one team between two UTC days, inclusive: one query per aggregate shard of each month
   * touched (`USAGE_SHARDS` a month), summed exactly. With `endUser`, the same queries return only
   * that user's rows (a filter: DynamoDB reads, and bills, the same rows either way).
   *
   * @example
   * const report = await reader.teamUsage('payments', '2026-11-01', '2026-11-23');
   * const mine = await reader.teamUsage('payments', '2026-11-01', '2026-11-23', { endUser: 'alice' });
   */
  async teamUsage(
    teamId: string,
    fromDay: string,
    toDay: string,
    options: TeamUsageOptions = {},
  ): Promise<TeamUsageReport> {
    const totals = emptyTotals();
    const byModel = new Map<string, UsageTotals & { model: string }>();
    const byDay = new Map<string, UsageTotals & { day: string }>();
    const byVariant = new Map<string, VariantUsage>();
    const byUser = new Map<string, UserUsage>();
    const withoutUser = emptyTotals();
    const partitions = monthsBetween(fromDay, toDay).flatMap((month) => itemKeys.aggregatePartitions(teamId, month));
    const shards = await mapBounded(partitions, SHARDS_READ_AT_ONCE, (pk) =>
      queryAll(this.db, {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': pk,
          ':from': `DAY#${fromDay}`,
          // '~' sorts after every character used in model ids, so the whole last day is included.
          ':to': `DAY#${toDay}#~`,
          ...(options.endUser !== undefined ? { ':endUser': options.endUser } : {}),
        },
        ...(options.endUser !== undefined
          ? { FilterExpression: '#endUser = :endUser', ExpressionAttributeNames: { '#endUser': 'endUser' } }
          : {}),
      }),
    );
    // A day × model row appears once in every shard that served it (and once per variant of an
    // experiment and per end user): the sums add them all up.
    for (const item of shards.flat()) {
      const model = String(item.model);
      const day = String(item.day);
      addTotals(totals, item);
      addTotals(
        getOrCreate(byModel, model, () => ({ model, ...emptyTotals() })),
        item,
      );
      addTotals(
        getOrCreate(byDay, day, () => ({ day, ...emptyTotals() })),
        item,
      );
      if (item.variant !== undefined) {
        const experiment = String(item.experiment);
        const variant = String(item.variant);
        const row = getOrCreate(byVariant, `${experiment}#${variant}`, () => ({
          experiment,
          variant,
          latencyMsTotal: 0,
          ...emptyTotals(),
        }));
        addTotals(row, item);
        row.latencyMsTotal += Number(item.latencyMs ?? 0);
      }
      if (item.endUser === undefined) {
        addTotals(withoutUser, item);
      } else {
        const endUser = String(item.endUser);
        addTotals(
          getOrCreate(byUser, endUser, () => ({ endUser, ...emptyTotals() })),
          item,
        );
      }
    }
    return {
      teamId,
      from: fromDay,
      to: toDay,
      totals,
      byModel: [...byModel.values()].sort(
        (a, b) => compareDescending(a.costPicos, b.costPicos) || a.model.localeCompare(b.model),
      ),
      byDay: [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day)),
      byVariant: [...byVariant.values()].sort(
        (a, b) => a.experiment.localeCompare(b.experiment) || a.variant.localeCompare(b.variant),
      ),
      byUser: [...byUser.values()].sort(
        (a, b) => compareDescending(a.costPicos, b.costPicos) || a.endUser.localeCompare(b.endUser),
      ),
      withoutUser,
    };
  }

  /**
   * Usage of many teams over the same days (the chargeback), at most a few teams at a time.
   *
   * @example
   * const byTeam = await reader.teamsUsage(['payments', 'search'], '2026-11-01', '2026-11-30');
   */
  async teamsUsage(teamIds: readonly string[], fromDay: string, toDay: string): Promise<Map<string, TeamUsageReport>> {
    const reports = new Map<string, TeamUsageReport>();
    let next = 0;
    const worker = async () => {
      while (next < teamIds.length) {
        const teamId = teamIds[next++]!;
        reports.set(teamId, await this.teamUsage(teamId, fromDay, toDay));
      }
    };
    await Promise.all(Array.from({ length: Math.min(TEAMS_READ_AT_ONCE, teamIds.length) }, worker));
    return reports;
  }
}
