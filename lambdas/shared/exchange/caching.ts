import type { ChatRequest } from '../chat/types';
import type { PolicyDecision } from '../policy/engine';
import {
  cachePlanOf,
  responseCacheKey,
  type CachedAnswer,
  type CachePlan,
  type CacheSlot,
  type CacheStatus,
} from '../response-cache';
import type { RouteFailedError } from '../routing/router';
import type { Exchange } from './exchange';
import type { RouteTaken } from './outcome';

/**
 * The response cache's part in one chat exchange (teams with a cache only): how it takes part,
 * the slot it reads and writes, the request it was keyed on, and what the lookup found.
 */
export interface ExchangeCache {
  plan: CachePlan;
  slot: CacheSlot;
  /** The upstream request the key was computed from: a guardrail that rewrites it voids the key. */
  keyed: ChatRequest;
  found?: CachedAnswer;
}

/**
 * The cache's part in a request whose local policy has run (the key is taken on the request as
 * it goes upstream, redactions included); undefined for a team without a cache.
 *
 * @example
 * exchange.cache = exchangeCacheOf(exchange);
 */
export function exchangeCacheOf(exchange: Exchange): ExchangeCache | undefined {
  const plan = cachePlanOf(exchange.caller.team, exchange.upstream, exchange.context.cacheDirective);
  if (!plan) return undefined;
  return {
    plan,
    slot: { teamId: exchange.caller.team.teamId, key: responseCacheKey(exchange.requested.id, exchange.upstream) },
    keyed: exchange.upstream,
  };
}

/**
 * Turns the cache off for a request that no longer is the one it was keyed on (an input
 * guardrail masked part of it): its answer is neither served from nor stored under that key.
 */
export function bypassed(cache: ExchangeCache): ExchangeCache {
  return { ...cache, plan: { ...cache.plan, mode: 'bypass' }, found: undefined };
}

/** The stored answer to serve as a hit: found by a lookup and still within its TTL at `now`. */
export function freshAnswer(cache: ExchangeCache | undefined, now: number): CachedAnswer | undefined {
  const found = cache?.plan.mode === 'lookup' ? cache.found : undefined;
  return found && found.freshUntil > now ? found : undefined;
}

/** The stored answer (past its TTL) a team that opted in may be served when no deployment answers. */
export function staleAnswer(cache: ExchangeCache | undefined): CachedAnswer | undefined {
  return cache?.plan.mode === 'lookup' && cache.plan.staleIfError ? cache.found : undefined;
}

/** What the header says of a request a provider answered: `miss`, or `bypass` when the cache was not used. */
export function providerStatus(cache: ExchangeCache | undefined): CacheStatus | undefined {
  if (!cache) return undefined;
  return cache.plan.mode === 'bypass' ? 'bypass' : 'miss';
}

/**
 * Whether a provider's answer is stored: the cache is in use for the request and the answer
 * policy let the answer through untouched (a redacted, blocked or alerted answer never is).
 */
export function storesAnswer(cache: ExchangeCache | undefined, answerDecision: PolicyDecision): cache is ExchangeCache {
  return cache !== undefined && cache.plan.mode !== 'bypass' && answerDecision.action === 'allow';
}

/**
 * The route a cached answer is recorded under: the candidate whose model produced it (the
 * requested one if the catalog changed since), with the provider calls a stale answer followed.
 */
export function cachedRoute(exchange: Exchange, answer: CachedAnswer, failure?: RouteFailedError): RouteTaken {
  const candidate = exchange.candidates.find((entry) => entry.model.id === answer.model) ?? exchange.candidates[0]!;
  return { ...candidate, attempts: failure?.attempts ?? 0, attemptLog: failure?.log ?? [] };
}
