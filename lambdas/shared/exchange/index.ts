export {
  ExchangeService,
  type CompletedExchange,
  type ExchangeServiceDeps,
  type RoutingFacts,
  type StreamingExchange,
} from './exchange-service';
export {
  outputTokenLimit,
  type Exchange,
  type ExchangeRequest,
  type NeutralChat,
  type RequestContext,
} from './exchange';
export { type ServedStreamEvent } from './metered-stream';
export {
  auditRecordOf,
  observationOf,
  usageRecordOf,
  type Outcome,
  type OutcomeKind,
  type RouteTaken,
} from './outcome';
