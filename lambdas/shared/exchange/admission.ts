import { microsToPicos } from '../cost/money';
import { lineItemPicos } from '../cost/pricing';
import type { AdmissionRequest } from '../quota/quota-service';
import type { ExchangeBase } from './exchange';

/**
 * A request's worst-case cost in pico-dollars, a true upper bound of what it can be billed: its
 * prompt-token bound (see `promptTokenBound`) at the highest prompt price (input, cache read or
 * cache write) plus its output cap (`maxOutputTokens`: 0 for embeddings) at the output price, for
 * the dearest of the models it may be routed to. The provider is always called with that output cap. Costs are exact (nothing is
 * rounded), so the bound is exact too. Never 0, so a spent budget refuses even a free model.
 *
 * @example
 * worstCasePicos(exchange, exchange.upstream.maxOutputTokens) // reserved on the team's month before any provider is called
 */
export function worstCasePicos(
  exchange: Pick<ExchangeBase, 'candidates' | 'promptTokenBound'>,
  maxOutputTokens: number,
): bigint {
  let worst = 1n;
  for (const { model } of exchange.candidates) {
    const { prices } = model;
    const promptPrice = Math.max(
      prices.inputMicrosPerMTok,
      prices.cacheReadMicrosPerMTok,
      prices.cacheWriteMicrosPerMTok,
    );
    const cost =
      lineItemPicos(exchange.promptTokenBound, promptPrice) +
      lineItemPicos(maxOutputTokens, prices.outputMicrosPerMTok);
    if (cost > worst) worst = cost;
  }
  return worst;
}

/**
 * What admission checks for a request: the team's and key's per-minute limits, and, for a team
 * with a budget, its worst-case cost against the month; `maxOutputTokens` is the most output the
 * call may be billed (a chat's output cap, 0 for embeddings).
 *
 * @example
 * await quota.admit(admissionRequestOf(exchange, exchange.upstream.maxOutputTokens));
 */
export function admissionRequestOf(exchange: ExchangeBase, maxOutputTokens: number): AdmissionRequest {
  const { team, key } = exchange.caller;
  return {
    teamId: team.teamId,
    keyId: key.keyId,
    receivedAt: exchange.context.receivedAt,
    // Prompt bound plus output cap, as OpenAI's own limiter counts max_tokens: a true bound.
    reservedTokens: exchange.promptTokenBound + maxOutputTokens,
    limits: {
      teamRequestsPerMinute: team.requestsPerMinute,
      teamTokensPerMinute: team.tokensPerMinute,
      keyRequestsPerMinute: key.requestsPerMinute,
      keyTokensPerMinute: key.tokensPerMinute,
    },
    budget:
      team.monthlyBudgetMicros !== undefined
        ? {
            monthlyBudgetPicos: microsToPicos(team.monthlyBudgetMicros),
            reservePicos: worstCasePicos(exchange, maxOutputTokens),
            softAlertPercent: team.softAlertPercent,
          }
        : undefined,
  };
}
