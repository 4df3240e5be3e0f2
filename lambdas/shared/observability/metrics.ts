import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricUnit } from '@aws-lambda-powertools/metrics/types';
import { ENVIRONMENT_VARIABLES } from '../config/constants';
import type { AuthRefusalReason } from '../keys/errors';
import { logger } from './logger';
import {
  DIMENSION_SETS,
  METRICS,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  type Dimension,
  type MetricKey,
} from './metric-names';
import { REQUEST_SUMMARY, requestSummary, type RequestObservation } from './request-summary';

// The names are pure data in their own modules (the CDK reads them); this module emits them.
export { DIMENSION_SETS, DIMENSIONS, METRICS, METRICS_NAMESPACE, SERVICE_NAME, type MetricKey } from './metric-names';
export { REQUEST_SUMMARY, requestSummary, type RequestObservation } from './request-summary';

/** A metric's unit, as Powertools takes it (the table's strings are its units: this fails to compile if one is not). */
const unitOf = (key: MetricKey): MetricUnit => METRICS[key].unit;

/** Whether this process has served a request yet (the first one is its cold start). */
let warm = false;

/**
 * How one observation becomes metric values (pure but for the cold-start flag; tests and the
 * EMF writer share it).
 */
export function metricValues(o: RequestObservation, coldStart = false): Partial<Record<MetricKey, number>> {
  const values: Partial<Record<MetricKey, number>> = {
    requests: 1,
    clientErrors: o.httpStatus >= 400 && o.httpStatus < 500 ? 1 : 0,
    ...(o.streamed && o.model !== undefined ? { streamDuration: o.latencyMs } : { latency: o.latencyMs }),
    coldStarts: coldStart ? 1 : 0,
  };
  if (o.outcome === 'throttled') return { ...values, throttles: 1 };
  const decisions: Partial<Record<MetricKey, number>> = {
    policyBlocks: o.decision === 'block' ? 1 : 0,
    policyRedactions: o.decision === 'redact' ? 1 : 0,
    policyAlerts: o.decision === 'alert' ? 1 : 0,
  };
  if (o.outcome === 'budget_exhausted') return { ...values, ...decisions, budgetRejections: 1 };
  if (o.model === undefined) return { ...values, ...decisions, serverErrors: o.httpStatus >= 500 ? 1 : 0 };
  const attempts = o.attempts ?? 0;
  const usage = o.usage;
  return {
    ...values,
    ...decisions,
    serverErrors: o.httpStatus >= 500 ? 1 : 0,
    providerErrors: o.failedAttempts ?? 0,
    retries: Math.max(0, attempts - 1),
    fallbacks: o.fellBack ? 1 : 0,
    // absent, not undefined: the emitter publishes every key of this object
    ...(o.upstreamMs !== undefined ? { upstreamLatency: o.upstreamMs } : {}),
    ...(o.upstreamMs !== undefined && !o.streamed ? { gatewayOverhead: Math.max(0, o.latencyMs - o.upstreamMs) } : {}),
    ...(o.timeToFirstTokenMs !== undefined ? { timeToFirstToken: o.timeToFirstTokenMs } : {}),
    inputTokens: usage ? usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens : 0,
    outputTokens: usage?.outputTokens ?? 0,
    cachedTokens: usage?.cacheReadTokens ?? 0,
    costMicros: o.costMicros ?? 0,
  };
}

let sink: { metrics: Metrics; disabled: string | undefined } | undefined;

/**
 * The process's Metrics instance. Powertools reads `POWERTOOLS_METRICS_DISABLED` when an
 * instance is built, so one is built again only if that setting changed (tests switch it).
 */
function metricsSink(): Metrics {
  const disabled = process.env[ENVIRONMENT_VARIABLES.powertoolsMetricsDisabled];
  if (sink === undefined || sink.disabled !== disabled) {
    sink = { metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }), disabled };
  }
  return sink.metrics;
}

/** The kind of emission an observation of a request is. */
export function emissionOf(o: RequestObservation): 'request' | 'refusal' | 'throttle' {
  if (o.outcome === 'throttled') return 'throttle';
  return o.model === undefined ? 'refusal' : 'request';
}

/**
 * Publishes one request's metrics as one CloudWatch embedded-metric-format document on stdout
 * (no PutMetricData calls), and logs the request's summary line: the fields of
 * `REQUEST_SUMMARY`, which the saved Logs Insights queries read. Ids and counts only; never
 * prompt text or keys.
 *
 * One Powertools `Metrics` serves every request of the process: this function is synchronous
 * and publishing clears what it stored, so concurrent requests (the local runtime) never mix
 * their dimensions, and no request pays for building an instance (a fifth of a millisecond).
 *
 * @example
 * observeRequest({ requestId, teamId, keyId, requestedModel, outcome: 'ok', httpStatus: 200, ... });
 */
export function observeRequest(o: RequestObservation): void {
  logger.info(REQUEST_SUMMARY.message, requestSummary(o));
  const metrics = metricsSink();
  const kind = emissionOf(o);
  const values: Record<Dimension, string | undefined> = {
    service: SERVICE_NAME,
    model: o.model,
    provider: o.provider,
    team: o.teamId,
    limitType: o.limitType,
    reason: undefined,
  };
  for (const set of DIMENSION_SETS[kind]) {
    metrics.addDimensions(Object.fromEntries(set.filter((d) => d !== 'service').map((d) => [d, values[d] ?? 'none'])));
  }
  const coldStart = !warm;
  warm = true;
  for (const [key, value] of Object.entries(metricValues(o, coldStart)) as [MetricKey, number][]) {
    metrics.addMetric(METRICS[key].name, unitOf(key), value);
  }
  metrics.addMetadata('requestId', o.requestId);
  metrics.publishStoredMetrics();
}

/**
 * Publishes one metric under a dimension set kind, as its own EMF document.
 */
function publishOne(
  kind: keyof typeof DIMENSION_SETS,
  key: MetricKey,
  dimensions: Partial<Record<Dimension, string>>,
): void {
  const metrics = metricsSink();
  for (const set of DIMENSION_SETS[kind]) {
    metrics.addDimensions(
      Object.fromEntries(set.filter((d) => d !== 'service').map((d) => [d, dimensions[d] ?? 'none'])),
    );
  }
  metrics.addMetric(METRICS[key].name, unitOf(key), 1);
  metrics.publishStoredMetrics();
}

/** A team API key the gateway refused. */
export interface AuthRefusalObservation {
  reason: AuthRefusalReason;
  /** The key's public id, when the presented key was well-formed (never any part of the secret). */
  keyId: string | undefined;
  /** The client's address as API Gateway saw it. */
  sourceIp: string | undefined;
  requestId: string;
}

/**
 * Makes a refused key visible: counts it in `AuthRefusals` by reason (the 401 alarm watches the
 * total) and writes one log line with the source IP, the reason and the key's public id. A flood
 * of guessed or stolen keys then shows on the dashboard and in Logs Insights with where it came
 * from. Called once, where refusals are turned into responses.
 *
 * @example
 * observeAuthRefusal({ reason: 'malformed', keyId: undefined, sourceIp: '203.0.113.7', requestId });
 */
export function observeAuthRefusal(o: AuthRefusalObservation): void {
  logger.warn('api key refused', {
    requestId: o.requestId,
    reason: o.reason,
    keyId: o.keyId,
    sourceIp: o.sourceIp,
  });
  publishOne('authRefusal', 'authRefusals', { reason: o.reason });
}

/** An IAM principal refused on an admin route. */
export interface AdminRefusalObservation {
  /** The IAM authorizer's principal ARN (an identifier, not a secret). */
  principal: string;
  route: string;
  sourceIp: string | undefined;
  requestId: string;
}

/**
 * Makes a refused admin attempt visible: counts it in `AdminRefusals` and logs who tried what
 * from where, so an audit can find a principal probing the admin API.
 *
 * @example
 * observeAdminRefusal({ principal: 'arn:aws:sts::123456789012:assumed-role/Dev/bob', route, sourceIp, requestId });
 */
export function observeAdminRefusal(o: AdminRefusalObservation): void {
  logger.warn('admin request refused', {
    requestId: o.requestId,
    principal: o.principal,
    route: o.route,
    sourceIp: o.sourceIp,
  });
  publishOne('adminRefusal', 'adminRefusals', {});
}

/** A catalog model that Bedrock's ListFoundationModels reports as LEGACY. */
export interface LegacyModelObservation {
  /** The catalog's public model id. */
  modelId: string;
  /** The foundation model behind it (the profile prefix removed). */
  foundationModelId: string;
  region: string;
  /** When Bedrock stops serving it (ISO 8601), when the API says. */
  endOfLife: string | undefined;
  /** When it became Legacy, and when its public extended access (higher prices) starts, when the API says. */
  legacySince: string | undefined;
  extendedAccessFrom: string | undefined;
}

/**
 * Makes a model going away visible before it does: one warning naming the model and its
 * end-of-life date, and 1 in `LegacyModels` (by catalog model, and in total for the alarm).
 * Called by the maintenance Lambda's daily lifecycle check.
 *
 * @example
 * observeLegacyModel({ modelId: 'claude-haiku-4-5', foundationModelId, region: 'eu-west-1', endOfLife: '2027-06-01T00:00:00.000Z', ... });
 */
export function observeLegacyModel(o: LegacyModelObservation): void {
  logger.warn('catalog model is legacy on bedrock', {
    modelId: o.modelId,
    foundationModelId: o.foundationModelId,
    region: o.region,
    endOfLife: o.endOfLife ?? 'not given by Bedrock',
    legacySince: o.legacySince,
    extendedAccessFrom: o.extendedAccessFrom,
  });
  publishOne('modelLifecycle', 'legacyModels', { model: o.modelId });
}
