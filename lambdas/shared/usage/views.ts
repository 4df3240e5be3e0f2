import { formatMicros } from '../cost/money';
import type { TeamUsageReport } from './reader';
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
 * The body of `GET /v1/usage`.
 *
 * @example
 * jsonResponse(200, usageReportView(report))
 */
export function usageReportView(report: TeamUsageReport) {
  return {
    object: 'usage_report',
    team: report.teamId,
    from: report.from,
    to: report.to,
    totals: totalsView(report.totals),
    by_model: report.byModel.map((row) => ({ model: row.model, ...totalsView(row) })),
    by_day: report.byDay.map((row) => ({ day: row.day, ...totalsView(row) })),
  };
}
