import { checkRoles } from '../../lambdas/shared/http/router';
import { type GatewayError } from '../../lambdas/shared/http/errors';
import { Access, accessOfGroups, PERMISSIONS, TEAM_ROLE_PERMISSIONS } from '../../lambdas/shared/sso/access';
import { ssoConfigSchema } from '../../lambdas/shared/sso/schema';
import { looksLikeJwt, userKeyId } from '../../lambdas/shared/sso/verifier';

/** Roles, their permissions and the config's grants, as pure functions; the verifier's shape checks. */
describe('single sign-on: roles and grants', () => {
  const grants = ssoConfigSchema.parse({
    issuer: 'https://idp.example.com',
    audience: ['app'],
    grants: [
      { group: 'platform', role: 'platform_admin' },
      { group: 'pay-admins', role: 'team_admin', team: 'payments' },
      { group: 'pay-devs', role: 'member', team: 'payments' },
      { group: 'search-finance', role: 'viewer', team: 'search' },
    ],
  }).grants;

  it('gives each role exactly its permissions, in its team only', () => {
    const member = accessOfGroups(['pay-devs'], grants);
    expect(PERMISSIONS.filter((p) => member.can(p, 'payments'))).toEqual(['usage.own', 'models.call']);
    expect(PERMISSIONS.filter((p) => member.can(p, 'search'))).toEqual([]);
    const viewer = accessOfGroups(['search-finance'], grants);
    expect(PERMISSIONS.filter((p) => viewer.can(p, 'search'))).toEqual(['usage.team', 'chargeback.read']);
    const admin = accessOfGroups(['pay-admins'], grants);
    expect(PERMISSIONS.filter((p) => admin.can(p, 'payments'))).toEqual(
      [...TEAM_ROLE_PERMISSIONS.team_admin].sort((a, b) => PERMISSIONS.indexOf(a) - PERMISSIONS.indexOf(b)),
    );
    // What only a platform admin may do.
    for (const permission of ['teams.manage', 'changes.read'] as const) {
      expect(Object.values(TEAM_ROLE_PERMISSIONS).some((role) => role.includes(permission))).toBe(false);
    }
  });

  it('unites the roles of several groups, and a platform grant wins outright', () => {
    const both = accessOfGroups(['pay-devs', 'search-finance', 'unknown'], grants);
    expect(both.teamsWith('models.call')).toEqual(['payments']);
    expect(both.teamsWith('usage.team')).toEqual(['search']);
    expect(both.belongsTo('payments') && both.belongsTo('search') && !both.belongsTo('other')).toBe(true);
    const platform = accessOfGroups(['pay-devs', 'platform'], grants);
    expect(platform.platformAdmin).toBe(true);
    expect(platform.teamsWith('keys.manage')).toBe('all');
    expect(accessOfGroups([], grants).canSomewhere('usage.own')).toBe(false);
  });

  it('refuses in a team: 404 where the user has no role, 403 where the role does not allow it', () => {
    const member = Access.of([{ team: 'payments', role: 'member' }]);
    const status = (fn: () => void) => {
      try {
        fn();
        return 200;
      } catch (error) {
        return (error as GatewayError).status;
      }
    };
    expect(status(() => checkRoles(member, ['models.call'], 'payments'))).toBe(200);
    expect(status(() => checkRoles(member, ['keys.manage'], 'payments'))).toBe(403);
    expect(status(() => checkRoles(member, ['models.call'], 'search'))).toBe(404);
    expect(status(() => checkRoles(member, ['usage.own', 'usage.team'], undefined))).toBe(200);
    expect(status(() => checkRoles(member, ['chargeback.read'], undefined))).toBe(403);
    expect(status(() => checkRoles(member, [], 'payments'))).toBe(403); // a route naming no permission: nobody
    expect(status(() => checkRoles(Access.platform(), ['teams.manage'], 'any-team'))).toBe(200);
  });

  it('refuses grants and issuers that cannot be right', () => {
    const base = { issuer: 'https://idp.example.com', audience: ['app'] };
    const refused = (input: object) => !ssoConfigSchema.safeParse({ ...base, ...input }).success;
    expect(refused({ grants: [{ group: 'g', role: 'platform_admin', team: 'payments' }] })).toBe(true);
    expect(refused({ grants: [{ group: 'g', role: 'member' }] })).toBe(true);
    expect(refused({ grants: [] })).toBe(true);
    const grant = { grants: [{ group: 'g', role: 'viewer', team: 'payments' }] };
    expect(refused({ ...grant, issuer: 'http://idp.example.com' })).toBe(true);
    expect(refused({ ...grant, issuer: 'http://127.0.0.1:9000' })).toBe(false);
    expect(refused({ ...grant, algorithms: ['HS256'] })).toBe(true);
    expect(refused({ ...grant, algorithms: ['none'] })).toBe(true);
    expect(refused({ ...grant, audience: [] })).toBe(true);
    expect(refused(grant)).toBe(false);
  });
});

describe('single sign-on: token shape and user ids', () => {
  it('tells tokens from team keys without parsing them', () => {
    expect(looksLikeJwt('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln')).toBe(true);
    expect(looksLikeJwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.')).toBe(true); // unsigned: verified, then refused
    expect(looksLikeJwt('gwk_abcdefghijkl_0123456789')).toBe(false);
    expect(looksLikeJwt('a.b.c')).toBe(false);
    expect(looksLikeJwt(undefined)).toBe(false);
    expect(looksLikeJwt(`eyJ${'a'.repeat(20_000)}.b.c`)).toBe(false);
  });

  it("derives a user's key-shaped id from issuer and subject: stable, and distinct across issuers", () => {
    const id = userKeyId('https://idp.example.com', 'user-1');
    expect(id).toMatch(/^[a-z2-7]{12}$/);
    expect(userKeyId('https://idp.example.com', 'user-1')).toBe(id);
    expect(userKeyId('https://other.example.com', 'user-1')).not.toBe(id);
    expect(userKeyId('https://idp.example.com', 'user-2')).not.toBe(id);
  });
});
