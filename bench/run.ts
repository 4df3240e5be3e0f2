/**
 * `npm run bench`: measures the gateway on this machine, prints one table and writes it to
 * `bench/results.json` (with the date, Node version and CPU, so runs can be compared).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { benchColdStart } from './cold-start';
import { benchDlp, type BenchRow } from './dlp';
import { benchOverhead } from './overhead';

function table(rows: readonly BenchRow[]): string {
  const width = Math.max(...rows.map((r) => `${r.section}: ${r.metric}`.length));
  return rows
    .map((r) => {
      const value = r.value >= 100 ? r.value.toFixed(0) : r.value.toFixed(2);
      return `${`${r.section}: ${r.metric}`.padEnd(width)}  ${value.padStart(10)} ${r.unit}${r.target ? `  (target ${r.target})` : ''}`;
    })
    .join('\n');
}

/**
 * Runs `fn` with stdout and stderr discarded. The gateway in this process writes its summary log
 * line and EMF metrics document for every request, as in Lambda (where CloudWatch takes them):
 * their cost is measured, their text would bury the table. An error still reaches the caller.
 */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const { stdout, stderr } = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

async function main(): Promise<void> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // Cold start and DLP first, on a quiet machine; the load test last.
  const rows: BenchRow[] = [
    ...benchColdStart(),
    ...benchDlp(),
    ...(await quietly(() =>
      benchOverhead({
        iterations: Number(process.env.BENCH_ITERATIONS ?? 300),
        loadSeconds: Number(process.env.BENCH_LOAD_SECONDS ?? 30),
      }),
    )),
  ];
  console.log(table(rows));
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    rows,
  };
  writeFileSync(path.join(__dirname, 'results.json'), JSON.stringify(results, null, 2) + '\n');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
