import { lineItemCeilMicros, ROUNDING_ALLOWANCE_MICROS } from '../cost/pricing';
import type { AdmissionRequest } from '../quota/quota-service';
import type { Exchange } from './exchange';

/**
 * A request's worst-case cost in micro-dollars, a true upper bound of what it can be billed: its
 * prompt-token bound (see `promptTokenBound`) at the highest prompt price (input, cache read or
 * cache write) plus its output cap at the output price, each rounded up, plus the rounding
 * allowance of the priced line items, for the dearest of the models it may be routed to. The
 * provider is always called with that output cap. Never 0, so a spent budget refuses even the
 * cheapest request.
 *
 * @example
 * worstCaseMicros(exchange) // reserved on the team's month before any provider is called
 */
export function worstCaseMicros(exchange: Pick<Exchange, 'candidates' | 'promptTokenBound' | 'upstream'>): number {
  return Math.max(
    ...exchange.candidates.map(({ model: { prices } }) => {
      const promptPrice = Math.max(
        prices.inputMicrosPerMTok,
        prices.cacheReadMicrosPerMTok,
        prices.cacheWriteMicrosPerMTok,
      );
      return (
        lineItemCeilMicros(exchange.promptTokenBound, promptPrice) +
        lineItemCeilMicros(exchange.upstream.maxOutputTokens, prices.outputMicrosPerMTok) +
        ROUNDING_ALLOWANCE_MICROS
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
    // Prompt bound plus output cap, as OpenAI's own limiter counts max_tokens: a true bound.
    reservedTokens: exchange.promptTokenBound + exchange.upstream.maxOutputTokens,
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
