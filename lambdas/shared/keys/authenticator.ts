import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TtlCache } from '../cache/ttl-cache';
import { ERROR_CODES, forbidden, unauthenticated } from '../http/errors';
import { TeamRepository } from '../teams/repository';
import type { TeamRecord } from '../teams/schema';
import { keyIdOf, matchesHash } from './format';
import { ApiKeyRepository } from './repository';
import type { ApiKeyRecord } from './schema';

/** A caller whose key checked out: the key and its team. */
export interface AuthenticatedCaller {
  key: ApiKeyRecord;
  team: TeamRecord;
}

/** What the authenticator needs. */
export interface ApiKeyAuthenticatorDeps {
  keys: ApiKeyRepository;
  teams: TeamRepository;
  /** How long a key or team read is reused; bounds how long a revocation takes to bite. */
  cacheTtlMs: number;
  now?: () => number;
}

/**
 * Checks a presented API key: format and checksum first (no I/O), then the stored hash, then
 * revocation, expiry and the team's status. Key and team reads are cached briefly per Lambda
 * instance, so a warm instance authenticates without touching DynamoDB; expiry is checked on
 * every request against the clock. No error message contains any part of the presented key.
 */
export class ApiKeyAuthenticator {
  private readonly keyCache: TtlCache<ApiKeyRecord | undefined>;
  private readonly teamCache: TtlCache<TeamRecord | undefined>;
  private readonly now: () => number;

  constructor(private readonly deps: ApiKeyAuthenticatorDeps) {
    this.now = deps.now ?? Date.now;
    this.keyCache = new TtlCache(deps.cacheTtlMs, 10_000, this.now);
    this.teamCache = new TtlCache(deps.cacheTtlMs, 10_000, this.now);
  }

  /**
   * The caller behind a presented key, or a 401/403 error.
   *
   * @example
   * const caller = await authenticator.authenticate(presentedApiKey(request));
   */
  async authenticate(presented: string | undefined): Promise<AuthenticatedCaller> {
    if (!presented) {
      throw unauthenticated('Missing API key. Send it as "Authorization: Bearer <key>" or in the "x-api-key" header.');
    }
    const keyId = keyIdOf(presented);
    if (!keyId) throw unauthenticated('Invalid API key.');
    const key = await this.keyCache.get(keyId, () => this.deps.keys.get(keyId));
    if (!key || !matchesHash(presented, key.hash)) throw unauthenticated('Invalid API key.');
    if (key.revokedAt) throw unauthenticated('This API key has been revoked.', ERROR_CODES.revokedApiKey);
    if (key.expiresAt && Date.parse(key.expiresAt) <= this.now()) {
      throw unauthenticated('This API key has expired.', ERROR_CODES.expiredApiKey);
    }
    const team = await this.teamCache.get(key.teamId, () => this.deps.teams.get(key.teamId));
    if (!team) throw unauthenticated('Invalid API key.');
    if (team.status !== 'active') throw forbidden(`Team ${team.teamId} is disabled.`, ERROR_CODES.teamDisabled);
    return { key, team };
  }
}

/**
 * The authenticator over the identity table, as every key-authenticated Lambda builds it.
 *
 * @example
 * const authenticator = createAuthenticator(db, env.tables.identity, env.identityCacheTtlMs);
 */
export function createAuthenticator(
  db: DynamoDBDocumentClient,
  identityTable: string,
  cacheTtlMs: number,
  now?: () => number,
): ApiKeyAuthenticator {
  return new ApiKeyAuthenticator({
    keys: new ApiKeyRepository(db, identityTable),
    teams: new TeamRepository(db, identityTable),
    cacheTtlMs,
    ...(now ? { now } : {}),
  });
}
