import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { logger } from '../../lambdas/shared/observability/logger';
import {
  observeAdminRefusal,
  observeAuthRefusal,
  observeRequest,
  REQUEST_SUMMARY,
  type RequestObservation,
} from '../../lambdas/shared/observability/metrics';
import { GatewayStack } from '../../lib/gateway-stack';
import { captureEmf, publishedMetrics, SAMPLE_OBSERVATIONS, SAMPLE_REFUSALS } from '../helpers/emf';

// Template JSON is untyped.
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

function synth(gateway: NonNullable<ConstructorParameters<typeof GatewayStack>[2]>['gateway'] = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(
    new GatewayStack(app, 'ObservedGateway', { env: { account: '123456789012', region: 'eu-west-1' }, gateway }),
  );
}

/** The dashboard body as JSON: the Fn::Join's parts concatenated, CloudFormation references stubbed. */
function dashboardBody(template: Template): { widgets: { properties: Record<string, any> }[] } {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resources[string][];
  const body = dashboard!.Properties.DashboardBody;
  const text =
    typeof body === 'string'
      ? body
      : (body['Fn::Join'][1] as unknown[]).map((part) => (typeof part === 'string' ? part : 'REF')).join('');
  return JSON.parse(text);
}

/**
 * Every gateway metric the dashboard shows, as `Namespace|Name|dims` (dims sorted): plain metric
 * arrays (`[namespace, name, dim, value, ..., {options}]`) and SEARCH expressions over a
 * `{namespace,dim,...}` schema.
 */
function dashboardMetrics(template: Template): string[] {
  const shown: string[] = [];
  for (const widget of dashboardBody(template).widgets) {
    for (const entry of (widget.properties.metrics ?? []) as unknown[][]) {
      const expression = (
        entry.find((e) => typeof e === 'object' && e && 'expression' in e) as { expression: string } | undefined
      )?.expression;
      if (expression) {
        const search = /SEARCH\('\{([^}]+)\} MetricName="([^"]+)"/.exec(expression);
        if (search) {
          const [namespace, ...dims] = search[1]!.split(',');
          shown.push(`${namespace}|${search[2]}|${dims.sort().join(',')}`);
        }
        continue;
      }
      if (entry[0] !== 'LlmGateway') continue;
      const pairs = entry.slice(2).filter((e) => typeof e === 'string') as string[];
      const dims = pairs.filter((_, i) => i % 2 === 0);
      shown.push(`${entry[0]}|${entry[1]}|${dims.sort().join(',')}`);
    }
  }
  return shown;
}

/** Logs Insights words that are not fields. */
const QUERY_KEYWORDS = new Set([
  'fields',
  'filter',
  'stats',
  'sort',
  'limit',
  'by',
  'as',
  'asc',
  'desc',
  'and',
  'or',
  'not',
  'in',
  'like',
]);

/**
 * The log fields a Logs Insights query names: identifiers outside string literals that are not
 * keywords, functions (`sum(`) or the aliases it defines (`as costUsd`, which `sort` may name).
 */
function fieldsNamed(query: string): string[] {
  const statements = query.replace(/"[^"]*"/g, '""').split('|');
  const aliases = new Set([...query.matchAll(/\bas\s+(\w+)/g)].map((match) => match[1]!));
  const fields = new Set<string>();
  for (const statement of statements) {
    const isSort = /^\s*sort\b/.test(statement);
    const text = statement.replace(/\bas\s+\w+/g, '').replace(/[@\w.]+\s*\(/g, '(');
    for (const [token] of text.matchAll(/@?[A-Za-z_][\w.]*/g)) {
      if (QUERY_KEYWORDS.has(token) || (isSort && aliases.has(token))) continue;
      fields.add(token);
    }
  }
  return [...fields].sort();
}

/**
 * The JSON log lines `fn` writes to stdout at INFO level (tests run the logger silent otherwise),
 * EMF documents included: a request's summary line is also its metrics document.
 */
function captureLogLines(fn: () => void): Record<string, unknown>[] {
  const written: string[] = [];
  const original = process.stdout.write;
  const level = logger.getLevelName();
  logger.setLogLevel('INFO');
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = original;
    logger.setLogLevel(level);
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A request with every optional fact present, so its summary line carries every field it can. */
const FULL_OBSERVATION: RequestObservation = {
  ...SAMPLE_OBSERVATIONS[0]!,
  streamed: true,
  timeToFirstTokenMs: 140,
  limitType: 'team_tokens',
};

describe('observability (dashboard, alarms, queries)', () => {
  const template = synth();

  it('shows on the dashboard only metrics the code emits, with the same dimensions', async () => {
    const emitted = publishedMetrics(
      await captureEmf(() => {
        SAMPLE_OBSERVATIONS.forEach((observation) => observeRequest(observation));
        observeAuthRefusal(SAMPLE_REFUSALS.authRefusal);
        observeAdminRefusal(SAMPLE_REFUSALS.adminRefusal);
      }),
    );
    const shown = dashboardMetrics(template);
    expect(shown.length).toBeGreaterThan(30);
    const missing = [...new Set(shown)].filter((metric) => !emitted.has(metric));
    expect(missing).toEqual([]);
    // And the dashboard covers what operators need.
    for (const name of ['Requests', 'Latency', 'GatewayOverhead', 'TimeToFirstToken', 'Throttles', 'CostMicros']) {
      expect(shown.some((metric) => metric.includes(`|${name}|`))).toBe(true);
    }
    expect(shown).toContain('LlmGateway|CostMicros|service,team'); // by team, via SEARCH
    expect(shown).toContain('LlmGateway|Throttles|limitType,service');
    expect(shown).toContain('LlmGateway|AuthRefusals|reason,service');
    expect(shown).toContain('LlmGateway|AdminRefusals|service');
  });

  it('shows Lambda concurrency, duration, errors, and DynamoDB throttling', () => {
    const body = JSON.stringify(dashboardBody(template));
    for (const metric of ['ConcurrentExecutions', 'Duration', 'Errors', 'Throttles', 'WriteThrottleEvents']) {
      expect(body).toContain(`"${metric}"`);
    }
  });

  it('alarms to one SNS topic: 5xx rate, provider errors, p99 latency, DynamoDB throttles, each Lambda', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resources[string][];
    // Service alarms + errors and throttles of each Lambda, at least; other tests pin the others.
    expect(alarms.length).toBeGreaterThanOrEqual(4 + 2 * 5 + 1);
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    const descriptions = alarms.map((a) => String(a.Properties.AlarmDescription));
    for (const text of [
      '5xx',
      'provider calls',
      'p99 latency',
      'DynamoDB throttled',
      'gateway Lambda failed',
      'Refused team API keys',
    ]) {
      expect(descriptions.some((d) => d.includes(text))).toBe(true);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Latency',
      Namespace: 'LlmGateway',
      ExtendedStatistic: 'p99',
      Threshold: 20_000,
    });
  });

  it('alarms the day a catalog model is listed as Legacy on Bedrock (the daily lifecycle check counts it)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'LegacyModels',
      Namespace: 'LlmGateway',
      Dimensions: [{ Name: 'service', Value: 'llm-gateway' }],
      Statistic: 'Sum',
      Period: 86_400,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('sends budget alerts (soft threshold and exhausted) and held tool calls to the same topic', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['llm-gateway'],
        'detail-type': ['Budget Soft Threshold Crossed', 'Budget Exhausted', 'Tool Call Held For Approval'],
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('AlarmTopic') } })],
    });
  });

  it('subscribes an email address only when one is given', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    synth({ alarmEmail: 'ops@example.com' }).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('saves Logs Insights queries over the fields the request summary line logs', () => {
    const queries = Object.values(template.findResources('AWS::Logs::QueryDefinition')) as Resources[string][];
    const byName = Object.fromEntries(queries.map((q) => [q.Properties.Name, String(q.Properties.QueryString)]));
    expect(Object.keys(byName).sort()).toEqual([
      'llm-gateway/cost-by-team',
      'llm-gateway/errors',
      'llm-gateway/policy-decisions',
      'llm-gateway/top-users',
    ]);
    expect(byName['llm-gateway/cost-by-team']).toContain('sum(costMicros)');
    expect(byName['llm-gateway/cost-by-team']).toContain('by teamId');
    expect(byName['llm-gateway/top-users']).toContain('by teamId, keyId');
    for (const query of queries) {
      expect(query.Properties.LogGroupNames).toHaveLength(2); // the two faces that serve requests
    }
  });

  it('names in its saved queries only fields the request summary line carries', () => {
    const lines = captureLogLines(() => observeRequest(FULL_OBSERVATION));
    const summary = lines.find((line) => line.message === REQUEST_SUMMARY.message);
    expect(summary).toBeDefined();
    // The line carries every field of the table the queries are written from.
    for (const field of Object.values(REQUEST_SUMMARY.fields)) expect(summary).toHaveProperty(field);
    const queries = Object.values(template.findResources('AWS::Logs::QueryDefinition')) as Resources[string][];
    expect(queries).toHaveLength(4);
    for (const query of queries) {
      const text = String(query.Properties.QueryString);
      expect(text).toContain(`message = "${REQUEST_SUMMARY.message}"`);
      const unknown = fieldsNamed(text).filter((field) => !(field in summary!));
      expect({ query: query.Properties.Name, unknown }).toEqual({ query: query.Properties.Name, unknown: [] });
    }
  });

  it('reads the fields a Logs Insights query names, not its keywords, functions or aliases', () => {
    const query =
      'fields @timestamp\n| filter message = "request completed" and decision != "allow"\n' +
      '| stats sum(costMicros) / 1000000 as costUsd, sum(inputTokens) as inputTokens by teamId, keyId\n' +
      '| sort costUsd desc\n| limit 25';
    expect(fieldsNamed(query)).toEqual([
      '@timestamp',
      'costMicros',
      'decision',
      'inputTokens',
      'keyId',
      'message',
      'teamId',
    ]);
  });
});
