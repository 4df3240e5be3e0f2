import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { Catalog } from '../../lambdas/shared/catalog/catalog';
import { parseGatewayConfig } from '../../lambdas/shared/catalog/schema';
import { totalTokens, type TokenUsage } from '../../lambdas/shared/chat/types';
import { priceUsage } from '../../lambdas/shared/cost/pricing';
import {
  BUDGET_LEASE_ATTRIBUTES,
  COMMITTED_PICOS,
  RATE_WINDOW_ATTRIBUTES,
} from '../../lambdas/shared/quota/quota-service';
import { picosOf } from '../../lambdas/shared/cost/money';
import { exactCost } from '../helpers/money';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { itemKeys } from '../../lambdas/shared/store/schema';
import type { UsageRecord } from '../../lambdas/shared/usage/record';
import { localApiKeyVariable, type LocalGateway } from '../../local/local-gateway';
import {
  anthropicWire,
  bedrockWire,
  FaultyBedrockUpstream,
  FaultyHttpUpstream,
  openAiWire,
  type Fault,
  type FaultExchange,
  type StreamParts,
} from '../fakes/faulty-upstream';
import { GENEROUS_TEAM_DEFAULTS } from '../helpers/config';
import { testEndpoint } from '../helpers/dynamodb';
import { aggregateRows, ledgerEntries } from '../helpers/usage-store';
import { adminFetch } from '../helpers/local-admin';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * Fault injection: the local gateway (HTTP API stand-in and streaming REST API stand-in) in
 * front of upstreams that misbehave at the HTTP level: slow loris (headers then a trickle, no
 * answer at all, a stream that stalls), bodies cut short, malformed and wrongly shaped answers,
 * malformed and unterminated streams, connection resets. Every provider family is covered where
 * the fault applies: OpenAI-format (HTTP/1.1 + JSON/SSE), Anthropic (HTTP/1.1 + named SSE events)
 * and Bedrock (HTTP/2 + binary AWS event stream).
 *
 * Each test states the outcome the client must see, and checks the books: exactly one ledger
 * entry for the request id, with the right status, tokens and cost; the team's month and day
 * aggregates, rate-window counters and budget moved by exactly that entry; and no budget
 * reservation left held. Where the gateway gave up on an upstream, the fault server checks that
 * the gateway hung up (no sockets left open on a dead upstream).
 *
 * Every catalog model here has its own provider connection, so one test's failures never open
 * the circuit breaker another test depends on.
 */

/** Each fault connection's `timeoutMs`: the longest one attempt may take. */
const ATTEMPT_MS = 200;
/** PROVIDER_TIMEOUT_MS: the overall deadline (retries and fallbacks included; for a stream, its first event). */
const DEADLINE_MS = 1_200;
/** The router's backoff before the retry is at most this (full jitter from 100 ms). */
const MAX_BACKOFF_MS = 100;
/** Scheduling and DynamoDB Local latency allowed on top of the deadlines. */
const SLACK_MS = 600;
/** The client stops waiting after this, so a gateway that never ends a response fails the test instead of hanging it. */
const CLIENT_GUARD_MS = DEADLINE_MS + SLACK_MS + 300;
/** A slow-loris upstream's pace: one byte every this many ms (a 300-byte answer takes 12 s). */
const TRICKLE_MS = 40;

const PROMPT = 'Tell me about fault injection.';
const TEXT = 'alpha beta gamma delta epsilon zeta';
const FAULT_PRICES = { input: 3, output: 15 };
const FALLBACK_PRICES = { input: 1, output: 2 };

type FamilyId = 'openai' | 'anthropic' | 'bedrock';

/** What a provider family looks like on the wire, for building its faults. */
interface Family {
  id: FamilyId;
  label: string;
  /** A valid non-streamed answer. */
  json(model: string): string;
  jsonContentType: string;
  /** A valid streamed answer, in parts. */
  stream(model: string): StreamParts;
  streamContentType: string;
  /** Valid JSON of the wrong shape: no answer and no usage in it. */
  wrongShape(model: string): string;
  /** Stream events that cannot be decoded, each named. */
  badEvents: [string, string | Uint8Array][];
  /** What the provider has reported mid-stream before its final events (input, output). */
  reportedMidStream: { inputTokens?: number; outputTokens: number };
}

const FAMILIES: Family[] = [
  {
    id: 'openai',
    label: 'OpenAI-format',
    json: (model) => openAiWire.completion(model, TEXT, { prompt_tokens: 11, completion_tokens: 6 }),
    jsonContentType: openAiWire.contentType,
    stream: (model) => openAiWire.stream(model, TEXT, { prompt_tokens: 11, completion_tokens: 6 }),
    streamContentType: openAiWire.streamContentType,
    wrongShape: (model) =>
      JSON.stringify({ id: 'chatcmpl-fault', object: 'chat.completion', created: 1_700_000_000, model }),
    badEvents: [
      [
        'an SSE data line that is not JSON',
        'data: {"id":"chatcmpl-fault","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" eta"\n\n',
      ],
    ],
    reportedMidStream: { outputTokens: 0 },
  },
  {
    id: 'anthropic',
    label: 'Anthropic',
    json: (model) => anthropicWire.message(model, TEXT, { input_tokens: 11, output_tokens: 6 }),
    jsonContentType: anthropicWire.contentType,
    stream: (model) => anthropicWire.stream(model, TEXT, { input_tokens: 11, output_tokens: 6 }),
    streamContentType: anthropicWire.streamContentType,
    wrongShape: (model) =>
      JSON.stringify({
        id: 'msg_01fault',
        type: 'message',
        role: 'assistant',
        model,
        stop_reason: 'end_turn',
        stop_sequence: null,
      }),
    badEvents: [
      [
        'an SSE data line that is not JSON',
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"eta"\n\n',
      ],
    ],
    // message_start carries the input count and an output count of 1.
    reportedMidStream: { inputTokens: 11, outputTokens: 1 },
  },
  {
    id: 'bedrock',
    label: 'Bedrock',
    json: () => bedrockWire.converse(TEXT, { inputTokens: 11, outputTokens: 6 }),
    jsonContentType: bedrockWire.contentType,
    stream: () => bedrockWire.stream(TEXT, { inputTokens: 11, outputTokens: 6 }),
    streamContentType: bedrockWire.streamContentType,
    wrongShape: () => JSON.stringify({ stopReason: 'end_turn', metrics: { latencyMs: 12 } }),
    badEvents: [
      ['an event-stream message with a bad message CRC', bedrockWire.withBadMessageCrc(bedrockWire.textDelta('eta '))],
      ['an event-stream message with a corrupt prelude', bedrockWire.withBadPrelude(bedrockWire.textDelta('eta '))],
    ],
    reportedMidStream: { outputTokens: 0 },
  },
];

/** One catalog model played by a fault: its own connection, optionally a fallback. */
interface FaultCase {
  model: string;
  family: FamilyId;
  connection: string;
  /** The model falls back to `fallback` (the mock). */
  fallback: boolean;
  /** The connection's `timeoutMs` (ATTEMPT_MS), or none: then only the overall deadline bounds an attempt. */
  attemptTimeout: boolean;
  fault: Fault;
}

const cases = new Map<string, FaultCase>();

/**
 * Declares a catalog model (id = upstream model id) whose upstream plays `fault`; called while
 * the tests are collected, before the gateway starts.
 */
function faultModel(
  family: Family,
  name: string,
  fault: (model: string) => Fault,
  options: { fallback?: boolean; attemptTimeout?: boolean } = {},
): string {
  const model = `${family.id}-${name}`;
  if (cases.has(model)) throw new Error(`duplicate fault model ${model}`);
  cases.set(model, {
    model,
    family: family.id,
    connection: `fault${cases.size}`,
    fallback: options.fallback ?? false,
    attemptTimeout: options.attemptTimeout ?? true,
    fault: fault(model),
  });
  return model;
}

/** The first `n` text events of a stream (and everything before them), and the text they carry. */
function firstTextEvents(parts: StreamParts, n: number): { chunks: (string | Uint8Array)[]; text: string } {
  return {
    chunks: parts.head.slice(0, parts.head.length - parts.textEvents + n),
    text: parts.texts.slice(0, n).join(''),
  };
}

function concat(chunks: (string | Uint8Array)[]): Buffer {
  return Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c))));
}

/** A 200 stream of these chunks, then a clean end or silence. */
function streamFault(family: Family, chunks: (string | Uint8Array)[], then: 'end' | 'stall'): Fault {
  return { kind: 'stream', contentType: family.streamContentType, chunks, then };
}

/** A slow loris: status and headers at once, then this body one byte every TRICKLE_MS. */
function trickleFault(contentType: string, body: string | Uint8Array): Fault {
  return { kind: 'trickle', contentType, body, byteIntervalMs: TRICKLE_MS };
}

/**
 * Declares a fault model per case (`[test name, model name, fault]`); returns `[test name, model]`
 * rows for `it.each`.
 */
function faultModels(family: Family, variants: [string, string, (model: string) => Fault][]): [string, string][] {
  return variants.map(([name, model, fault]) => [name, faultModel(family, model, fault)]);
}

/** What the client saw of a non-streamed request. */
interface Answer {
  status: number;
  headers: Headers;
  // JSON bodies of any shape.
  body: any;
  requestId: string;
  elapsedMs: number;
}

/** What the client saw of a streamed request. */
interface StreamAnswer {
  status: number;
  headers: Headers;
  requestId: string;
  /** The JSON error body of a request that failed before the stream started. */
  errorBody?: any;
  /** Text of the content deltas. */
  text: string;
  /** Every SSE `data:` payload, parsed (or the raw string when it is not JSON). */
  frames: any[];
  /** How the body ended. */
  ending: 'done' | 'error-frame' | 'eof-without-done' | 'client-gave-up' | 'not-a-stream';
  /** The `error` of the error frame. */
  error?: { message: string; type: string; code: string | null };
  /** The usage chunk (`choices: []`). */
  usageChunk?: any;
  elapsedMs: number;
  /** Ms from the last text delta to the end of the body. */
  endedAfterLastTextMs?: number;
}

function isStream(answer: Answer | StreamAnswer): answer is StreamAnswer {
  return 'ending' in answer;
}

/**
 * How the gateway called a model's upstream: exactly `calls` times (retries included), and with
 * `closedByGateway`, hanging up on each call (no socket left open on an upstream it gave up on);
 * or `'retried or not'`: at least once, as many times as it chose.
 */
type UpstreamCalls = { calls: number; closedByGateway?: boolean } | { calls: 'retried or not' };

describe('upstream faults: misbehaving providers behind the gateway', () => {
  const http1 = new FaultyHttpUpstream((request) => faultOf(request.key));
  const http2 = new FaultyBedrockUpstream((request) => faultOf(request.key));
  let gateway: LocalGateway;
  let catalog: Catalog;
  const db = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
  const savedEnv = { ...process.env };

  function faultOf(key: string): Fault {
    const found = cases.get(key);
    if (!found)
      return { kind: 'respond', status: 404, contentType: 'application/json', body: '{"error":"no such case"}' };
    return found.fault;
  }

  function upstreamOf(model: string) {
    return cases.get(model)!.family === 'bedrock' ? http2 : http1;
  }

  beforeAll(async () => {
    const [httpUrl, bedrockUrl] = await Promise.all([http1.start(), http2.start()]);
    const providers: GatewayConfigInput['providers'] = { mock: { adapter: 'mock' } };
    const models: GatewayConfigInput['models'] = [
      { id: 'fallback', provider: 'mock', upstreamModel: 'mock-small', prices: FALLBACK_PRICES },
    ];
    const keys: Record<string, string> = {};
    for (const c of cases.values()) {
      const timeout = c.attemptTimeout ? { timeoutMs: ATTEMPT_MS } : {};
      if (c.family === 'bedrock') {
        providers[c.connection] = { adapter: 'bedrock', region: 'us-east-1', endpoint: bedrockUrl, ...timeout };
      } else {
        providers[c.connection] =
          c.family === 'openai'
            ? { adapter: 'openai', baseUrl: `${httpUrl}/v1`, apiKeySecret: 'test/fault', ...timeout }
            : { adapter: 'anthropic', baseUrl: httpUrl, apiKeySecret: 'test/fault', ...timeout };
        // The local runtime reads a connection's key from <CONNECTION>_API_KEY (else it mocks it).
        keys[localApiKeyVariable(c.connection)] = 'sk-fault';
      }
      models.push({
        id: c.model,
        provider: c.connection,
        upstreamModel: c.model,
        prices: FAULT_PRICES,
        maxOutputTokens: 256,
        ...(c.fallback ? { fallbacks: ['fallback'] } : {}),
      });
    }
    const config: GatewayConfigInput = { providers, models, teamDefaults: GENEROUS_TEAM_DEFAULTS };
    catalog = new Catalog(parseGatewayConfig(config));
    Object.assign(process.env, keys);
    gateway = await startTestLocalGateway('faults', {
      config,
      environment: { PROVIDER_TIMEOUT_MS: String(DEADLINE_MS) },
    });
  });

  afterAll(async () => {
    process.env = savedEnv;
    // Upstreams first: a request still hanging on one ends (and records) before the gateway goes.
    await Promise.all([http1.stop(), http2.stop()]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await gateway?.stop();
    db.destroy();
  });

  // ---------------------------------------------------------------------------------------------
  // Client side

  let teamCounter = 0;

  /** A fresh team (with a budget, so every request reserves) and its key. */
  async function newTeam(): Promise<{ teamId: string; key: string }> {
    teamCounter += 1;
    const teamId = `uf-${teamCounter}-${Date.now() % 1_000_000}`;
    const created = await adminFetch(gateway, 'POST', '/v1/admin/teams', {
      id: teamId,
      name: teamId,
      monthly_budget_usd: 50,
    });
    expect(created.status).toBe(201);
    const issued = (await (
      await adminFetch(gateway, 'POST', `/v1/admin/teams/${teamId}/keys`, { name: 'k' })
    ).json()) as {
      key: string;
    };
    return { teamId, key: issued.key };
  }

  function chatBody(model: string, stream: boolean) {
    return JSON.stringify({
      model,
      messages: [{ role: 'user', content: PROMPT }],
      max_tokens: 64,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
  }

  /** A non-streamed request through the HTTP API; status 0 if no answer came before the client's guard. */
  async function complete(key: string, model: string): Promise<Answer> {
    const started = Date.now();
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: chatBody(model, false),
        signal: AbortSignal.timeout(CLIENT_GUARD_MS),
      });
      text = await response.text();
    } catch (error) {
      if ((error as Error).name !== 'TimeoutError') throw error;
      const elapsedMs = Date.now() - started;
      return { status: 0, headers: new Headers(), body: `no answer within ${elapsedMs} ms`, requestId: '', elapsedMs };
    }
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // left as text: the assertions say what was expected
    }
    return {
      status: response.status,
      headers: response.headers,
      body,
      requestId: response.headers.get('x-request-id') ?? '',
      elapsedMs: Date.now() - started,
    };
  }

  /**
   * Streams a request (through the streaming door unless `via: 'buffered'`, the HTTP API) and reads
   * it to its end, until the guard, or (`leaveAfterText`) until that much text has arrived, when
   * the client hangs up.
   */
  async function stream(
    key: string,
    model: string,
    options: { via?: 'stream' | 'buffered'; leaveAfterText?: string; guardMs?: number } = {},
  ): Promise<StreamAnswer> {
    const { via = 'stream', leaveAfterText, guardMs = CLIENT_GUARD_MS } = options;
    const started = Date.now();
    const controller = new AbortController();
    const guard = setTimeout(() => controller.abort(), guardMs);
    try {
      let response: Response;
      try {
        response = await fetch(`${via === 'stream' ? gateway.streamUrl : gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: chatBody(model, true),
          signal: controller.signal,
        });
      } catch (error) {
        if (!controller.signal.aborted) throw error;
        // Not even the status line came before the guard.
        return {
          status: 0,
          headers: new Headers(),
          requestId: '',
          text: '',
          frames: [],
          ending: 'client-gave-up',
          elapsedMs: Date.now() - started,
        };
      }
      const answer: StreamAnswer = {
        status: response.status,
        headers: response.headers,
        requestId: response.headers.get('x-request-id') ?? '',
        text: '',
        frames: [],
        ending: 'eof-without-done',
        elapsedMs: 0,
      };
      if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
        const raw = await response.text();
        try {
          answer.errorBody = JSON.parse(raw);
        } catch {
          answer.errorBody = raw;
        }
        answer.ending = 'not-a-stream';
        answer.elapsedMs = Date.now() - started;
        return answer;
      }
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let lastTextAt: number | undefined;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const data = frame
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => line.slice(6))
              .join('\n');
            if (data === '[DONE]') {
              answer.frames.push(data);
              answer.ending = 'done';
              continue;
            }
            let parsed: any = data;
            try {
              parsed = JSON.parse(data);
            } catch {
              // kept raw
            }
            answer.frames.push(parsed);
            if (parsed?.error) {
              answer.ending = 'error-frame';
              answer.error = parsed.error;
            }
            const content = parsed?.choices?.[0]?.delta?.content;
            if (content) {
              answer.text += content;
              lastTextAt = Date.now();
              if (leaveAfterText !== undefined && answer.text === leaveAfterText) controller.abort();
            }
            if (Array.isArray(parsed?.choices) && parsed.choices.length === 0 && parsed.usage) {
              answer.usageChunk = parsed;
            }
          }
        }
      } catch {
        if (controller.signal.aborted) answer.ending = 'client-gave-up';
        else throw new Error('the gateway broke the connection instead of ending the stream');
      }
      answer.elapsedMs = Date.now() - started;
      if (lastTextAt !== undefined) answer.endedAfterLastTextMs = Date.now() - lastTextAt;
      return answer;
    } finally {
      clearTimeout(guard);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The books

  /** Today and yesterday (a test may straddle midnight). */
  function recentDays(): string[] {
    const now = new Date();
    return [...new Set([now, new Date(now.getTime() - 86_400_000)].map((d) => d.toISOString().slice(0, 10)))];
  }

  /** A team's ledger entries. */
  async function ledgerOf(teamId: string): Promise<UsageRecord[]> {
    const ledger: UsageRecord[] = [];
    for (const day of recentDays()) ledger.push(...(await ledgerEntries(db, gateway.tables.usage, teamId, day)));
    return ledger;
  }

  /** Waits (up to `ms`) for a request the client left to be recorded: that happens after the client is gone. */
  async function waitForLedger(teamId: string, ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (Date.now() < until && (await ledgerOf(teamId)).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A team's ledger, aggregates and counters, and its usage report. */
  async function books(team: { teamId: string; key: string }) {
    const days = recentDays();
    const ledger = await ledgerOf(team.teamId);
    const months = [...new Set(days.map((d) => d.slice(0, 7)))];
    const monthRows: Record<string, any>[] = [];
    const dayRows: Record<string, any>[] = [];
    for (const month of months) {
      // The month's totals are the sum of its aggregate shards' month rows.
      const shards = await aggregateRows(db, gateway.tables.usage, team.teamId, month);
      const { Item: budget } = await db.send(
        new GetCommand({ TableName: gateway.tables.usage, Key: itemKeys.monthBudget(team.teamId, month) }),
      );
      monthRows.push(...shards.monthRows, ...(budget ? [budget] : []));
      dayRows.push(...shards.dayRows);
    }
    const { Items: windows = [] } = await db.send(
      new ScanCommand({
        TableName: gateway.tables.counters,
        FilterExpression: 'begins_with(pk, :team)',
        ExpressionAttributeValues: { ':team': `RATE#${team.teamId}#` },
      }),
    );
    const { Items: leases = [] } = await db.send(
      new ScanCommand({
        TableName: gateway.tables.counters,
        FilterExpression: 'begins_with(pk, :team)',
        ExpressionAttributeValues: { ':team': `LEASE#${team.teamId}#` },
      }),
    );
    const usageView = await fetch(`${gateway.url}/v1/usage?days=2`, {
      headers: { authorization: `Bearer ${team.key}` },
    });
    return { ledger, monthRows, dayRows, windows, leases, usage: (await usageView.json()) as any };
  }

  const sum = (rows: Record<string, any>[], field: string) => rows.reduce((n, row) => n + Number(row[field] ?? 0), 0);

  /**
   * The request left exactly one ledger entry, as expected, priced from its own usage at its
   * model's prices; every aggregate and counter of the team moved by exactly that entry; the
   * budget reservation was taken and given back in full (nothing left held).
   *
   * A buffered answer (HTTP API) is recorded before it is returned, so the entry must be there
   * at once. The streaming face may finish its record after the client has the last byte (the
   * invocation goes on), or after the client left: `recordedAfter: 'stream'` allows for that.
   */
  async function expectRecordedOnce(
    team: { teamId: string; key: string },
    requestId: string,
    expected: {
      model: string;
      status: 'ok' | 'error';
      httpStatus: number;
      streamed: boolean;
      attempts: number;
      /** Exact token counts when known; `zero` when nothing was delivered. */
      usage?: Partial<TokenUsage> | 'zero';
      /** Default: `stream` for a streamed request that started streaming, else `response`. */
      recordedAfter?: 'response' | 'stream';
    },
  ): Promise<UsageRecord> {
    expect(requestId).not.toBe('');
    if ((expected.recordedAfter ?? (expected.streamed ? 'stream' : 'response')) === 'stream') {
      await waitForLedger(team.teamId, 2_000);
    }
    const state = await books(team);
    // Exactly one entry: this request's.
    expect(state.ledger.map((entry) => entry.requestId)).toEqual([requestId]);
    const entry = state.ledger[0]!;
    expect(entry).toMatchObject({
      model: expected.model,
      status: expected.status,
      httpStatus: expected.httpStatus,
      streamed: expected.streamed,
      attempts: expected.attempts,
    });
    if (expected.usage === 'zero') {
      expect(entry.usage).toEqual({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 });
      expect(picosOf(entry.cost.totalPicos)).toBe(0n);
    } else if (expected.usage) {
      expect(entry.usage).toMatchObject(expected.usage);
    }
    expect(exactCost(entry.cost)).toEqual(priceUsage(entry.usage, catalog.findModel(entry.model)!.prices));

    // Aggregates: the month and the day × model rows hold this entry, once.
    const tokens = totalTokens(entry.usage);
    const totals = {
      requests: 1,
      errors: entry.status === 'ok' ? 0 : 1,
      inputTokens: entry.usage.inputTokens,
      outputTokens: entry.usage.outputTokens,
      cacheReadTokens: entry.usage.cacheReadTokens,
      cacheWriteTokens: entry.usage.cacheWriteTokens,
      costPicos: Number(entry.cost.totalPicos),
    };
    for (const [field, value] of Object.entries(totals)) {
      expect({ row: 'month', field, value: sum(state.monthRows, field) }).toEqual({ row: 'month', field, value });
      expect({ row: 'day', field, value: sum(state.dayRows, field) }).toEqual({ row: 'day', field, value });
    }
    expect(state.dayRows.map((row) => row['model'])).toEqual([entry.model]);
    // Budget: committed is the real cost plus what open leases still hold, nothing else; the
    // usage report shows the latter as reserved.
    const L = BUDGET_LEASE_ATTRIBUTES;
    const held = state.leases
      .filter((lease) => lease[L.returned] === undefined && lease[L.swept] === undefined)
      .reduce((total, lease) => total + Number(lease[L.amount]) - Number(lease[L.consumed]), 0);
    expect(sum(state.monthRows, COMMITTED_PICOS)).toBe(Number(entry.cost.totalPicos) + held);
    expect(state.usage.budget).toMatchObject({
      spent_picos: String(entry.cost.totalPicos),
      reserved_picos: String(held),
    });
    expect(state.usage.totals).toMatchObject({ requests: 1, cost_picos: String(entry.cost.totalPicos) });

    // Rate window: one request's place and its token bound leased (the first block is what the
    // request needs), of which it used `tokens`; a key without limits of its own is not counted.
    const W = RATE_WINDOW_ATTRIBUTES;
    expect(sum(state.windows, W.teamRequests)).toBe(1);
    expect(sum(state.windows, W.teamTokens)).toBeGreaterThanOrEqual(tokens);
    expect(sum(state.windows, W.keyRequests(entry.keyId))).toBe(0);
    // Budget: one lease, which consumed exactly the cost and was not swept (its instance returns
    // it once it can no longer admit, or keeps it for its next requests).
    expect(state.leases).toHaveLength(1);
    const [lease] = state.leases;
    expect(Number(lease![L.consumed])).toBe(Number(entry.cost.totalPicos));
    expect(lease![L.swept]).toBeUndefined();
    return entry;
  }

  /** An OpenAI-shaped server error body (`{error:{message,type,param,code}}`) with this code (or one of these). */
  function expectOpenAiError(body: any, code: string | string[]) {
    expect(body).toEqual({
      error: {
        message: expect.any(String),
        type: 'server_error',
        param: null,
        code: Array.isArray(code) ? expect.stringMatching(new RegExp(`^(${code.join('|')})$`)) : code,
      },
    });
  }

  /** The upstream of `model` was called as expected (see {@link UpstreamCalls}); resolves to those calls. */
  async function expectUpstreamCalls(model: string, expected: UpstreamCalls): Promise<FaultExchange[]> {
    if (expected.calls === 'retried or not') {
      const exchanges = upstreamOf(model).exchangesFor(model);
      expect(exchanges.length).toBeGreaterThanOrEqual(1);
      return exchanges;
    }
    if (expected.closedByGateway) {
      const exchanges = await upstreamOf(model).settled(model, 1_000);
      expect(exchanges.map((e) => e.closedBy ?? 'still open')).toEqual(Array(expected.calls).fill('gateway'));
      return exchanges;
    }
    const exchanges = upstreamOf(model).exchangesFor(model);
    expect(exchanges).toHaveLength(expected.calls);
    return exchanges;
  }

  /** Usage and cost the client was told (in the answer, or in the stream's usage chunk) match the ledger entry. */
  function expectClientToldLedger(answer: Answer | StreamAnswer, entry: UsageRecord) {
    const told = isStream(answer) ? answer.usageChunk : answer.body;
    expect(told?.usage).toMatchObject({
      prompt_tokens: entry.usage.inputTokens + entry.usage.cacheReadTokens + entry.usage.cacheWriteTokens,
      completion_tokens: entry.usage.outputTokens,
    });
    expect(told?.gateway).toMatchObject({ cost_picos: String(entry.cost.totalPicos) });
  }

  /** Output tokens of a stream that broke off: the larger of what was reported and of delivered bytes / 3. */
  function brokenStreamUsage(family: Family, deliveredText: string): Partial<TokenUsage> {
    return {
      outputTokens: Math.max(family.reportedMidStream.outputTokens, Math.ceil(Buffer.byteLength(deliveredText) / 3)),
      ...(family.reportedMidStream.inputTokens !== undefined
        ? { inputTokens: family.reportedMidStream.inputTokens }
        : {}),
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
    };
  }

  /**
   * The model's own upstream answered in full on the first attempt: one ledger entry, with exactly
   * the usage it reported, as the client was told.
   */
  async function expectServedInFull(
    team: { teamId: string; key: string },
    model: string,
    answer: Answer | StreamAnswer,
  ) {
    const entry = await expectRecordedOnce(team, answer.requestId, {
      model,
      status: 'ok',
      httpStatus: 200,
      streamed: isStream(answer),
      attempts: 1,
      usage: { inputTokens: 11, outputTokens: 6, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
    expectClientToldLedger(answer, entry);
  }

  /**
   * The gateway failed the request before any answer (for a stream: before the stream started)
   * with this status and OpenAI error code, after calling the upstream as `upstream` says; one
   * ledger entry for the failure, every call made on it, nothing billed. Resolves to the calls.
   */
  async function expectFailedRequest(
    team: { teamId: string; key: string },
    model: string,
    answer: Answer | StreamAnswer,
    expected: { status: number | number[]; code: string | string[]; upstream: UpstreamCalls },
  ): Promise<FaultExchange[]> {
    const streamed = isStream(answer);
    if (streamed) expect(answer.ending).toBe('not-a-stream');
    if (Array.isArray(expected.status)) expect(expected.status).toContain(answer.status);
    else expect(answer.status).toBe(expected.status);
    expectOpenAiError(streamed ? answer.errorBody : answer.body, expected.code);
    const exchanges = await expectUpstreamCalls(model, expected.upstream);
    // The error says how the request was routed, as a success does.
    expect(answer.headers.get('x-gateway-model')).toBe(model);
    expect(answer.headers.get('x-gateway-attempts')).toBe(String(exchanges.length));
    await expectRecordedOnce(team, answer.requestId, {
      model,
      status: 'error',
      httpStatus: answer.status,
      streamed,
      attempts: exchanges.length,
      usage: 'zero',
      // Refused before any answer or stream started: recorded before the error response.
      recordedAfter: 'response',
    });
    return exchanges;
  }

  /**
   * The test of a non-streamed request the gateway must refuse with 502 upstream_error: retried
   * or not, every call made is on the one ledger entry, nothing billed.
   */
  async function expectRefusedAs502(_: string, model: string): Promise<void> {
    const team = await newTeam();
    const answer = await complete(team.key, model);
    await expectFailedRequest(team, model, answer, {
      status: 502,
      code: 'upstream_error',
      upstream: { calls: 'retried or not' },
    });
  }

  /**
   * The model's upstream failed both attempts (called as `upstream` says), then the fallback
   * served the whole answer: one ledger entry, for the fallback, with all three attempts on it,
   * as the client was told.
   */
  async function expectServedByFallback(
    team: { teamId: string; key: string },
    model: string,
    answer: Answer | StreamAnswer,
    upstream: UpstreamCalls,
  ): Promise<UsageRecord> {
    const streamed = isStream(answer);
    if (streamed) {
      expect({ status: answer.status, ending: answer.ending }).toEqual({ status: 200, ending: 'done' });
      expect(answer.headers.get('x-gateway-model')).toBe('fallback');
    } else {
      expect(answer.status).toBe(200);
      expect(answer.body.model).toBe('fallback');
    }
    expect(answer.headers.get('x-gateway-attempts')).toBe('3');
    await expectUpstreamCalls(model, upstream);
    const entry = await expectRecordedOnce(team, answer.requestId, {
      model: 'fallback',
      status: 'ok',
      httpStatus: 200,
      streamed,
      attempts: 3,
    });
    expectClientToldLedger(answer, entry);
    return entry;
  }

  /**
   * A stream that broke off after the client had `text` (from the one attempt: no fallback after
   * the first byte): it ended with an error frame of this code, or the client left first; one
   * ledger entry for the failure (`httpStatus`), the delivered text billed on it.
   */
  async function expectBrokenStream(
    team: { teamId: string; key: string },
    model: string,
    family: Family,
    answer: StreamAnswer,
    expected: {
      text: string;
      end: { errorFrame: string } | 'client-gave-up';
      httpStatus: number;
      /** How the upstream was called, where the test says. */
      upstream?: UpstreamCalls;
      recordedAfter?: 'response';
    },
  ): Promise<void> {
    if (expected.end === 'client-gave-up') {
      expect({ ending: answer.ending, text: answer.text }).toEqual({ ending: 'client-gave-up', text: expected.text });
    } else {
      expect({ status: answer.status, ending: answer.ending, code: answer.error?.code, text: answer.text }).toEqual({
        status: 200,
        ending: 'error-frame',
        code: expected.end.errorFrame,
        text: expected.text,
      });
    }
    if (expected.upstream) await expectUpstreamCalls(model, expected.upstream);
    await expectRecordedOnce(team, answer.requestId, {
      model,
      status: 'error',
      httpStatus: expected.httpStatus,
      streamed: true,
      attempts: 1,
      usage: brokenStreamUsage(family, expected.text),
      ...(expected.recordedAfter ? { recordedAfter: expected.recordedAfter } : {}),
    });
  }

  // ---------------------------------------------------------------------------------------------

  describe.each(FAMILIES)('$label upstream', (family) => {
    const parts = family.stream('x');
    const threeWords = firstTextEvents(parts, 3);

    describe('control: a well-behaved answer from the fault server', () => {
      const json = faultModel(family, 'control-json', (model) => ({
        kind: 'respond',
        contentType: family.jsonContentType,
        body: family.json(model),
      }));
      it('is served with its text and usage, recorded once', async () => {
        const team = await newTeam();
        const answer = await complete(team.key, json);
        expect(answer.status).toBe(200);
        expect(answer.body.choices[0].message.content).toBe(TEXT);
        await expectServedInFull(team, json, answer);
      });

      const streamed = faultModel(family, 'control-stream', () =>
        streamFault(family, [...parts.head, ...parts.tail], 'end'),
      );
      it('stream: is streamed with its text and usage, recorded once', async () => {
        const team = await newTeam();
        const answer = await stream(team.key, streamed);
        expect({ status: answer.status, ending: answer.ending, text: answer.text }).toEqual({
          status: 200,
          ending: 'done',
          text: TEXT,
        });
        await expectServedInFull(team, streamed, answer);
      });
    });

    describe('slow loris', () => {
      const trickleJson = faultModel(family, 'trickle-json', (model) =>
        trickleFault(family.jsonContentType, family.json(model)),
      );
      it('headers then a trickled body: 504 upstream_timeout at the attempt deadlines (two attempts), sockets closed, nothing billed', async () => {
        const team = await newTeam();
        const answer = await complete(team.key, trickleJson);
        expect(answer.elapsedMs).toBeGreaterThanOrEqual(2 * ATTEMPT_MS - 20);
        expect(answer.elapsedMs).toBeLessThan(2 * ATTEMPT_MS + MAX_BACKOFF_MS + SLACK_MS);
        const exchanges = await expectFailedRequest(team, trickleJson, answer, {
          status: 504,
          code: 'upstream_timeout',
          upstream: { calls: 2, closedByGateway: true },
        });
        // It was really trickling: some bytes went out, far from all.
        expect(exchanges[0]!.bodyBytesSent).toBeGreaterThan(0);
      });

      const trickleStream = faultModel(family, 'trickle-stream', () =>
        trickleFault(family.streamContentType, concat([...parts.head, ...parts.tail])),
      );
      it('stream: headers then a trickle too slow to give a first event: 504 before the stream starts, sockets closed, nothing billed', async () => {
        const team = await newTeam();
        const answer = await stream(team.key, trickleStream);
        expect(answer.elapsedMs).toBeLessThan(2 * ATTEMPT_MS + MAX_BACKOFF_MS + SLACK_MS);
        await expectFailedRequest(team, trickleStream, answer, {
          status: 504,
          code: 'upstream_timeout',
          upstream: { calls: 2, closedByGateway: true },
        });
      });

      const hangJson = faultModel(family, 'hang-json', () => ({ kind: 'hang' }), { fallback: true });
      it('never answers: after two timed-out attempts the fallback serves; one ledger entry, for the fallback', async () => {
        const team = await newTeam();
        const answer = await complete(team.key, hangJson);
        expect(answer.headers.get('x-gateway-model')).toBe('fallback');
        expect(answer.elapsedMs).toBeLessThan(2 * ATTEMPT_MS + MAX_BACKOFF_MS + SLACK_MS);
        const entry = await expectServedByFallback(team, hangJson, answer, { calls: 2, closedByGateway: true });
        expect(entry.requestedModel).toBe(hangJson);
      });

      const hangStream = faultModel(family, 'hang-stream', () => ({ kind: 'hang' }), { fallback: true });
      it('stream: never answers: the fallback streams the answer; one ledger entry, for the fallback', async () => {
        const team = await newTeam();
        const answer = await stream(team.key, hangStream);
        expect(answer.text.length).toBeGreaterThan(0);
        await expectServedByFallback(team, hangStream, answer, { calls: 2, closedByGateway: true });
      });

      const stall = faultModel(family, 'stall-stream', () => streamFault(family, threeWords.chunks, 'stall'), {
        fallback: true,
      });
      it('stream: a few words, then silence: the stream ends with an error frame after the delivered text, which is billed once; no fallback after the first byte', async () => {
        const team = await newTeam();
        const answer = await stream(team.key, stall);
        await expectBrokenStream(team, stall, family, answer, {
          text: threeWords.text,
          end: { errorFrame: 'upstream_timeout' },
          httpStatus: 504,
          upstream: { calls: 1, closedByGateway: true },
        });
        expect(answer.error?.type).toBe('server_error');
        // The stall is noticed within the deadline, not left to the client or to Lambda's timeout.
        expect(answer.endedAfterLastTextMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
        expect(answer.frames).not.toContain('[DONE]');
      });
    });

    describe('a stalled stream the client leaves', () => {
      const left = faultModel(family, 'stall-left', () => streamFault(family, threeWords.chunks, 'stall'));
      it('stream: a few words, silence, the client hangs up: upstream closed, recorded once as 499 with the delivered text', async () => {
        const team = await newTeam();
        const answer = await stream(team.key, left, { leaveAfterText: threeWords.text });
        await expectBrokenStream(team, left, family, answer, {
          text: threeWords.text,
          end: 'client-gave-up',
          httpStatus: 499,
          upstream: { calls: 1, closedByGateway: true },
        });
      });
    });

    describe('truncated answers', () => {
      const cut =
        (framing: 'content-length' | 'chunked', close: 'fin' | 'rst') =>
        (model: string): Fault => ({
          kind: 'truncate',
          contentType: family.jsonContentType,
          body: family.json(model),
          sendBytes: Math.floor(Buffer.byteLength(family.json(model)) / 2),
          framing,
          close,
        });
      it.each(
        faultModels(family, [
          [
            'Content-Length larger than what arrives, then the connection closes',
            'content-length-cut',
            cut('content-length', 'fin'),
          ],
          ['a body without length cut mid-JSON by a connection reset', 'chunked-cut', cut('chunked', 'rst')],
        ]),
      )('%s: 502 upstream_error, nothing billed', expectRefusedAs502);
    });

    describe('malformed answers', () => {
      it.each(
        faultModels(family, [
          [
            '200 with a body that is not JSON',
            'malformed-0',
            (model) => ({
              kind: 'respond',
              contentType: family.jsonContentType,
              body: family.json(model).slice(0, 40),
            }),
          ],
          [
            '200 with JSON of the wrong shape (no answer, no usage)',
            'malformed-1',
            (model) => ({ kind: 'respond', contentType: family.jsonContentType, body: family.wrongShape(model) }),
          ],
          [
            '200 with an HTML page',
            'malformed-2',
            () => ({
              kind: 'respond',
              contentType: 'text/html; charset=utf-8',
              body: '<html><head><title>Gateway</title></head><body><h1>Please wait…</h1></body></html>',
            }),
          ],
        ]),
      )('%s: 502 upstream_error (never a 200, never a 500), nothing billed, reservation released', expectRefusedAs502);
    });

    describe('malformed streams', () => {
      const twoWords = firstTextEvents(parts, 2);
      it.each(
        faultModels(
          family,
          family.badEvents.map(([name, event], i) => [
            name,
            `bad-event-${i}`,
            () =>
              streamFault(
                family,
                [...twoWords.chunks, event, ...parts.head.slice(twoWords.chunks.length), ...parts.tail],
                'end',
              ),
          ]),
        ),
      )('stream: %s after two words: error frame after the delivered text, which is billed once', async (_, model) => {
        const team = await newTeam();
        const answer = await stream(team.key, model);
        await expectBrokenStream(team, model, family, answer, {
          text: twoWords.text,
          end: { errorFrame: 'upstream_error' },
          httpStatus: 502,
          upstream: { calls: 1 },
        });
      });

      const badFirst = faultModel(
        family,
        'bad-first-event',
        () => streamFault(family, [family.badEvents[0]![1]], 'end'),
        {
          fallback: true,
        },
      );
      it('stream: an undecodable first event: retried, then the fallback streams; one ledger entry', async () => {
        const team = await newTeam();
        const answer = await stream(team.key, badFirst);
        await expectServedByFallback(team, badFirst, answer, { calls: 2 });
      });

      const allWords = firstTextEvents(parts, parts.textEvents);
      const eof = faultModel(family, 'eof-without-stop', () => streamFault(family, allWords.chunks, 'end'));
      it('stream: a clean end of the body without the final events ([DONE] / message_stop / messageStop): error frame, the text billed once', async () => {
        const team = await newTeam();
        const answer = await stream(team.key, eof);
        await expectBrokenStream(team, eof, family, answer, {
          text: TEXT,
          end: { errorFrame: 'upstream_error' },
          httpStatus: 502,
        });
      });
    });

    describe('connection resets', () => {
      const resetJson = faultModel(family, 'reset-json', () => ({ kind: 'reset' }), { fallback: true });
      it('reset before any byte: retried, then the fallback serves; one ledger entry, for the fallback', async () => {
        const team = await newTeam();
        const answer = await complete(team.key, resetJson);
        await expectServedByFallback(team, resetJson, answer, { calls: 2 });
      });

      const resetStream = faultModel(family, 'reset-stream', () => ({ kind: 'reset' }));
      it('stream: reset before any byte, no fallback: a 502/503 error before the stream starts, nothing billed', async () => {
        const team = await newTeam();
        const answer = await stream(team.key, resetStream);
        await expectFailedRequest(team, resetStream, answer, {
          status: [502, 503],
          code: ['upstream_error', 'upstream_unavailable'],
          upstream: { calls: 2 },
        });
      });
    });
  });

  describe('a connection without timeoutMs: the overall deadline (PROVIDER_TIMEOUT_MS) bounds the attempt', () => {
    const trickling = FAMILIES.filter((f) => f.id !== 'anthropic').map(
      (family) =>
        [
          family.label,
          faultModel(
            family,
            'trickle-no-attempt-timeout',
            (model) => trickleFault(family.jsonContentType, family.json(model)),
            {
              attemptTimeout: false,
            },
          ),
        ] as const,
    );
    it.each(trickling)(
      '%s: headers then a trickled body: 504 upstream_timeout at the deadline, one attempt, socket closed, nothing billed',
      async (_, model) => {
        const team = await newTeam();
        const answer = await complete(team.key, model);
        expect(answer.elapsedMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
        expect(answer.elapsedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
        await expectFailedRequest(team, model, answer, {
          status: 504,
          code: 'upstream_timeout',
          upstream: { calls: 1, closedByGateway: true },
        });
      },
    );
  });

  describe('stream: true through the HTTP API (buffered SSE body, 30 s integration timeout)', () => {
    const family = FAMILIES[0]!;
    const threeWords = firstTextEvents(family.stream('x'), 3);
    const stall = faultModel(family, 'stall-buffered', () => streamFault(family, threeWords.chunks, 'stall'));
    it('a stream that stalls after a few words is answered within the deadline: SSE body with the text and an error frame, billed once', async () => {
      const team = await newTeam();
      const answer = await stream(team.key, stall, { via: 'buffered' });
      expect(answer.elapsedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
      await expectBrokenStream(team, stall, family, answer, {
        text: threeWords.text,
        end: { errorFrame: 'upstream_timeout' },
        httpStatus: 504,
        upstream: { calls: 1, closedByGateway: true },
        // The HTTP API cannot work after it has answered: recorded before the response.
        recordedAfter: 'response',
      });
    });
  });
});
