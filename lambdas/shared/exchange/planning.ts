import type { Catalog } from '../catalog/catalog';
import type { ModelEntry, ModelKind } from '../catalog/schema';
import { estimatePromptTokens, promptTokenBound } from '../chat/token-estimate';
import { ERROR_CODES, forbidden, invalidRequest, notFound } from '../http/errors';
import { unsupportedFeatures } from '../providers/capabilities';
import type { AuthenticatedCaller } from '../keys/authenticator';
import { ALLOW, type CompiledPolicy, type PolicyEngine } from '../policy/engine';
import { isModelAllowed } from '../policy/model-access';
import type { RouteCandidate } from '../routing/router';
import { outputTokenLimit, type Exchange, type ExchangeRequest, type RequestContext } from './exchange';
import { checkLocalPolicy, lastUserText } from './request-policy';

/** What planning reads: the catalog and the policy profiles. */
export interface PlanningDeps {
  catalog: Catalog;
  policies: PolicyEngine;
}

/** The policy profile of a caller's team. */
export function policyOf(deps: PlanningDeps, caller: AuthenticatedCaller): CompiledPolicy {
  return deps.policies.profileFor(caller.team.policyProfile);
}

/**
 * Whether a caller may use a model: the team's, the key's and the team's policy profile's
 * allow-lists must all allow it.
 *
 * @example
 * catalog.listModels().filter((model) => mayUse(caller, model, policyOf(deps, caller)))
 */
export function mayUse(caller: AuthenticatedCaller, model: ModelEntry, policy: CompiledPolicy): boolean {
  return (
    isModelAllowed(model.id, caller.team.allowedModels, caller.key.allowedModels) &&
    isModelAllowed(model.id, policy.profile.allowedModels)
  );
}

/**
 * A model name without the date suffix Anthropic's clients add (`claude-sonnet-4-5-20250929` →
 * `claude-sonnet-4-5`), so a coding agent's default model names find the catalog's ids and
 * aliases; a name without one is returned as is.
 *
 * @example
 * undated('claude-haiku-4-5-20251001') // 'claude-haiku-4-5'
 */
export function undated(model: string): string {
  return model.replace(/-\d{8}$/, '');
}

/**
 * The catalog model a request names, the caller's policy, and the candidates it may be routed to
 * (the model, then the fallbacks the caller may use). An unknown model is a 404, a forbidden one
 * a 403, a model of another kind (an embedding model asked for a chat) a 400; nothing to audit:
 * no policy has judged anything yet.
 *
 * @example
 * const { policy, requested, candidates } = resolveModel(deps, caller, 'mock-small', 'chat');
 */
export function resolveModel(
  deps: PlanningDeps,
  caller: AuthenticatedCaller,
  model: string,
  kind: ModelKind,
): { policy: CompiledPolicy; requested: ModelEntry; candidates: RouteCandidate[] } {
  const policy = policyOf(deps, caller);
  const requested = deps.catalog.findModel(model) ?? deps.catalog.findModel(undated(model));
  if (!requested) {
    throw notFound(`The model '${model}' does not exist.`, ERROR_CODES.modelNotFound, 'model');
  }
  if (!mayUse(caller, requested, policy)) {
    throw forbidden(`This key may not use the model '${model}'.`, ERROR_CODES.modelNotAllowed, 'model');
  }
  if (requested.kind !== kind) {
    throw invalidRequest(`The model '${model}' is ${article(requested.kind)} model, not ${article(kind)} model.`, {
      code: ERROR_CODES.unsupportedModel,
      param: 'model',
    });
  }
  const candidates: RouteCandidate[] = deps.catalog
    .routeOf(requested)
    .filter((entry, index) => index === 0 || mayUse(caller, entry, policy))
    .map((entry) => ({
      model: entry,
      target: {
        connectionName: entry.provider,
        connection: deps.catalog.connectionOf(entry),
        upstreamModel: entry.upstreamModel,
      },
    }));
  return { policy, requested, candidates };
}

/** 'a chat', 'an embedding'. */
function article(kind: ModelKind): string {
  return kind === 'embedding' ? 'an embedding' : 'a chat';
}

/**
 * Resolves a request against the catalog and the caller's permissions: the model, the output
 * cap, the prompt estimate, the audit excerpt, the candidates it may be routed to. Unknown or
 * forbidden models and impossible output caps are thrown as 4xx (nothing to audit: no policy
 * has judged anything yet). The profile's checks are not applied yet: see {@link applyLocalPolicy}.
 *
 * @example
 * const exchange = resolveExchange(deps, caller, request, context);
 */
export function resolveExchange(
  deps: PlanningDeps,
  caller: AuthenticatedCaller,
  request: ExchangeRequest,
  context: RequestContext,
): Exchange {
  const { policy, requested, candidates: routes } = resolveModel(deps, caller, request.model, 'chat');
  const outputCap = Math.min(requested.maxOutputTokens, policy.profile.maxOutputTokens ?? Infinity);
  const upstream = { ...request.chat, maxOutputTokens: outputTokenLimit(request, outputCap) };
  const redactor = policy.newRedactor();
  const excerptChars = policy.profile.audit.promptExcerptChars;
  const promptExcerpt =
    excerptChars > 0 ? policy.redactAll(lastUserText(upstream), redactor).slice(0, excerptChars) : undefined;
  // What the model's own provider cannot serve is the caller's 400; fallbacks that cannot are skipped.
  const missing = unsupportedFeatures(upstream, routes[0]!.target);
  if (missing.length > 0) {
    throw invalidRequest(
      `The model '${request.model}' (provider ${routes[0]!.target.connectionName}) does not support ${missing.join(', ')}.`,
      { code: ERROR_CODES.unsupportedParameter },
    );
  }
  const candidates = routes.filter(
    (route, index) => index === 0 || unsupportedFeatures(upstream, route.target).length === 0,
  );
  return {
    caller,
    request,
    context,
    endUser: request.chat.user,
    requested,
    policy,
    redactor,
    promptTokens: estimatePromptTokens(upstream),
    promptTokenBound: promptTokenBound(upstream),
    promptExcerpt,
    candidates,
    upstream,
    decision: ALLOW,
  };
}

/**
 * Applies the profile's free, local checks (prompt size, deny rules, DLP) to the request as it
 * will go upstream, redacting as the profile says; throws `PolicyViolationError` on a block.
 *
 * @example
 * applyLocalPolicy(exchange); // before admission: a block counts against no limit
 */
export function applyLocalPolicy(exchange: Exchange): void {
  const checked = checkLocalPolicy(exchange.policy, exchange.upstream, exchange.promptTokens, exchange.redactor);
  exchange.upstream = checked.request;
  exchange.decision = checked.decision;
  exchange.promptTokenBound = Math.max(exchange.promptTokenBound, promptTokenBound(checked.request));
}
