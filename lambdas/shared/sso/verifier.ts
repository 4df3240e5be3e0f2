import type * as JoseTypes from 'jose';
import type * as Jose from './jose';
import { ERROR_CODES, GatewayError } from '../http/errors';
import { ApiKeyRefusedError } from '../keys/errors';
import { derivedKeyId } from '../keys/format';
import { accessOfGroups, type Access } from './access';
import type { SsoConfig } from './schema';

/**
 * Verifies single sign-on tokens (OIDC ID or access tokens, JWTs) in the Lambda: signature
 * against the issuer's published keys, issuer, audience, expiry and not-before, and an
 * asymmetric algorithm from the config's list (never `none`, never a shared secret). The console
 * door's API Gateway JWT authorizer checks the same before the Lambda runs; the Lambda checks
 * again because the other doors (the key routes, the streaming REST API) have no JWT authorizer,
 * and one check in one place is simpler to trust than two kinds of event.
 */

/** A verified user: who, what the gateway calls them, and what their groups grant. */
export interface SsoUser {
  /** The token's `sub`. */
  subject: string;
  /** The config's user claim (`sub` unless set, e.g. `email`): recorded as the end user and the actor. */
  name: string;
  access: Access;
  /**
   * The user's stable id in the shape of a key id (12 characters, a-z and 2-7): what the ledger,
   * per-key counters and approvals use for a key. Derived from issuer and subject, so the same
   * user is the same id in every Lambda instance and never collides with another issuer's user.
   */
  keyId: string;
}

/** How a token looks: three base64url segments (the last empty when unsigned), the first a JSON object. */
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Whether a bearer credential is a token rather than a team key (keys start `gwk_` and have no
 * dots), so the router knows which check to apply. No I/O and no parsing beyond the shape.
 *
 * @example
 * looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln') // true
 */
export function looksLikeJwt(credential: string | undefined): credential is string {
  return credential !== undefined && credential.length <= MAX_TOKEN_CHARS && JWT_SHAPE.test(credential);
}

/** Longest token accepted: identity providers' tokens with many groups stay well under it. */
const MAX_TOKEN_CHARS = 16_384;

/**
 * The key-id-shaped id of a user (see {@link SsoUser.keyId}).
 *
 * @example
 * userKeyId('https://idp.example.com', '0a1b2c') // e.g. 'k3v7q2m4x5a6'
 */
export function userKeyId(issuer: string, subject: string): string {
  return derivedKeyId(`${issuer}\n${subject}`);
}

/** The groups a claim lists: an array of strings, or one space-separated string; anything else is none. */
function groupsOf(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/\s+/).filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((group): group is string => typeof group === 'string');
  return [];
}

/** A refusal that says what was wrong with the token, never what it held. */
function refused(expired: boolean, detail: string): ApiKeyRefusedError {
  return new ApiKeyRefusedError(
    expired ? 'token_expired' : 'token_invalid',
    expired ? 'The sign-in token has expired: sign in again.' : `Invalid sign-in token: ${detail}.`,
  );
}

let jose: typeof Jose | undefined;

/** jose, loaded on the first token: a deployment without single sign-on never evaluates it. */
function loadJose(): typeof Jose {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- jose loads only when a first token is verified
  return (jose ??= require('./jose') as typeof Jose);
}

/**
 * What a jose failure tells the caller: which check failed, in a few words. Anything wrong with
 * the token is the caller's 401; only the issuer's keys being out of reach (a timeout, a key set
 * that does not parse, a network error) is the gateway's 503, never the caller's fault.
 */
function refusalOf(error: unknown, { errors: joseErrors }: typeof Jose): GatewayError {
  if (error instanceof joseErrors.JWTExpired) return refused(true, 'expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return refused(false, `the ${error.claim} claim is not accepted`);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return refused(false, 'the signature does not verify');
  if (error instanceof joseErrors.JWKSNoMatchingKey) return refused(false, 'no signing key of the issuer matches');
  // No key id, and the issuer publishes several keys for the algorithm (as during a key rotation).
  if (error instanceof joseErrors.JWKSMultipleMatchingKeys) return refused(false, 'it names no key id (`kid`)');
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return refused(false, 'its algorithm is not accepted');
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return keysUnavailable(error);
  if (error instanceof joseErrors.JOSEError) return refused(false, 'it is not a signed JWT the gateway can verify');
  return keysUnavailable(error);
}

/** 503: the issuer's signing keys could not be fetched (its outage, not the caller's token). */
function keysUnavailable(cause: unknown): GatewayError {
  return new GatewayError(
    503,
    'server_error',
    "The identity provider's signing keys could not be fetched. Retry shortly.",
    {
      code: ERROR_CODES.upstreamUnavailable,
      cause,
    },
  );
}

/** Reads the issuer's `jwks_uri` from its OpenID discovery document. */
async function discoverJwksUri(issuer: string): Promise<URL> {
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`OpenID discovery of the SSO issuer answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (document.issuer !== issuer || typeof document.jwks_uri !== 'string') {
    throw new Error('The SSO issuer discovery document names another issuer or no jwks_uri');
  }
  return new URL(document.jwks_uri);
}

/**
 * The verifier of a config's `sso` section, or none without one (tokens are then refused as keys).
 *
 * @example
 * const sso = ssoVerifierOf(config.sso);
 */
export function ssoVerifierOf(config: SsoConfig | undefined, now?: () => number): SsoVerifier | undefined {
  return config ? new SsoVerifier(config, now) : undefined;
}

/**
 * Verifies tokens against one issuer. The issuer's keys are fetched once and cached per Lambda
 * instance (refetched at most every 30 s when a token names a key id not seen yet, so rotated
 * keys are picked up and garbage key ids cannot make the Lambda hammer the issuer).
 *
 * @example
 * const user = await new SsoVerifier(config.sso).verify(token); // { subject, name, access, keyId }
 */
export class SsoVerifier {
  private keys: Promise<ReturnType<typeof Jose.createRemoteJWKSet>> | undefined;

  constructor(
    private readonly config: SsoConfig,
    /** The gateway's clock, for `exp` and `nbf`. */
    private readonly now: () => number = Date.now,
  ) {}

  private jwks(): Promise<ReturnType<typeof Jose.createRemoteJWKSet>> {
    this.keys ??= (
      this.config.jwksUri ? Promise.resolve(new URL(this.config.jwksUri)) : discoverJwksUri(this.config.issuer)
    )
      .then((url) =>
        loadJose().createRemoteJWKSet(url, { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 600_000 }),
      )
      .catch((error: unknown) => {
        this.keys = undefined; // try discovery again on the next token
        throw error;
      });
    return this.keys;
  }

  /** The user a token proves, or a 401 refusal saying which check failed. */
  async verify(token: string): Promise<SsoUser> {
    const library = loadJose();
    let payload: JoseTypes.JWTPayload;
    try {
      ({ payload } = await library.jwtVerify(token, await this.jwks(), {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: this.config.algorithms,
        clockTolerance: this.config.clockToleranceSeconds,
        currentDate: new Date(this.now()),
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      throw refusalOf(error, library);
    }
    const name = payload[this.config.userClaim];
    if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
      throw refused(false, `the ${this.config.userClaim} claim is missing or not a short string`);
    }
    const subject = payload.sub!;
    return {
      subject,
      name,
      access: accessOfGroups(groupsOf(payload[this.config.groupsClaim]), this.config.grants),
      keyId: userKeyId(this.config.issuer, subject),
    };
  }
}
