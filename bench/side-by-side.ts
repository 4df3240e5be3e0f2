import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { FakeOpenAi } from '../test/fakes/openai-server';
import type { BenchRow } from './dlp';
import { benchConfig } from './overhead';
import type { GatewayProcessOptions, GatewayProcessReady } from './gateway-process';

/** A 2 KB prompt, the size the overhead target is stated for (the same as bench/overhead.ts). */
const PROMPT = 'Summarise the following notes for the weekly report. '.repeat(38).slice(0, 2048);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

const SECTION = 'Side by side';

/** A port nobody listens on now (Portkey's server takes `--port=N`, not 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Collects a child's stderr (the last 4 KB), so a failed start says why. */
function tail(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => (text = (text + chunk.toString('utf8')).slice(-4096)));
  return () => text;
}

/**
 * Portkey's open-source gateway as its package starts it (`npx @portkey-ai/gateway`: the
 * package's bin, `build/start-server.js`, on Node), in its own process, on `--port`. `--headless`
 * only leaves out the log console's web page. It is stateless: each request names its provider
 * and upstream in headers (`x-portkey-provider`, `x-portkey-custom-host`).
 */
async function startPortkey(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const bin = require.resolve('@portkey-ai/gateway/build/start-server.js');
  const child = spawn(process.execPath, [bin, `--port=${port}`, '--headless'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const stderr = tail(child);
  const url = `http://127.0.0.1:${port}`;
  // It listens, then spends a second on a start-up spinner: ready is when `/` answers.
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`Portkey's gateway exited: ${stderr()}`);
    const up = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (up) return { url, child };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error(`Portkey's gateway did not answer on ${url}: ${stderr()}`);
}

/** Our gateway in a process of its own (bench/gateway-process.ts), started and stopped over IPC. */
async function startGatewayProcess(options: GatewayProcessOptions): Promise<{
  ready: GatewayProcessReady;
  replayed: () => Promise<number>;
  stop: () => Promise<void>;
}> {
  // `--import tsx` from the repository root: the child runs the TypeScript sources as `npm run bench` does.
  const child = fork(path.join(__dirname, 'gateway-process.ts'), [], {
    cwd: path.join(__dirname, '..'),
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_GATEWAY_PROCESS: JSON.stringify(options) },
    // Its per-request log line (and EMF document) is written, as in Lambda, to nowhere.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const stderr = tail(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = await Promise.race([
    new Promise<GatewayProcessReady>((resolve) => child.once('message', (m) => resolve(m as GatewayProcessReady))),
    exited.then((code) => Promise.reject(new Error(`gateway process exited (${code}): ${stderr()}`))),
  ]);
  return {
    ready,
    replayed: () =>
      new Promise<number>((resolve) => {
        child.once('message', (message) => resolve((message as { replayed: number }).replayed));
        child.send('replayed');
      }),
    // Asked to stop rather than killed, so the local runtime stops its DynamoDB Local (a JVM).
    stop: async () => {
      if (child.exitCode === null && child.connected) child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One autocannon run at 16 connections; its totals, for adding up slices. */
async function load(url: string, headers: Record<string, string>, body: string, seconds: number) {
  const result = await autocannon({
    url: `${url}/v1/chat/completions`,
    method: 'POST',
    headers,
    body,
    connections: 16,
    duration: seconds,
  });
  return {
    ok: result['2xx'],
    responses: result['2xx'] + (result.non2xx ?? 0),
    seconds: result.duration,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + (result.non2xx ?? 0),
  };
}

/**
 * Added latency and throughput side by side with Portkey's open-source gateway
 * (`@portkey-ai/gateway`, which checks no key, no quota and records nothing), in one run, over
 * one local OpenAI-format upstream.
 *
 * Latency: sequential 2 KB non-streamed requests in rounds of four (straight to the upstream;
 * ours on the HTTP API door; ours on the streaming door with `stream: false`; Portkey), the order
 * rotated each round so none always follows another; each round's "added" is that round's
 * through-X minus its direct time, so machine noise that spans a round cancels. Ours runs as
 * `npm start` runs it: the local runtime with its own DynamoDB Local; after each of our requests
 * an untimed pause lets its usage write, which runs after the answer, finish.
 *
 * Throughput: 16 connections against ours (the real handler behind the local HTTP server,
 * storage from memory) and Portkey, each in its own process, in slices A B B A of equal
 * length so drift on the shared machine hits both alike.
 */
/** Pause after each of our requests, untimed: its usage write (3-6 ms on DynamoDB Local) finishes in it. */
const SETTLE_MS = 25;

export async function benchSideBySide(options: { rounds: number; loadSeconds: number }): Promise<BenchRow[]> {
  const upstream = new FakeOpenAi(() => ({
    kind: 'completion',
    text: 'Fine, here is the summary.',
    usage: { prompt_tokens: 512, completion_tokens: 7 },
  }));
  // Thousands of requests: the upstream keeps none (see keepsRequests).
  upstream.keepsRequests = false;
  const upstreamUrl = await upstream.start();
  // The local runtime reads a connection's key from <CONNECTION>_API_KEY (local/local-gateway.ts).
  process.env.OPENAI_API_KEY = 'sk-bench';
  const config = benchConfig(upstreamUrl);
  const stops: (() => Promise<void>)[] = [];
  try {
    const local = await startGatewayProcess({ mode: 'local', config });
    stops.unshift(local.stop);
    const gateway = local.ready as Required<GatewayProcessReady>;
    const portkey = await startPortkey();
    stops.unshift(async () => {
      const exited = new Promise((resolve) => portkey.child.once('exit', resolve));
      if (portkey.child.exitCode === null) portkey.child.kill();
      await exited;
    });

    const direct = JSON.stringify({
      model: 'gpt-4o-mini',
      stream: false,
      messages: [{ role: 'user', content: PROMPT }],
    });
    const ours = JSON.stringify({ model: 'gpt', stream: false, messages: [{ role: 'user', content: PROMPT }] });
    const json = { 'content-type': 'application/json' };
    const oursHeaders = { ...json, authorization: `Bearer ${gateway.demoKey}` };
    // Portkey forwards the client's key to the upstream and is told the upstream per request.
    const portkeyHeaders = {
      ...json,
      authorization: 'Bearer sk-bench',
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `${upstreamUrl}/v1`,
    };
    const targets = [
      {
        name: 'direct',
        url: `${upstreamUrl}/v1/chat/completions`,
        headers: { ...json, authorization: 'Bearer sk-bench' },
        body: direct,
      },
      { name: 'http', url: `${gateway.url}/v1/chat/completions`, headers: oursHeaders, body: ours },
      { name: 'stream', url: `${gateway.streamUrl}/v1/chat/completions`, headers: oursHeaders, body: ours },
      { name: 'portkey', url: `${portkey.url}/v1/chat/completions`, headers: portkeyHeaders, body: direct },
    ] as const;
    const timed = async (target: (typeof targets)[number]) => {
      const start = performance.now();
      const response = await fetch(target.url, { method: 'POST', headers: target.headers, body: target.body });
      const text = await response.text();
      const ms = performance.now() - start;
      if (response.status !== 200) throw new Error(`${target.name}: ${response.status} ${text.slice(0, 300)}`);
      return ms;
    };
    const round = async (index: number) => {
      const times: Record<string, number> = {};
      for (let k = 0; k < targets.length; k++) {
        const target = targets[(index + k) % targets.length]!;
        times[target.name] = await timed(target);
        // Ours records usage after its answer (in Lambda, within the answering instance's
        // invocation): let that finish before the next request is timed, so it is not timed into
        // whichever target comes next on these shared cores.
        if (target.name === 'http' || target.name === 'stream')
          await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      }
      return times;
    };
    // Warm-up: connections, JIT, the gateway's identity cache and leases, Portkey's first requests.
    for (let i = 0; i < 50; i++) await round(i);
    const added = { http: [] as number[], stream: [] as number[], portkey: [] as number[] };
    const directMs: number[] = [];
    for (let i = 0; i < options.rounds; i++) {
      const times = await round(i);
      directMs.push(times.direct!);
      for (const name of ['http', 'stream', 'portkey'] as const) added[name].push(times[name]! - times.direct!);
    }
    [directMs, added.http, added.stream, added.portkey].forEach((list) => list.sort((a, b) => a - b));
    const p = (list: number[], q: number) => percentile(list, q);
    const rows: BenchRow[] = [
      {
        section: SECTION,
        metric: `direct to upstream p50 (${options.rounds} rounds)`,
        value: p(directMs, 0.5),
        unit: 'ms',
      },
    ];
    for (const [name, door] of [
      ['http', 'HTTP API door'],
      ['stream', 'streaming door'],
    ] as const) {
      rows.push(
        { section: SECTION, metric: `gateway added p50 (${door})`, value: p(added[name], 0.5), unit: 'ms' },
        { section: SECTION, metric: `gateway added p99 (${door})`, value: p(added[name], 0.99), unit: 'ms' },
      );
    }
    rows.push(
      { section: SECTION, metric: 'portkey added p50', value: p(added.portkey, 0.5), unit: 'ms' },
      { section: SECTION, metric: 'portkey added p99', value: p(added.portkey, 0.99), unit: 'ms' },
    );
    for (const [name, door] of [
      ['http', 'HTTP API door'],
      ['stream', 'streaming door'],
    ] as const) {
      rows.push(
        {
          section: SECTION,
          metric: `gateway / portkey added p50 (${door})`,
          value: p(added[name], 0.5) / p(added.portkey, 0.5),
          unit: 'x',
          target: '< 1x',
        },
        {
          section: SECTION,
          metric: `gateway / portkey added p99 (${door})`,
          value: p(added[name], 0.99) / p(added.portkey, 0.99),
          unit: 'x',
        },
      );
    }

    if (options.loadSeconds > 0) {
      const memoryProcess = await startGatewayProcess({
        mode: 'memory',
        config,
        dynamodbEndpoint: gateway.dynamodbEndpoint,
        tables: gateway.tables,
        apiKey: gateway.demoKey,
        secrets: { 'bench/openai': 'sk-bench' },
        body: ours,
        warmup: 200,
      });
      stops.unshift(memoryProcess.stop);
      const memory = memoryProcess.ready;
      // The same request and headers as in the sequential rounds (autocannon sends them as given).
      const hit = (target: 'ours' | 'portkey', seconds: number) =>
        target === 'ours'
          ? load(memory.url, oursHeaders, ours, seconds)
          : load(portkey.url, portkeyHeaders, direct, seconds);
      // Warm-up under load (2 s each, not counted), then A B B A.
      const oursWarm = await hit('ours', 2);
      await hit('portkey', 2);
      const slices = {
        ours: [] as Awaited<ReturnType<typeof load>>[],
        portkey: [] as Awaited<ReturnType<typeof load>>[],
      };
      for (const name of ['ours', 'portkey', 'portkey', 'ours'] as const)
        slices[name].push(await hit(name, options.loadSeconds / 2));
      const total = (list: Awaited<ReturnType<typeof load>>[]) => ({
        rate: list.reduce((sum, s) => sum + s.ok, 0) / list.reduce((sum, s) => sum + s.seconds, 0),
        // autocannon reports percentiles per run, not its histogram: the worse slice's p99.
        p99: Math.max(...list.map((s) => s.p99)),
        errors: list.reduce((sum, s) => sum + s.errors, 0),
      });
      const [o, k] = [total(slices.ours), total(slices.portkey)];
      const oursResponses = oursWarm.responses + slices.ours.reduce((sum, s) => sum + s.responses, 0);
      const fromMemory = (await memoryProcess.replayed()) / oursResponses;
      const what = `16 connections, ${options.loadSeconds} s each`;
      rows.push(
        { section: SECTION, metric: `gateway throughput (storage in memory, ${what})`, value: o.rate, unit: 'req/s' },
        { section: SECTION, metric: `portkey throughput (${what})`, value: k.rate, unit: 'req/s' },
        {
          section: SECTION,
          metric: 'gateway / portkey throughput',
          value: o.rate / k.rate,
          unit: 'x',
          target: '>= 1x',
        },
        { section: SECTION, metric: 'gateway latency p99 under load (worse of 2 slices)', value: o.p99, unit: 'ms' },
        { section: SECTION, metric: 'portkey latency p99 under load (worse of 2 slices)', value: k.p99, unit: 'ms' },
        {
          section: SECTION,
          metric: 'gateway under load: DynamoDB requests answered from memory',
          value: fromMemory,
          unit: 'per request',
        },
        {
          section: SECTION,
          metric: 'errors and non-2xx under load (gateway + portkey)',
          value: o.errors + k.errors,
          unit: 'responses',
          target: '0',
        },
      );
    }
    return rows;
  } finally {
    // The processes this bench started, by handle, the last started first.
    for (const stop of stops) await stop();
    await upstream.stop();
  }
}
