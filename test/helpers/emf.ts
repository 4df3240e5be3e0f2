import type {
  AdminRefusalObservation,
  AuthRefusalObservation,
  RequestObservation,
} from '../../lambdas/shared/observability/metrics';

/** One CloudWatch embedded-metric-format document, as parsed from a log line. */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[];
  };
  [key: string]: unknown;
}

/**
 * Runs `fn` with Powertools Metrics enabled and returns the EMF documents it wrote to stdout
 * (other output, such as log lines, is dropped; nothing reaches the terminal).
 *
 * @example
 * const docs = await captureEmf(() => observeRequest(observation));
 */
export async function captureEmf(fn: () => unknown): Promise<EmfDocument[]> {
  const written: string[] = [];
  const original = process.stdout.write;
  const disabled = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
  } finally {
    process.stdout.write = original;
    process.env.POWERTOOLS_METRICS_DISABLED = disabled;
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfDocument);
}

/** Every (metric name, dimension names) pair the documents publish, as `Name|dim1,dim2` (dims sorted). */
export function publishedMetrics(docs: readonly EmfDocument[]): Set<string> {
  const published = new Set<string>();
  for (const doc of docs) {
    for (const directive of doc._aws.CloudWatchMetrics) {
      for (const metric of directive.Metrics) {
        for (const set of directive.Dimensions) {
          published.add(`${directive.Namespace}|${metric.Name}|${[...set].sort().join(',')}`);
        }
      }
    }
  }
  return published;
}

/** Observations of every kind the chat service reports. */
export const SAMPLE_OBSERVATIONS: RequestObservation[] = [
  {
    requestId: 'req-ok',
    teamId: 'payments',
    keyId: 'abcdefghijkl',
    requestedModel: 'sonnet',
    model: 'claude-sonnet-4',
    provider: 'bedrock',
    outcome: 'ok',
    httpStatus: 200,
    streamed: false,
    decision: 'redact',
    ruleIds: ['dlp:email'],
    usage: { inputTokens: 100, outputTokens: 20, cacheReadTokens: 50, cacheWriteTokens: 0 },
    costMicros: 1234,
    latencyMs: 812,
    upstreamMs: 800,
    attempts: 2,
    fellBack: true,
    failedAttempts: 1,
    cache: 'miss',
  },
  {
    requestId: 'req-stream',
    teamId: 'payments',
    keyId: 'abcdefghijkl',
    requestedModel: 'mock-small',
    model: 'mock-small',
    provider: 'mock',
    outcome: 'error',
    httpStatus: 502,
    streamed: true,
    decision: 'allow',
    ruleIds: [],
    usage: { inputTokens: 10, outputTokens: 3, cacheReadTokens: 0, cacheWriteTokens: 0 },
    costMicros: 5,
    latencyMs: 3000,
    upstreamMs: 120,
    timeToFirstTokenMs: 130,
    attempts: 1,
    fellBack: false,
    failedAttempts: 0,
  },
  {
    requestId: 'req-blocked',
    teamId: 'search',
    keyId: 'bcdefghijklm',
    requestedModel: 'mock-small',
    outcome: 'blocked',
    httpStatus: 400,
    streamed: false,
    decision: 'block',
    ruleIds: ['dlp:private_key'],
    latencyMs: 3,
  },
  {
    requestId: 'req-budget',
    teamId: 'search',
    keyId: 'bcdefghijklm',
    requestedModel: 'mock-small',
    outcome: 'budget_exhausted',
    httpStatus: 429,
    streamed: false,
    decision: 'allow',
    ruleIds: [],
    latencyMs: 4,
  },
  {
    requestId: 'req-throttled',
    teamId: 'search',
    keyId: 'bcdefghijklm',
    requestedModel: 'mock-small',
    outcome: 'throttled',
    httpStatus: 429,
    streamed: false,
    decision: 'allow',
    ruleIds: [],
    limitType: 'key_tokens',
    latencyMs: 4,
  },
];

/** A refused team API key and a refused admin principal, as the middleware and `requireAdmin` report them. */
export const SAMPLE_REFUSALS = {
  authRefusal: { reason: 'revoked', keyId: 'abcdefghijkl', sourceIp: '203.0.113.7', requestId: 'req-refused' },
  adminRefusal: {
    principal: 'arn:aws:sts::123456789012:assumed-role/Developer/bob',
    route: 'POST /v1/admin/teams',
    sourceIp: '203.0.113.8',
    requestId: 'req-admin-refused',
  },
} as const satisfies { authRefusal: AuthRefusalObservation; adminRefusal: AdminRefusalObservation };
