import { Annotations, Aws } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { GatewayConfig } from '../lambdas/shared/catalog/schema';
import { accountPrincipal, formatAdminAllowList } from '../lambdas/shared/config/admin-principals';
import { ENVIRONMENT_VARIABLES } from '../lambdas/shared/config/constants';

/**
 * The environment that gives a Lambda serving admin routes its admin allow-list: the config's
 * role and user ARNs, plus the deploying account's root ARN (any principal of the account) only
 * when the config opts in explicitly. With neither, the list is empty, the admin routes refuse
 * everyone, and synth says so with a warning on `scope`.
 *
 * @example
 * new GatewayFunction(this, 'AuthFunction', { ..., environment: adminAllowListEnvironment(this, config) });
 */
export function adminAllowListEnvironment(scope: IConstruct, config: GatewayConfig): Record<string, string> {
  const { principals, allowAnyPrincipalInAccount } = config.admins;
  if (principals.length === 0 && !allowAnyPrincipalInAccount) {
    Annotations.of(scope).addWarningV2(
      'llm-gateway:no-admins',
      'The admin allow-list is empty (config `admins`): every admin route will refuse every caller with 403. ' +
        'Add IAM role or user ARNs to `admins.principals` (or, in a sandbox, set `admins.allowAnyPrincipalInAccount`).',
    );
  }
  const arns = [
    ...principals,
    ...(allowAnyPrincipalInAccount ? [accountPrincipal(Aws.PARTITION, Aws.ACCOUNT_ID)] : []),
  ];
  return { [ENVIRONMENT_VARIABLES.adminPrincipals]: formatAdminAllowList(arns) };
}
