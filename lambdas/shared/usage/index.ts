export {
  monthsBetween,
  UsageReader,
  type MonthSpend,
  type TeamUsageOptions,
  type TeamUsageReport,
  type UserUsage,
  type VariantUsage,
} from './reader';
export {
  addTotals,
  dayOf,
  emptyTotals,
  monthOf,
  TOTAL_FIELDS,
  totalsOf,
  type UsageRecord,
  type UsageTotals,
} from './record';
export { UsageRecorder, type QuotaSettlement } from './recorder';
export { budgetView, totalsView, usageReportView } from './views';
export {
  buildChargeback,
  CHARGEBACK_GROUPINGS,
  chargebackCsv,
  chargebackView,
  monthDays,
  UNASSIGNED_COST_CENTER,
  type ChargebackGrouping,
  type ChargebackLine,
  type ChargebackReport,
} from './chargeback';
