/**
 * The admin allow-list: which IAM principals may use the admin routes. API Gateway's IAM
 * authorizer only proves who signed a request; any principal of the account with
 * `execute-api:Invoke` gets through it. The allow-list narrows that to the principals the
 * platform team named in the config, checked by the Lambda on every admin route.
 *
 * Pure code with no imports: the config schema, the CDK app and the Lambdas share it.
 */

/** IAM partitions (`aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, ...). */
const PARTITION = 'aws[a-z-]*';
const ACCOUNT = '\\d{12}';
/** IAM name characters (roles, users) and path segments. */
const NAME = '[\\w+=,.@-]+';
const PATH = `(?:${NAME}/)*`;

/**
 * An IAM role or user ARN, as the config names admins: `arn:aws:iam::123456789012:role/Name`,
 * `arn:aws:iam::123456789012:role/path/Name`, `arn:aws:iam::123456789012:user/alice`.
 */
export const ADMIN_PRINCIPAL_ARN = new RegExp(`^arn:${PARTITION}:iam::${ACCOUNT}:(?:role|user)/${PATH}${NAME}$`);

const ROLE_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):role/${PATH}(${NAME})$`);
const USER_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):user/${PATH}${NAME}$`);
const ROOT_ARN = new RegExp(`^arn:(${PARTITION}):iam::(${ACCOUNT}):root$`);
/** A role session, as the IAM authorizer reports it: the role's name, never its path. */
const ASSUMED_ROLE_ARN = new RegExp(`^arn:(${PARTITION}):sts::(${ACCOUNT}):assumed-role/(${NAME})/[^/]+$`);
/** Any principal ARN of an account (IAM or STS), for the account-wide opt-in. */
const ANY_PRINCIPAL_ARN = new RegExp(`^arn:(${PARTITION}):(?:iam|sts)::(${ACCOUNT}):\\S+$`);

/** One entry of the allow-list. */
export type AdminPrincipalEntry =
  /** A role: its sessions are admitted (role names are unique in an account, whatever the path). */
  | { kind: 'role'; partition: string; account: string; roleName: string }
  /** An IAM user, by its exact ARN. */
  | { kind: 'user'; arn: string }
  /** Every principal of an account: the explicit sandbox opt-in, written as the account's root ARN. */
  | { kind: 'account'; partition: string; account: string };

/** The parsed allow-list; no entries means no principal may use the admin routes. */
export interface AdminAllowList {
  readonly entries: readonly AdminPrincipalEntry[];
}

/**
 * The account's root ARN, which stands for "any principal of this account" in the allow-list (as
 * it does in IAM resource policies). The CDK adds it only when the config opts in explicitly.
 *
 * @example
 * accountPrincipal('aws', '123456789012') // 'arn:aws:iam::123456789012:root'
 */
export function accountPrincipal(partition: string, account: string): string {
  return `arn:${partition}:iam::${account}:root`;
}

/**
 * The environment variable's value for a list of ARNs (the inverse of {@link parseAdminAllowList}).
 *
 * @example
 * formatAdminAllowList(['arn:aws:iam::123456789012:role/Admin']) // 'arn:aws:iam::123456789012:role/Admin'
 */
export function formatAdminAllowList(arns: readonly string[]): string {
  return arns.join(',');
}

/**
 * Parses the allow-list from its environment variable, refusing anything that is not a role,
 * user or account-root ARN, so a typo fails the Lambda at start-up instead of silently locking
 * admins out (or letting the wrong ones in).
 *
 * @example
 * parseAdminAllowList('arn:aws:iam::123456789012:role/Admin,arn:aws:iam::123456789012:user/alice')
 */
export function parseAdminAllowList(value: string): AdminAllowList {
  const entries: AdminPrincipalEntry[] = [];
  const invalid: string[] = [];
  for (const raw of value.split(',')) {
    const arn = raw.trim();
    if (arn === '') continue;
    const role = ROLE_ARN.exec(arn);
    const root = ROOT_ARN.exec(arn);
    if (role) entries.push({ kind: 'role', partition: role[1]!, account: role[2]!, roleName: role[3]! });
    else if (USER_ARN.test(arn)) entries.push({ kind: 'user', arn });
    else if (root) entries.push({ kind: 'account', partition: root[1]!, account: root[2]! });
    else invalid.push(arn);
  }
  if (invalid.length > 0) {
    throw new Error(`not IAM role, user or account-root ARNs: ${invalid.join(', ')}`);
  }
  return { entries };
}

/**
 * Whether the principal that signed a request (the IAM authorizer's `userArn`) is an admin: a
 * session of a listed role (`arn:aws:sts::<account>:assumed-role/<RoleName>/<session>` matches
 * `arn:aws:iam::<account>:role/<path>/<RoleName>`), a listed user, or any principal of an
 * account that was opted in. Partition and account always have to match.
 *
 * @example
 * isAdminPrincipal('arn:aws:sts::123456789012:assumed-role/Admin/alice', allowList) // true if role/Admin is listed
 */
export function isAdminPrincipal(principalArn: string, allowList: AdminAllowList): boolean {
  const session = ASSUMED_ROLE_ARN.exec(principalArn);
  const anyPrincipal = ANY_PRINCIPAL_ARN.exec(principalArn);
  return allowList.entries.some((entry) => {
    switch (entry.kind) {
      case 'role':
        return (
          session !== null &&
          session[1] === entry.partition &&
          session[2] === entry.account &&
          session[3] === entry.roleName
        );
      case 'user':
        return principalArn === entry.arn;
      case 'account':
        return anyPrincipal !== null && anyPrincipal[1] === entry.partition && anyPrincipal[2] === entry.account;
    }
  });
}
