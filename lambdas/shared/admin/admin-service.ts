import type { GatewayConfig } from '../catalog/schema';
import { usdToMicros } from '../cost/money';
import { conflict, invalidRequest, notFound } from '../http/errors';
import { generateApiKey, generateKeyId, hashApiKey } from '../keys/format';
import type { ApiKeyRepository } from '../keys/repository';
import type { ApiKeyRecord } from '../keys/schema';
import { TeamAlreadyExistsError, type TeamRepository } from '../teams/repository';
import type { TeamRecord } from '../teams/schema';
import type { CreateKeyInput, CreateTeamInput } from './schemas';

/** What the admin service needs. */
export interface AdminServiceDeps {
  teams: TeamRepository;
  keys: ApiKeyRepository;
  teamDefaults: GatewayConfig['teamDefaults'];
  now?: () => number;
}

/** Team and key administration, behind the admin-only routes. */
export class AdminService {
  private readonly now: () => number;

  constructor(private readonly deps: AdminServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Creates a team; limits not given take the config's team defaults.
   *
   * @example
   * await admin.createTeam({ id: 'payments', name: 'Payments' });
   */
  async createTeam(input: CreateTeamInput): Promise<TeamRecord> {
    const at = new Date(this.now()).toISOString();
    const defaults = this.deps.teamDefaults;
    const team: TeamRecord = {
      teamId: input.id,
      name: input.name,
      ...(input.cost_center ? { costCenter: input.cost_center } : {}),
      ...(input.monthly_budget_usd !== undefined ? { monthlyBudgetMicros: usdToMicros(input.monthly_budget_usd) } : {}),
      softAlertPercent: input.soft_alert_percent ?? defaults.softAlertPercent,
      requestsPerMinute: input.requests_per_minute ?? defaults.requestsPerMinute,
      tokensPerMinute: input.tokens_per_minute ?? defaults.tokensPerMinute,
      allowedModels: input.allowed_models ?? defaults.allowedModels,
      status: 'active',
      createdAt: at,
      updatedAt: at,
    };
    try {
      await this.deps.teams.create(team);
    } catch (error) {
      if (error instanceof TeamAlreadyExistsError) throw conflict(`A team with id '${input.id}' already exists.`);
      throw error;
    }
    return team;
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
    const team = await this.deps.teams.get(teamId);
    if (!team) throw notFound(`No team with id '${teamId}'.`, undefined, 'teamId');
    const now = this.now();
    if (input.expires_at && Date.parse(input.expires_at) <= now) {
      throw invalidRequest('expires_at must be in the future.', { param: 'expires_at' });
    }
    if (input.requests_per_minute !== undefined && input.requests_per_minute > team.requestsPerMinute) {
      throw invalidRequest(`requests_per_minute may not exceed the team's ${team.requestsPerMinute}.`, {
        param: 'requests_per_minute',
      });
    }
    if (input.tokens_per_minute !== undefined && input.tokens_per_minute > team.tokensPerMinute) {
      throw invalidRequest(`tokens_per_minute may not exceed the team's ${team.tokensPerMinute}.`, {
        param: 'tokens_per_minute',
      });
    }
    const keyId = generateKeyId();
    const plaintext = generateApiKey(keyId);
    const record: ApiKeyRecord = {
      keyId,
      teamId,
      hash: hashApiKey(plaintext),
      createdAt: new Date(now).toISOString(),
      createdBy: actor,
      ...(input.name ? { name: input.name } : {}),
      ...(input.expires_at ? { expiresAt: new Date(input.expires_at).toISOString() } : {}),
      ...(input.requests_per_minute !== undefined ? { requestsPerMinute: input.requests_per_minute } : {}),
      ...(input.tokens_per_minute !== undefined ? { tokensPerMinute: input.tokens_per_minute } : {}),
      ...(input.allowed_models ? { allowedModels: input.allowed_models } : {}),
    };
    await this.deps.keys.create(record);
    return { record, plaintext };
  }
}
