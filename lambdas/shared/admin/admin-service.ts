import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { GatewayConfig } from '../catalog/schema';
import { usdToMicros } from '../cost/money';
import { conflict, ERROR_CODES, invalidRequest, notFound } from '../http/errors';
import { generateApiKey, generateKeyId, hashApiKey } from '../keys/format';
import { ApiKeyRepository } from '../keys/repository';
import type { ApiKeyRecord } from '../keys/schema';
import { TransactionCancelledError, transactWrite, type TransactItem } from '../store/transactions';
import { TeamRepository } from '../teams/repository';
import type { TeamRecord } from '../teams/schema';
import { AdminChangeLog, type AdminChange } from './change-log';
import { keyView, teamView, type CreateKeyInput, type CreateTeamInput, type UpdateTeamInput } from './schemas';

/** Whether the acting admin may change keys of a team: a team admin, only their own team's. */
export type KeyScope = (teamId: string) => boolean;
const everyTeam: KeyScope = () => true;

/** What the admin service needs. */
export interface AdminServiceDeps {
  db: DynamoDBDocumentClient;
  teams: TeamRepository;
  keys: ApiKeyRepository;
  changes: AdminChangeLog;
  teamDefaults: GatewayConfig['teamDefaults'];
  /** Names of the config's policy profiles; teams may only name one of these. */
  policyProfiles: readonly string[];
  now?: () => number;
}

/** Default and longest time a rotated key's old secret keeps working. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 24 * 3600;
export const MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 3600;

/**
 * Team and key administration behind the admin-only routes. Every change is written together
 * with its admin audit entry (who, what, when, before and after) in one DynamoDB transaction,
 * and changes to existing records are optimistic: a record changed by someone else since it was
 * read is not overwritten (409).
 */
export class AdminService {
  private readonly now: () => number;

  constructor(private readonly deps: AdminServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Creates a team; limits not given take the config's team defaults.
   *
   * @example
   * await admin.createTeam({ id: 'payments', name: 'Payments' }, 'arn:aws:iam::123:user/alice');
   */
  async createTeam(input: CreateTeamInput, actor: string): Promise<TeamRecord> {
    this.checkPolicyProfile(input.policy_profile);
    const at = this.isoNow();
    const defaults = this.deps.teamDefaults;
    const team: TeamRecord = {
      teamId: input.id,
      name: input.name,
      costCenter: input.cost_center,
      monthlyBudgetMicros: input.monthly_budget_usd !== undefined ? usdToMicros(input.monthly_budget_usd) : undefined,
      softAlertPercent: input.soft_alert_percent ?? defaults.softAlertPercent,
      requestsPerMinute: input.requests_per_minute ?? defaults.requestsPerMinute,
      tokensPerMinute: input.tokens_per_minute ?? defaults.tokensPerMinute,
      allowedModels: input.allowed_models ?? defaults.allowedModels,
      policyProfile: input.policy_profile,
      ...cacheSettingsOf(input),
      status: 'active',
      createdAt: at,
      updatedAt: at,
    };
    await this.commit(
      this.deps.teams.createItem(team),
      {
        at,
        actor,
        action: 'team.create',
        teamId: team.teamId,
        before: null,
        after: teamView(team),
      },
      `A team with id '${input.id}' already exists.`,
    );
    return team;
  }

  /** A team may only name a profile the deployed config defines (else every request would use the default). */
  private checkPolicyProfile(name: string | undefined): void {
    if (name !== undefined && !this.deps.policyProfiles.includes(name)) {
      throw invalidRequest(
        `No policy profile named '${name}'; the config defines: ${this.deps.policyProfiles.join(', ')}.`,
        { param: 'policy_profile' },
      );
    }
  }

  /** A team, or 404. */
  async getTeam(teamId: string): Promise<TeamRecord> {
    const team = await this.deps.teams.get(teamId);
    if (!team) throw notFound(`No team with id '${teamId}'.`, ERROR_CODES.notFound, 'teamId');
    return team;
  }

  /** Every team. */
  listTeams(): Promise<TeamRecord[]> {
    return this.deps.teams.list();
  }

  /**
   * Changes a team's settings (including disabling or re-enabling it); fields set to null are
   * removed (no budget, no cost center, the default policy profile).
   *
   * @example
   * await admin.updateTeam('payments', { status: 'disabled' }, actor);
   */
  async updateTeam(teamId: string, patch: UpdateTeamInput, actor: string): Promise<TeamRecord> {
    this.checkPolicyProfile(patch.policy_profile ?? undefined);
    const current = await this.getTeam(teamId);
    const at = this.isoNow();
    const next: TeamRecord = { ...current, updatedAt: at };
    if (patch.name !== undefined) next.name = patch.name;
    if (patch.cost_center !== undefined) {
      if (patch.cost_center === null) delete next.costCenter;
      else next.costCenter = patch.cost_center;
    }
    if (patch.monthly_budget_usd !== undefined) {
      if (patch.monthly_budget_usd === null) delete next.monthlyBudgetMicros;
      else next.monthlyBudgetMicros = usdToMicros(patch.monthly_budget_usd);
    }
    if (patch.policy_profile !== undefined) {
      if (patch.policy_profile === null) delete next.policyProfile;
      else next.policyProfile = patch.policy_profile;
    }
    if (patch.soft_alert_percent !== undefined) next.softAlertPercent = patch.soft_alert_percent;
    if (patch.requests_per_minute !== undefined) next.requestsPerMinute = patch.requests_per_minute;
    if (patch.tokens_per_minute !== undefined) next.tokensPerMinute = patch.tokens_per_minute;
    if (patch.allowed_models !== undefined) next.allowedModels = patch.allowed_models;
    Object.assign(next, cacheSettingsOf(patch));
    if (patch.status !== undefined) next.status = patch.status;
    await this.commit(
      this.deps.teams.replaceItem(next, current.updatedAt),
      {
        at,
        actor,
        action: 'team.update',
        teamId,
        before: teamView(current),
        after: teamView(next),
      },
      `Team '${teamId}' was changed by someone else meanwhile; read it again and retry.`,
    );
    return next;
  }

  /**
   * Issues a key for a team. The plaintext is returned here once and stored nowhere.
   *
   * @example
   * const { plaintext } = await admin.issueKey('payments', { name: 'ci' }, 'arn:aws:iam::123:user/alice');
   */
  async issueKey(
    teamId: string,
    input: CreateKeyInput,
    actor: string,
  ): Promise<{ record: ApiKeyRecord; plaintext: string }> {
    const team = await this.getTeam(teamId);
    const now = this.now();
    if (input.expires_at && Date.parse(input.expires_at) <= now) {
      throw invalidRequest('expires_at must be in the future.', { param: 'expires_at' });
    }
    for (const [param, value, teamLimit] of [
      ['requests_per_minute', input.requests_per_minute, team.requestsPerMinute],
      ['tokens_per_minute', input.tokens_per_minute, team.tokensPerMinute],
    ] as const) {
      if (value !== undefined && value > teamLimit) {
        throw invalidRequest(`${param} may not exceed the team's ${teamLimit}.`, { param });
      }
    }
    const keyId = generateKeyId();
    const plaintext = generateApiKey(keyId);
    const at = new Date(now).toISOString();
    const record: ApiKeyRecord = {
      keyId,
      teamId,
      hash: hashApiKey(plaintext),
      createdAt: at,
      createdBy: actor,
      name: input.name,
      expiresAt: input.expires_at ? new Date(input.expires_at).toISOString() : undefined,
      requestsPerMinute: input.requests_per_minute,
      tokensPerMinute: input.tokens_per_minute,
      allowedModels: input.allowed_models,
    };
    await this.commit(
      this.deps.keys.createItem(record),
      {
        at,
        actor,
        action: 'key.create',
        teamId,
        keyId,
        before: null,
        after: keyView(record),
      },
      'Key id collision; retry.',
    );
    return { record, plaintext };
  }

  /** A team's keys (never their secrets or hashes), or 404 for an unknown team. */
  async listKeys(teamId: string): Promise<ApiKeyRecord[]> {
    await this.getTeam(teamId);
    return this.deps.keys.listByTeam(teamId);
  }

  /**
   * Revokes a key. Lambda instances that read it recently stop accepting it within their cache
   * lifetime (`IDENTITY_CACHE_TTL_SECONDS`).
   *
   * @example
   * await admin.revokeKey('k3x9...', actor);
   */
  async revokeKey(keyId: string, actor: string, inScope: KeyScope = everyTeam): Promise<ApiKeyRecord> {
    const key = await this.liveKey(keyId, inScope);
    const at = this.isoNow();
    const revoked = { ...key, revokedAt: at };
    await this.commit(
      this.deps.keys.revokeItem(keyId, at),
      {
        at,
        actor,
        action: 'key.revoke',
        teamId: key.teamId,
        keyId,
        before: keyView(key),
        after: keyView(revoked),
      },
      `Key '${keyId}' was changed by someone else meanwhile; read it again and retry.`,
    );
    return revoked;
  }

  /**
   * Gives a key a new secret (same key id); the old secret keeps working for the grace period,
   * so clients can be redeployed without an outage.
   *
   * @example
   * const { plaintext } = await admin.rotateKey('k3x9...', 3600, actor);
   */
  async rotateKey(
    keyId: string,
    gracePeriodSeconds: number,
    actor: string,
    inScope: KeyScope = everyTeam,
  ): Promise<{ record: ApiKeyRecord; plaintext: string }> {
    const key = await this.liveKey(keyId, inScope);
    const now = this.now();
    const at = new Date(now).toISOString();
    const plaintext = generateApiKey(keyId);
    const rotated: ApiKeyRecord = {
      ...key,
      hash: hashApiKey(plaintext),
      previousHash: key.hash,
      previousHashExpiresAt: new Date(now + gracePeriodSeconds * 1000).toISOString(),
      rotatedAt: at,
    };
    await this.commit(
      this.deps.keys.rotateItem(keyId, key.hash, rotated.hash, at, rotated.previousHashExpiresAt!),
      { at, actor, action: 'key.rotate', teamId: key.teamId, keyId, before: keyView(key), after: keyView(rotated) },
      `Key '${keyId}' was changed by someone else meanwhile; read it again and retry.`,
    );
    return { record: rotated, plaintext };
  }

  /** A key that exists, is not revoked, and belongs to a team in scope (else 404, as if it did not exist). */
  private async liveKey(keyId: string, inScope: KeyScope): Promise<ApiKeyRecord> {
    const key = await this.deps.keys.get(keyId);
    if (!key || !inScope(key.teamId)) throw notFound(`No key with id '${keyId}'.`, ERROR_CODES.notFound, 'keyId');
    if (key.revokedAt) throw conflict(`Key '${keyId}' was revoked at ${key.revokedAt}.`);
    return key;
  }

  /** Writes a change and its audit entry together; a failed condition on the change is a 409. */
  private async commit(
    change: TransactItem,
    entry: Omit<AdminChange, 'changeId'>,
    conflictMessage: string,
  ): Promise<void> {
    try {
      await transactWrite(this.deps.db, [change, this.deps.changes.entryItem(entry)]);
    } catch (error) {
      if (error instanceof TransactionCancelledError && error.conditionFailedAt(0)) throw conflict(conflictMessage);
      throw error;
    }
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }
}

/**
 * The admin service over the gateway's tables, as the auth Lambda, the local runtime and the
 * tests build it.
 *
 * @example
 * const admin = createAdminService({ db, tables, config: catalog.config });
 */
export function createAdminService(settings: {
  db: DynamoDBDocumentClient;
  tables: { identity: string; audit: string };
  config: Pick<GatewayConfig, 'teamDefaults' | 'policies'>;
  now?: () => number;
}): AdminService {
  return new AdminService({
    db: settings.db,
    teams: new TeamRepository(settings.db, settings.tables.identity),
    keys: new ApiKeyRepository(settings.db, settings.tables.identity),
    changes: new AdminChangeLog(settings.db, settings.tables.audit),
    teamDefaults: settings.config.teamDefaults,
    policyProfiles: Object.keys(settings.config.policies.profiles),
    now: settings.now,
  });
}

/** The response-cache fields an admin body sets, as stored (only those it names). */
function cacheSettingsOf(
  input: Pick<CreateTeamInput, 'cache_ttl_seconds' | 'cache_nondeterministic' | 'cache_stale_if_error'>,
): Pick<TeamRecord, 'cacheTtlSeconds' | 'cacheNondeterministic' | 'cacheStaleIfError'> {
  const settings: Pick<TeamRecord, 'cacheTtlSeconds' | 'cacheNondeterministic' | 'cacheStaleIfError'> = {};
  if (input.cache_ttl_seconds !== undefined) settings.cacheTtlSeconds = input.cache_ttl_seconds;
  if (input.cache_nondeterministic !== undefined) settings.cacheNondeterministic = input.cache_nondeterministic;
  if (input.cache_stale_if_error !== undefined) settings.cacheStaleIfError = input.cache_stale_if_error;
  return settings;
}
