export {
  BudgetAlerts,
  InMemoryAlertPublisher,
  type BudgetAlertEvent,
  type BudgetAlertKind,
  type BudgetAlertPublisher,
  type MonthBudgetState,
} from './budget-alerts';
export { BudgetExhaustedError, RateLimitExceededError } from './errors';
export {
  alertPublisherFor,
  BUDGET_ALERT_DETAIL_TYPES,
  EVENT_SOURCE,
  EventBridgePublisher,
} from './eventbridge-publisher';
export { rateLimitHeaders, rateLimitStatus, type QuotaLimits, type RateLimitStatus, type WindowCounts } from './limits';
export {
  COMMITTED_PICOS,
  QuotaService,
  RATE_WINDOW_ATTRIBUTES,
  type Admission,
  type AdmissionRequest,
  type Settlement,
} from './quota-service';
export {
  formatResetDuration,
  msUntilWindowReset,
  RATE_WINDOW_RETENTION_SECONDS,
  RATE_WINDOW_SECONDS,
  windowStartSeconds,
} from './rate-window';
export { RESERVATION_LIFETIME_SECONDS, ReservationSweeper, type SweepResult } from './reservation-sweeper';
