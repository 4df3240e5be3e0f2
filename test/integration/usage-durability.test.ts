import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { GetCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createGatewayHandler, createGatewayStreamHandler, gatewayDependencies } from '../../lambdas/gateway/handler';
import { createReplayHandler, replayDependencies } from '../../lambdas/replay/handler';
import { staticSecrets } from '../../lambdas/shared/providers/secrets';
import { InMemoryAlertPublisher } from '../../lambdas/shared/quota/budget-alerts';
import { BUDGET_LEASE_ATTRIBUTES } from '../../lambdas/shared/quota/quota-service';
import { leaseHoldings } from '../helpers/money';
import { ReservationSweeper } from '../../lambdas/shared/quota/reservation-sweeper';
import { matchRoute } from '../../lambdas/shared/http/routes';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { itemKeys } from '../../lambdas/shared/store/schema';
import type { UsageRecord } from '../../lambdas/shared/usage/record';
import { SqsUsageSpool } from '../../lambdas/shared/usage/sqs-spool';
import type { UsageWrite } from '../../lambdas/shared/usage/recorder';
import { installAwsLambdaGlobal } from '../../local/awslambda';
import { pollQueue, startLocalQueues, type LocalQueues } from '../../local/local-queues';
import { lambdaContext, toHttpApiEvent } from '../../local/server';
import { createTestStore, testEndpoint, type TestStore } from '../helpers/dynamodb';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';
import { aggregateRows, ledgerEntries, monthTotals } from '../helpers/usage-store';

/**
 * An answered request is billed exactly once whatever DynamoDB does. An SDK middleware makes the
 * usage write (the TransactWriteItems call) fail with each of DynamoDB's refusals, at 10 %, 50 %
 * and 100 % of attempts, then recover; several hundred requests go through both doors, streamed
 * and buffered. Writes DynamoDB refuses in time go to the replay queue (SQS, here the fauxqs
 * emulator), whose replay function (fed by a poller playing Lambda's event source mapping) faces
 * the same faults. Afterwards: one ledger entry per answered request, aggregates equal to the
 * ledger to the unit, no reservation left, none released early, nothing in the dead-letter queue.
 */

type FaultKind =
  | 'ThrottlingException'
  | 'ProvisionedThroughputExceededException'
  | 'InternalServerError'
  | 'TimeoutError'
  | 'TimeoutAfterCommit';

const KINDS: FaultKind[] = [
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'InternalServerError',
  'TimeoutError',
  'TimeoutAfterCommit',
];
const RATES = [0.1, 0.5, 1];
/** Requests per kind and rate: a quarter through each door and mode. */
const PER_PHASE = 20;

/** DynamoDB's error for a fault, shaped as the SDK deserialises it (so its retry rules apply). */
function faultError(kind: FaultKind): Error {
  if (kind === 'TimeoutError' || kind === 'TimeoutAfterCommit') {
    return Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
  }
  const server = kind === 'InternalServerError';
  return Object.assign(new Error('injected'), {
    name: kind,
    $fault: server ? 'server' : 'client',
    $metadata: { httpStatusCode: server ? 500 : 400, attempts: 1 },
  });
}

/** Injects faults into every usage write attempt of a client, below the SDK's retry loop. */
function injectFaults(db: DynamoDBDocumentClient, state: { kind: FaultKind; rate: number; injected: number }): void {
  db.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand' || Math.random() >= state.rate) return next(args);
      state.injected += 1;
      if (state.kind === 'TimeoutAfterCommit') {
        // The write commits, but the answer is lost on the way back: the retry must not double-count.
        await next(args);
      }
      throw faultError(state.kind);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'injectUsageWriteFaults' },
  );
}

/** A Lambda response stream standing in for the client. */
class ClientStream extends Writable {
  body = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.body += chunk.toString('utf8');
    callback();
  }
}

describe('usage survives DynamoDB faults: billed exactly once', () => {
  let store: TestStore;
  let gw: TestGateway;
  let queues: LocalQueues;
  let key: string;
  let teamId: string;
  let spooled = 0;
  const faults = { kind: 'ThrottlingException' as FaultKind, rate: 0, injected: 0 };
  let buffered: ReturnType<typeof createGatewayHandler>;
  let streaming: ReturnType<typeof createGatewayStreamHandler>;
  let replayPoller: { stop(): Promise<void> };
  let spool: SqsUsageSpool;
  const answered = new Set<string>();

  beforeAll(async () => {
    installAwsLambdaGlobal();
    store = await createTestStore();
    queues = await startLocalQueues({ visibilityTimeoutSeconds: 1 });
    // Every Lambda's client sees the same unhealthy DynamoDB: the gateway's and the replay function's.
    const db = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
    const replayDb = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
    injectFaults(db, faults);
    injectFaults(replayDb, faults);
    gw = await createTestGateway({ store });
    const team = await gw.createTeam({
      id: 'durable',
      monthly_budget_usd: 1_000,
      requests_per_minute: 100_000,
      tokens_per_minute: 100_000_000,
    });
    teamId = team.teamId;
    key = (await gw.issueKey(teamId)).plaintext;
    const realSpool = new SqsUsageSpool(queues.queueUrl, { region: 'us-east-1', endpoint: queues.endpoint });
    spool = realSpool;
    const countingSpool = {
      send: async (write: UsageWrite) => {
        await realSpool.send(write);
        spooled += 1;
      },
      pending: () => realSpool.pending(),
    };
    const deps = gatewayDependencies({
      db,
      tables: store.tables,
      catalog: gw.catalog,
      secrets: staticSecrets({}),
      alerts: new InMemoryAlertPublisher(),
      identityCacheTtlMs: 60_000,
      providerTimeoutMs: 5_000,
      spool: countingSpool,
      // A short inline budget so that the queue takes over quickly (the default is 2 s).
      usageRetries: { retryBudgetMs: 150 },
    });
    buffered = createGatewayHandler(deps);
    streaming = createGatewayStreamHandler(deps);
    replayPoller = pollQueue(
      queues.sqs,
      queues.queueUrl,
      createReplayHandler(replayDependencies({ db: replayDb, tables: store.tables })),
      {
        waitTimeSeconds: 1,
      },
    );
  }, 60_000);

  afterAll(async () => {
    await replayPoller?.stop();
    await queues?.stop();
    gw?.destroy();
  });

  /** One request through one door; resolves with its API request id once the client has the whole answer. */
  async function send(n: number): Promise<void> {
    const door = n % 4; // 0, 1: HTTP API (buffered / SSE at once); 2, 3: streaming door (SSE / JSON)
    const stream = door === 1 || door === 2;
    const body = JSON.stringify({
      model: n % 3 === 0 ? 'mock-large' : 'mock-small',
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      messages: [{ role: 'user', content: `Request ${n}: tell me about lighthouses.` }],
    });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    if (door < 2) {
      const event = toHttpApiEvent(
        { method: 'POST', url: '/v1/chat/completions', headers, body },
        matchRoute('POST', '/v1/chat/completions'),
      );
      const result = (await buffered(event, lambdaContext('gateway'))) as { statusCode: number; body: string };
      expect(result.statusCode).toBe(200);
      if (stream) expect(result.body).toContain('data: [DONE]');
      answered.add(event.requestContext.requestId);
      return;
    }
    const event = toHttpApiEvent({ method: 'POST', url: '/v1/chat/completions', headers, body }, undefined);
    const client = new ClientStream();
    await (streaming as unknown as (e: unknown, s: Writable, c: unknown) => Promise<void>)(
      event,
      client,
      lambdaContext('llm-gateway-stream', 900_000),
    );
    if (stream) expect(client.body).toContain('data: [DONE]');
    else expect(client.body).toContain('"object":"chat.completion"');
    answered.add(event.requestContext.requestId);
  }

  async function pendingOnQueues(): Promise<{ pending: number; deadLetters: number }> {
    const pending = await spool.pending();
    const { Attributes } = await queues.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queues.deadLetterQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    return { pending, deadLetters: Number(Attributes?.ApproximateNumberOfMessages ?? 0) };
  }

  async function ledger(): Promise<UsageRecord[]> {
    return ledgerEntries(store.db, store.tables.usage, teamId, new Date().toISOString().slice(0, 10));
  }

  it('records every answered request once across 10 %, 50 % and 100 % fault rates, then recovers', async () => {
    let n = 0;
    const figures: string[] = [];
    let sweepDeferred = false;
    for (const rate of RATES) {
      for (const kind of KINDS) {
        faults.kind = kind;
        faults.rate = rate;
        const spooledBefore = spooled;
        const injectedBefore = faults.injected;
        const batch = Array.from({ length: PER_PHASE }, () => n++);
        for (let i = 0; i < batch.length; i += 5) await Promise.all(batch.slice(i, i + 5).map(send));
        figures.push(
          `${kind} at ${rate * 100}%: ${faults.injected - injectedBefore} faults injected, ` +
            `${spooled - spooledBefore} of ${PER_PHASE} writes went to the replay queue`,
        );
        if (rate === 1 && !sweepDeferred) {
          // Writes wait on the queue: a sweep far past every cut-off must release nothing now.
          const sweeper = new ReservationSweeper(store.db, store.tables, () => Date.now() + 3_600_000, spool);
          const sweep = await sweeper.sweep();
          expect(sweep.releasedPicos).toBe('0');
          expect(sweep.deferredForPendingWrites).toBeGreaterThan(0);
          sweepDeferred = true;
        }
      }
    }
    // DynamoDB recovers; the replay queue drains.
    faults.rate = 0;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { pending } = await pendingOnQueues();
      if (pending === 0) break;
      if (Date.now() > deadline) throw new Error(`replay queue still holds ${pending} writes`);
      await sleep(250);
    }
    expect((await pendingOnQueues()).deadLetters).toBe(0);
    expect(sweepDeferred).toBe(true);
    expect(spooled).toBeGreaterThan(0);

    // One ledger entry per answered request: no loss, no duplicate.
    const entries = await ledger();
    expect(answered.size).toBe(RATES.length * KINDS.length * PER_PHASE);
    expect(entries).toHaveLength(answered.size);
    expect(new Set(entries.map((entry) => entry.requestId))).toEqual(answered);

    // Aggregates equal the ledger to the unit.
    const sum = (pick: (record: UsageRecord) => number) => entries.reduce((total, record) => total + pick(record), 0);
    const thisMonth = new Date().toISOString().slice(0, 7);
    const month = (await monthTotals(store.db, store.tables.usage, teamId, thisMonth))!;
    const days = (await aggregateRows(store.db, store.tables.usage, teamId, thisMonth)).dayRows;
    for (const [field, pick] of [
      ['requests', () => 1],
      ['inputTokens', (r: UsageRecord) => r.usage.inputTokens],
      ['outputTokens', (r: UsageRecord) => r.usage.outputTokens],
      ['costPicos', (r: UsageRecord) => Number(r.cost.totalPicos)],
    ] as const) {
      expect(Number(month[field])).toBe(sum(pick));
      expect(days.reduce((total, item) => total + Number(item[field]), 0)).toBe(sum(pick));
    }
    // Committed is spend plus what open leases hold, to the pico-dollar: replays added to leases, never to spend twice.
    const { Item: budget } = await store.db.send(
      new GetCommand({
        TableName: store.tables.usage,
        Key: itemKeys.monthBudget(teamId, new Date().toISOString().slice(0, 7)),
      }),
    );
    const held = await leaseHoldings(store.db, store.tables.counters, teamId);
    expect(BigInt(budget?.committedPicos)).toBe(BigInt(month.costPicos) + held);
    const { Items: leases = [] } = await store.db.send(
      new ScanCommand({
        TableName: store.tables.counters,
        FilterExpression: 'begins_with(pk, :team)',
        ExpressionAttributeValues: { ':team': `LEASE#${teamId}#` },
      }),
    );
    expect(leases.length).toBeGreaterThan(0);
    // Every lease consumed what its requests cost, and none was returned early: the sweeper never touched one.
    const consumed = leases.reduce((total, lease) => total + Number(lease[BUDGET_LEASE_ATTRIBUTES.consumed]), 0);
    expect(consumed).toBe(Number(month.costPicos));
    for (const lease of leases) expect(lease[BUDGET_LEASE_ATTRIBUTES.swept]).toBeUndefined();
    // A sweep past every cut-off returns exactly what the open leases held, and then the
    // budget's committed amount is the spend, to the pico-dollar.
    const after = await new ReservationSweeper(store.db, store.tables, () => Date.now() + 3_600_000, spool).sweep();
    expect(after.releasedPicos).toBe(String(held));
    const { Item: swept } = await store.db.send(
      new GetCommand({
        TableName: store.tables.usage,
        Key: itemKeys.monthBudget(teamId, new Date().toISOString().slice(0, 7)),
      }),
    );
    expect(BigInt(swept?.committedPicos)).toBe(BigInt(month.costPicos));
    console.info(
      `usage durability: ${answered.size} requests, ${spooled} writes via the replay queue\n  ${figures.join('\n  ')}`,
    );
  }, 240_000);
});
