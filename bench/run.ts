/**
 * `npm run bench`: measures the gateway on this machine, prints one table and writes it (with the
 * date, Node version and CPU, so runs can be compared) to the git-ignored `bench/results.local.json`.
 * `bench/results.json` holds the committed figures the README quotes; only `--record` replaces it.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { benchColdStart } from './cold-start';
import { benchDlp, benchDlpCode, type BenchRow } from './dlp';
import { benchPartitionHeat } from './partition-heat';
import { benchOverhead } from './overhead';
import { benchProviderClient } from './provider-client';
import { benchSideBySide } from './side-by-side';

function table(rows: readonly BenchRow[]): string {
  const width = Math.max(...rows.map((r) => `${r.section}: ${r.metric}`.length));
  return rows
    .map((r) => {
      const value =
        r.value >= 100 ? r.value.toFixed(0) : r.value >= 1 || r.value === 0 ? r.value.toFixed(2) : r.value.toFixed(3);
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

const USAGE = `Usage: npm run bench [-- --record]

Measures the gateway on this machine (about 3 minutes) and prints one table.
  (default)   writes the run to bench/results.local.json (git-ignored), to compare with
              the committed figures in bench/results.json
  --record    replaces the committed figures in bench/results.json (commit it deliberately)
  --help      this text
Environment: BENCH_ITERATIONS (default 300), BENCH_LOAD_SECONDS (default 30),
  BENCH_DLP_CODE_MB (default 150: MB of node_modules code scanned for DLP code precision),
  BENCH_SIDE_BY_SIDE_ROUNDS (default 400: sequential rounds against Portkey's gateway),
  BENCH_SIDE_BY_SIDE_LOAD_SECONDS (default 10: load-test seconds for each of the two gateways).
`;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => !['--record', '--help', '-h'].includes(arg));
  if (unknown.length > 0 || args.includes('--help') || args.includes('-h')) {
    (unknown.length > 0 ? process.stderr : process.stdout).write(USAGE);
    process.exit(unknown.length > 0 ? 2 : 0);
  }
  const output = args.includes('--record') ? 'results.json' : 'results.local.json';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // Cold start and DLP first, on a quiet machine; the load test last.
  const rows: BenchRow[] = [
    ...benchColdStart(),
    ...benchDlp(),
    ...(await benchProviderClient()),
    ...benchDlpCode({ megabytes: Number(process.env.BENCH_DLP_CODE_MB ?? 150) }),
    // 1,000 requests: about 31 on each of 32 usage shards (see benchPartitionHeat on sampling).
    ...(await quietly(() => benchPartitionHeat({ requests: Number(process.env.BENCH_HEAT_REQUESTS ?? 1_000) }))),
    ...(await quietly(() =>
      benchOverhead({
        iterations: Number(process.env.BENCH_ITERATIONS ?? 300),
        loadSeconds: Number(process.env.BENCH_LOAD_SECONDS ?? 30),
      }),
    )),
    // Against Portkey's open-source gateway, in one run: about 45 s.
    ...(await quietly(() =>
      benchSideBySide({
        rounds: Number(process.env.BENCH_SIDE_BY_SIDE_ROUNDS ?? 400),
        loadSeconds: Number(process.env.BENCH_SIDE_BY_SIDE_LOAD_SECONDS ?? 10),
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
  writeFileSync(path.join(__dirname, output), JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwritten to bench/${output}${output === 'results.json' ? '' : ' (bench/results.json: --record)'}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
