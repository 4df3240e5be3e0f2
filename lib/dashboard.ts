import { Duration } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, MathExpression, Metric, TextWidget, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { AUTH_REFUSAL_REASONS } from '../lambdas/shared/keys/errors';
import { DIMENSIONS, METRICS, METRICS_NAMESPACE, type MetricKey } from '../lambdas/shared/observability/metric-names';
import { SERVICE_NAME } from '../lambdas/shared/config/constants';
import { RATE_LIMIT_TYPES } from '../lambdas/shared/quota/errors';
import { probedModels } from '../lambdas/shared/catalog/health-probe';
import type { GatewayObservabilityProps } from './observability';

/** The period of every dashboard graph and alarm. */
export const PERIOD = Duration.minutes(5);

/**
 * One gateway metric as the dashboard and alarms read it: the name and unit from the shared
 * table, the `service` dimension plus the given ones.
 */
export function gatewayMetric(
  key: MetricKey,
  dimensions: Partial<Record<keyof typeof DIMENSIONS, string>> = {},
  options: { statistic?: string; label?: string; period?: Duration } = {},
): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName: METRICS[key].name,
    dimensionsMap: {
      [DIMENSIONS.service]: SERVICE_NAME,
      ...Object.fromEntries(Object.entries(dimensions).map(([k, v]) => [DIMENSIONS[k as keyof typeof DIMENSIONS], v])),
    },
    statistic: options.statistic ?? 'Sum',
    period: options.period ?? PERIOD,
    label: options.label,
  });
}

/**
 * A metric per value of a dimension that is only known at run time (teams), found by a
 * CloudWatch SEARCH over exactly the dimension set the code emits it with.
 */
export function searchByTeam(key: MetricKey, statistic: string, label: string, top?: number): MathExpression {
  const search = `SEARCH('{${METRICS_NAMESPACE},${DIMENSIONS.service},${DIMENSIONS.team}} MetricName="${METRICS[key].name}"', '${statistic}', ${PERIOD.toSeconds()})`;
  return new MathExpression({
    expression: top ? `SORT(${search}, SUM, DESC, ${top})` : search,
    usingMetrics: {},
    period: PERIOD,
    label,
  });
}

const percentiles = (key: MetricKey, dimensions = {}) =>
  ['p50', 'p90', 'p99'].map((statistic) => gatewayMetric(key, dimensions, { statistic, label: statistic }));

/**
 * The dashboard: traffic, latency, errors, throttles, policy, tokens and cost, the Lambdas and DynamoDB.
 *
 * Long because it lays out the dashboard row by row, the way it reads on screen.
 */
export function buildDashboard(
  scope: Construct,
  props: Pick<GatewayObservabilityProps, 'config' | 'functions'>,
  dynamoThrottles: Metric[],
): Dashboard {
  const { config, functions } = props;
  const models = config.models.map((model) => model.id);
  const providers = Object.keys(config.providers);
  const graph = (title: string, left: IMetric[], width = 8) =>
    new GraphWidget({ title, left, width, height: 6, period: PERIOD });
  const dashboard = new Dashboard(scope, 'Dashboard', { defaultInterval: Duration.hours(6) });
  dashboard.addWidgets(
    new TextWidget({
      markdown:
        '# LLM gateway\nTraffic, latency and errors; tokens and cost by model and team; the Lambdas and DynamoDB ' +
        'underneath. Cost is in micro-dollars (1,000,000 = $1).',
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    graph('Traffic', [
      gatewayMetric('requests', {}, { label: 'requests' }),
      gatewayMetric('clientErrors', {}, { label: '4xx' }),
      gatewayMetric('serverErrors', {}, { label: '5xx' }),
    ]),
    graph('Latency, non-streamed (ms)', percentiles('latency')),
    graph('Gateway overhead (ms)', percentiles('gatewayOverhead')),
  );
  dashboard.addWidgets(
    graph('Time to first token, streams (ms)', percentiles('timeToFirstToken')),
    graph(
      'Upstream latency p99 by provider (ms)',
      providers.map((provider) =>
        gatewayMetric('upstreamLatency', { provider }, { statistic: 'p99', label: provider }),
      ),
    ),
    graph('Errors by class', [
      gatewayMetric('clientErrors', {}, { label: '4xx (client)' }),
      gatewayMetric('serverErrors', {}, { label: '5xx (gateway or provider)' }),
      gatewayMetric('providerErrors', {}, { label: 'failed provider calls' }),
      gatewayMetric('retries', {}, { label: 'retries' }),
      gatewayMetric('fallbacks', {}, { label: 'fallbacks' }),
    ]),
  );
  dashboard.addWidgets(
    graph('Throttled requests by limit', [
      ...RATE_LIMIT_TYPES.map((limitType) => gatewayMetric('throttles', { limitType }, { label: limitType })),
      gatewayMetric('budgetRejections', {}, { label: 'budget exhausted' }),
    ]),
    graph('Policy decisions', [
      gatewayMetric('policyBlocks', {}, { label: 'blocked' }),
      gatewayMetric('policyRedactions', {}, { label: 'redacted' }),
      gatewayMetric('policyAlerts', {}, { label: 'alerted' }),
    ]),
    graph(
      'Requests by model',
      models.map((model) => gatewayMetric('requests', { model }, { label: model })),
    ),
  );
  dashboard.addWidgets(
    graph(
      'Tokens by model',
      models.flatMap((model) => [
        gatewayMetric('inputTokens', { model }, { label: `${model} in` }),
        gatewayMetric('outputTokens', { model }, { label: `${model} out` }),
        gatewayMetric('cachedTokens', { model }, { label: `${model} cached` }),
      ]),
    ),
    graph(
      'Cost by model (µ$)',
      models.map((model) => gatewayMetric('costMicros', { model }, { label: model })),
    ),
    graph('Top 10 teams by spend (µ$)', [searchByTeam('costMicros', 'Sum', 'team cost', 10)]),
  );
  dashboard.addWidgets(
    graph('Requests by team', [searchByTeam('requests', 'Sum', 'team requests')]),
    graph('Tokens by team', [
      searchByTeam('inputTokens', 'Sum', 'team input tokens'),
      searchByTeam('outputTokens', 'Sum', 'team output tokens'),
    ]),
    graph('Cold starts (gateway)', [gatewayMetric('coldStarts', {}, { label: 'cold starts' })]),
  );
  dashboard.addWidgets(
    graph('Response cache (teams with a cache)', [
      gatewayMetric('cacheHits', {}, { label: 'hits (fresh or stale)' }),
      gatewayMetric('cacheMisses', {}, { label: 'misses' }),
    ]),
    graph(
      'Response cache hits by model',
      models.map((model) => gatewayMetric('cacheHits', { model }, { label: model })),
    ),
    graph('Response cache hits by team', [searchByTeam('cacheHits', 'Sum', 'team cache hits', 10)]),
  );
  const lambdas = Object.entries(functions);
  dashboard.addWidgets(
    graph(
      'Lambda concurrency (max)',
      lambdas.map(([name, fn]) =>
        fn.metric('ConcurrentExecutions', { statistic: 'Maximum', label: name, period: PERIOD }),
      ),
    ),
    graph(
      'Lambda duration p99 (ms)',
      lambdas.map(([name, fn]) => fn.metricDuration({ statistic: 'p99', label: name, period: PERIOD })),
    ),
    graph(
      'Lambda errors and throttles',
      lambdas.flatMap(([name, fn]) => [
        fn.metricErrors({ label: `${name} errors`, period: PERIOD }),
        fn.metricThrottles({ label: `${name} throttles`, period: PERIOD }),
      ]),
    ),
  );
  dashboard.addWidgets(graph('DynamoDB throttled requests', dynamoThrottles, 24));
  const probed = probedModels(config).map((model) => model.id);
  if (probed.length > 0) {
    dashboard.addWidgets(
      graph(
        'Deployment health (probe: 1 answered, 0 failed)',
        probed.map((model) => gatewayMetric('deploymentHealthy', { model }, { statistic: 'Minimum', label: model })),
        12,
      ),
      graph(
        'Probe latency (ms)',
        probed.map((model) => gatewayMetric('probeLatency', { model }, { statistic: 'Maximum', label: model })),
        12,
      ),
    );
  }
  dashboard.addWidgets(
    graph(
      'Refused API keys by reason (401; 403 disabled team)',
      AUTH_REFUSAL_REASONS.map((reason) => gatewayMetric('authRefusals', { reason }, { label: reason })),
      12,
    ),
    graph(
      'Refused admin principals (403, not on the allow-list)',
      [gatewayMetric('adminRefusals', {}, { label: 'refused admin requests' })],
      12,
    ),
  );

  return dashboard;
}
