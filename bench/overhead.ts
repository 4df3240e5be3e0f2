import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { startDynamoDbLocal } from '../local/dynamodb-local';
import { startLocalGateway } from '../local/local-gateway';
import { FakeOpenAi } from '../test/fakes/openai-server';
import type { GatewayConfigInput } from '../lambdas/shared/catalog/schema';
import type { BenchRow } from './dlp';
import { inProcessGateway } from './in-process';
import { benchDynamoDbClient } from './sdk';
import { installedAfterResponse } from '../lambdas/shared/lifecycle/after-response';

/** A 2 KB prompt, the size the overhead target is stated for. */
const PROMPT = 'Summarise the following notes for the weekly report. '.repeat(38).slice(0, 2048);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** Every DynamoDB request the gateway makes, with its start and end (ms), seen by a counting proxy. */
const calls: { name: string; start: number; end: number }[] = [];

/**
 * An HTTP proxy in front of DynamoDB Local that records each request (operation, start, end):
 * counts what the gateway really sends, whatever SDK instance sent it.
 */
async function countingProxy(target: string): Promise<{ url: string; close: () => void }> {
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const entry = {
      name: String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '?',
      start: performance.now(),
      end: 0,
    };
    calls.push(entry);
    const upstream = http.request(
      `${target}${req.url ?? '/'}`,
      { method: req.method, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
        answer.on('end', () => (entry.end = performance.now()));
      },
    );
    // At shutdown connections are cut mid-request; that is not a measurement.
    upstream.on('error', () => res.destroy());
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
      agent.destroy();
    },
  };
}

/** Calls before `until`, grouped into round trips (calls that overlap in time are one round trip). */
function roundTrips(before: typeof calls): number {
  let trips = 0;
  let busyUntil = -1;
  for (const call of [...before].sort((a, b) => a.start - b.start)) {
    if (call.start >= busyUntil) trips += 1;
    busyUntil = Math.max(busyUntil, call.end);
  }
  return trips;
}

/**
 * Settles once the local runtime's post-response work (usage written after the answer, as the
 * extension does in Lambda) is done, so it is neither timed into nor counted for the next request.
 */
function afterResponseDrained(): Promise<void> {
  return installedAfterResponse()?.drain() ?? Promise.resolve();
}

/** Wall time during which at least one DynamoDB request was in flight. */
function busyTime(list: typeof calls): number {
  let total = 0;
  let from = -1;
  let to = -1;
  for (const call of [...list].sort((a, b) => a.start - b.start)) {
    if (call.start > to) {
      total += to - from;
      from = call.start;
      to = call.end;
    } else {
      to = Math.max(to, call.end);
    }
  }
  return total + (to - from);
}

/**
 * The catalog the latency benches serve: one OpenAI-format model on the local upstream at
 * `upstreamUrl`, with team limits no bench reaches. Its key is read from `OPENAI_API_KEY`.
 *
 * @example
 * await startLocalGateway({ port: 0, config: benchConfig(await upstream.start()) });
 */
export function benchConfig(upstreamUrl: string): GatewayConfigInput {
  return {
    providers: { openai: { adapter: 'openai', baseUrl: `${upstreamUrl}/v1`, apiKeySecret: 'bench/openai' } },
    models: [{ id: 'gpt', provider: 'openai', upstreamModel: 'gpt-4o-mini', prices: { input: 0.15, output: 0.6 } }],
    teamDefaults: {
      requestsPerMinute: 10_000_000,
      tokensPerMinute: 1_000_000_000,
      softAlertPercent: 80,
      allowedModels: ['*'],
    },
  };
}

/**
 * Gateway overhead against the same local upstream, measured in one run: the same 2 KB
 * non-streamed request straight to the upstream and through the gateway, alternating, twice:
 * through the HTTP API stand-in on DynamoDB Local, and through the handler called in this
 * process with DynamoDB answered from memory (the gateway's own compute); DynamoDB requests
 * and round trips per request; time to first token added on the streaming endpoint and what
 * settling a stream after its last byte saves; and a 30 s load test.
 */
export async function benchOverhead(options: { iterations: number; loadSeconds: number }): Promise<BenchRow[]> {
  const arrivals: number[] = [];
  const upstream = new FakeOpenAi(() => {
    arrivals.push(performance.now());
    return {
      kind: 'completion',
      text: 'Fine, here is the summary.',
      usage: { prompt_tokens: 512, completion_tokens: 7 },
    };
  });
  // Thousands of requests, and the in-process gateway shares this heap: the upstream keeps none.
  upstream.keepsRequests = false;
  const upstreamUrl = await upstream.start();
  const dynamodb = await startDynamoDbLocal();
  const proxy = await countingProxy(dynamodb.endpoint);
  process.env.OPENAI_API_KEY = 'sk-bench';
  const config = benchConfig(upstreamUrl);
  const gateway = await startLocalGateway({ port: 0, dynamodbEndpoint: proxy.url, config });
  const body = (stream: boolean) =>
    JSON.stringify({
      model: 'gpt-4o-mini',
      stream,
      messages: [{ role: 'user', content: PROMPT }],
    });
  const gatewayBody = (stream: boolean) =>
    JSON.stringify({ model: 'gpt', stream, messages: [{ role: 'user', content: PROMPT }] });
  const timed = async (url: string, payload: string, auth: string, firstByte = false) => {
    const start = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      body: payload,
    });
    if (firstByte) {
      const reader = response.body!.getReader();
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8');
        if (text.includes('"content":"F') || text.includes('"content":"Fine')) break;
      }
      const ms = performance.now() - start;
      await reader.cancel().catch(() => undefined);
      return ms;
    }
    await response.text();
    if (response.status !== 200) throw new Error(`bench request failed: ${response.status}`);
    return performance.now() - start;
  };
  const direct = `${upstreamUrl}/v1/chat/completions`;
  const through = `${gateway.url}/v1/chat/completions`;
  const rows: BenchRow[] = [];
  try {
    for (let i = 0; i < 50; i++) {
      await timed(direct, body(false), 'sk-bench');
      await timed(through, gatewayBody(false), gateway.demoKey);
    }
    const directMs: number[] = [];
    const gatewayMs: number[] = [];
    const added: number[] = [];
    const perRequestCalls: number[] = [];
    const perRequestTrips: number[] = [];
    const compute: number[] = [];
    for (let i = 0; i < options.iterations; i++) {
      const d = await timed(direct, body(false), 'sk-bench');
      calls.length = 0;
      arrivals.length = 0;
      const g = await timed(through, gatewayBody(false), gateway.demoKey);
      const answeredAt = performance.now();
      // The usage write runs after the answer (the post-response extension's part): count it with
      // its request, and let it finish before the next request is timed.
      await afterResponseDrained();
      perRequestCalls.push(calls.length);
      perRequestTrips.push(roundTrips(calls.filter((call) => call.start < (arrivals[0] ?? Infinity))));
      compute.push(g - d - busyTime(calls.filter((call) => call.start < answeredAt)));
      directMs.push(d);
      gatewayMs.push(g);
      added.push(g - d);
    }
    [directMs, gatewayMs, added, compute].forEach((list) => list.sort((a, b) => a - b));
    const section = 'Overhead (DynamoDB Local)';
    rows.push(
      { section, metric: 'direct to upstream p50', value: percentile(directMs, 0.5), unit: 'ms' },
      { section, metric: 'through the gateway p50', value: percentile(gatewayMs, 0.5), unit: 'ms' },
      { section, metric: 'added p50', value: percentile(added, 0.5), unit: 'ms' },
      { section, metric: 'added p90', value: percentile(added, 0.9), unit: 'ms' },
      { section, metric: 'added p99', value: percentile(added, 0.99), unit: 'ms' },
      {
        section,
        metric: 'added minus DynamoDB time (gateway compute estimate) p50',
        value: percentile(compute, 0.5),
        unit: 'ms',
      },
      {
        section,
        metric: 'added minus DynamoDB time (gateway compute estimate) p99',
        value: percentile(compute, 0.99),
        unit: 'ms',
      },
      {
        section,
        metric: 'gateway / direct (p50)',
        value: percentile(gatewayMs, 0.5) / percentile(directMs, 0.5),
        unit: 'x',
      },
      {
        section,
        metric: 'DynamoDB requests per completed request (max)',
        value: Math.max(...perRequestCalls),
        unit: 'requests',
        target: '<= 3',
      },
      {
        section,
        metric: 'DynamoDB round trips before the provider call (max)',
        value: Math.max(...perRequestTrips),
        unit: 'round trips',
        target: '<= 1',
      },
      {
        // Admitted from the instance's leased blocks: no DynamoDB call before the provider.
        section,
        metric: 'requests with no DynamoDB round trip before the provider call (share)',
        value: (100 * perRequestTrips.filter((trips) => trips === 0).length) / perRequestTrips.length,
        unit: '%',
      },
      {
        section,
        metric: 'DynamoDB requests per completed request (mean)',
        value: perRequestCalls.reduce((total, n) => total + n, 0) / perRequestCalls.length,
        unit: 'requests',
      },
    );

    // A team with the response cache on: its lookup runs alongside admission, so it must not add a
    // round trip before the provider. Each prompt is new (a miss), so every request reaches it.
    const admin = (method: string, path: string, payload: unknown) =>
      fetch(`${gateway.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${gateway.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      }).then((response) => response.json() as Promise<{ key?: string }>);
    await admin('POST', '/v1/admin/teams', { id: 'bench-cache', name: 'bench cache', cache_ttl_seconds: 300 });
    const cacheKey = (await admin('POST', '/v1/admin/teams/bench-cache/keys', { name: 'bench' })).key!;
    const cachedTrips: number[] = [];
    // Warm, as the requests above are: the key is known to the instance and its team leases blocks.
    const warmup = 20;
    for (let i = 0; i < warmup + Math.min(options.iterations, 200); i++) {
      calls.length = 0;
      arrivals.length = 0;
      const payload = JSON.stringify({
        model: 'gpt',
        temperature: 0,
        messages: [{ role: 'user', content: `${PROMPT} (${i})` }],
      });
      await timed(through, payload, cacheKey);
      await afterResponseDrained();
      if (i >= warmup) cachedTrips.push(roundTrips(calls.filter((call) => call.start < (arrivals[0] ?? Infinity))));
    }
    rows.push({
      section,
      metric: 'DynamoDB round trips before the provider call, response cache on (max)',
      value: Math.max(...cachedTrips),
      unit: 'round trips',
      target: '<= 1',
    });

    // The same comparison with the gateway's handler called in this process, storage answered
    // from memory: the gateway's own compute (AWS SDK request building and parsing included).
    const inProcess = inProcessGateway({
      config,
      dynamodbEndpoint: dynamodb.endpoint,
      tables: gateway.tables,
      apiKey: gateway.demoKey,
      secrets: { 'bench/openai': 'sk-bench' },
    });
    for (let i = 0; i < 200; i++) {
      await inProcess.call(gatewayBody(false));
      await inProcess.settled();
    }
    inProcess.replay();
    const memoryAdded: number[] = [];
    const afterAnswer: number[] = [];
    for (let i = 0; i < options.iterations * 5; i++) {
      const d = await timed(direct, body(false), 'sk-bench');
      const start = performance.now();
      await inProcess.call(gatewayBody(false));
      const answered = performance.now();
      memoryAdded.push(answered - start - d);
      // The usage write after the answer: the Lambda's work, not the client's wait; timed apart.
      await inProcess.settled();
      afterAnswer.push(performance.now() - answered);
    }
    [memoryAdded, afterAnswer].forEach((list) => list.sort((a, b) => a - b));
    const memory = 'Overhead (in-process, storage in memory)';
    rows.push(
      { section: memory, metric: 'added p50', value: percentile(memoryAdded, 0.5), unit: 'ms', target: '< 1 ms' },
      { section: memory, metric: 'added p90', value: percentile(memoryAdded, 0.9), unit: 'ms' },
      { section: memory, metric: 'added p99', value: percentile(memoryAdded, 0.99), unit: 'ms', target: '< 3 ms' },
      {
        section: memory,
        metric: 'usage write after the answer p50 (not in the client wait)',
        value: percentile(afterAnswer, 0.5),
        unit: 'ms',
      },
      {
        section: memory,
        metric: 'DynamoDB requests answered from memory',
        value: inProcess.replayed() / (options.iterations * 5),
        unit: 'per request',
      },
    );
    // What the one DynamoDB request of these requests costs in the SDK, and what each tuning saves.
    rows.push(...(await benchDynamoDbClient(inProcess.store)));

    // Time to first token on the streaming endpoint, against the upstream's own.
    const directTtft: number[] = [];
    const gatewayTtft: number[] = [];
    const streamThrough = `${gateway.streamUrl}/v1/chat/completions`;
    for (let i = 0; i < Math.min(100, options.iterations); i++) {
      directTtft.push(await timed(direct, body(true), 'sk-bench', true));
      gatewayTtft.push(await timed(streamThrough, gatewayBody(true), gateway.demoKey, true));
    }
    const ttftAdded = directTtft.map((d, i) => gatewayTtft[i]! - d).sort((a, b) => a - b);
    rows.push(
      { section: 'Streaming', metric: 'time to first token added p50', value: percentile(ttftAdded, 0.5), unit: 'ms' },
      { section: 'Streaming', metric: 'time to first token added p99', value: percentile(ttftAdded, 0.99), unit: 'ms' },
    );

    // Settling after the last byte: how long the usage transaction still ran after the client
    // had the whole stream, i.e. what the client no longer waits for.
    const saved: number[] = [];
    for (let i = 0; i < Math.min(100, options.iterations); i++) {
      calls.length = 0;
      await timed(streamThrough, gatewayBody(true), gateway.demoKey);
      const lastByte = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const settle = calls.find((call) => call.name === 'TransactWriteItems');
      if (settle) saved.push(Math.max(0, settle.end - lastByte));
    }
    saved.sort((a, b) => a - b);
    rows.push(
      {
        section: 'Streaming',
        metric: 'usage transaction after the last byte (saved per stream) p50',
        value: percentile(saved, 0.5),
        unit: 'ms',
      },
      {
        section: 'Streaming',
        metric: 'usage transaction after the last byte (saved per stream) p90',
        value: percentile(saved, 0.9),
        unit: 'ms',
      },
    );

    if (options.loadSeconds > 0) {
      const result = await autocannon({
        url: through,
        method: 'POST',
        headers: { authorization: `Bearer ${gateway.demoKey}`, 'content-type': 'application/json' },
        body: gatewayBody(false),
        connections: 16,
        duration: options.loadSeconds,
      });
      const errors = result.errors + result.timeouts + (result.non2xx ?? 0);
      rows.push(
        {
          section: 'Load (16 connections)',
          metric: `throughput over ${options.loadSeconds} s`,
          value: result.requests.average,
          unit: 'req/s',
        },
        { section: 'Load (16 connections)', metric: 'latency p50', value: result.latency.p50, unit: 'ms' },
        { section: 'Load (16 connections)', metric: 'latency p99', value: result.latency.p99, unit: 'ms' },
        {
          section: 'Load (16 connections)',
          metric: 'errors and non-2xx',
          value: errors,
          unit: 'responses',
          target: '0',
        },
      );
    }
  } finally {
    // The load test stops sending at its deadline, not when its last responses are in: let the
    // requests still in flight finish (and record) before their storage goes away.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await gateway.stop();
    await upstream.stop();
    proxy.close();
    await dynamodb.stop();
  }
  return rows;
}
