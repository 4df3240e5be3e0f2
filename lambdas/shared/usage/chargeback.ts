import type { TeamRecord } from '../teams/schema';
import type { TeamUsageReport } from './reader';
import { addTotals, emptyTotals, type UsageTotals } from './record';
import { totalsView } from './views';

/** Teams without a cost center are billed to this one. */
export const UNASSIGNED_COST_CENTER = '(unassigned)';

/**
 * What the chargeback's lines are per: each team's models (`team`, the default) or each team's
 * end users (`user`). Team, cost-center and overall totals are the same either way.
 */
export const CHARGEBACK_GROUPINGS = ['team', 'user'] as const;
export type ChargebackGrouping = (typeof CHARGEBACK_GROUPINGS)[number];

/**
 * What one line is of a team: a model, or an end user (null: the team's requests that named
 * none, a line of their own so the team's lines still add up to its total).
 */
export type LineGroup = { model: string } | { endUser: string | null };

/** One line of the chargeback: a team's use of one model, or by one end user, in the month. */
export type ChargebackLine = UsageTotals & LineGroup & { teamId: string; teamName: string; costCenter: string };

/** The month's chargeback: lines, and totals per team, per cost center and overall. */
export interface ChargebackReport {
  month: string;
  groupBy: ChargebackGrouping;
  lines: ChargebackLine[];
  teams: (UsageTotals & { teamId: string; teamName: string; costCenter: string })[];
  costCenters: (UsageTotals & { costCenter: string })[];
  totals: UsageTotals;
}

/**
 * The first and last UTC day of a month.
 *
 * @example
 * monthDays('2026-02') // { from: '2026-02-01', to: '2026-02-28' }
 */
export function monthDays(month: string): { from: string; to: string } {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  const last = new Date(Date.UTC(year, monthNumber, 0)).getUTCDate();
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` };
}

/**
 * A team's lines: its models by id, or its end users by id and then, if any, its requests
 * without a user. Either way every aggregate row of the team is in exactly one line, so the lines
 * sum to the team's totals exactly.
 *
 * @example
 * teamLines(report, 'user') // [{ endUser: 'alice', ... }, { endUser: 'bob', ... }, { endUser: null, ... }]
 */
export function teamLines(report: TeamUsageReport, groupBy: ChargebackGrouping): (UsageTotals & LineGroup)[] {
  if (groupBy === 'team') return [...report.byModel].sort((a, b) => a.model.localeCompare(b.model));
  const users = [...report.byUser].sort((a, b) => a.endUser.localeCompare(b.endUser));
  return report.withoutUser.requests > 0 ? [...users, { endUser: null, ...report.withoutUser }] : users;
}

/**
 * Builds the chargeback from each team's month of aggregates (never the ledger). Pure: every
 * figure is a sum of the same exact pico-dollars the ledger holds, so lines, team totals,
 * cost-center totals and the grand total all reconcile exactly, and nothing is rounded: the
 * `cost_usd` column is the exact amount in decimal (see `formatPicos`).
 *
 * @example
 * const report = buildChargeback('2026-11', teams, usageByTeam);
 * const perUser = buildChargeback('2026-11', teams, usageByTeam, 'user');
 */
export function buildChargeback(
  month: string,
  teams: readonly Pick<TeamRecord, 'teamId' | 'name' | 'costCenter'>[],
  usage: ReadonlyMap<string, TeamUsageReport>,
  groupBy: ChargebackGrouping = 'team',
): ChargebackReport {
  const lines: ChargebackLine[] = [];
  const teamTotals: ChargebackReport['teams'] = [];
  const centers = new Map<string, UsageTotals & { costCenter: string }>();
  const totals = emptyTotals();
  for (const team of [...teams].sort((a, b) => a.teamId.localeCompare(b.teamId))) {
    const report = usage.get(team.teamId);
    if (!report || report.totals.requests === 0) continue;
    const costCenter = team.costCenter ?? UNASSIGNED_COST_CENTER;
    for (const row of teamLines(report, groupBy)) {
      lines.push({ ...row, teamId: team.teamId, teamName: team.name, costCenter });
    }
    teamTotals.push({ ...report.totals, teamId: team.teamId, teamName: team.name, costCenter });
    let center = centers.get(costCenter);
    if (!center) centers.set(costCenter, (center = { costCenter, ...emptyTotals() }));
    addTotals(center, report.totals);
    addTotals(totals, report.totals);
  }
  return {
    month,
    groupBy,
    lines,
    teams: teamTotals,
    costCenters: [...centers.values()].sort((a, b) => a.costCenter.localeCompare(b.costCenter)),
    totals,
  };
}

/** A line's model or user as the API names it (`user` null: requests that named none). */
function lineGroupView(line: LineGroup): { model: string } | { user: string | null } {
  return 'model' in line ? { model: line.model } : { user: line.endUser };
}

/** The chargeback as the admin API returns it (JSON). */
export function chargebackView(report: ChargebackReport) {
  return {
    object: 'chargeback',
    month: report.month,
    currency: 'USD',
    group_by: report.groupBy,
    lines: report.lines.map((line) => ({
      cost_center: line.costCenter,
      team: line.teamId,
      team_name: line.teamName,
      ...lineGroupView(line),
      ...totalsView(line),
    })),
    teams: report.teams.map((team) => ({
      cost_center: team.costCenter,
      team: team.teamId,
      team_name: team.teamName,
      ...totalsView(team),
    })),
    cost_centers: report.costCenters.map((center) => ({ cost_center: center.costCenter, ...totalsView(center) })),
    totals: totalsView(report.totals),
  };
}

const TOTAL_COLUMNS = [
  'requests',
  'errors',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cost_picos',
  'cost_usd',
  'cache_hits',
  'saved_picos',
  'saved_usd',
] as const;

/** The CSV's columns: the line's group column is `model` or `user`, as the JSON names it. */
const csvColumns = (groupBy: ChargebackGrouping) => [
  'month',
  'row_type',
  'cost_center',
  'team',
  'team_name',
  groupBy === 'team' ? 'model' : 'user',
  ...TOTAL_COLUMNS,
];

/**
 * One CSV cell: quoted when needed, and with a leading quote for text a spreadsheet would run as
 * a formula (a team named `=HYPERLINK(...)` must stay text in finance's spreadsheet).
 *
 * @example
 * csvCell('=SUM(A1)') // "'=SUM(A1)"
 */
export function csvCell(value: string | number): string {
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The chargeback as CSV (RFC 4180, CRLF): one `line` row per team × model (or team × end user,
 * the team's requests without one in a line with an empty `user`), then a `team_total` row per
 * team, a `cost_center_total` row per cost center and one `total` row.
 *
 * @example
 * writeFileSync('chargeback-2026-11.csv', chargebackCsv(report));
 */
export function chargebackCsv(report: ChargebackReport): string {
  const columns = csvColumns(report.groupBy);
  const rows: Record<string, string | number | null>[] = [];
  const row = (
    rowType: string,
    names: { costCenter?: string; teamId?: string; teamName?: string },
    totals: UsageTotals,
    group?: LineGroup,
  ) =>
    rows.push({
      month: report.month,
      row_type: rowType,
      cost_center: names.costCenter ?? '',
      team: names.teamId ?? '',
      team_name: names.teamName ?? '',
      ...(group ? lineGroupView(group) : {}),
      ...totalsView(totals),
    });
  for (const line of report.lines) row('line', line, line, line);
  for (const team of report.teams) row('team_total', team, team);
  for (const center of report.costCenters) row('cost_center_total', center, center);
  row('total', {}, report.totals);
  return [columns.join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c] ?? '')).join(','))]
    .map((line) => `${line}\r\n`)
    .join('');
}
