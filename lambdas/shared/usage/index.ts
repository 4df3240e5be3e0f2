export { monthsBetween, UsageReader, type TeamUsageReport } from './reader';
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
export { UsageRecorder } from './recorder';
export { totalsView, usageReportView } from './views';
