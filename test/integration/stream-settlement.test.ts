import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGatewayStreamHandler, gatewayDependencies, type GatewaySettings } from '../../lambdas/gateway/handler';
import { adapterFor } from '../../lambdas/shared/providers/registry';
import { staticSecrets } from '../../lambdas/shared/providers/secrets';
import { InMemoryAlertPublisher } from '../../lambdas/shared/quota/budget-alerts';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { matchRoute } from '../../lambdas/shared/http/routes';
import type { UsageRecord } from '../../lambdas/shared/usage/record';
import { installAwsLambdaGlobal } from '../../local/awslambda';
import { lambdaContext, toHttpApiEvent } from '../../local/server';
import { createTestStore, testEndpoint, type TestStore } from '../helpers/dynamodb';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';
import { slowTransactions, type SlowTransactions } from '../helpers/slow-transactions';
import { ledgerEntries as ledgerOfDay } from '../helpers/usage-store';

/**
 * The streaming face settles a stream's usage after the client has its last byte: the usage
 * transaction starts as the provider finishes and completes while the last frames go out, and
 * the invocation ends only once it is written (Lambda freezes an instance whose handler has
 * returned), also when the client left mid-stream.
 */

/** A Lambda response stream standing in for the client: what arrived, and when it ended. */
class ClientStream extends Writable {
  body = '';
  endedAt = Infinity;
  constructor(private leaveAfterWrites = Infinity) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.body += chunk.toString('utf8');
    this.leaveAfterWrites -= 1;
    callback(this.leaveAfterWrites < 0 ? new Error('client disconnected') : null);
  }
  override _final(callback: () => void): void {
    this.endedAt = performance.now();
    callback();
  }
}

describe('stream usage is settled after the client has its last byte', () => {
  let store: TestStore;
  let gw: TestGateway;
  let writes: SlowTransactions;
  let handler: ReturnType<typeof createGatewayStreamHandler>;
  let trickling: ReturnType<typeof createGatewayStreamHandler>;
  let key: string;
  let teamId: string;

  beforeAll(async () => {
    installAwsLambdaGlobal();
    store = await createTestStore();
    const db = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
    writes = slowTransactions(db, 300);
    gw = await createTestGateway({ store, db });
    const streamHandler = (adapters?: GatewaySettings['adapters']) =>
      createGatewayStreamHandler(
        gatewayDependencies({
          db,
          tables: store.tables,
          catalog: gw.catalog,
          secrets: staticSecrets({}),
          alerts: new InMemoryAlertPublisher(),
          identityCacheTtlMs: 0,
          providerTimeoutMs: 5_000,
          ...(adapters ? { adapters } : {}),
        }),
      );
    handler = streamHandler();
    // The mock connection streams a word every 100 ms for 5 s: a stream that outlives a deadline.
    trickling = streamHandler((id) =>
      id === 'mock'
        ? ({
            id: 'mock',
            complete: () => Promise.reject(new Error('not used')),
            async *stream(_request: unknown, _target: unknown, options: { signal?: AbortSignal }) {
              for (let i = 0; i < 50; i++) {
                if (i > 0) await sleep(100, undefined, { signal: options.signal });
                yield { type: 'text' as const, text: `word${i} ` };
              }
              yield { type: 'finish' as const, finishReason: 'stop' as const };
            },
          } as never)
        : (adapterFor(id) as never),
    );
    teamId = (await gw.createTeam()).teamId;
    key = (await gw.issueKey(teamId)).plaintext;
  });

  afterAll(() => gw.destroy());

  /** Calls the streaming Lambda as API Gateway's streaming integration would; resolves (or rejects) when the invocation ends. */
  async function invoke(
    client: ClientStream,
    { remainingMs = 900_000, via = handler, stream = true } = {},
  ): Promise<{ requestId: string; endedAt: number; error?: unknown }> {
    const event = toHttpApiEvent(
      {
        method: 'POST',
        url: '/v1/chat/completions',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'mock-small',
          stream,
          ...(stream ? { stream_options: { include_usage: true } } : {}),
          messages: [{ role: 'user', content: 'Tell me a short story about a lighthouse.' }],
        }),
      },
      undefined,
    );
    const error = await (via as unknown as (e: unknown, s: Writable, c: unknown) => Promise<void>)(
      event,
      client,
      lambdaContext('llm-gateway-stream', remainingMs),
    ).then(
      () => undefined,
      (e: unknown) => e ?? new Error('rejected'),
    );
    return { requestId: event.requestContext.requestId, endedAt: performance.now(), ...(error ? { error } : {}) };
  }

  async function ledgerEntries(requestId: string): Promise<UsageRecord[]> {
    const day = new Date().toISOString().slice(0, 10);
    const entries = await ledgerOfDay(store.db, store.tables.usage, teamId, day);
    return entries.filter((entry) => entry.requestId === requestId);
  }

  it('ends the response before the usage transaction completes, and the invocation after it', async () => {
    const client = new ClientStream();
    const before = writes.completedAt.length;
    const sent = writes.recordSentAt.length;
    const invocation = await invoke(client);
    expect(invocation.error).toBeUndefined();
    expect(client.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const written = writes.completedAt[before]!;
    // The client's last byte did not wait for the 300 ms transaction; the invocation did.
    expect(client.endedAt).toBeLessThan(written - 200);
    // Nor did the record start before it: no DynamoDB write between the provider's last byte and the client's.
    expect(writes.recordSentAt).toHaveLength(sent + 1);
    expect(writes.recordSentAt[sent]!).toBeGreaterThanOrEqual(client.endedAt);
    expect(invocation.endedAt).toBeGreaterThanOrEqual(written);
    // Recorded exactly once, with the usage the client was told about in the final chunk.
    const entries = await ledgerEntries(invocation.requestId);
    expect(entries).toHaveLength(1);
    const usageChunk = client.body
      .split('\n\n')
      .map((frame) => frame.replace(/^data: /, ''))
      .filter((data) => data.startsWith('{') && data.includes('"usage":{'))
      .map((data) => JSON.parse(data) as { usage: { completion_tokens: number } })
      .pop();
    expect(entries[0]).toMatchObject({ status: 'ok', httpStatus: 200, streamed: true });
    expect(usageChunk?.usage.completion_tokens).toBe(entries[0]!.usage.outputTokens);
  });

  it('answers a non-streamed request before its usage transaction completes, and ends the invocation after it', async () => {
    const client = new ClientStream();
    const before = writes.completedAt.length;
    const sent = writes.recordSentAt.length;
    const invocation = await invoke(client, { stream: false });
    expect(invocation.error).toBeUndefined();
    const answer = JSON.parse(client.body.slice(client.body.indexOf('{'))) as {
      usage: { completion_tokens: number };
    };
    const written = writes.completedAt[before]!;
    // No DynamoDB write between the provider's answer and the client's last byte; the invocation waited.
    expect(client.endedAt).toBeLessThan(written - 200);
    expect(writes.recordSentAt).toHaveLength(sent + 1);
    expect(writes.recordSentAt[sent]!).toBeGreaterThanOrEqual(client.endedAt);
    expect(invocation.endedAt).toBeGreaterThanOrEqual(written);
    const entries = await ledgerEntries(invocation.requestId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ status: 'ok', httpStatus: 200, streamed: false });
    expect(answer.usage.completion_tokens).toBe(entries[0]!.usage.outputTokens);
  });

  it('still waits for the record when the client leaves mid-stream (499, what was produced is billed)', async () => {
    const client = new ClientStream(2);
    const before = writes.completedAt.length;
    const invocation = await invoke(client);
    expect(writes.completedAt.length).toBe(before + 1);
    expect(invocation.endedAt).toBeGreaterThanOrEqual(writes.completedAt[before]!);
    const entries = await ledgerEntries(invocation.requestId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ status: 'error', httpStatus: 499, streamed: true });
    expect(entries[0]!.usage.outputTokens).toBeGreaterThan(0);
  });

  it('cuts a stream still running near the end of the invocation: error frame, recorded before Lambda stops', async () => {
    const client = new ClientStream();
    // 5 s of the invocation are kept to end and record a stream: this one may run ~0.5 s.
    const invocation = await invoke(client, { via: trickling, remainingMs: 5_500 });
    expect(invocation.error).toBeUndefined();
    expect(client.body).toContain('"code":"upstream_timeout"');
    const entries = await ledgerEntries(invocation.requestId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ status: 'error', httpStatus: 504, streamed: true });
    expect(entries[0]!.usage.outputTokens).toBeGreaterThan(0);
    expect(entries[0]!.latencyMs).toBeLessThan(1_500);
  });

  it('records a buffered stream (HTTP API) before answering: a buffered Lambda cannot work after it answers', async () => {
    const event = toHttpApiEvent(
      {
        method: 'POST',
        url: '/v1/chat/completions',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-small', stream: true, messages: [{ role: 'user', content: 'Hi' }] }),
      },
      matchRoute('POST', '/v1/chat/completions'),
    );
    const result = await gw.handlers.gateway(event, lambdaContext('llm-gateway'));
    expect(result).toMatchObject({ statusCode: 200 });
    expect(await ledgerEntries(event.requestContext.requestId)).toHaveLength(1);
  });
});
