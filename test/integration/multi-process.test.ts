import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { tableNames } from '../../local/tables';
import { UsageReader } from '../../lambdas/shared/usage/reader';
import { testEndpoint } from '../helpers/dynamodb';
import { leaseHoldings } from '../helpers/money';

/**
 * The bounds across gateway processes, as across Lambda instances: three OS processes, each a
 * gateway with its own leases, share one DynamoDB Local. Concurrent requests spread over all three
 * never get more than a limit or a budget allows.
 */

const ADMIN_TOKEN = 'multi-process-admin';

interface GatewayProcess {
  child: ChildProcess;
  url: string;
}

/** Starts one gateway process and waits for its URL. */
async function startProcess(prefix: string): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, '../helpers/gateway-process.ts'), testEndpoint(), prefix, ADMIN_TOKEN],
    { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, LOG_LEVEL: 'ERROR' } },
  );
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gateway process did not start')), 60_000);
    lines.on('line', (line) => {
      if (!line.startsWith('{"url"')) return;
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once('exit', (code) => reject(new Error(`gateway process exited with ${code}`)));
  });
  return { child, url };
}

describe('bounds across three gateway processes sharing DynamoDB Local', () => {
  const prefix = `multi-${Date.now()}`;
  let gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    // The first creates the tables; the others find them.
    const first = await startProcess(prefix);
    gateways = [first, ...(await Promise.all([1, 2].map(() => startProcess(prefix))))];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(
      gateways.map(({ child }) => new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')))),
    );
  });

  const admin = (method: string, route: string, body?: unknown) =>
    fetch(`${gateways[0]!.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

  async function teamWithKey(team: Record<string, unknown>): Promise<string> {
    expect((await admin('POST', '/v1/admin/teams', { name: String(team['id']), ...team })).status).toBe(201);
    const issued = await admin('POST', `/v1/admin/teams/${String(team['id'])}/keys`, { name: 'k' });
    return ((await issued.json()) as { key: string }).key;
  }

  /** `count` concurrent requests, spread round-robin over the three processes. */
  async function burst(key: string, count: number, body: Record<string, unknown>) {
    return Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const response = await fetch(`${gateways[i % 3]!.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: (await response.json()) as Record<string, any> };
      }),
    );
  }

  it('admits exactly L of 3L concurrent requests against a requests-per-minute limit', async () => {
    // A minute boundary in the middle of the burst would rightly admit a second window's worth.
    const msIntoMinute = Date.now() % 60_000;
    if (msIntoMinute > 50_000) await new Promise((resolve) => setTimeout(resolve, 61_000 - msIntoMinute));
    for (const limit of [10, 40]) {
      const key = await teamWithKey({ id: `rpm-${limit}`, requests_per_minute: limit });
      const answers = await burst(key, 3 * limit, { model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] });
      expect(answers.filter((a) => a.status === 200)).toHaveLength(limit);
      expect(answers.filter((a) => a.status === 429)).toHaveLength(2 * limit);
    }
  }, 30_000); // may first wait up to 11 s for the next minute

  it('never spends past a budget, with requests priced at their whole reservation', async () => {
    // 4 output tokens at $1000/MTok: each request reserves and costs exactly $0.004; $0.01 pays for two.
    const key = await teamWithKey({ id: 'budget-3p', monthly_budget_usd: 0.01 });
    const answers = await burst(key, 30, {
      model: 'mock-pricey',
      max_tokens: 4,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const served = answers.filter((a) => a.status === 200);
    expect(served).toHaveLength(2);
    expect(answers.filter((a) => a.status === 429 && a.body['error'].code === 'insufficient_quota')).toHaveLength(28);
    const db = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
    const tables = tableNames(prefix);
    const month = await new UsageReader(db, tables.usage).monthSpend('budget-3p', new Date().toISOString().slice(0, 7));
    expect(month.spentPicos).toBe(8_000_000_000n);
    expect(month.spentPicos).toBeLessThanOrEqual(10_000_000_000n);
    // Committed: the spend plus what the processes' open leases still hold, to the pico-dollar.
    expect(month.committedPicos).toBe(month.spentPicos + (await leaseHoldings(db, tables.counters, 'budget-3p')));
    db.destroy();
  });
});
