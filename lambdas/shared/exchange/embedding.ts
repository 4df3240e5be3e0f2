import { embeddingTokenBound, estimateEmbeddingTokens } from '../embeddings/token-bound';
import type { EmbeddingRequest } from '../embeddings/types';
import { invalidRequest } from '../http/errors';
import type { AuthenticatedCaller } from '../keys/authenticator';
import { ALLOW, combine, type PolicyDecision } from '../policy/engine';
import { PolicyViolationError } from '../policy/errors';
import type { GuardrailChecker } from '../policy/guardrail';
import type { ExchangeBase, RequestContext } from './exchange';
import { endUserOf, lazyExcerpt, planRoute, resolveModel, sessionKeyOf, type PlanningDeps } from './planning';
import { guardrailRuleId } from './request-policy';

/**
 * The embeddings side of the exchange core: an embeddings face parses its wire format into an
 * {@link EmbeddingExchangeRequest}; planning, the profile's checks and the guardrail here turn it
 * into an {@link EmbeddingExchange}, which admission, routing and recording take like a chat.
 */

/** A validated embeddings request in the gateway's own terms. */
export interface EmbeddingExchangeRequest {
  /** The model id or alias the caller asked for. */
  model: string;
  /** The texts to embed, in order (at least one, none empty). */
  inputs: string[];
  /** The vector size the caller asked for, and the face's name for it (for a 400 naming it). */
  dimensions?: { value: number; param: string };
  /** End-user id passed by the caller. */
  user?: string;
}

/** One embeddings request's state as it moves through the core. */
export interface EmbeddingExchange extends ExchangeBase {
  readonly request: EmbeddingExchangeRequest & { readonly stream: false };
  /** The texts as they go upstream (checked and redacted as the profile says). */
  upstream: EmbeddingRequest;
}

/**
 * Resolves an embeddings request against the catalog and the caller's permissions, as a chat is
 * (see `resolveModel`: 404, 403, and a 400 for a chat model), and checks the vector size: a
 * model that lists no `dimensions` takes none, one that does takes only those.
 *
 * @example
 * const exchange = resolveEmbeddingExchange(deps, caller, request, context);
 */
export function resolveEmbeddingExchange(
  deps: PlanningDeps,
  caller: AuthenticatedCaller,
  request: EmbeddingExchangeRequest,
  context: RequestContext,
): EmbeddingExchange {
  const { policy, requested } = resolveModel(deps, caller, request.model, 'embedding');
  const asked = request.dimensions;
  if (asked !== undefined && !(requested.dimensions ?? []).includes(asked.value)) {
    throw invalidRequest(
      requested.dimensions
        ? `${asked.param} must be one of ${requested.dimensions.join(', ')} for the model ${request.model}; got ${asked.value}.`
        : `The model ${request.model} does not support ${asked.param}.`,
      { param: asked.param },
    );
  }
  const upstream: EmbeddingRequest = { inputs: request.inputs, dimensions: asked?.value, user: request.user };
  const redactor = policy.newRedactor();
  const promptExcerpt = lazyExcerpt(policy, redactor, request.inputs.join('\n'));
  const endUser = endUserOf(caller, request.user);
  return {
    caller,
    request: { ...request, stream: false },
    context,
    endUser,
    requested,
    policy,
    redactor,
    promptTokens: estimateEmbeddingTokens(request.inputs),
    promptTokenBound: embeddingTokenBound(request.inputs),
    get promptExcerpt() {
      return promptExcerpt();
    },
    // Embedding models declare no capabilities a request could lack: every allowed deployment can serve.
    ...planRoute(deps, caller, policy, requested, sessionKeyOf(context, endUser), () => true),
    upstream,
    decision: ALLOW,
  };
}

/**
 * Applies the profile's free, local checks to every input, as to a chat prompt's texts: the
 * prompt-size limit (on all inputs together), then deny rules and DLP detectors on each input,
 * redacting what the profile says to redact. Throws `PolicyViolationError` on a block, naming the
 * rule and never what it matched; runs before admission, so a blocked request counts against no limit.
 *
 * @example
 * applyEmbeddingPolicy(exchange); // exchange.upstream.inputs are now what may go upstream
 */
export function applyEmbeddingPolicy(exchange: EmbeddingExchange): void {
  const { policy, redactor } = exchange;
  const { maxPromptTokens } = policy.profile;
  if (maxPromptTokens !== undefined && exchange.promptTokens > maxPromptTokens) {
    throw new PolicyViolationError(
      'max_prompt_tokens',
      `The input is estimated at ${exchange.promptTokens} tokens; this policy allows at most ${maxPromptTokens}.`,
    );
  }
  let decision: PolicyDecision = exchange.decision;
  const inputs = exchange.upstream.inputs.map((text) => {
    const checked = policy.checkText(text, 'input', redactor);
    if (checked.blockedBy) throw new PolicyViolationError(checked.blockedBy.ruleId, checked.blockedBy.message);
    decision = combine(decision, checked.decision);
    return checked.text;
  });
  exchange.upstream = { ...exchange.upstream, inputs };
  exchange.decision = decision;
  exchange.promptTokenBound = Math.max(exchange.promptTokenBound, embeddingTokenBound(inputs));
}

/**
 * Applies the profile's Bedrock guardrail, if it names one for input, to each input (a mask is a
 * redaction, a block a block), after admission since each call is billed. Throws
 * `PolicyViolationError` on a block and whatever the guardrail client threw when it could not
 * judge (the caller fails closed).
 *
 * @example
 * await checkEmbeddingGuardrail(exchange, guardrails); // after admission
 */
export async function checkEmbeddingGuardrail(
  exchange: EmbeddingExchange,
  guardrails: GuardrailChecker | undefined,
): Promise<void> {
  const { guardrail } = exchange.policy.profile;
  if (!guardrail || guardrail.direction === 'output' || !guardrails) return;
  const ruleId = guardrailRuleId(guardrail.id);
  const verdicts = await Promise.all(
    exchange.upstream.inputs.map((text) => guardrails.check(guardrail, 'INPUT', text)),
  );
  if (verdicts.some((verdict) => verdict.action === 'block')) {
    throw new PolicyViolationError(ruleId, 'The request was blocked by a guardrail.');
  }
  if (verdicts.every((verdict) => verdict.action === 'none')) return;
  exchange.upstream = {
    ...exchange.upstream,
    inputs: exchange.upstream.inputs.map((text, i) => {
      const verdict = verdicts[i]!;
      return verdict.action === 'anonymize' ? verdict.text : text;
    }),
  };
  exchange.decision = combine(exchange.decision, { action: 'redact', ruleIds: [ruleId] });
}
