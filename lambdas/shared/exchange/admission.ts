import { lineItemMicros } from '../cost/pricing';
import type { AdmissionRequest } from '../quota/quota-service';
import type { Exchange } from './exchange';

/**
 * A request's worst-case cost in micro-dollars: its prompt estimate at the highest prompt price
 * (input, cache read or cache write) plus its output cap at the output price, for the dearest of
 * the models it may be routed to. The provider is always called with that output cap, so the
 * reservation bounds what the request can cost.
 *
 * @example
 * worstCaseMicros(exchange) // reserved on the team's month before any provider is called
 */
export function worstCaseMicros(exchange: Pick<Exchange, 'candidates' | 'promptTokens' | 'upstream'>): number {
  return Math.max(
    ...exchange.candidates.map(({ model: { prices } }) => {
      const promptPrice = Math.max(
        prices.inputMicrosPerMTok,
        prices.cacheReadMicrosPerMTok,
        prices.cacheWriteMicrosPerMTok,
      );
      return (
        lineItemMicros(exchange.promptTokens, promptPrice) +
        lineItemMicros(exchange.upstream.maxOutputTokens, prices.outputMicrosPerMTok)
      );
    }),
  );
}

/**
 * What admission checks for a request: the team's and key's per-minute limits, and, for a team
 * with a budget, its worst-case cost against the month.
 *
 * @example
 * await quota.admit(admissionRequestOf(exchange));
 */
export function admissionRequestOf(exchange: Exchange): AdmissionRequest {
  const { team, key } = exchange.caller;
  return {
    teamId: team.teamId,
    keyId: key.keyId,
    receivedAt: exchange.context.receivedAt,
    promptTokens: exchange.promptTokens,
    limits: {
      teamRequestsPerMinute: team.requestsPerMinute,
      teamTokensPerMinute: team.tokensPerMinute,
      keyRequestsPerMinute: key.requestsPerMinute,
      keyTokensPerMinute: key.tokensPerMinute,
    },
    budget:
      team.monthlyBudgetMicros !== undefined
        ? {
            monthlyBudgetMicros: team.monthlyBudgetMicros,
            reserveMicros: worstCaseMicros(exchange),
            softAlertPercent: team.softAlertPercent,
          }
        : undefined,
  };
}
