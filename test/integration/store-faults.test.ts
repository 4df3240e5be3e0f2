import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { adapterFor } from '../../lambdas/shared/providers/registry';
import type { ProviderAdapter } from '../../lambdas/shared/providers/types';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';
import { createTestStore, testEndpoint, type TestStore } from '../helpers/dynamodb';

/**
 * DynamoDB faults: throttling the SDK's standard retries absorb; throttling that persists, and
 * DynamoDB unreachable, fail closed with 503 `store_unavailable` before any provider is called;
 * in every case nothing is counted twice and nothing is served unmetered.
 */

/** Makes the next `count` DynamoDB sends fail with a throttling error (inside the SDK's retry loop). */
function throttle(db: DynamoDBDocumentClient): { failNext: (count: number) => void; sends: () => number } {
  let failing = 0;
  let sends = 0;
  db.middlewareStack.add(
    (next) => async (args) => {
      sends += 1;
      if (failing > 0) {
        failing -= 1;
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
          name: 'ThrottlingException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400, attempts: 1 },
        });
      }
      return next(args);
    },
    // Below the retry middleware (finalizeRequest, high priority), so each attempt passes here.
    { step: 'finalizeRequest', priority: 'low', name: 'injectThrottling' },
  );
  return { failNext: (count) => (failing = count), sends: () => sends };
}

describe('DynamoDB faults', () => {
  let store: TestStore;
  let gw: TestGateway;
  let faults: ReturnType<typeof throttle>;
  let providerCalls = 0;
  let key: string;

  beforeAll(async () => {
    store = await createTestStore();
    const db = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
    faults = throttle(db);
    gw = await createTestGateway({
      store,
      db,
      adapters: (id) => {
        const adapter = adapterFor(id) as ProviderAdapter;
        return {
          ...adapter,
          complete: (...args: Parameters<ProviderAdapter['complete']>) => {
            providerCalls += 1;
            return adapter.complete(...args);
          },
        } as never;
      },
    });
    const team = await gw.createTeam({ id: 'faulty' });
    key = (await gw.issueKey(team.teamId)).plaintext;
  });
  afterAll(() => gw.destroy());

  const chat = () =>
    gw.call('POST', '/v1/chat/completions', {
      key,
      body: { model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] },
    });

  const ledgerCount = async () => {
    const usage = await gw.call('GET', '/v1/usage?days=1', { key });
    return usage.body.totals.requests as number;
  };

  it('rides out brief throttling with the SDK standard retries: served once, counted once', async () => {
    const before = await ledgerCount();
    const calls = providerCalls;
    faults.failNext(2); // each of the next two sends fails once; the third attempt gets through
    const response = await chat();
    expect(response.status).toBe(200);
    expect(providerCalls).toBe(calls + 1);
    expect(await ledgerCount()).toBe(before + 1);
  });

  it('fails closed with 503 store_unavailable when throttling persists: no provider call, nothing counted', async () => {
    const before = await ledgerCount();
    const calls = providerCalls;
    faults.failNext(1_000);
    const response = await chat();
    faults.failNext(0);
    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('store_unavailable');
    expect(providerCalls).toBe(calls);
    expect(await ledgerCount()).toBe(before);
  });

  it('fails closed with 503 when DynamoDB is unreachable', async () => {
    const unreachable = createDocumentClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
    const down = await createTestGateway({ store, db: unreachable });
    try {
      const team = await gw.createTeam({ id: 'faulty-two' });
      const { plaintext } = await gw.issueKey(team.teamId);
      const response = await down.call('POST', '/v1/chat/completions', {
        key: plaintext,
        body: { model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] },
      });
      expect(response.status).toBe(503);
      expect(response.body.error).toMatchObject({ code: 'store_unavailable', type: 'server_error' });
    } finally {
      unreachable.destroy();
    }
  });
});
