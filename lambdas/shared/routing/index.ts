export { circuitKey, CircuitBreakers, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker';
export {
  RouteFailedError,
  Router,
  type AttemptRecord,
  type RouteCandidate,
  type RouteSuccess,
  type RouterOptions,
} from './router';
