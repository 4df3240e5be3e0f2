import type { RoutingFacts } from '../../exchange/exchange-service';
import { GATEWAY_HEADERS } from '../../http/headers';
import { requestIdHeader } from '../../http/response';
import type { AuthenticatedCaller } from '../../keys/authenticator';
import { rateLimitHeaders } from '../../quota/limits';
import type { GatewayFacts } from './response';

/**
 * Headers that say how a request was served, known as soon as routing is decided: the request
 * id, OpenAI's rate-limit headers, and the gateway's own facts.
 *
 * @example
 * jsonResponse(200, body, routingHeaders(requestId, caller, served))
 */
export function routingHeaders(
  requestId: string,
  caller: AuthenticatedCaller,
  facts: RoutingFacts,
): Record<string, string> {
  return {
    ...requestIdHeader(requestId),
    ...rateLimitHeaders(facts.rateLimit),
    [GATEWAY_HEADERS.team]: caller.team.teamId,
    [GATEWAY_HEADERS.keyId]: caller.key.keyId,
    [GATEWAY_HEADERS.model]: facts.model.id,
    [GATEWAY_HEADERS.provider]: facts.target.connectionName,
    [GATEWAY_HEADERS.upstreamModel]: facts.target.upstreamModel,
    [GATEWAY_HEADERS.attempts]: String(facts.attempts),
    [GATEWAY_HEADERS.policy]: facts.policy.action,
    // absent, not undefined: every value of this map is written as a response header
    ...(facts.policy.ruleIds.length ? { [GATEWAY_HEADERS.policyRules]: facts.policy.ruleIds.join(',') } : {}),
  };
}

/** The `gateway` field's facts known when routing is decided (cost, latency and policy come at the end). */
export function routedFacts(
  requestId: string,
  caller: AuthenticatedCaller,
  facts: RoutingFacts,
): Omit<GatewayFacts, 'costPicos' | 'latencyMs' | 'policy'> {
  return {
    requestId,
    teamId: caller.team.teamId,
    keyId: caller.key.keyId,
    model: facts.model.id,
    provider: facts.target.connectionName,
    upstreamModel: facts.target.upstreamModel,
    attempts: facts.attempts,
  };
}
