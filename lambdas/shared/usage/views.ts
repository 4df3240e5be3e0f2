import { formatPicos, microsToPicos } from '../cost/money';
import type { MonthSpend, TeamUsageReport } from './reader';
import type { UsageTotals } from './record';

/**
 * Usage totals as the HTTP API shows them: snake_case, money as exact pico-dollars (a string of
 * digits: sums pass 2^53, past what a JSON number keeps exactly) and as exact USD text.
 */
export function totalsView(totals: UsageTotals) {
  return {
    requests: totals.requests,
    errors: totals.errors,
    input_tokens: totals.inputTokens,
    output_tokens: totals.outputTokens,
    cache_read_tokens: totals.cacheReadTokens,
    cache_write_tokens: totals.cacheWriteTokens,
    cost_picos: String(totals.costPicos),
    cost_usd: formatPicos(totals.costPicos),
    cache_hits: totals.cacheHits,
    saved_picos: String(totals.savedPicos),
    saved_usd: formatPicos(totals.savedPicos),
  };
}

/**
 * Where the month stands against the team's budget; null for a team without one. Remaining is
 * what new requests can still reserve (reservations of requests in flight are not available).
 */
export function budgetView(spend: MonthSpend, budget: { monthlyBudgetMicros?: number; softAlertPercent: number }) {
  if (budget.monthlyBudgetMicros === undefined) return null;
  const monthly = microsToPicos(budget.monthlyBudgetMicros);
  const atLeastZero = (picos: bigint) => (picos > 0n ? picos : 0n);
  const remaining = atLeastZero(monthly - spend.committedPicos);
  return {
    month: spend.month,
    monthly_budget_usd: formatPicos(monthly),
    spent_usd: formatPicos(spend.spentPicos),
    spent_picos: String(spend.spentPicos),
    reserved_picos: String(atLeastZero(spend.committedPicos - spend.spentPicos)),
    remaining_usd: formatPicos(remaining),
    remaining_picos: String(remaining),
    used_percent: Number((spend.spentPicos * 100n) / (monthly > 0n ? monthly : 1n)),
    soft_alert_percent: budget.softAlertPercent,
  };
}

/**
 * The body of `GET /v1/usage`.
 *
 * @example
 * jsonResponse(200, usageReportView(report, budgetView(spend, team)))
 */
export function usageReportView(report: TeamUsageReport, budget: ReturnType<typeof budgetView> | null) {
  return {
    object: 'usage_report',
    team: report.teamId,
    from: report.from,
    to: report.to,
    totals: totalsView(report.totals),
    by_model: report.byModel.map((row) => ({ model: row.model, ...totalsView(row) })),
    by_day: report.byDay.map((row) => ({ day: row.day, ...totalsView(row) })),
    by_variant: report.byVariant.map((row) => ({
      experiment: row.experiment,
      variant: row.variant,
      ...totalsView(row),
      mean_latency_ms: Math.round(row.latencyMsTotal / row.requests),
    })),
    // Requests that named no end user are not listed: they are what totals has beyond these rows.
    by_user: report.byUser.map((row) => ({ user: row.endUser, ...totalsView(row) })),
    budget,
  };
}
