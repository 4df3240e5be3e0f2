import {
  DIMENSION_SETS,
  METRICS,
  METRICS_NAMESPACE,
  observeAdminRefusal,
  observeAuthRefusal,
  observeProbe,
  observeRequest,
  REQUEST_SUMMARY,
  requestSummary,
  type MetricKey,
} from '../../lambdas/shared/observability/metrics';
import { logger } from '../../lambdas/shared/observability/logger';
import { captureEmf, SAMPLE_OBSERVATIONS, SAMPLE_REFUSALS, type EmfDocument } from '../helpers/emf';

/** The metrics each kind of emission may carry: stated here, independently of `metricValues`. */
const EMITTED = {
  request: [
    'requests',
    'clientErrors',
    'serverErrors',
    'providerErrors',
    'retries',
    'fallbacks',
    'latency',
    'streamDuration',
    'upstreamLatency',
    'gatewayOverhead',
    'timeToFirstToken',
    'inputTokens',
    'outputTokens',
    'cachedTokens',
    'costMicros',
    'policyBlocks',
    'policyRedactions',
    'policyAlerts',
    'coldStarts',
    'cacheHits',
    'cacheMisses',
  ],
  refusal: [
    'requests',
    'clientErrors',
    'serverErrors',
    'latency',
    'budgetRejections',
    'policyBlocks',
    'policyAlerts',
    'policyRedactions',
    'coldStarts',
  ],
  throttle: ['requests', 'clientErrors', 'latency', 'throttles', 'coldStarts'],
  authRefusal: ['authRefusals'],
  adminRefusal: ['adminRefusals'],
  modelLifecycle: ['legacyModels'],
  healthProbe: ['deploymentHealthy', 'probeLatency'],
} as const satisfies Record<keyof typeof DIMENSION_SETS, readonly MetricKey[]>;

const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

/**
 * The EMF specification's rules for one document: the `_aws` metadata with an integer epoch-ms
 * `Timestamp` and a non-empty `CloudWatchMetrics` array; each directive a namespace, dimension
 * sets of at most 30 names each referring to a string member of the root, and at most 100
 * metrics each naming a numeric root member (a number, or an array of at most 100 numbers), with
 * a valid unit. Returns the violations (none for a valid document).
 */
function emfViolations(doc: EmfDocument): string[] {
  const problems: string[] = [];
  const aws = doc._aws;
  if (!aws || typeof aws !== 'object') return ['no _aws member'];
  if (!Number.isInteger(aws.Timestamp) || aws.Timestamp < 1e12) problems.push('Timestamp is not epoch milliseconds');
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) {
    return [...problems, 'CloudWatchMetrics is not a non-empty array'];
  }
  for (const directive of aws.CloudWatchMetrics) {
    if (typeof directive.Namespace !== 'string' || directive.Namespace.length < 1 || directive.Namespace.length > 255) {
      problems.push('bad Namespace');
    }
    for (const set of directive.Dimensions) {
      if (!Array.isArray(set) || set.length > 30) problems.push(`dimension set too large: ${JSON.stringify(set)}`);
      for (const name of set) {
        if (typeof doc[name] !== 'string') problems.push(`dimension ${name} has no string value in the root`);
      }
    }
    if (directive.Metrics.length > 100) problems.push('more than 100 metrics');
    for (const metric of directive.Metrics) {
      const value = doc[metric.Name];
      const numeric =
        typeof value === 'number' ||
        (Array.isArray(value) && value.length <= 100 && value.every((v) => typeof v === 'number'));
      if (!numeric) problems.push(`metric ${metric.Name} has no numeric value in the root`);
      if (metric.Unit !== undefined && !UNITS.has(metric.Unit)) problems.push(`metric ${metric.Name}: bad unit`);
    }
  }
  return problems;
}

describe('metrics as CloudWatch embedded metric format', () => {
  let docs: EmfDocument[];
  beforeAll(async () => {
    docs = await captureEmf(() => SAMPLE_OBSERVATIONS.forEach((observation) => observeRequest(observation)));
  });

  it('writes one valid EMF document per request, in the gateway namespace', () => {
    expect(docs).toHaveLength(SAMPLE_OBSERVATIONS.length);
    for (const doc of docs) {
      expect(emfViolations(doc)).toEqual([]);
      expect(doc._aws.CloudWatchMetrics[0]!.Namespace).toBe(METRICS_NAMESPACE);
    }
  });

  it('publishes each kind of request under its dimension sets, with the units of the metric table', () => {
    const kinds = ['request', 'request', 'refusal', 'refusal', 'throttle'] as const;
    docs.forEach((doc, i) => {
      const directive = doc._aws.CloudWatchMetrics[0]!;
      expect(directive.Dimensions.map((set) => [...set].sort())).toEqual(
        DIMENSION_SETS[kinds[i]!].map((set) => [...set].sort()),
      );
      const emitted = new Set<string>(EMITTED[kinds[i]!].map((key) => METRICS[key].name));
      for (const metric of directive.Metrics) {
        expect(emitted).toContain(metric.Name);
        const key = Object.values(METRICS).find((m) => m.name === metric.Name)!;
        expect(metric.Unit).toBe(key.unit);
      }
    });
  });

  it('counts what happened: tokens, cost, retries, fallbacks, decisions, throttles by limit type', () => {
    const [ok, stream, blocked, budget, throttled] = docs as [
      EmfDocument,
      EmfDocument,
      EmfDocument,
      EmfDocument,
      EmfDocument,
    ];
    expect(ok).toMatchObject({
      model: 'claude-sonnet-4',
      provider: 'bedrock',
      team: 'payments',
      Requests: 1,
      InputTokens: 150,
      OutputTokens: 20,
      CachedTokens: 50,
      CostMicros: 1234,
      Retries: 1,
      Fallbacks: 1,
      ProviderErrors: 1,
      PolicyRedactions: 1,
      Latency: 812,
      UpstreamLatency: 800,
      GatewayOverhead: 12,
      CacheHits: 0,
      CacheMisses: 1,
    });
    // A team without a response cache publishes neither cache metric.
    expect(stream).not.toHaveProperty('CacheMisses');
    expect(stream).toMatchObject({ ServerErrors: 1, TimeToFirstToken: 130, StreamDuration: 3000 });
    expect(stream).not.toHaveProperty('Latency');
    expect(stream).not.toHaveProperty('GatewayOverhead');
    expect(blocked).toMatchObject({ team: 'search', PolicyBlocks: 1, ClientErrors: 1 });
    expect(budget).toMatchObject({ BudgetRejections: 1 });
    expect(throttled).toMatchObject({ limitType: 'key_tokens', Throttles: 1 });
  });

  it('never uses key ids or request ids as dimensions (request ids are metadata only)', () => {
    for (const doc of docs) {
      const dimensions = doc._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions.flat());
      expect(dimensions).not.toContain('keyId');
      expect(dimensions).not.toContain('requestId');
      expect(Object.values(doc)).not.toContain('abcdefghijkl');
    }
    expect(docs[0]!['requestId']).toBe('req-ok');
  });
});

describe('refusal metrics as CloudWatch embedded metric format', () => {
  it('writes one valid document per refused key and per refused admin, under their dimension sets', async () => {
    const [auth, admin] = (await captureEmf(() => {
      observeAuthRefusal(SAMPLE_REFUSALS.authRefusal);
      observeAdminRefusal(SAMPLE_REFUSALS.adminRefusal);
    })) as [EmfDocument, EmfDocument];
    for (const [doc, kind] of [
      [auth, 'authRefusal'],
      [admin, 'adminRefusal'],
    ] as const) {
      expect(emfViolations(doc)).toEqual([]);
      const directive = doc._aws.CloudWatchMetrics[0]!;
      expect(directive.Namespace).toBe(METRICS_NAMESPACE);
      expect(directive.Dimensions.map((set) => [...set].sort())).toEqual(
        DIMENSION_SETS[kind].map((set) => [...set].sort()),
      );
      expect(directive.Metrics).toEqual(
        EMITTED[kind].map((key) => ({ Name: METRICS[key].name, Unit: METRICS[key].unit })),
      );
    }
    expect(auth).toMatchObject({ reason: 'revoked', AuthRefusals: 1 });
    expect(admin).toMatchObject({ AdminRefusals: 1 });
    // Principals, routes, addresses and key ids are log fields, never metric values or dimensions.
    for (const value of ['abcdefghijkl', '203.0.113.7', '203.0.113.8', SAMPLE_REFUSALS.adminRefusal.principal]) {
      expect(JSON.stringify([auth, admin])).not.toContain(value);
    }
  });
});

describe('health probe metrics as CloudWatch embedded metric format', () => {
  it('writes DeploymentHealthy (1 or 0) and ProbeLatency by model', async () => {
    const [up, down] = (await captureEmf(() => {
      observeProbe({ model: 'claude-sonnet-4-6', provider: 'bedrock', healthy: true, latencyMs: 412 });
      observeProbe({ model: 'gpt', provider: 'openai', healthy: false, latencyMs: 10_000, failure: 'timeout' });
    })) as [EmfDocument, EmfDocument];
    for (const doc of [up, down]) {
      expect(emfViolations(doc)).toEqual([]);
      const directive = doc._aws.CloudWatchMetrics[0]!;
      expect(directive.Dimensions.map((set) => [...set].sort())).toEqual(
        DIMENSION_SETS.healthProbe.map((set) => [...set].sort()),
      );
      expect(directive.Metrics).toEqual(
        EMITTED.healthProbe.map((key) => ({ Name: METRICS[key].name, Unit: METRICS[key].unit })),
      );
    }
    expect(up).toMatchObject({ model: 'claude-sonnet-4-6', DeploymentHealthy: 1, ProbeLatency: 412 });
    expect(down).toMatchObject({ model: 'gpt', DeploymentHealthy: 0, ProbeLatency: 10_000 });
  });
});

/** Every line `fn` writes to stdout, parsed, at a log level and with metrics on or off. */
function captureLines(level: 'INFO' | 'SILENT', metrics: boolean, fn: () => void): Record<string, unknown>[] {
  const written: string[] = [];
  const original = process.stdout.write;
  const previousLevel = logger.getLevelName();
  const disabled = process.env.POWERTOOLS_METRICS_DISABLED;
  logger.setLogLevel(level);
  process.env.POWERTOOLS_METRICS_DISABLED = metrics ? 'false' : 'true';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = original;
    logger.setLogLevel(previousLevel);
    process.env.POWERTOOLS_METRICS_DISABLED = disabled;
  }
  const text = written.join('');
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('one log line per request', () => {
  it('writes the summary and the EMF document as one line: every summary field, a valid document', () => {
    const lines = captureLines('INFO', true, () => SAMPLE_OBSERVATIONS.forEach((o) => observeRequest(o)));
    expect(lines).toHaveLength(SAMPLE_OBSERVATIONS.length);
    lines.forEach((line, i) => {
      const observation = SAMPLE_OBSERVATIONS[i]!;
      expect(line).toMatchObject({ level: 'INFO', message: REQUEST_SUMMARY.message, service: 'llm-gateway' });
      // The queries' fields, with the values the summary gives them (absent ones stay absent).
      const summary = JSON.parse(JSON.stringify(requestSummary(observation))) as Record<string, unknown>;
      for (const [field, value] of Object.entries(summary)) expect(line[field]).toEqual(value);
      expect(emfViolations(line as EmfDocument)).toEqual([]);
      const dimensions = (line as EmfDocument)._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions.flat());
      expect(dimensions).not.toContain('keyId');
      expect(dimensions).not.toContain('requestId');
    });
  });

  it('still writes the metrics when INFO lines are off, without the summary fields', () => {
    const lines = captureLines('SILENT', true, () => observeRequest(SAMPLE_OBSERVATIONS[0]!));
    expect(lines).toHaveLength(1);
    expect(emfViolations(lines[0] as EmfDocument)).toEqual([]);
    expect(lines[0]).not.toHaveProperty('message');
    expect(lines[0]).not.toHaveProperty('keyId');
  });

  it('writes the summary alone when metrics are switched off, and nothing when both are off', () => {
    const lines = captureLines('INFO', false, () => observeRequest(SAMPLE_OBSERVATIONS[0]!));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ message: REQUEST_SUMMARY.message, keyId: 'abcdefghijkl' });
    expect(lines[0]).not.toHaveProperty('_aws');
    expect(captureLines('SILENT', false, () => observeRequest(SAMPLE_OBSERVATIONS[0]!))).toEqual([]);
  });
});
