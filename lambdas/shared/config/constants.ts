/**
 * Facts the CDK app and the Lambdas must agree on, defined once: the names of the environment
 * variables the CDK sets and the Lambdas read, the service name, and where budget alerts go. This
 * module has no imports and no side effects, so the CDK app can import it without loading
 * runtime code (Powertools, SDK clients).
 */

/** The gateway's name: Powertools' `service` (log field and metric dimension) and the prefix of its saved queries. */
export const SERVICE_NAME = 'llm-gateway';

/** Names of the environment variables the CDK sets and the Lambdas read (table names: `TABLES[id].envVar`). */
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
  /** The region, set by Lambda itself (the local runtime and the tests set it too). */
  region: 'AWS_REGION',
  /** DynamoDB endpoint override: DynamoDB Local in tests and the local runtime (unset in AWS). */
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  /** How long a Lambda instance trusts a key or team it has read, in seconds. */
  identityCacheTtlSeconds: 'IDENTITY_CACHE_TTL_SECONDS',
  /** Longest wait for a provider, in milliseconds (the stream function's first-event deadline). */
  providerTimeoutMs: 'PROVIDER_TIMEOUT_MS',
  /** EventBridge bus for budget alerts; unset (local runtime) means alerts are only logged. */
  eventBusName: 'EVENT_BUS_NAME',
  /** Powertools' service name, on every log line and metric. */
  powertoolsServiceName: 'POWERTOOLS_SERVICE_NAME',
  /** Powertools' log level. */
  powertoolsLogLevel: 'POWERTOOLS_LOG_LEVEL',
  /** Powertools' switch that turns metric publishing off (the local runtime and the tests). */
  powertoolsMetricsDisabled: 'POWERTOOLS_METRICS_DISABLED',
} as const;

/**
 * The EventBridge bus budget alerts are put on: the account's default bus, where the alert rule
 * (which names no bus, so it is on the default one) and any rule of the platform team match them.
 */
export const BUDGET_ALERT_EVENT_BUS = 'default';

/** `source` of the gateway's events on EventBridge (the service name); rules match on it. */
export const EVENT_SOURCE = SERVICE_NAME;

/** `detail-type` of the event that tells approvers a tool call waits for them. */
export const APPROVAL_PENDING_DETAIL_TYPE = 'Tool Call Held For Approval';

/** `detail-type` of each budget alert; rules match on it. */
export const BUDGET_ALERT_DETAIL_TYPES = {
  soft_threshold: 'Budget Soft Threshold Crossed',
  exhausted: 'Budget Exhausted',
} as const;
