import { formatMicros } from '../cost/money';
import type { MonthSpend, TeamUsageReport } from './reader';
import type { UsageTotals } from './record';

/** Usage totals as the HTTP API shows them: snake_case, money both exact (µ$) and as USD text. */
export function totalsView(totals: UsageTotals) {
  return {
    requests: totals.requests,
    errors: totals.errors,
    input_tokens: totals.inputTokens,
    output_tokens: totals.outputTokens,
    cache_read_tokens: totals.cacheReadTokens,
    cache_write_tokens: totals.cacheWriteTokens,
    cost_micros: totals.costMicros,
    cost_usd: formatMicros(totals.costMicros),
  };
}

/**
 * Where the month stands against the team's budget; null for a team without one. Remaining is
 * what new requests can still reserve (reservations of requests in flight are not available).
 */
export function budgetView(spend: MonthSpend, budget: { monthlyBudgetMicros?: number; softAlertPercent: number }) {
  if (budget.monthlyBudgetMicros === undefined) return null;
  const remaining = Math.max(0, budget.monthlyBudgetMicros - spend.committedMicros);
  return {
    month: spend.month,
    monthly_budget_usd: formatMicros(budget.monthlyBudgetMicros),
    spent_usd: formatMicros(spend.spentMicros),
    spent_micros: spend.spentMicros,
    reserved_micros: Math.max(0, spend.committedMicros - spend.spentMicros),
    remaining_usd: formatMicros(remaining),
    remaining_micros: remaining,
    used_percent: Math.floor((spend.spentMicros * 100) / Math.max(1, budget.monthlyBudgetMicros)),
    soft_alert_percent: budget.softAlertPercent,
  };
}

/**
 * The body of `GET /v1/usage`.
 *
 * @example
 * jsonResponse(200, usageReportView(report, budgetView(spend, team)))
 */
export function usageReportView(report: TeamUsageReport, budget: ReturnType<typeof budgetView>) {
  return {
    object: 'usage_report',
    team: report.teamId,
    from: report.from,
    to: report.to,
    totals: totalsView(report.totals),
    by_model: report.byModel.map((row) => ({ model: row.model, ...totalsView(row) })),
    by_day: report.byDay.map((row) => ({ day: row.day, ...totalsView(row) })),
    budget,
  };
}
