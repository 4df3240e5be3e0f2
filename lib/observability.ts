import { ArnFormat, Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, type IRuleTarget } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { QueryDefinition, QueryString } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { GatewayConfig } from '../lambdas/shared/catalog/schema';
import {
  DIMENSIONS,
  METRICS,
  METRICS_NAMESPACE,
  SERVICE_NAME,
  type MetricKey,
} from '../lambdas/shared/observability/metrics';
import type { RateLimitType } from '../lambdas/shared/quota/errors';
import { BUDGET_ALERT_DETAIL_TYPES, EVENT_SOURCE } from '../lambdas/shared/quota/eventbridge-publisher';
import { AUTH_REFUSAL_REASONS } from '../lambdas/shared/keys/errors';
import type { GatewayFunction } from './gateway-function';

/** Thresholds of the alarms; each has a default meant for production. */
export interface AlarmThresholds {
  /** Percent of requests answered with a 5xx, over 5 minutes. Default 5. */
  serverErrorPercent?: number;
  /** Failed provider calls per 100 requests, over 5 minutes. Default 10. */
  providerErrorPercent?: number;
  /** p99 of non-streamed request latency. Default 20 s (the HTTP API gives up at 30 s). */
  latencyP99?: Duration;
  /**
   * Refused team API keys (401s, and 403s for disabled teams) in 5 minutes: a flood of guessed,
   * stolen or revoked keys. Default 300 (one a second).
   */
  authRefusals?: number;
}

/** What the observability construct watches. */
export interface GatewayObservabilityProps {
  config: GatewayConfig;
  functions: Record<string, GatewayFunction>;
  /** The functions that serve chat requests (their logs hold the per-request summary lines). */
  requestFunctions: GatewayFunction[];
  tables: Record<string, ITableV2>;
  /** Where alarms and budget alerts go by email (optional: the SNS topic is there either way). */
  alarmEmail?: string;
  thresholds?: AlarmThresholds;
  /** What happens to the alarm topic's KMS key when the stack is deleted. Default RETAIN. */
  removalPolicy?: RemovalPolicy;
  /**
   * Reserved concurrency of the functions that have one, by name in `functions`: each gets an
   * alarm at 80 % of it, before Lambda starts throttling.
   */
  reservedConcurrency?: Readonly<Record<string, number>>;
}

const PERIOD = Duration.minutes(5);
const LIMIT_TYPES: readonly RateLimitType[] = ['team_requests', 'team_tokens', 'key_requests', 'key_tokens'];

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
    ...(options.label ? { label: options.label } : {}),
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
 * Operations for the gateway: a CloudWatch dashboard and alarms built from the metric table the
 * code emits from (`lambdas/shared/observability/metrics.ts`), an SNS topic for alarms and
 * budget alerts, and saved Logs Insights queries over the per-request summary log lines.
 */
export class GatewayObservability extends Construct {
  readonly dashboard: Dashboard;
  readonly alarmTopic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: GatewayObservabilityProps) {
    super(scope, id);
    const { config, functions, tables } = props;
    const thresholds = props.thresholds ?? {};
    const models = config.models.map((model) => model.id);
    const providers = Object.keys(config.providers);

    this.alarmTopic = encryptedAlarmTopic(this, props.removalPolicy ?? RemovalPolicy.RETAIN);
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    // Budget alerts (soft threshold, exhausted) are EventBridge events; route them to the same topic.
    const budgetAlerts = new Rule(this, 'BudgetAlerts', {
      description: 'LLM gateway budget alerts to the alarm topic',
      eventPattern: { source: [EVENT_SOURCE], detailType: Object.values(BUDGET_ALERT_DETAIL_TYPES) },
    });
    budgetAlerts.addTarget(topicTargetOf(this.alarmTopic));
    // CDK's SnsTopic target would grant every EventBridge rule of every account; this grant
    // names the one rule of this account.
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'BudgetAlertRulePublishes',
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnEquals: { 'aws:SourceArn': budgetAlerts.ruleArn },
        },
      }),
    );

    const dynamoThrottles = Object.entries(tables).flatMap(([name, table]) =>
      ['ReadThrottleEvents', 'WriteThrottleEvents'].map(
        (metricName) =>
          new Metric({
            namespace: 'AWS/DynamoDB',
            metricName,
            dimensionsMap: { TableName: table.tableName },
            statistic: 'Sum',
            period: PERIOD,
            label: `${name} ${metricName}`,
          }),
      ),
    );

    const graph = (title: string, left: IMetric[], width = 8) =>
      new GraphWidget({ title, left, width, height: 6, period: PERIOD });
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(6) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# LLM gateway\nTraffic, latency and errors; tokens and cost by model and team; the Lambdas and DynamoDB ' +
          'underneath. Cost is in micro-dollars (1,000,000 = $1).',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Traffic', [
        gatewayMetric('requests', {}, { label: 'requests' }),
        gatewayMetric('clientErrors', {}, { label: '4xx' }),
        gatewayMetric('serverErrors', {}, { label: '5xx' }),
      ]),
      graph('Latency, non-streamed (ms)', percentiles('latency')),
      graph('Gateway overhead (ms)', percentiles('gatewayOverhead')),
    );
    this.dashboard.addWidgets(
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
    this.dashboard.addWidgets(
      graph('Throttled requests by limit', [
        ...LIMIT_TYPES.map((limitType) => gatewayMetric('throttles', { limitType }, { label: limitType })),
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
    this.dashboard.addWidgets(
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
    this.dashboard.addWidgets(
      graph('Requests by team', [searchByTeam('requests', 'Sum', 'team requests')]),
      graph('Tokens by team', [
        searchByTeam('inputTokens', 'Sum', 'team input tokens'),
        searchByTeam('outputTokens', 'Sum', 'team output tokens'),
      ]),
      graph('Cold starts (gateway)', [gatewayMetric('coldStarts', {}, { label: 'cold starts' })]),
    );
    const lambdas = Object.entries(functions);
    this.dashboard.addWidgets(
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
    this.dashboard.addWidgets(graph('DynamoDB throttled requests', dynamoThrottles, 24));
    this.dashboard.addWidgets(
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

    // Alarms, all to the topic.
    const alarm = (id: string, description: string, metric: IMetric, threshold: number, periods = 3) => {
      const created = new Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: periods,
        datapointsToAlarm: Math.min(periods, 2),
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new SnsAction(this.alarmTopic));
      this.alarms.push(created);
      return created;
    };
    const rate = (errors: MetricKey, label: string) =>
      new MathExpression({
        expression: 'IF(requests > 0, 100 * errors / requests, 0)',
        usingMetrics: { errors: gatewayMetric(errors), requests: gatewayMetric('requests') },
        period: PERIOD,
        label,
      });
    alarm(
      'ServerErrorRate',
      'More than the threshold percent of gateway requests answered with a 5xx',
      rate('serverErrors', '5xx %'),
      thresholds.serverErrorPercent ?? 5,
    );
    alarm(
      'ProviderErrorRate',
      'Failed provider calls above the threshold per 100 requests (retries and fallbacks may still hide them)',
      rate('providerErrors', 'provider errors %'),
      thresholds.providerErrorPercent ?? 10,
    );
    alarm(
      'LatencyP99',
      'p99 latency of non-streamed requests above the threshold',
      gatewayMetric('latency', {}, { statistic: 'p99' }),
      (thresholds.latencyP99 ?? Duration.seconds(20)).toMilliseconds(),
    );
    alarm(
      'LegacyBedrockModels',
      'A catalog model is Legacy on Bedrock (daily lifecycle check); the maintenance log names it and its end-of-life date',
      gatewayMetric('legacyModels', {}, { period: Duration.days(1) }),
      0,
      1,
    );
    alarm(
      'DynamoDbThrottles',
      'DynamoDB throttled gateway reads or writes',
      new MathExpression({
        expression: dynamoThrottles.map((_, i) => `t${i}`).join(' + '),
        usingMetrics: Object.fromEntries(dynamoThrottles.map((metric, i) => [`t${i}`, metric])),
        period: PERIOD,
        label: 'throttled requests',
      }),
      0,
      1,
    );
    alarm(
      'AuthRefusals',
      'Refused team API keys (401s, and 403s for disabled teams) above the threshold in 5 minutes: guessed, stolen or revoked keys; the "api key refused" log lines name the source IPs',
      gatewayMetric('authRefusals', {}, { label: 'refused keys' }),
      thresholds.authRefusals ?? 300,
      1,
    );
    for (const [name, fn] of lambdas) {
      const title = name.charAt(0).toUpperCase() + name.slice(1);
      alarm(
        `${title}LambdaErrors`,
        `The ${name} Lambda failed (crashed or timed out)`,
        fn.metricErrors({ period: PERIOD }),
        0,
        1,
      );
      alarm(
        `${title}LambdaThrottles`,
        `The ${name} Lambda was throttled`,
        fn.metricThrottles({ period: PERIOD }),
        0,
        1,
      );
    }
    for (const [name, limit] of Object.entries(props.reservedConcurrency ?? {})) {
      const fn = functions[name];
      if (!fn) continue;
      const title = name.charAt(0).toUpperCase() + name.slice(1);
      // Fires at 80 % of the cap (the alarm compares with "greater than").
      alarm(
        `${title}ConcurrencyNearLimit`,
        `The ${name} Lambda used 80 % of its reserved concurrency (${limit}); at the cap new requests are throttled`,
        fn.metric('ConcurrentExecutions', { statistic: 'Maximum', period: Duration.minutes(1) }),
        Math.max(0, Math.ceil(limit * 0.8) - 1),
      );
    }

    // Saved Logs Insights queries over the "request completed" lines (see observeRequest).
    const logGroups = props.requestFunctions.map((fn) => fn.logGroup);
    const requests = 'message = "request completed"';
    new QueryDefinition(this, 'CostByTeam', {
      queryDefinitionName: 'llm-gateway/cost-by-team',
      logGroups,
      queryString: new QueryString({
        filterStatements: [requests],
        statsStatements: [
          'sum(costMicros) / 1000000 as costUsd, count(*) as requests, sum(inputTokens) as inputTokens, sum(outputTokens) as outputTokens by teamId',
        ],
        sort: 'costUsd desc',
      }),
    });
    new QueryDefinition(this, 'TopUsers', {
      queryDefinitionName: 'llm-gateway/top-users',
      logGroups,
      queryString: new QueryString({
        filterStatements: [requests],
        statsStatements: ['count(*) as requests, sum(costMicros) / 1000000 as costUsd by teamId, keyId'],
        sort: 'costUsd desc',
        limit: 25,
      }),
    });
    new QueryDefinition(this, 'PolicyDecisions', {
      queryDefinitionName: 'llm-gateway/policy-decisions',
      logGroups,
      queryString: new QueryString({
        filterStatements: [requests, 'decision != "allow"'],
        statsStatements: ['count(*) as requests by teamId, decision'],
        sort: 'requests desc',
      }),
    });
    new QueryDefinition(this, 'Errors', {
      queryDefinitionName: 'llm-gateway/errors',
      logGroups,
      queryString: new QueryString({
        filterStatements: [requests, 'httpStatus >= 500'],
        statsStatements: ['count(*) as requests by provider, model, httpStatus'],
        sort: 'requests desc',
      }),
    });
  }
}

/**
 * The alarm topic, encrypted with a key of its own. The AWS-managed `aws/sns` key cannot be used:
 * its policy does not let CloudWatch alarms or EventBridge use it, so nothing would ever be
 * delivered. The key policy lets exactly those two services encrypt messages for the topic
 * (GenerateDataKey, Decrypt). It carries no `aws:SourceArn` condition: EventBridge does not pass
 * its source to KMS, so such a condition would silently drop every budget alert; which alarms
 * and rules may publish is decided by the topic policy, whose grants are scoped to this account
 * and to the gateway's alarms and rule.
 */
function encryptedAlarmTopic(scope: Construct, removalPolicy: RemovalPolicy): Topic {
  const key = new Key(scope, 'AlarmTopicKey', {
    removalPolicy,
    description: 'LLM gateway alarm topic: CloudWatch alarms and the budget-alert rule publish with it',
    enableKeyRotation: true,
  });
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AlarmAndEventPublishersEncrypt',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com'), new ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
    }),
  );
  const topic = new Topic(scope, 'AlarmTopic', { displayName: 'LLM gateway alarms', enforceSSL: true, masterKey: key });
  const stack = Stack.of(scope);
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: 'AlarmsOfThisAccountPublish',
      principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: {
          'aws:SourceArn': stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  return topic;
}

/**
 * An EventBridge target that publishes to a topic and grants nothing by itself (CDK's `SnsTopic`
 * target adds an unconditioned `sns:Publish` for every EventBridge rule); the caller adds a
 * grant scoped to its rule.
 */
function topicTargetOf(topic: Topic): IRuleTarget {
  return { bind: () => ({ arn: topic.topicArn, targetResource: topic }) };
}
