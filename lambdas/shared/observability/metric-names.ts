import { SERVICE_NAME } from '../config/constants';

/**
 * The gateway's metrics as data: namespace, dimension names, metric names and units, and the
 * dimension sets each kind of emission publishes. The EMF writer (`metrics.ts`) emits from these
 * tables and the CDK's dashboard and alarms are built from them. Pure (no Powertools, units as
 * the strings CloudWatch knows), so the CDK app reads it without loading runtime code.
 */

export { SERVICE_NAME };

/** The CloudWatch namespace of every gateway metric. */
export const METRICS_NAMESPACE = 'LlmGateway';

/**
 * Dimension names. Only bounded ones: models and providers come from the catalog, teams from
 * the admin API (tens to hundreds), limit types are four, refusal reasons six. Never key ids,
 * request ids, principals or IP addresses, which would create one custom metric per key, request
 * or caller (those go in the log line next to the metric).
 */
export const DIMENSIONS = {
  service: 'service',
  model: 'model',
  provider: 'provider',
  team: 'team',
  limitType: 'limitType',
  reason: 'reason',
} as const;

/** One dimension name. */
export type Dimension = (typeof DIMENSIONS)[keyof typeof DIMENSIONS];

/** The CloudWatch units the gateway's metrics use (Powertools' `MetricUnit` values; `metrics.ts` checks them). */
export type GatewayMetricUnit = 'Count' | 'Milliseconds';

const count = 'Count' satisfies GatewayMetricUnit;
const milliseconds = 'Milliseconds' satisfies GatewayMetricUnit;

/**
 * Every metric the gateway emits, with its unit and the dimension sets it is published under
 * (besides `service` alone, which every metric has). The dashboard and alarms are built from
 * this table, and a test checks that every metric they show is emitted with those dimensions.
 */
export const METRICS = {
  requests: { name: 'Requests', unit: count },
  /** Requests answered with a 4xx, and with a 5xx (gateway or provider fault). */
  clientErrors: { name: 'ClientErrors', unit: count },
  serverErrors: { name: 'ServerErrors', unit: count },
  /** Provider calls that failed (each failed attempt, retried or not). */
  providerErrors: { name: 'ProviderErrors', unit: count },
  retries: { name: 'Retries', unit: count },
  fallbacks: { name: 'Fallbacks', unit: count },
  /** From request arrival to the response, non-streamed requests (alarmed on at p99). */
  latency: { name: 'Latency', unit: milliseconds },
  /** From request arrival to the end of a stream (as long as the model writes; not alarmed on). */
  streamDuration: { name: 'StreamDuration', unit: milliseconds },
  /** Time spent waiting on providers (for a stream, until its first event). */
  upstreamLatency: { name: 'UpstreamLatency', unit: milliseconds },
  /** What the gateway itself added: latency minus upstream time. Non-streamed requests only. */
  gatewayOverhead: { name: 'GatewayOverhead', unit: milliseconds },
  timeToFirstToken: { name: 'TimeToFirstToken', unit: milliseconds },
  inputTokens: { name: 'InputTokens', unit: count },
  outputTokens: { name: 'OutputTokens', unit: count },
  cachedTokens: { name: 'CachedTokens', unit: count },
  /** Cost in micro-dollars (integers, like the ledger). */
  costMicros: { name: 'CostMicros', unit: count },
  /** Requests refused by a per-minute limit, by limit type. */
  throttles: { name: 'Throttles', unit: count },
  budgetRejections: { name: 'BudgetRejections', unit: count },
  policyBlocks: { name: 'PolicyBlocks', unit: count },
  policyRedactions: { name: 'PolicyRedactions', unit: count },
  policyAlerts: { name: 'PolicyAlerts', unit: count },
  /**
   * Requests of teams with a response cache answered from it (fresh or stale), and those it could
   * have answered but a provider did (bypassed requests are neither), by team and by model.
   */
  cacheHits: { name: 'CacheHits', unit: count },
  cacheMisses: { name: 'CacheMisses', unit: count },
  /** 1 on the first request a Lambda instance serves, else 0. */
  coldStarts: { name: 'ColdStarts', unit: count },
  /** Team API keys refused (401, or 403 for a disabled team), by reason; alarmed on. */
  authRefusals: { name: 'AuthRefusals', unit: count },
  /** IAM-signed admin requests from principals not on the admin allow-list (403). */
  adminRefusals: { name: 'AdminRefusals', unit: count },
  /** Catalog Bedrock models Bedrock lists as LEGACY (daily lifecycle check, 1 per model); alarmed on. */
  legacyModels: { name: 'LegacyModels', unit: count },
  /** Health probe of a catalog model: 1 if it answered a one-token request in time, else 0. */
  deploymentHealthy: { name: 'DeploymentHealthy', unit: count },
  /** How long that probe took. */
  probeLatency: { name: 'ProbeLatency', unit: milliseconds },
} as const satisfies Record<string, { name: string; unit: GatewayMetricUnit }>;

/** One metric of {@link METRICS}. */
export type MetricKey = keyof typeof METRICS;

/** The dimension sets each kind of emission publishes, `service` included. */
export const DIMENSION_SETS = {
  /** A request that reached routing: by model, by provider, by team. */
  request: [
    [DIMENSIONS.service],
    [DIMENSIONS.service, DIMENSIONS.model],
    [DIMENSIONS.service, DIMENSIONS.provider],
    [DIMENSIONS.service, DIMENSIONS.team],
  ],
  /** A request refused before routing (limits, budget, policy): by team. */
  refusal: [[DIMENSIONS.service], [DIMENSIONS.service, DIMENSIONS.team]],
  /** A throttle: also by limit type. */
  throttle: [[DIMENSIONS.service], [DIMENSIONS.service, DIMENSIONS.team], [DIMENSIONS.service, DIMENSIONS.limitType]],
  /** A refused team API key: in total and by reason (there is no team yet). */
  authRefusal: [[DIMENSIONS.service], [DIMENSIONS.service, DIMENSIONS.reason]],
  /** A refused admin principal: in total only (principals are unbounded; they are in the log line). */
  adminRefusal: [[DIMENSIONS.service]],
  /** A catalog model Bedrock lists as Legacy: in total (the alarm) and by catalog model id. */
  modelLifecycle: [[DIMENSIONS.service], [DIMENSIONS.service, DIMENSIONS.model]],
  /** A health probe: by catalog model (its provider in the log line). */
  healthProbe: [[DIMENSIONS.service, DIMENSIONS.model]],
} as const satisfies Record<string, readonly (readonly Dimension[])[]>;
