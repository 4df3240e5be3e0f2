import type { ChatRequest } from '../chat/types';
import type { TeamRecord } from '../teams/schema';

/** What a caller may ask of the cache: skip it, or skip the lookup but store the fresh answer. */
export type CacheDirective = 'bypass' | 'refresh';

/**
 * What the cache did for a request, as the `x-gateway-cache` response header says it: served a
 * stored answer (`hit`), served a stored answer after every deployment failed (`stale`), called
 * the provider (`miss`), or was not used (`bypass`: asked so, or the request is not cacheable).
 */
export type CacheStatus = 'hit' | 'stale' | 'miss' | 'bypass';

/**
 * How the cache takes part in one request: `lookup` (read, and store a fresh answer), `refresh`
 * (store only) or `bypass`; `staleIfError` says whether a stored answer past its TTL may be served
 * when no provider answers.
 */
export interface CachePlan {
  mode: 'lookup' | 'refresh' | 'bypass';
  ttlSeconds: number;
  staleIfError: boolean;
}

/**
 * The caller's directive from the request header; anything else (absent, or a value the gateway
 * does not know) means the default, so a typo never turns a cache off silently into an error.
 *
 * @example
 * cacheDirectiveOf('Bypass') // 'bypass'
 */
export function cacheDirectiveOf(header: string | undefined): CacheDirective | undefined {
  const value = header?.trim().toLowerCase();
  return value === 'bypass' || value === 'refresh' ? value : undefined;
}

/**
 * Whether the answer to a request is a function of the request: not when it samples
 * (temperature above 0: the default temperature of every provider is above 0, so an unset one
 * samples too) unless the team accepts sampled answers being reused, and never with tools, whose
 * answers drive actions in the caller's world.
 *
 * @example
 * isCacheable({ ...request, temperature: 0 }, false) // true when it has no tools
 */
export function isCacheable(chat: ChatRequest, nondeterministicOk: boolean): boolean {
  if ((chat.tools?.length ?? 0) > 0) return false;
  return nondeterministicOk || chat.temperature === 0;
}

/**
 * How the cache takes part in a request of `team`; undefined when the team has no cache (no
 * `cache_ttl_seconds`, or 0), which also means no `x-gateway-cache` response header.
 *
 * @example
 * cachePlanOf(team, exchange.upstream, context.cacheDirective) // { mode: 'lookup', ttlSeconds: 300, staleIfError: false }
 */
export function cachePlanOf(
  team: Pick<TeamRecord, 'cacheTtlSeconds' | 'cacheNondeterministic' | 'cacheStaleIfError'>,
  chat: ChatRequest,
  directive: CacheDirective | undefined,
): CachePlan | undefined {
  const ttlSeconds = team.cacheTtlSeconds ?? 0;
  if (ttlSeconds <= 0) return undefined;
  const cacheable = isCacheable(chat, team.cacheNondeterministic === true);
  const mode = !cacheable || directive === 'bypass' ? 'bypass' : directive === 'refresh' ? 'refresh' : 'lookup';
  return { mode, ttlSeconds, staleIfError: team.cacheStaleIfError === true };
}
