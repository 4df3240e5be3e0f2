export { RateLimitExceededError } from './errors';
export { RateLimiter, rateLimitHeaders, type RateLimitStatus, type RequestLimits } from './rate-limiter';
export {
  formatResetDuration,
  msUntilWindowReset,
  RATE_WINDOW_RETENTION_SECONDS,
  RATE_WINDOW_SECONDS,
  windowStartSeconds,
} from './rate-window';
