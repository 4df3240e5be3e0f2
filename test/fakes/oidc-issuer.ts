import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type KeyLike } from 'jose';

/**
 * A local OpenID Connect issuer stand-in: what Cognito, Okta or Entra ID publish for a gateway to
 * verify their tokens (the discovery document and the signing keys, JWKS), with keys generated
 * per run, and a signer of tokens, valid or not, for the tests. Serves on 127.0.0.1 only.
 */

/** What a test can change about a token it asks for. */
export interface TokenOptions {
  /** Claims besides the registered ones (`groups`, `email`, ...). */
  claims?: Record<string, unknown>;
  subject?: string;
  /** `aud`; default the issuer's client id. */
  audience?: string | string[];
  /** `iss`; default the issuer's URL. */
  issuer?: string;
  /** Seconds from now until `exp` (negative: already expired); default 300. */
  expiresIn?: number;
  /** Seconds from now until `nbf`; none by default. */
  notBeforeIn?: number;
  /** Signed with a key the issuer does not publish (an attacker's), under a published key's id. */
  rogueKey?: boolean;
  /** Leave out `exp`. */
  noExpiry?: boolean;
  /** Leave out the header's `kid`. */
  noKid?: boolean;
}

/** The stand-in, running. */
export interface OidcIssuer {
  /** The issuer URL, as `iss` and as the config's `sso.issuer`. */
  url: string;
  /** The audience (app client id) its tokens name by default. */
  clientId: string;
  /** A token signed by the issuer's published key, RS256. */
  token(options?: TokenOptions): Promise<string>;
  /** A token with `alg: none` and no signature. */
  unsignedToken(options?: TokenOptions): string;
  /** Replaces the published signing key (a key rotation); tokens signed with the old one stop verifying. */
  rotate(): Promise<void>;
  /** Also publishes a second key (as issuers do while rotating), which signs nothing. */
  publishSecondKey(): Promise<void>;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  close(): Promise<void>;
}

const CLIENT_ID = 'gateway-console';

async function signingKey(): Promise<{ privateKey: KeyLike; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return {
    privateKey,
    jwk: { ...(await exportJWK(publicKey)), alg: 'RS256', use: 'sig', kid: `k-${Date.now()}-${Math.random()}` },
  };
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * Starts the stand-in on an ephemeral port.
 *
 * @example
 * const idp = await startOidcIssuer();
 * const token = await idp.token({ claims: { groups: ['payments-admins'], email: 'jane@example.com' } });
 */
export async function startOidcIssuer(): Promise<OidcIssuer> {
  let current = await signingKey();
  const rogue = await signingKey();
  let second: JWK | undefined;
  let fetches = 0;
  let url = '';
  const server: Server = createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.url === '/.well-known/openid-configuration') {
      return send(200, {
        issuer: url,
        jwks_uri: `${url}/jwks.json`,
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
      });
    }
    if (request.url === '/jwks.json') {
      fetches += 1;
      return send(200, { keys: second ? [current.jwk, second] : [current.jwk] });
    }
    send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const payloadOf = (options: TokenOptions): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    return {
      ...options.claims,
      iss: options.issuer ?? url,
      sub: options.subject ?? 'user-1',
      aud: options.audience ?? CLIENT_ID,
      iat: now,
      ...(options.noExpiry ? {} : { exp: now + (options.expiresIn ?? 300) }),
      ...(options.notBeforeIn !== undefined ? { nbf: now + options.notBeforeIn } : {}),
    };
  };

  return {
    url,
    clientId: CLIENT_ID,
    async token(options = {}) {
      const key = options.rogueKey ? rogue.privateKey : current.privateKey;
      return new SignJWT(payloadOf(options))
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(options.noKid ? {} : { kid: current.jwk.kid! }) })
        .sign(key);
    },
    unsignedToken(options = {}) {
      return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(payloadOf(options))}.`;
    },
    async rotate() {
      current = await signingKey();
    },
    async publishSecondKey() {
      second = (await signingKey()).jwk;
    },
    jwksFetches: () => fetches,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
