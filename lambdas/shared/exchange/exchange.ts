import type { ModelEntry } from '../catalog/schema';
import type { ChatRequest } from '../chat/types';
import { invalidRequest } from '../http/errors';
import type { AuthenticatedCaller } from '../keys/authenticator';
import type { CompiledPolicy, PolicyDecision } from '../policy/engine';
import type { Redactor } from '../policy/redactor';
import type { Admission } from '../quota/quota-service';
import type { VariantAssignment } from '../routing/experiments';
import type { CacheDirective } from '../response-cache/plan';
import type { RouteCandidate } from '../routing/router';
import type { ExchangeCache } from './caching';

/**
 * The exchange core: one request's way through policy, admission, routing, metering and
 * settlement, whichever API face it came through. A face (OpenAI Chat Completions today) parses
 * its wire format into an {@link ExchangeRequest} and formats the core's answer and stream
 * events back; nothing here knows a face's field names.
 */

/** A chat request without its output cap, which the core decides (the caller's ask, the model's cap). */
export type NeutralChat = Omit<ChatRequest, 'maxOutputTokens'>;

/** A validated request in the gateway's own terms. */
export interface ExchangeRequest {
  /** The model id or alias the caller asked for. */
  model: string;
  chat: NeutralChat;
  /** The output cap the caller asked for, and the face's name for it (for a 400 naming it). */
  maxOutputTokens?: { value: number; param: string };
  stream: boolean;
}

/** Identity of one request as the HTTP layer saw it. */
export interface RequestContext {
  requestId: string;
  /** Epoch ms at which the request arrived; fixes its ledger day. */
  receivedAt: number;
  /**
   * Epoch ms by which a stream must be over: one still running then is cut with an error
   * event, so that it is recorded before its Lambda is stopped. None: no limit.
   */
  streamDeadline?: number;
  /**
   * The held tool call the caller asks to receive (the `x-gateway-approval` header): the request
   * is answered with that call once approved, without a provider call.
   */
  approvalId?: string;
  /**
   * Epoch ms at which Lambda stops the invocation: usage writes are retried inline only while
   * there is time left to hand them to the replay queue instead. None: no limit.
   */
  invocationDeadline?: number;
  /** The caller's `x-gateway-session`: keeps a session in one experiment variant. */
  sessionKey?: string;
  /** What the caller asked of the response cache (`x-gateway-cache`); none: the team's default. */
  cacheDirective?: CacheDirective;
}

/**
 * What admission, routing and recording read of a request, whatever it asks for (a chat, an
 * embedding): who asked, in which context, and what the planning decided. Later steps add to it
 * (the admission) instead of passing values along by position.
 */
export interface ExchangeBase {
  readonly caller: AuthenticatedCaller;
  readonly request: { readonly model: string; readonly stream: boolean };
  readonly context: RequestContext;
  /** The caller's end user, when it named one (OpenAI's `user`, Anthropic's `metadata.user_id`). */
  readonly endUser?: string;
  readonly requested: ModelEntry;
  readonly policy: CompiledPolicy;
  /** One per request: the same value gets the same placeholder in prompt, answer and audit. */
  readonly redactor: Redactor;
  /** The prompt estimate (UTF-8 bytes / 3): token limits and the profile's prompt-size limit use it. */
  readonly promptTokens: number;
  /**
   * A true upper bound of the prompt tokens any provider can bill: budget reservations use it.
   * Recomputed after redaction (a placeholder can be longer than what it replaces).
   */
  promptTokenBound: number;
  readonly promptExcerpt?: string;
  /** The deployments it may be routed to, in config order (the strategy orders them at routing time). */
  readonly candidates: RouteCandidate[];
  /** The entry whose routing strategy orders the candidates: the requested one, or its variant's model. */
  readonly routedBy: ModelEntry;
  /** The experiment variant the request was assigned to, if its entry runs one. */
  readonly variant?: VariantAssignment;
  /** What the policy decided about the request so far. */
  decision: PolicyDecision;
  admission?: Admission;
}

/**
 * One chat request's state as it moves through the core: an {@link ExchangeBase} with the chat
 * as the caller sent it and as it goes upstream.
 */
export interface Exchange extends ExchangeBase {
  readonly request: ExchangeRequest;
  /** The request as it goes upstream (checked and redacted as the profile says). */
  upstream: ChatRequest;
  /** The response cache's part in it (teams with a cache), set once the local policy has run. */
  cache?: ExchangeCache;
}

/**
 * The most output tokens a request may produce: what the caller asked for, or the model's cap
 * when it asked for nothing. Asking for more than the model allows is a 400 naming the face's
 * own parameter, as at OpenAI.
 *
 * @example
 * outputTokenLimit(request, 4096) // request.maxOutputTokens?.value ?? 4096
 */
export function outputTokenLimit(request: ExchangeRequest, modelMaxOutputTokens: number): number {
  const asked = request.maxOutputTokens;
  if (asked === undefined) return modelMaxOutputTokens;
  if (asked.value > modelMaxOutputTokens) {
    throw invalidRequest(
      `${asked.param} is too large: ${asked.value}. The model ${request.model} supports at most ${modelMaxOutputTokens} output tokens.`,
      { param: asked.param },
    );
  }
  return asked.value;
}
