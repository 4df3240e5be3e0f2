import type { SsoConfig, TeamRole } from './schema';

/**
 * What a caller may do, by role and team. The route table names the permission each admin and
 * usage route needs; the router checks it (and the team of a `{teamId}` route) before a handler
 * runs, and the handlers of routes that span teams narrow what they read with {@link Access.can}.
 */

/** Everything a route can require. */
export const PERMISSIONS = [
  /** Create teams, change a team's limits, budget, models and policy. */
  'teams.manage',
  /** Read a team's settings. */
  'teams.read',
  /** Issue, list, revoke and rotate a team's keys (per-key limits within the team's). */
  'keys.manage',
  /** Read the admin change log of every team. */
  'changes.read',
  /** List, approve and reject a team's held tool calls. */
  'approvals.decide',
  /** Read a team's usage and budget. */
  'usage.team',
  /** Read one's own usage. */
  'usage.own',
  /** Search and export a team's audit trail. */
  'audit.read',
  /** Read a team's line of the chargeback report. */
  'chargeback.read',
  /** Call models, billed to the team. */
  'models.call',
] as const;

/** One of {@link PERMISSIONS}. */
export type Permission = (typeof PERMISSIONS)[number];

/** What only a platform admin may do: change what the platform set, and read every team's change log. */
export const PLATFORM_ONLY_PERMISSIONS: readonly Permission[] = ['teams.manage', 'changes.read'];

/**
 * What each role within a team may do there: a team admin everything but what only a platform
 * admin may; a member call models and see their own usage; a viewer read usage and chargeback.
 */
export const TEAM_ROLE_PERMISSIONS: Record<TeamRole, readonly Permission[]> = {
  team_admin: PERMISSIONS.filter((permission) => !PLATFORM_ONLY_PERMISSIONS.includes(permission)),
  member: ['models.call', 'usage.own'],
  viewer: ['usage.team', 'chargeback.read'],
};

/** A role held within a team. */
export interface TeamGrant {
  team: string;
  role: TeamRole;
}

/**
 * A caller's permissions: everything (a platform admin: an IAM admin, or a user granted
 * `platform_admin`), or the union of their roles' permissions in each team they have a role in.
 *
 * @example
 * const access = Access.of([{ team: 'payments', role: 'viewer' }]);
 * access.can('usage.team', 'payments') // true
 * access.can('keys.manage', 'payments') // false
 * access.teamsWith('chargeback.read')   // ['payments']
 */
export class Access {
  private constructor(
    /** Whether every permission holds in every team. */
    readonly platformAdmin: boolean,
    private readonly byTeam: ReadonlyMap<string, ReadonlySet<Permission>>,
    /** The roles held, for logs and views. */
    readonly grants: readonly TeamGrant[],
  ) {}

  /** Everything, everywhere. */
  static platform(): Access {
    return new Access(true, new Map(), []);
  }

  /** What a set of team roles allows. */
  static of(grants: readonly TeamGrant[]): Access {
    const byTeam = new Map<string, Set<Permission>>();
    for (const { team, role } of grants) {
      const permissions = byTeam.get(team) ?? new Set<Permission>();
      for (const permission of TEAM_ROLE_PERMISSIONS[role]) permissions.add(permission);
      byTeam.set(team, permissions);
    }
    return new Access(false, byTeam, grants);
  }

  /** Whether the caller may do `permission` in `teamId`. */
  can(permission: Permission, teamId: string): boolean {
    return this.platformAdmin || (this.byTeam.get(teamId)?.has(permission) ?? false);
  }

  /** Whether the caller holds any role in `teamId` (a platform admin: in every team). */
  belongsTo(teamId: string): boolean {
    return this.platformAdmin || this.byTeam.has(teamId);
  }

  /** Whether `permission` holds in at least one team. */
  canSomewhere(permission: Permission): boolean {
    return this.platformAdmin || [...this.byTeam.values()].some((permissions) => permissions.has(permission));
  }

  /** The teams where `permission` holds, in id order; `'all'` for a platform admin. */
  teamsWith(permission: Permission): string[] | 'all' {
    if (this.platformAdmin) return 'all';
    return [...this.byTeam]
      .filter(([, permissions]) => permissions.has(permission))
      .map(([team]) => team)
      .sort();
  }
}

/**
 * The access a token's groups grant under the config's grants: a `platform_admin` grant wins
 * outright; otherwise every team role granted to any of the groups.
 *
 * @example
 * accessOfGroups(['payments-devs'], config.grants) // Access.of([{ team: 'payments', role: 'member' }])
 */
export function accessOfGroups(groups: readonly string[], grants: SsoConfig['grants']): Access {
  const held = new Set(groups);
  const matching = grants.filter((grant) => held.has(grant.group));
  if (matching.some((grant) => grant.role === 'platform_admin')) return Access.platform();
  return Access.of(
    matching.flatMap((grant) =>
      grant.role === 'platform_admin' || grant.team === undefined ? [] : [{ team: grant.team, role: grant.role }],
    ),
  );
}
