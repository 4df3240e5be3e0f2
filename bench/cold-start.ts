import { ENVIRONMENT_VARIABLES } from '../lambdas/shared/config/constants';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { gatewayConfig } from '../gateway.config';
import { parseGatewayConfig } from '../lambdas/shared/catalog/schema';
import type { BenchRow } from './dlp';

const ROOT = path.join(__dirname, '..');
/** Inside the repository, so the bundles resolve `@aws-sdk/*` from node_modules as Lambda's runtime provides it. */
const OUT = path.join(ROOT, '.cache', 'bench-bundles');

/** The Lambda entry points, as the CDK app bundles them. */
const ENTRIES = {
  gateway: 'lambdas/gateway/index.ts',
  stream: 'lambdas/gateway/stream.ts',
  auth: 'lambdas/auth/index.ts',
  usage: 'lambdas/usage/index.ts',
  maintenance: 'lambdas/maintenance/index.ts',
} as const;

/** What every function's cold start pays anyway: loading the AWS SDK clients it uses and constructing them. */
const BASELINE = `
const { DynamoDBClient } = require('@aws-sdk/client-dynamodb');
const { DynamoDBDocumentClient } = require('@aws-sdk/lib-dynamodb');
const { BedrockRuntimeClient } = require('@aws-sdk/client-bedrock-runtime');
const { EventBridgeClient } = require('@aws-sdk/client-eventbridge');
const { SecretsManagerClient } = require('@aws-sdk/client-secrets-manager');
DynamoDBDocumentClient.from(new DynamoDBClient({}));
new BedrockRuntimeClient({}); new EventBridgeClient({}); new SecretsManagerClient({});
exports.handler = async () => ({ statusCode: 200 });
`;

/** Bundles one entry with the CDK app's esbuild settings (minified CJS for node22, source map, SDK external). */
function bundle(name: string, entry: { file: string } | { contents: string }): { outfile: string; modules: string[] } {
  const outfile = path.join(OUT, name, 'index.js');
  const { metafile } = buildSync({
    ...('file' in entry
      ? { entryPoints: [path.join(ROOT, entry.file)] }
      : { stdin: { contents: entry.contents, resolveDir: ROOT, loader: 'js' } }),
    bundle: true,
    minify: true,
    sourcemap: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    mainFields: ['module', 'main'],
    external: ['@aws-sdk/*'],
    define: { __GATEWAY_CONFIG__: JSON.stringify(parseGatewayConfig(gatewayConfig)) },
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
  // Source files bundled, and the external SDK packages the bundle requires at load.
  const output = Object.values(metafile!.outputs)[0]!;
  return { outfile, modules: [...Object.keys(metafile!.inputs), ...output.imports.map((i) => i.path)] };
}

/** Ms to load a bundle and run its module-level setup in a fresh Node process. */
function loadTime(file: string): number {
  const env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    IDENTITY_TABLE: 'identity',
    USAGE_TABLE: 'usage',
    COUNTERS_TABLE: 'counters',
    AUDIT_TABLE: 'audit',
    POWERTOOLS_METRICS_DISABLED: 'true',
    // The auth and usage Lambdas refuse to start without the admin allow-list (empty: nobody).
    [ENVIRONMENT_VARIABLES.adminPrincipals]: '',
  };
  const script =
    'globalThis.awslambda={streamifyResponse:(h)=>h,HttpResponseStream:{from:(s)=>s}};' +
    `const t=process.hrtime.bigint();require(${JSON.stringify(file)});` +
    'process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))';
  return Number(execFileSync(process.execPath, ['-e', script], { env, cwd: ROOT }).toString());
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * A bundle's load time against the baseline's, measured in pairs (baseline, then the bundle)
 * so that both see the same machine load: the median of the pairs' ratios, and the medians.
 */
function pairedLoadTimes(file: string, baselineFile: string, pairs = 11) {
  const baseline: number[] = [];
  const bundle: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    baseline.push(loadTime(baselineFile));
    bundle.push(loadTime(file));
    ratios.push(bundle[i]! / baseline[i]!);
  }
  return { baselineMs: median(baseline), bundleMs: median(bundle), ratio: median(ratios) };
}

/**
 * Cold start: each Lambda's bundle size as the CDK app builds it, and the time to load it (and
 * construct its clients) in a fresh Node process, against a baseline bundle that only loads and
 * constructs the same AWS SDK clients. Also checks that the usage and auth bundles carry no
 * provider code.
 */
export function benchColdStart(): BenchRow[] {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const baselineFile = bundle('baseline', { contents: BASELINE }).outfile;
  const rows: BenchRow[] = [];
  const baselineTimes: number[] = [];
  for (const [name, file] of Object.entries(ENTRIES)) {
    const { outfile: out, modules } = bundle(name, { file });
    const kb = statSync(out).size / 1024;
    const { baselineMs, bundleMs, ratio } = pairedLoadTimes(out, baselineFile);
    baselineTimes.push(baselineMs);
    rows.push({ section: 'Cold start', metric: `${name}: bundle size`, value: kb, unit: 'KB' });
    rows.push({ section: 'Cold start', metric: `${name}: load time`, value: bundleMs, unit: 'ms' });
    rows.push({
      section: 'Cold start',
      metric: `${name}: load time (x baseline)`,
      value: ratio,
      unit: 'x',
      target: '<= 1.25x',
    });
    if (name === 'usage' || name === 'auth') {
      const providerModules = modules.filter((m) =>
        /lambdas\/shared\/providers\/(openai|anthropic|bedrock)\/(adapter|request|response|stream)|client-bedrock-runtime|@anthropic-ai|node_modules\/openai\//.test(
          m,
        ),
      );
      rows.push({
        section: 'Cold start',
        metric: `${name}: provider modules in bundle`,
        value: providerModules.length,
        unit: 'modules',
        target: '0',
      });
    }
  }
  writeFileSync(path.join(OUT, 'README.txt'), 'Bundles built by npm run bench; safe to delete.\n');
  return [
    {
      section: 'Cold start',
      metric: 'baseline (SDK clients only): load time',
      value: median(baselineTimes),
      unit: 'ms',
    },
    ...rows,
  ];
}
