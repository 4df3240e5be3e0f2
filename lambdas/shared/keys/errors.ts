import { ERROR_CODES, GatewayError, type ErrorCode } from '../http/errors';

/**
 * Why a team API key was refused; the `reason` dimension of the `AuthRefusals` metric. A fixed,
 * small set, so the metric stays a handful of series whatever clients send.
 */
export const AUTH_REFUSAL_REASONS = [
  'missing',
  'malformed',
  'unknown',
  'revoked',
  'expired',
  'team_disabled',
  /** A single sign-on token that is not signed by the issuer for this gateway (see `shared/sso`). */
  'token_invalid',
  'token_expired',
] as const;

/** One of {@link AUTH_REFUSAL_REASONS}. */
export type AuthRefusalReason = (typeof AUTH_REFUSAL_REASONS)[number];

/**
 * A refused team API key: 401 (403 for a disabled team) in OpenAI's shape, carrying what the
 * refusal is observed by (the reason, and the key's public id when the key was well-formed).
 * The message never contains any part of the presented key.
 */
export class ApiKeyRefusedError extends GatewayError {
  constructor(
    readonly reason: AuthRefusalReason,
    message: string,
    /** The key's public id; absent when no key or a malformed one was presented. */
    readonly keyId?: string,
  ) {
    const { status, code } = RESPONSES[reason];
    super(status, status === 403 ? 'permission_error' : 'invalid_request_error', message, { code });
    this.name = 'ApiKeyRefusedError';
  }
}

/** The status and code each reason is answered with, as the gateway always answered them. */
const RESPONSES: Record<AuthRefusalReason, { status: 401 | 403; code: ErrorCode }> = {
  missing: { status: 401, code: ERROR_CODES.invalidApiKey },
  malformed: { status: 401, code: ERROR_CODES.invalidApiKey },
  unknown: { status: 401, code: ERROR_CODES.invalidApiKey },
  revoked: { status: 401, code: ERROR_CODES.revokedApiKey },
  expired: { status: 401, code: ERROR_CODES.expiredApiKey },
  team_disabled: { status: 403, code: ERROR_CODES.teamDisabled },
  token_invalid: { status: 401, code: ERROR_CODES.invalidToken },
  token_expired: { status: 401, code: ERROR_CODES.expiredToken },
};
