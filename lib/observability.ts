import { ArnFormat, Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type Dashboard,
  MathExpression,
  Metric,
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
  APPROVAL_PENDING_DETAIL_TYPE,
  BUDGET_ALERT_DETAIL_TYPES,
  EVENT_SOURCE,
  SERVICE_NAME,
} from '../lambdas/shared/config/constants';
import type { MetricKey } from '../lambdas/shared/observability/metric-names';
import { REQUEST_SUMMARY } from '../lambdas/shared/observability/request-summary';
import type { DecisionAction } from '../lambdas/shared/policy/engine';
import { buildDashboard, gatewayMetric, PERIOD } from './dashboard';
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

/** DynamoDB's read and write throttle events of each table, for the dashboard and an alarm. */
function dynamoThrottleMetrics(tables: Record<string, ITableV2>): Metric[] {
  return Object.entries(tables).flatMap(([name, table]) =>
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
}

export { gatewayMetric, searchByTeam } from './dashboard';

/**
 * Operations for the gateway: a CloudWatch dashboard and alarms built from the metric table the
 * code emits from (`lambdas/shared/observability/metric-names.ts`), an SNS topic for alarms and
 * budget alerts, and saved Logs Insights queries over the per-request summary log lines.
 */
export class GatewayObservability extends Construct {
  readonly dashboard: Dashboard;
  readonly alarmTopic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: GatewayObservabilityProps) {
    super(scope, id);
    const { tables } = props;
    this.alarmTopic = encryptedAlarmTopic(this, props.removalPolicy ?? RemovalPolicy.RETAIN);
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    // Budget alerts (soft threshold, exhausted) are EventBridge events; route them to the same topic.
    // So are held tool calls waiting for an approver.
    const budgetAlerts = new Rule(this, 'BudgetAlerts', {
      description: 'LLM gateway budget alerts and held tool calls to the alarm topic',
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [...Object.values(BUDGET_ALERT_DETAIL_TYPES), APPROVAL_PENDING_DETAIL_TYPE],
      },
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

    const dynamoThrottles = dynamoThrottleMetrics(tables);
    this.dashboard = buildDashboard(this, props, dynamoThrottles);
    this.addAlarms(props, dynamoThrottles);
    this.saveQueries(props);
  }

  /** Alarms, all to the topic: error rates, latency, DynamoDB throttles, each Lambda, concurrency caps. */
  // A list of alarms, one call each; long only because there are many.
  private addAlarms(props: GatewayObservabilityProps, dynamoThrottles: Metric[]): void {
    const thresholds = props.thresholds ?? {};
    const lambdas = Object.entries(props.functions);
    const alarm = (id: string, description: string, metric: IMetric, threshold: number, periods?: number) =>
      this.addAlarm(this, id, description, metric, threshold, periods);
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
      const fn = props.functions[name];
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
  }

  /**
   * An alarm to the topic, listed in `alarms`: it fires when `metric` is above `threshold` in 2 of
   * `periods` periods (1 of 1 when `periods` is 1), and treats missing data as fine. `scope` is
   * the construct it belongs to (its logical id stays under it).
   *
   * @example
   * observability.addAlarm(replay, 'DeadLetters', 'Usage writes in the dead-letter queue', dlq.metricApproximateNumberOfMessagesVisible(), 0, 1);
   */
  addAlarm(scope: Construct, id: string, description: string, metric: IMetric, threshold: number, periods = 3): Alarm {
    const created = new Alarm(scope, id, {
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
  }

  /** The saved Logs Insights queries. */
  private saveQueries(props: GatewayObservabilityProps): void {
    // Saved Logs Insights queries over the request summary lines, naming fields from the table
    // observeRequest writes them from (a test checks every field they name is on the line).
    const logGroups = props.requestFunctions.map((fn) => fn.logGroup);
    const f = REQUEST_SUMMARY.fields;
    const requests = `message = "${REQUEST_SUMMARY.message}"`;
    const allow: DecisionAction = 'allow';
    const query = (id: string, name: string, queryString: QueryString) =>
      new QueryDefinition(this, id, { queryDefinitionName: `${SERVICE_NAME}/${name}`, logGroups, queryString });
    query(
      'CostByTeam',
      'cost-by-team',
      new QueryString({
        filterStatements: [requests],
        statsStatements: [
          `sum(${f.costMicros}) / 1000000 as costUsd, count(*) as requests, sum(${f.inputTokens}) as inputTokens, sum(${f.outputTokens}) as outputTokens by ${f.teamId}`,
        ],
        sort: 'costUsd desc',
      }),
    );
    query(
      'TopUsers',
      'top-users',
      new QueryString({
        filterStatements: [requests],
        statsStatements: [`count(*) as requests, sum(${f.costMicros}) / 1000000 as costUsd by ${f.teamId}, ${f.keyId}`],
        sort: 'costUsd desc',
        limit: 25,
      }),
    );
    query(
      'PolicyDecisions',
      'policy-decisions',
      new QueryString({
        filterStatements: [requests, `${f.decision} != "${allow}"`],
        statsStatements: [`count(*) as requests by ${f.teamId}, ${f.decision}`],
        sort: 'requests desc',
      }),
    );
    query(
      'Errors',
      'errors',
      new QueryString({
        filterStatements: [requests, `${f.httpStatus} >= 500`],
        statsStatements: [`count(*) as requests by ${f.provider}, ${f.model}, ${f.httpStatus}`],
        sort: 'requests desc',
      }),
    );
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
