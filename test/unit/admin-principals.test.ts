import {
  accountPrincipal,
  formatAdminAllowList,
  isAdminPrincipal,
  parseAdminAllowList,
} from '../../lambdas/shared/config/admin-principals';
import { EnvironmentError, loadAdminAllowList } from '../../lambdas/shared/config/environment';
import { ENVIRONMENT_VARIABLES } from '../../lambdas/shared/config/constants';

const ACCOUNT = '123456789012';
const OTHER = '210987654321';
const allow = (...arns: string[]) => parseAdminAllowList(formatAdminAllowList(arns));

describe('admin allow-list matching', () => {
  it("admits any session of a listed role, whatever the session's name", () => {
    const admins = allow(`arn:aws:iam::${ACCOUNT}:role/GatewayAdmin`);
    expect(isAdminPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/GatewayAdmin/alice`, admins)).toBe(true);
    expect(isAdminPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/GatewayAdmin/i-0abc123@ci.example`, admins)).toBe(
      true,
    );
  });

  it('admits sessions of a role listed with a path (session ARNs never carry the path)', () => {
    const admins = allow(`arn:aws:iam::${ACCOUNT}:role/platform/on-call/GatewayAdmin`);
    expect(isAdminPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/GatewayAdmin/bob`, admins)).toBe(true);
  });

  it('refuses sessions of another role, of the same role name in another account or partition', () => {
    const admins = allow(`arn:aws:iam::${ACCOUNT}:role/GatewayAdmin`);
    for (const principal of [
      `arn:aws:sts::${ACCOUNT}:assumed-role/Developer/alice`,
      `arn:aws:sts::${ACCOUNT}:assumed-role/GatewayAdminX/alice`,
      `arn:aws:sts::${ACCOUNT}:assumed-role/Gateway/Admin`,
      `arn:aws:sts::${OTHER}:assumed-role/GatewayAdmin/alice`,
      `arn:aws-cn:sts::${ACCOUNT}:assumed-role/GatewayAdmin/alice`,
      // The role itself is not a caller; only its sessions sign requests.
      `arn:aws:iam::${ACCOUNT}:role/GatewayAdmin`,
      `arn:aws:iam::${ACCOUNT}:user/GatewayAdmin`,
      `arn:aws:iam::${ACCOUNT}:root`,
      `arn:aws:sts::${ACCOUNT}:federated-user/GatewayAdmin`,
    ]) {
      expect({ principal, admitted: isAdminPrincipal(principal, admins) }).toEqual({ principal, admitted: false });
    }
  });

  it('admits a listed IAM user by its exact ARN (path included) and no one else', () => {
    const admins = allow(`arn:aws:iam::${ACCOUNT}:user/ops/alice`);
    expect(isAdminPrincipal(`arn:aws:iam::${ACCOUNT}:user/ops/alice`, admins)).toBe(true);
    expect(isAdminPrincipal(`arn:aws:iam::${ACCOUNT}:user/alice`, admins)).toBe(false);
    expect(isAdminPrincipal(`arn:aws:iam::${ACCOUNT}:user/ops/alice2`, admins)).toBe(false);
    expect(isAdminPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/alice/alice`, admins)).toBe(false);
  });

  it('admits every principal of an opted-in account and none of another account', () => {
    const admins = allow(accountPrincipal('aws', ACCOUNT));
    for (const principal of [
      `arn:aws:sts::${ACCOUNT}:assumed-role/Anything/session`,
      `arn:aws:iam::${ACCOUNT}:user/bob`,
      `arn:aws:iam::${ACCOUNT}:root`,
    ]) {
      expect(isAdminPrincipal(principal, admins)).toBe(true);
    }
    expect(isAdminPrincipal(`arn:aws:sts::${OTHER}:assumed-role/Anything/session`, admins)).toBe(false);
    expect(isAdminPrincipal(`arn:aws:iam::${OTHER}:user/bob`, admins)).toBe(false);
  });

  it('admits no one with an empty list, and nothing that is not an ARN', () => {
    const empty = parseAdminAllowList('');
    expect(empty.entries).toEqual([]);
    expect(isAdminPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/GatewayAdmin/alice`, empty)).toBe(false);
    const admins = allow(accountPrincipal('aws', ACCOUNT));
    expect(isAdminPrincipal('', admins)).toBe(false);
    expect(isAdminPrincipal(`${ACCOUNT}`, admins)).toBe(false);
    expect(isAdminPrincipal(`arn:aws:sts::${ACCOUNT}:`, admins)).toBe(false);
  });

  it('refuses a garbled allow-list at start-up, naming the bad entries', () => {
    expect(() => parseAdminAllowList(`arn:aws:iam::${ACCOUNT}:role/Ok,not-an-arn,arn:aws:iam::12:user/x`)).toThrow(
      'not IAM role, user or account-root ARNs: not-an-arn, arn:aws:iam::12:user/x',
    );
    expect(() => parseAdminAllowList(`arn:aws:sts::${ACCOUNT}:assumed-role/GatewayAdmin/alice`)).toThrow(
      /not IAM role, user or account-root ARNs/,
    );
  });

  it('loads the list from its environment variable, failing loudly when the variable is missing', () => {
    const name = ENVIRONMENT_VARIABLES.adminPrincipals;
    expect(loadAdminAllowList({ [name]: '' }).entries).toEqual([]);
    expect(loadAdminAllowList({ [name]: `arn:aws:iam::${ACCOUNT}:role/A, arn:aws:iam::${ACCOUNT}:user/b` })).toEqual({
      entries: [
        { kind: 'role', partition: 'aws', account: ACCOUNT, roleName: 'A' },
        { kind: 'user', arn: `arn:aws:iam::${ACCOUNT}:user/b` },
      ],
    });
    expect(() => loadAdminAllowList({})).toThrow(EnvironmentError);
    expect(() => loadAdminAllowList({})).toThrow(`${name}: required`);
    expect(() => loadAdminAllowList({ [name]: 'admin' })).toThrow(EnvironmentError);
  });
});
