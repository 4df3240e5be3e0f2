export { replayEvents, StreamedAnswer } from './answer';
export { canonicalJson, responseCacheKey } from './key';
export {
  cacheDirectiveOf,
  cachePlanOf,
  isCacheable,
  type CacheDirective,
  type CachePlan,
  type CacheStatus,
} from './plan';
export {
  MAX_CACHED_ANSWER_BYTES,
  ResponseCache,
  STALE_RETENTION_SECONDS,
  type CacheSlot,
  type CachedAnswer,
} from './store';
