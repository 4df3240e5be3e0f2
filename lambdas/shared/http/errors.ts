/**
 * Errors in OpenAI's wire shape. Every failure a client can see is a `GatewayError`: its status,
 * `type` and `code` are what OpenAI's SDKs use to pick an exception class and decide on retries.
 * Anything else that escapes a handler becomes a 500 with no detail.
 */

/** Machine-readable error codes, defined once; clients and tests match on them. */
export const ERROR_CODES = {
  invalidJson: 'invalid_json',
  invalidRequest: 'invalid_request',
  unsupportedParameter: 'unsupported_parameter',
  payloadTooLarge: 'payload_too_large',
  invalidApiKey: 'invalid_api_key',
  expiredApiKey: 'expired_api_key',
  revokedApiKey: 'revoked_api_key',
  teamDisabled: 'team_disabled',
  adminOnly: 'admin_only',
  /** An IAM-signed request from a principal that is not on the config's admin allow-list. */
  adminNotAllowed: 'admin_not_allowed',
  /** A single sign-on token that does not verify: bad signature, issuer, audience or algorithm. */
  invalidToken: 'invalid_token',
  expiredToken: 'expired_token',
  /** A signed-in user whose roles do not allow this route in this team. */
  roleNotAllowed: 'role_not_allowed',
  /** A signed-in user with roles in several teams who did not name the team (`x-gateway-team`). */
  teamRequired: 'team_required',
  /** The streaming door's AWS WAF web ACL refused the request. */
  requestBlocked: 'request_blocked',
  modelNotFound: 'model_not_found',
  modelNotAllowed: 'model_not_allowed',
  /** The model exists but does another job (an embedding model asked for a chat, or the reverse). */
  unsupportedModel: 'unsupported_model',
  notFound: 'not_found',
  conflict: 'conflict',
  rateLimitExceeded: 'rate_limit_exceeded',
  insufficientQuota: 'insufficient_quota',
  contentPolicyViolation: 'content_policy_violation',
  /** A held tool call that is not (or no longer) approved for this caller. */
  approvalNotGranted: 'approval_not_granted',
  guardrailUnavailable: 'guardrail_unavailable',
  upstreamError: 'upstream_error',
  upstreamRateLimited: 'upstream_rate_limited',
  upstreamInvalidRequest: 'upstream_invalid_request',
  upstreamUnavailable: 'upstream_unavailable',
  upstreamTimeout: 'upstream_timeout',
  internalError: 'internal_error',
  storeUnavailable: 'store_unavailable',
} as const;

/** One of the gateway's error codes. */
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** OpenAI's `error.type` values the gateway uses. */
export type ErrorType =
  'invalid_request_error' | 'permission_error' | 'requests' | 'tokens' | 'insufficient_quota' | 'server_error';

/** The JSON body of every error response. */
export interface OpenAiErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: ErrorCode | null };
}

/** Options of a gateway error beyond status, type and message. */
export interface GatewayErrorOptions {
  code?: ErrorCode;
  param?: string;
  /** Extra response headers, e.g. `retry-after` on a 429. */
  headers?: Record<string, string>;
  cause?: unknown;
}

/** A failure a client may see, in OpenAI's error shape. */
export class GatewayError extends Error {
  readonly code: ErrorCode | null;
  readonly param: string | null;
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    options: GatewayErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'GatewayError';
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.headers = options.headers ?? {};
  }

  /** The response body, e.g. `{"error":{"message":"...","type":"invalid_request_error",...}}`. */
  toBody(): OpenAiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/**
 * 400: the request is malformed or names something unsupported.
 *
 * @example
 * throw invalidRequest('messages must not be empty', { param: 'messages' });
 */
export function invalidRequest(message: string, options: GatewayErrorOptions = {}): GatewayError {
  return new GatewayError(400, 'invalid_request_error', message, { code: ERROR_CODES.invalidRequest, ...options });
}

/** 401: no key, a malformed key, or a key that is not (or no longer) valid. Never echoes the key. */
export function unauthenticated(message: string, code: ErrorCode = ERROR_CODES.invalidApiKey): GatewayError {
  return new GatewayError(401, 'invalid_request_error', message, { code });
}

/** 403: the caller is known but may not do this. */
export function forbidden(message: string, code: ErrorCode, param?: string): GatewayError {
  return new GatewayError(403, 'permission_error', message, { code, param });
}

/** 404: the named resource or route does not exist. */
export function notFound(message: string, code: ErrorCode = ERROR_CODES.notFound, param?: string): GatewayError {
  return new GatewayError(404, 'invalid_request_error', message, { code, param });
}

/** 409: the request conflicts with what exists (e.g. a team id that is taken). */
export function conflict(message: string): GatewayError {
  return new GatewayError(409, 'invalid_request_error', message, { code: ERROR_CODES.conflict });
}

/** 413: the body is larger than the gateway accepts. */
export function payloadTooLarge(message: string): GatewayError {
  return new GatewayError(413, 'invalid_request_error', message, { code: ERROR_CODES.payloadTooLarge });
}

/** 500 with a message that reveals nothing about the cause. */
export function internalError(): GatewayError {
  return new GatewayError(500, 'server_error', 'The gateway had an internal error. Retry later.', {
    code: ERROR_CODES.internalError,
  });
}
