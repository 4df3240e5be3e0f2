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
 * EMF writer share it). Keys are absent, not undefined: the writer publishes every key. Built by
 * assignment rather than object spreads, which cost several microseconds per request here.
 */
export function metricValues(o: RequestObservation, coldStart = false): Partial<Record<MetricKey, number>> {
  const values: Partial<Record<MetricKey, number>> = {
    requests: 1,
    clientErrors: o.httpStatus >= 400 && o.httpStatus < 500 ? 1 : 0,
  };
  if (o.streamed && o.model !== undefined) values.streamDuration = o.latencyMs;
  else values.latency = o.latencyMs;
  values.coldStarts = coldStart ? 1 : 0;
  if (o.outcome === 'throttled') {
    values.throttles = 1;
    return values;
  }
  values.policyBlocks = o.decision === 'block' ? 1 : 0;
  values.policyRedactions = o.decision === 'redact' ? 1 : 0;
  values.policyAlerts = o.decision === 'alert' ? 1 : 0;
  if (o.outcome === 'budget_exhausted') {
    values.budgetRejections = 1;
    return values;
  }
  values.serverErrors = o.httpStatus >= 500 ? 1 : 0;
  if (o.model === undefined) return values;
  const attempts = o.attempts ?? 0;
  const usage = o.usage;
  values.providerErrors = o.failedAttempts ?? 0;
  values.retries = Math.max(0, attempts - 1);
  values.fallbacks = o.fellBack ? 1 : 0;
  if (o.upstreamMs !== undefined) {
    values.upstreamLatency = o.upstreamMs;
    if (!o.streamed) values.gatewayOverhead = Math.max(0, o.latencyMs - o.upstreamMs);
  }
  if (o.timeToFirstTokenMs !== undefined) values.timeToFirstToken = o.timeToFirstTokenMs;
  values.inputTokens = usage ? usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens : 0;
  values.outputTokens = usage?.outputTokens ?? 0;
  values.cachedTokens = usage?.cacheReadTokens ?? 0;
  values.costMicros = o.costMicros ?? 0;
  if (o.cache !== undefined && o.cache !== 'bypass') {
    values.cacheHits = o.cache === 'miss' ? 0 : 1;
    values.cacheMisses = o.cache === 'miss' ? 1 : 0;
  }
  return values;
}

/** Powertools Metrics, also asked whether metrics are switched off (its rule, from the environment). */
class GatewayMetrics extends Metrics {
  isOff(): boolean {
    return this.isDisabled();
  }
}

let sink: { metrics: GatewayMetrics; disabled: string | undefined } | undefined;

/**
 * The process's Metrics instance. Powertools reads `POWERTOOLS_METRICS_DISABLED` when an
 * instance is built, so one is built again only if that setting changed (tests switch it).
 */
function metricsSink(): GatewayMetrics {
  const disabled = process.env[ENVIRONMENT_VARIABLES.powertoolsMetricsDisabled];
  if (sink === undefined || sink.disabled !== disabled) {
    sink = { metrics: new GatewayMetrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }), disabled };
  }
  return sink.metrics;
}

/** The kind of emission an observation of a request is. */
export function emissionOf(o: RequestObservation): 'request' | 'refusal' | 'throttle' {
  if (o.outcome === 'throttled') return 'throttle';
  return o.model === undefined ? 'refusal' : 'request';
}

/** The log levels at which the request summary line is written. */
const SUMMARY_LEVELS: ReadonlySet<string> = new Set(['TRACE', 'DEBUG', 'INFO']);

/** Each metric's EMF directive entry, built once: documents share them. */
const DIRECTIVES = Object.fromEntries(
  (Object.keys(METRICS) as MetricKey[]).map((key) => [key, { Name: METRICS[key].name, Unit: unitOf(key) }]),
) as Record<MetricKey, { Name: string; Unit: MetricUnit }>;

/**
 * One request's metrics as the members of a CloudWatch embedded-metric-format document: the
 * `_aws` directive (namespace, the dimension sets of its kind, each metric's name and unit), a
 * string value for each dimension it names, a number for each metric, and the request id as
 * metadata. Pure; `observeRequest` writes it, alone or merged into the summary line.
 *
 * A dimension that is also a summary field (`model`, `provider`, `limitType`) has the same
 * value in both: the dimension sets of a kind only name what that kind of request has ('none'
 * stands in for a value that is missing all the same, as CloudWatch needs a string).
 */
export function requestMetricsDocument(o: RequestObservation, coldStart: boolean, timestamp: number) {
  const kind = emissionOf(o);
  const values = metricValues(o, coldStart);
  const dimensionValues: Record<Dimension, string | undefined> = {
    service: SERVICE_NAME,
    model: o.model,
    provider: o.provider,
    team: o.teamId,
    limitType: o.limitType,
    reason: undefined,
  };
  const keys = Object.keys(values) as MetricKey[];
  const doc: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        { Namespace: METRICS_NAMESPACE, Dimensions: DIMENSION_SETS[kind], Metrics: keys.map((k) => DIRECTIVES[k]) },
      ],
    },
    requestId: o.requestId,
  };
  for (const set of DIMENSION_SETS[kind]) {
    for (const dimension of set) doc[dimension] = dimensionValues[dimension] ?? 'none';
  }
  for (const key of keys) doc[METRICS[key].name] = values[key];
  return doc;
}

/** What the request's line carries: the summary (INFO logs on), the metrics (EMF on), or both. */
export interface RequestLineParts {
  summary: boolean;
  metrics: boolean;
}

/**
 * The X-Ray trace id of the invocation, as the Powertools logger puts it on its lines (the
 * `Root` of `_X_AMZN_TRACE_ID`), so the summary line still links to its trace.
 */
function xrayTraceId(): string | undefined {
  const header = process.env['_X_AMZN_TRACE_ID'];
  return header
    ?.split(';')
    .find((part) => part.startsWith('Root='))
    ?.slice('Root='.length);
}

/**
 * One request's log line (JSON, no newline), or undefined when it carries nothing. With the
 * summary: the Powertools logger's leading fields (level, message, timestamp, service, trace
 * id) then the fields of `REQUEST_SUMMARY`, which the saved Logs Insights queries read. With
 * the metrics: the members of {@link requestMetricsDocument}, which make the same line the
 * request's CloudWatch embedded-metric-format document. Where both name a field (`requestId`,
 * `service`, and the dimensions `model`, `provider`, `limitType`) the values are the same.
 */
export function requestLogLine(
  o: RequestObservation,
  coldStart: boolean,
  now: number,
  parts: RequestLineParts,
): string | undefined {
  if (!parts.summary && !parts.metrics) return undefined;
  const line: Record<string, unknown> = {};
  if (parts.summary) {
    Object.assign(
      line,
      {
        level: 'INFO',
        message: REQUEST_SUMMARY.message,
        timestamp: new Date(now).toISOString(),
        service: SERVICE_NAME,
        xray_trace_id: xrayTraceId(),
      },
      requestSummary(o),
    );
  }
  // Object.assign, not spreads: a spread of this many keys cost tens of microseconds here.
  if (parts.metrics) Object.assign(line, requestMetricsDocument(o, coldStart, now));
  return JSON.stringify(line);
}

/**
 * Writes one line per request (no PutMetricData calls): the summary log line, which is also the
 * request's CloudWatch embedded-metric-format document. It was a Powertools log line and a
 * Powertools Metrics document, about 60 us of the request's compute and two stdout writes; one
 * line built here costs a fraction of that. Ids and counts only; never prompt text, answers or
 * keys.
 *
 * The summary follows the logger's level (INFO); the metrics follow Powertools' metrics switch
 * (`POWERTOOLS_METRICS_DISABLED`), whatever the log level.
 *
 * @example
 * observeRequest({ requestId, teamId, keyId, requestedModel, outcome: 'ok', httpStatus: 200, ... });
 */
export function observeRequest(o: RequestObservation): void {
  const coldStart = !warm;
  warm = true;
  const line = requestLogLine(o, coldStart, Date.now(), {
    summary: SUMMARY_LEVELS.has(logger.getLevelName()),
    metrics: !metricsSink().isOff(),
  });
  if (line !== undefined) process.stdout.write(`${line}\n`);
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

/** One health probe of a catalog model. */
export interface ProbeObservation {
  model: string;
  provider: string;
  healthy: boolean;
  latencyMs: number;
  /** Why it failed (a provider failure kind), when it did. */
  failure?: string;
}

/**
 * Records a health probe: `DeploymentHealthy` (1 or 0) and `ProbeLatency` by model, and one log
 * line with the model, provider and failure kind.
 *
 * @example
 * observeProbe({ model: 'claude-sonnet-4-6', provider: 'bedrock', healthy: true, latencyMs: 412 });
 */
export function observeProbe(o: ProbeObservation): void {
  const log = o.healthy ? logger.info.bind(logger) : logger.warn.bind(logger);
  log('deployment probed', { ...o });
  const metrics = metricsSink();
  for (const set of DIMENSION_SETS.healthProbe) {
    metrics.addDimensions(Object.fromEntries(set.filter((d) => d !== 'service').map((d) => [d, o.model])));
  }
  metrics.addMetric(METRICS.deploymentHealthy.name, unitOf('deploymentHealthy'), o.healthy ? 1 : 0);
  metrics.addMetric(METRICS.probeLatency.name, unitOf('probeLatency'), o.latencyMs);
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
