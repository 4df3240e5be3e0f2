/**
 * Names of the environment variables the CDK sets and the Lambdas read, defined once. This module
 * has no imports and no side effects, so the CDK app can import it without loading runtime code.
 */
export const ENVIRONMENT_VARIABLES = {
  /**
   * The admin allow-list: comma-separated IAM role and user ARNs, plus the account's root ARN
   * (`arn:aws:iam::<account>:root`) when the config opts into admitting any principal of the
   * account. Empty means no principal may use the admin routes.
   */
  adminPrincipals: 'GATEWAY_ADMIN_PRINCIPALS',
  /**
   * URL of the usage replay queue (SQS): where a usage write goes when DynamoDB will not take it
   * in time. Unset only in unit tests; the CDK and the local runtime always set it.
   */
  usageReplayQueueUrl: 'USAGE_REPLAY_QUEUE_URL',
  /** SQS endpoint override: the local SQS emulator (unset in AWS). */
  sqsEndpoint: 'SQS_ENDPOINT',
} as const;
