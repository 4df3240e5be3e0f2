import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TtlCache } from '../cache/ttl-cache';
import { notFound } from '../http/errors';
import type { SsoUser } from '../sso/verifier';
import { TeamRepository } from '../teams/repository';
import type { TeamRecord } from '../teams/schema';
import { ApiKeyRefusedError } from './errors';
import { keyIdOf, matchesHash } from './format';
import { ApiKeyRepository } from './repository';
import type { ApiKeyRecord } from './schema';

/** Shortest interval between two re-reads of a key whose presented secret did not match. */
const REFRESH_INTERVAL_MS = 1_000;

/** What the gateway needs of a caller's key: its id, team and per-key limits. */
export type CallerKey = Pick<
  ApiKeyRecord,
  'keyId' | 'teamId' | 'name' | 'requestsPerMinute' | 'tokensPerMinute' | 'allowedModels'
>;

/**
 * A caller whose key checked out: the key and its team. A signed-in user (single sign-on) is a
 * caller too: `key` is then their own key-shaped id in the team they act for, with no per-key
 * limits, and `user` says who they are and what their roles allow.
 */
export interface AuthenticatedCaller {
  key: CallerKey;
  team: TeamRecord;
  user?: SsoUser;
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
 * Checks a presented API key: format and checksum first (no I/O), then the stored hash (or,
 * during a rotation's grace period, the previous one), then revocation, expiry and the team's
 * status. Key and team reads are cached briefly per Lambda instance, so a warm instance
 * authenticates without touching DynamoDB; a revocation takes effect within the cache lifetime,
 * expiry is checked on every request against the clock. No error message contains any part of
 * the presented key.
 */
export class ApiKeyAuthenticator {
  private readonly keyCache: TtlCache<ApiKeyRecord | undefined>;
  private readonly teamCache: TtlCache<TeamRecord | undefined>;
  private readonly lastRefresh = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly deps: ApiKeyAuthenticatorDeps) {
    this.now = deps.now ?? Date.now;
    this.keyCache = new TtlCache(deps.cacheTtlMs, 10_000, this.now);
    this.teamCache = new TtlCache(deps.cacheTtlMs, 10_000, this.now);
  }

  /**
   * The caller behind a presented key, or an {@link ApiKeyRefusedError} (401, or 403 for a
   * disabled team) saying why, so the refusal can be counted by reason where it is answered.
   *
   * @example
   * const caller = await authenticator.authenticate(presentedApiKey(request));
   */
  async authenticate(presented: string | undefined): Promise<AuthenticatedCaller> {
    if (!presented) {
      throw new ApiKeyRefusedError(
        'missing',
        'Missing API key. Send it as "Authorization: Bearer <key>" or in the "x-api-key" header.',
      );
    }
    // Format and checksum: a typo, a truncated paste or a guessed string costs no database read.
    const keyId = keyIdOf(presented);
    if (!keyId) throw new ApiKeyRefusedError('malformed', 'Invalid API key.');
    let key = await this.keyCache.get(keyId, () => this.deps.keys.get(keyId));
    if (key && !this.secretMatches(presented, key) && this.mayRefresh(keyId)) {
      // The key may have been rotated since this instance read it: read it once more.
      this.keyCache.delete(keyId);
      key = await this.keyCache.get(keyId, () => this.deps.keys.get(keyId));
    }
    if (!key || !this.secretMatches(presented, key)) throw new ApiKeyRefusedError('unknown', 'Invalid API key.', keyId);
    if (key.revokedAt) throw new ApiKeyRefusedError('revoked', 'This API key has been revoked.', keyId);
    if (key.expiresAt && Date.parse(key.expiresAt) <= this.now()) {
      throw new ApiKeyRefusedError('expired', 'This API key has expired.', keyId);
    }
    const team = await this.teamCache.get(key.teamId, () => this.deps.teams.get(key.teamId));
    if (!team) throw new ApiKeyRefusedError('unknown', 'Invalid API key.', keyId);
    if (team.status !== 'active') {
      throw new ApiKeyRefusedError('team_disabled', `Team ${team.teamId} is disabled.`, keyId);
    }
    return { key, team };
  }

  /**
   * A signed-in user as the caller of a key route, acting for `teamId` (which the router chose
   * from their roles): the team is read and checked active as a key's team is.
   *
   * @example
   * const caller = await authenticator.authenticateUser(user, 'payments');
   */
  async authenticateUser(user: SsoUser, teamId: string): Promise<AuthenticatedCaller> {
    const team = await this.teamCache.get(teamId, () => this.deps.teams.get(teamId));
    // A grant may name a team that was never created: the user has nowhere to act.
    if (!team) throw notFound(`No team with id '${teamId}'.`, undefined, 'team');
    if (team.status !== 'active') throw new ApiKeyRefusedError('team_disabled', `Team ${team.teamId} is disabled.`);
    return { key: { keyId: user.keyId, teamId, name: `sso:${user.name}` }, team, user };
  }

  /** The current secret, or the previous one during a rotation's grace period. */
  private secretMatches(presented: string, key: ApiKeyRecord): boolean {
    if (matchesHash(presented, key.hash)) return true;
    return Boolean(
      key.previousHash &&
      key.previousHashExpiresAt &&
      Date.parse(key.previousHashExpiresAt) > this.now() &&
      matchesHash(presented, key.previousHash),
    );
  }

  /**
   * Whether a mismatching key may be re-read now: at most once a second per key, so wrong
   * secrets for a known key id cannot turn into a stream of database reads.
   */
  private mayRefresh(keyId: string): boolean {
    const now = this.now();
    const last = this.lastRefresh.get(keyId) ?? 0;
    if (now - last < REFRESH_INTERVAL_MS) return false;
    if (this.lastRefresh.size > 10_000) this.lastRefresh.clear();
    this.lastRefresh.set(keyId, now);
    return true;
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
    now,
  });
}
