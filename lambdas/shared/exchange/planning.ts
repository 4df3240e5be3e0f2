import type { Catalog } from '../catalog/catalog';
import type { ModelEntry, ModelKind } from '../catalog/schema';
import { estimatePromptTokens, promptTokenBound } from '../chat/token-estimate';
import { ERROR_CODES, forbidden, invalidRequest, notFound } from '../http/errors';
import type { AuthenticatedCaller } from '../keys/authenticator';
import { ALLOW, type CompiledPolicy, type PolicyEngine } from '../policy/engine';
import { isModelAllowed } from '../policy/model-access';
import type { Redactor } from '../policy/redactor';
import { missingCapabilities } from '../routing/capabilities';
import { assignVariant, type VariantAssignment } from '../routing/experiments';
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
 * The catalog model a request names and the caller's policy. An unknown model is a 404, a
 * forbidden one a 403, a model of another kind (an embedding model asked for a chat) a 400;
 * nothing to audit: no policy has judged anything yet.
 *
 * @example
 * const { policy, requested } = resolveModel(deps, caller, 'mock-small', 'chat');
 */
export function resolveModel(
  deps: PlanningDeps,
  caller: AuthenticatedCaller,
  model: string,
  kind: ModelKind,
): { policy: CompiledPolicy; requested: ModelEntry } {
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
  return { policy, requested };
}

/** Where a request may go, before its strategy orders it (see `RouteSelector`). */
export interface PlannedRoute {
  /** The deployments, in config order: the variant's route first when there is one, then the entry's own. */
  candidates: RouteCandidate[];
  /** The entry whose routing strategy orders them: the variant's model, else the requested entry. */
  routedBy: ModelEntry;
  variant?: VariantAssignment;
}

/** A catalog model as a deployment to route to: the entry and the connection that serves it. */
function deploymentOf(deps: PlanningDeps, entry: ModelEntry): RouteCandidate {
  return {
    model: entry,
    target: {
      connectionName: entry.provider,
      connection: deps.catalog.connectionOf(entry),
      upstreamModel: entry.upstreamModel,
    },
  };
}

/**
 * Who the request is for, as usage and audit record it: a signed-in user is who their token says
 * (a body field cannot claim to be someone else); a key's caller may name its own end user
 * (OpenAI's `user`, Anthropic's `metadata.user_id`).
 *
 * @example
 * endUserOf(caller, request.chat.user) // 'jane@example.com' for a signed-in Jane, else the body's user
 */
export function endUserOf(caller: AuthenticatedCaller, named: string | undefined): string | undefined {
  return caller.user?.name ?? named;
}

/**
 * The session a request belongs to for an experiment's sticky assignment: the caller's
 * `x-gateway-session`, else its end user, else the request itself (a random assignment).
 */
export function sessionKeyOf(context: RequestContext, endUser: string | undefined): string {
  return context.sessionKey ?? endUser ?? context.requestId;
}

/**
 * The deployments a request may be routed to: the requested entry and its fallbacks or, when the
 * entry runs an experiment, the session's variant's route followed by the entry's own. Every
 * deployment but the requested entry (already checked) must pass the caller's allow-lists and
 * `canServe`; a variant that does not is not assigned (the request is the entry's own, outside
 * the experiment), so no session is refused for the variant it drew.
 *
 * @example
 * const { candidates, routedBy, variant } = planRoute(deps, caller, policy, requested, 'user-42', () => true);
 */
export function planRoute(
  deps: PlanningDeps,
  caller: AuthenticatedCaller,
  policy: CompiledPolicy,
  requested: ModelEntry,
  sessionKey: string,
  canServe: (candidate: RouteCandidate) => boolean,
): PlannedRoute {
  const candidateOf = (entry: ModelEntry) => deploymentOf(deps, entry);
  const usable = (candidate: RouteCandidate) =>
    candidate.model === requested || (mayUse(caller, candidate.model, policy) && canServe(candidate));
  const own = deps.catalog.routeOf(requested).map(candidateOf).filter(usable);
  const assigned = requested.experiment && assignVariant(requested.experiment, sessionKey);
  const entry = assigned && deps.catalog.findModel(assigned.model);
  if (!assigned || !entry || !usable(candidateOf(entry))) return { candidates: own, routedBy: requested };
  const variantRoute = deps.catalog.routeOf(entry).map(candidateOf).filter(usable);
  const ids = new Set(variantRoute.map((candidate) => candidate.model.id));
  return {
    candidates: [...variantRoute, ...own.filter((candidate) => !ids.has(candidate.model.id))],
    routedBy: entry,
    variant: assigned,
  };
}

/** 'a chat', 'an embedding'. */
function article(kind: ModelKind): string {
  return kind === 'embedding' ? 'an embedding' : 'a chat';
}

/**
 * The audit trail's prompt excerpt, redacted of every detector's findings, computed on first use:
 * a scan of the whole prompt (about 4 ms for 100 KB) that only the audit record needs, which an
 * admitted request writes after its answer, so it stays off the client's wait.
 *
 * @example
 * const excerpt = lazyExcerpt(policy, redactor, text); // nothing scanned yet
 * excerpt(); // scans once; later calls return the same excerpt
 */
export function lazyExcerpt(policy: CompiledPolicy, redactor: Redactor, text: string): () => string | undefined {
  const chars = policy.profile.audit.promptExcerptChars;
  let excerpt: { value: string | undefined } | undefined;
  return () => (excerpt ??= { value: chars > 0 ? policy.redactAll(text, redactor).slice(0, chars) : undefined }).value;
}

/**
 * Resolves a request against the catalog and the caller's permissions: the model, the output
 * cap, the prompt estimate, the audit excerpt, the deployments it may be routed to (and its
 * experiment's variant; see {@link planRoute}). Unknown or
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
  const { policy, requested } = resolveModel(deps, caller, request.model, 'chat');
  const outputCap = Math.min(requested.maxOutputTokens, policy.profile.maxOutputTokens ?? Infinity);
  const upstream = { ...request.chat, maxOutputTokens: outputTokenLimit(request, outputCap) };
  const redactor = policy.newRedactor();
  const promptExcerpt = lazyExcerpt(policy, redactor, lastUserText(upstream));
  const endUser = endUserOf(caller, request.chat.user);
  // What the model's own provider cannot serve is the caller's 400; other deployments that cannot are skipped.
  const missing = missingCapabilities(upstream, deploymentOf(deps, requested));
  if (missing.length > 0) {
    throw invalidRequest(
      `The model '${request.model}' (provider ${requested.provider}) does not support ${missing.join(', ')}.`,
      { code: ERROR_CODES.unsupportedParameter },
    );
  }
  const route = planRoute(
    deps,
    caller,
    policy,
    requested,
    sessionKeyOf(context, endUser),
    (candidate) => missingCapabilities(upstream, candidate).length === 0,
  );
  return {
    caller,
    request,
    context,
    endUser,
    requested,
    policy,
    redactor,
    promptTokens: estimatePromptTokens(upstream),
    promptTokenBound: promptTokenBound(upstream),
    get promptExcerpt() {
      return promptExcerpt();
    },
    ...route,
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
