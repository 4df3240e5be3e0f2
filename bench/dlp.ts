import { BUILTIN_DETECTORS } from '../lambdas/shared/policy/detectors';
import { PolicyEngine } from '../lambdas/shared/policy/engine';
import { policiesSchema } from '../lambdas/shared/policy/schema';
import { DLP_CORPUS } from '../test/dlp/corpus';

/** One measured figure of the benchmark table. */
export interface BenchRow {
  section: string;
  metric: string;
  value: number;
  unit: string;
  /** What the figure is held against, when there is a target. */
  target?: string;
}

/**
 * A realistic prompt of about `bytes` bytes: the labelled corpus's texts (findings and hard
 * negatives alike) between paragraphs of ordinary prose, repeated until long enough.
 */
export function samplePrompt(bytes: number): string {
  const prose =
    'The quarterly review covers revenue, hiring plans and the migration of the billing service to the new ' +
    'platform; order 88231-X shipped on 2026-03-14 and version 4.12.0 of the client is rolled out. ';
  let text = '';
  for (let i = 0; Buffer.byteLength(text) < bytes; i++) {
    text += `${prose}${DLP_CORPUS[i % DLP_CORPUS.length]!.text}\n\n`;
  }
  return text.slice(0, bytes);
}

/**
 * DLP scan throughput: a 100 KB prompt through a profile with every built-in detector on
 * (redacting), as the request path runs it (deny rules none, one redactor per request).
 */
export function benchDlp(): BenchRow[] {
  const policy = new PolicyEngine(
    policiesSchema.parse({
      profiles: { default: { detectors: BUILTIN_DETECTORS.map((detector) => ({ detector, action: 'redact' })) } },
    }),
  ).profileFor(undefined);
  const prompt = samplePrompt(100 * 1024);
  const mb = Buffer.byteLength(prompt) / (1024 * 1024);
  for (let i = 0; i < 5; i++) policy.checkText(prompt, 'input', policy.newRedactor()); // warm up the JIT
  const timings: number[] = [];
  for (let i = 0; i < 30; i++) {
    const start = process.hrtime.bigint();
    policy.checkText(prompt, 'input', policy.newRedactor());
    timings.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  timings.sort((a, b) => a - b);
  const median = timings[Math.floor(timings.length / 2)]!;
  return [
    { section: 'DLP scan', metric: '100 KB prompt, all 11 detectors: median time', value: median, unit: 'ms' },
    {
      section: 'DLP scan',
      metric: '100 KB prompt, all 11 detectors: throughput',
      value: mb / (median / 1000),
      unit: 'MB/s',
    },
  ];
}
