import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { AfterResponse, withAfterResponse } from '../../lambdas/shared/lifecycle/after-response';
import { registerAfterResponseExtension } from '../../lambdas/shared/lifecycle/extension';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { itemKeys } from '../../lambdas/shared/store/schema';
import { startExtensionsApi, type ExtensionsApi } from '../fakes/lambda-extensions-api';
import { createTestStore, testEndpoint, type TestStore } from '../helpers/dynamodb';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';
import { slowTransactions } from '../helpers/slow-transactions';
import { ledgerEntries } from '../helpers/usage-store';

/**
 * Work after the answer on the buffered door: the post-response extension keeps each invocation
 * open, as Lambda's Extensions API sees it, until the work the handler deferred has settled; the
 * gateway hands it the usage record, so the client has its answer before the record is written,
 * and the record always lands, also when the next request arrives before it is written.
 */

describe('the post-response extension and the Extensions API', () => {
  let api: ExtensionsApi | undefined;
  const stop = new AbortController();
  afterAll(async () => {
    stop.abort();
    await api?.close();
  });

  it('registers for INVOKE events, and ends each invocation only once its deferred work has settled', async () => {
    const lambda = (api = await startExtensionsApi());
    const registry = new AfterResponse();
    expect(await registerAfterResponseExtension(lambda.runtimeApi, 'after-response', registry, stop.signal)).toBe(true);
    expect(lambda.registrations).toEqual([{ name: 'after-response', events: ['INVOKE'] }]);

    let release!: () => void;
    const handler = withAfterResponse(
      (defer) => async (work: Promise<void>) => {
        defer!(() => work);
        return 'answer';
      },
      () => undefined,
      registry,
    );
    for (let round = 0; round < 2; round++) {
      let ended = false;
      const invocation = lambda.invoke().then(() => (ended = true));
      // The handler answers at once; the invocation stays open while its work is pending.
      expect(await handler(new Promise<void>((resolve) => (release = resolve)), undefined)).toBe('answer');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(ended).toBe(false);
      release();
      await invocation;
      expect(lambda.waiting()).toBe(true);
    }
  });

  it("registers from the function's preload, before the handler module loads (Lambda's init phase)", async () => {
    const preloadApi = await startExtensionsApi();
    try {
      // As Lambda starts the function: NODE_OPTIONS=--import <the extension>, then the handler module.
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--import',
          path.join(__dirname, '../../lambdas/gateway/after-response-extension.mts'),
          '-e',
          "process.stdout.write(typeof globalThis[Symbol.for('llm-gateway.after-response')]); process.exit(0);",
        ],
        { env: { ...process.env, AWS_LAMBDA_RUNTIME_API: preloadApi.runtimeApi }, cwd: path.join(__dirname, '../..') },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await new Promise((resolve) => child.on('exit', resolve));
      expect(out).toBe('object');
      expect(preloadApi.registrations).toEqual([{ name: 'llm-gateway-after-response', events: ['INVOKE'] }]);
    } finally {
      await preloadApi.close();
    }
  }, 30_000);

  it('answers false when Lambda refuses the registration (after init): nothing may then be deferred', async () => {
    const refusing = await startExtensionsApi({ refuse: true });
    try {
      expect(await registerAfterResponseExtension(refusing.runtimeApi, 'late', new AfterResponse())).toBe(false);
    } finally {
      await refusing.close();
    }
  });
});

describe('the buffered door with post-response work', () => {
  let store: TestStore;
  let gw: TestGateway;
  let inline: TestGateway;
  let completedAt: number[];
  let sentAt: number[];
  const registry = new AfterResponse();
  let teamId: string;
  let key: string;

  beforeAll(async () => {
    store = await createTestStore();
    const db = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
    ({ recordSentAt: sentAt, completedAt } = slowTransactions(db, 300, { onlyRecords: true }));
    gw = await createTestGateway({ store, db, afterResponse: registry });
    inline = await gw.instance({ db, afterResponse: undefined });
    teamId = (await gw.createTeam({ monthly_budget_usd: 1 })).teamId;
    key = (await gw.issueKey(teamId)).plaintext;
  });
  afterAll(() => gw.destroy());

  const ask = (via: TestGateway, stream = false) =>
    via.call('POST', '/v1/chat/completions', {
      key,
      body: { model: 'mock-small', stream, messages: [{ role: 'user', content: 'hello there' }] },
    });
  const ledger = () => ledgerEntries(store.db, store.tables.usage, teamId, new Date().toISOString().slice(0, 10));

  it('answers before the usage record is written, and the record lands once the work is drained, buffered and SSE alike', async () => {
    for (const stream of [false, true]) {
      const before = (await ledger()).length;
      const writes = completedAt.length;
      const sent = sentAt.length;
      const answer = await ask(gw, stream);
      const answeredAt = performance.now();
      expect(answer.status).toBe(200);
      expect(completedAt.length).toBe(writes); // no usage write finished before the answer
      expect(sentAt.length).toBe(sent); // nor started: it starts once the answer is handed back
      expect((await ledger()).length).toBe(before);
      await registry.drain();
      expect(completedAt.length).toBe(writes + 1);
      expect(sentAt.at(-1)!).toBeGreaterThanOrEqual(answeredAt);
      expect(completedAt.at(-1)!).toBeGreaterThan(answeredAt);
      expect((await ledger()).length).toBe(before + 1);
    }
  });

  it('lands every record when the next requests arrive before the earlier ones are written, and bills them exactly', async () => {
    const before = (await ledger()).length;
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await ask(gw)); // each arrives while the previous record is pending
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    await registry.drain();
    const entries = await ledger();
    expect(entries).toHaveLength(before + 5);
    const month = new Date().toISOString().slice(0, 7);
    const budget = (
      await store.db.send(
        new GetCommand({
          TableName: store.tables.usage,
          Key: itemKeys.monthBudget(teamId, month),
          ConsistentRead: true,
        }),
      )
    ).Item;
    const spent = entries.reduce((total, entry) => total + BigInt(entry.cost.totalPicos), 0n);
    // What leases still hold aside, the committed amount never falls below what was spent.
    expect(BigInt(budget?.['committedPicos'] ?? 0)).toBeGreaterThanOrEqual(spent);
  });

  it('writes before answering without the extension (not registered, or not in Lambda)', async () => {
    const writes = completedAt.length;
    expect((await ask(inline)).status).toBe(200);
    expect(completedAt.length).toBe(writes + 1);
  });
});
