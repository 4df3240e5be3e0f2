import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { createGatewayHandler, gatewayDependencies } from '../lambdas/gateway/handler';
import { createAdminService } from '../lambdas/shared/admin/admin-service';
import { Catalog } from '../lambdas/shared/catalog/catalog';
import { parseGatewayConfig } from '../lambdas/shared/catalog/schema';
import { matchRoute } from '../lambdas/shared/http/routes';
import { staticSecrets } from '../lambdas/shared/providers/secrets';
import { InMemoryAlertPublisher } from '../lambdas/shared/quota/budget-alerts';
import { createDocumentClient } from '../lambdas/shared/store/client';
import { startDynamoDbLocal } from '../local/dynamodb-local';
import { lambdaContext, toHttpApiEvent } from '../local/server';
import { createTables, tableNames } from '../local/tables';
import type { BenchRow } from './dlp';

/** What DynamoDB serves on one partition key, per second (its documented per-partition ceilings). */
const WCU_PER_PARTITION = 1_000;
const RCU_PER_PARTITION = 3_000;

/** One item a request wrote or read: its table, partition key and full key, and how. */
interface Touch {
  table: string;
  pk: string;
  key: Record<string, unknown>;
  transactional: boolean;
  /** Bytes of the item as written (a put); updates are sized by reading the item afterwards. */
  putBytes?: number;
  read: boolean;
}

/** Bytes an item counts for capacity: its attribute names and values (DynamoDB's rule, approximated by the marshalled JSON, which slightly overcounts). */
function itemBytes(item: Record<string, unknown>): number {
  return Buffer.byteLength(JSON.stringify(marshall(item, { removeUndefinedValues: true })), 'utf8');
}

/** Records every item each DynamoDB call touches, below the document client's marshalling. */
function recordTouches(db: DynamoDBDocumentClient, touches: Touch[]): void {
  db.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const keyOf = (key: Record<string, unknown>) => String(key['pk']);
      const items = (input['TransactItems'] as Record<string, Record<string, unknown>>[] | undefined) ?? [];
      for (const item of items) {
        const [kind, body] = Object.entries(item)[0]!;
        const key = (body['Key'] ?? pick(body['Item'] as Record<string, unknown>)) as Record<string, unknown>;
        touches.push({
          table: String(body['TableName']),
          pk: keyOf(key),
          key,
          transactional: true,
          read: kind === 'ConditionCheck',
          ...(kind === 'Put' ? { putBytes: itemBytes(body['Item'] as Record<string, unknown>) } : {}),
        });
      }
      if (items.length === 0 && input['TableName']) {
        const item = input['Item'] as Record<string, unknown> | undefined;
        const key = (input['Key'] as Record<string, unknown> | undefined) ?? (item ? pick(item) : undefined);
        if (key) {
          touches.push({
            table: String(input['TableName']),
            pk: keyOf(key),
            key,
            transactional: false,
            read: !item && !input['UpdateExpression'],
            ...(item ? { putBytes: itemBytes(item) } : {}),
          });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordPartitionTouches' },
  );
}

/** The key attributes of an item (every table keys on `pk`, most with `sk`). */
function pick(item: Record<string, unknown>): Record<string, unknown> {
  return { pk: item['pk'], ...(item['sk'] !== undefined ? { sk: item['sk'] } : {}) };
}

/** What one partition key took per request of the hot team. */
export interface PartitionHeat {
  /** `<table>|<partition key>`. */
  id: string;
  wcuPerRequest: number;
  rcuPerRequest: number;
}

/** What {@link measurePartitionHeat} found. */
export interface PartitionHeatMeasurement {
  /** Every partition key the requests touched, hottest (write units per request) first. */
  partitions: PartitionHeat[];
  /** Requests per second before the hottest key passes its ceiling. */
  ceiling: number;
  /** Absent when not asked for (it takes most of a minute). */
  falseRefusals?: { requests: number; percent: number };
}

/**
 * The highest rate one team can sustain before any single DynamoDB partition key passes its
 * ceiling (1,000 write units or 3,000 read units per second), measured, not guessed: one team's
 * requests go through the real gateway handler against DynamoDB Local, an SDK middleware records
 * every item each request writes or reads, and each write is priced by DynamoDB's rules (1 WCU
 * per KB of the item written, sized after the write; transactional writes 2; reads 0.5 RCU per 4
 * KB, eventually consistent). The hottest partition key bounds the team's rate.
 *
 * A sharded key (`…#<shard>`) takes the share of the requests whose ids hash to it, and the
 * measurement counts the share it saw: the hottest of N shards in a sample overstates its
 * long-run share (uniformly hashed over 32 shards, by about 1.9× at 200 requests, 1.4× at 1,000,
 * 1.3× at 2,000), so the ceiling it gives is on the safe side, and closer with more requests.
 *
 * @example
 * const rows = await benchPartitionHeat({ requests: 1_000 });
 */
export async function benchPartitionHeat(options: { requests: number }): Promise<BenchRow[]> {
  const { partitions, ceiling, falseRefusals } = await measurePartitionHeat({ ...options, falseRefusals: true });
  const hottest = partitions[0]!;
  const kind = hottest.id.split('|')[1]!.split('#')[0]!;
  return [
    {
      section: 'Scale',
      metric: 'one team: sustainable requests/s',
      value: ceiling,
      unit: 'req/s',
      target: '>= 5000',
    },
    {
      section: 'Scale',
      metric: `one team: hottest partition (${kind}#…): write units per request`,
      value: hottest.wcuPerRequest,
      unit: 'WCU',
    },
    {
      section: 'Scale',
      metric: `one team: refused at 90 % of its limit (${falseRefusals!.requests} requests, 3 instances, 16 clients)`,
      value: falseRefusals!.percent,
      unit: '%',
      target: '< 1',
    },
  ];
}

/**
 * The measurement behind {@link benchPartitionHeat}: every partition key one team's requests
 * touch, with its write and read units per request, and (when asked) the false-refusal rate.
 *
 * @example
 * const { partitions } = await measurePartitionHeat({ requests: 200, falseRefusals: false });
 */
export async function measurePartitionHeat(options: {
  requests: number;
  falseRefusals: boolean;
}): Promise<PartitionHeatMeasurement> {
  const dynamodb = await startDynamoDbLocal();
  const tables = tableNames(`heat${Date.now()}`);
  await createTables(dynamodb.endpoint, tables);
  const db = createDocumentClient({ region: 'us-east-1', endpoint: dynamodb.endpoint });
  const touches: Touch[] = [];
  recordTouches(db, touches);
  try {
    const catalog = new Catalog(
      parseGatewayConfig({
        providers: { mock: { adapter: 'mock' } },
        models: [
          { id: 'mock-small', provider: 'mock', upstreamModel: 'mock-small', prices: { input: 0.1, output: 0.4 } },
        ],
        teamDefaults: {
          requestsPerMinute: 10_000_000,
          tokensPerMinute: 1_000_000_000,
          softAlertPercent: 80,
          allowedModels: ['*'],
        },
      }),
    );
    const service = createAdminService({ db, tables, config: catalog.config });
    // A team with a budget: the heaviest case (admission also reserves on the month aggregate).
    await service.createTeam({ id: 'hot', name: 'Hot team', monthly_budget_usd: 1_000_000 }, 'bench');
    const { plaintext } = await service.issueKey('hot', { name: 'bench' }, 'bench');
    const handler = createGatewayHandler(
      gatewayDependencies({
        db,
        tables,
        catalog,
        secrets: staticSecrets({}),
        alerts: new InMemoryAlertPublisher(),
        identityCacheTtlMs: 30_000,
        providerTimeoutMs: 5_000,
      }),
    );
    const matched = matchRoute('POST', '/v1/chat/completions');
    const body = JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'A short question.' }] });
    const send = async () => {
      const event = toHttpApiEvent(
        { method: 'POST', url: '/v1/chat/completions', headers: { authorization: `Bearer ${plaintext}` }, body },
        matched,
      );
      const result = (await handler(event, lambdaContext('gateway'))) as Exclude<APIGatewayProxyResultV2, string>;
      if (result.statusCode !== 200) throw new Error(`partition heat: request answered ${result.statusCode}`);
    };
    await send(); // warm: the key and team are cached afterwards, as on a warm Lambda
    touches.length = 0;
    for (let i = 0; i < options.requests; i++) await send();
    // The requests' touches only: the reads that size items below go through the same middleware.
    const measured = touches.splice(0);

    // Size every item written by an update as it is now (DynamoDB bills the larger of before and after).
    const sizes = new Map<string, number>();
    for (const touch of measured.filter((t) => !t.read && t.putBytes === undefined)) {
      const id = `${touch.table}|${JSON.stringify(touch.key)}`;
      if (sizes.has(id)) continue;
      const { Item } = await db.send(new GetCommand({ TableName: touch.table, Key: touch.key }));
      sizes.set(id, Item ? itemBytes(Item) : 1);
    }
    const perPartition = new Map<string, { wcu: number; rcu: number }>();
    for (const touch of measured) {
      const id = `${touch.table}|${touch.pk}`;
      const totals = perPartition.get(id) ?? { wcu: 0, rcu: 0 };
      if (touch.read) {
        totals.rcu += 0.5 * (touch.transactional ? 2 : 1);
      } else {
        const bytes = touch.putBytes ?? sizes.get(`${touch.table}|${JSON.stringify(touch.key)}`) ?? 1;
        totals.wcu += Math.ceil(bytes / 1024) * (touch.transactional ? 2 : 1);
      }
      perPartition.set(id, totals);
    }
    const partitions = [...perPartition.entries()].map(([id, { wcu, rcu }]) => ({
      id,
      wcuPerRequest: wcu / options.requests,
      rcuPerRequest: rcu / options.requests,
    }));
    // A partition touched by a fraction of the requests (a new day's ledger) counts that fraction.
    const ceiling = Math.min(
      ...partitions.map((p) =>
        Math.min(
          p.wcuPerRequest > 0 ? WCU_PER_PARTITION / p.wcuPerRequest : Infinity,
          p.rcuPerRequest > 0 ? RCU_PER_PARTITION / p.rcuPerRequest : Infinity,
        ),
      ),
    );
    partitions.sort((a, b) => b.wcuPerRequest - a.wcuPerRequest);
    const falseRefusals = options.falseRefusals ? await falseRefusalRate({ db, tables, catalog, service }) : undefined;
    return { partitions, ceiling, ...(falseRefusals ? { falseRefusals } : {}) };
  } finally {
    db.destroy();
    await dynamodb.stop();
  }
}

/**
 * The share of requests refused when demand stays under the limit: a team with a limit of 600
 * requests per minute sends 540 (90 %) within one minute, from 16 concurrent clients spread over
 * three gateway instances sharing the same tables. An exact limit refuses none; a design that
 * splits the limit into shards or leases pays here for capacity parked where demand is not.
 */
async function falseRefusalRate(setup: {
  db: DynamoDBDocumentClient;
  tables: ReturnType<typeof tableNames>;
  catalog: Catalog;
  service: ReturnType<typeof createAdminService>;
}): Promise<{ requests: number; percent: number }> {
  const limit = 600;
  const demand = Math.floor(limit * 0.9);
  await setup.service.createTeam({ id: 'steady', name: 'Steady team', requests_per_minute: limit }, 'bench');
  const { plaintext } = await setup.service.issueKey('steady', { name: 'bench' }, 'bench');
  // One UTC minute for the whole burst: a clock pinned 5 s into it, moving with real time.
  const startedAt = Date.now();
  const minute = Math.floor(startedAt / 60_000) * 60_000 + 5_000;
  const now = () => minute + (Date.now() - startedAt);
  const instances = Array.from({ length: 3 }, () =>
    createGatewayHandler(
      gatewayDependencies({
        db: setup.db,
        tables: setup.tables,
        catalog: setup.catalog,
        secrets: staticSecrets({}),
        alerts: new InMemoryAlertPublisher(),
        identityCacheTtlMs: 30_000,
        providerTimeoutMs: 5_000,
        now,
      }),
    ),
  );
  const matched = matchRoute('POST', '/v1/chat/completions');
  const body = JSON.stringify({ model: 'mock-small', max_tokens: 16, messages: [{ role: 'user', content: 'Hi.' }] });
  let next = 0;
  let refused = 0;
  const client = async (index: number) => {
    while (next < demand) {
      next += 1;
      const event = toHttpApiEvent(
        {
          method: 'POST',
          url: '/v1/chat/completions',
          headers: { authorization: `Bearer ${plaintext}` },
          body,
          receivedAt: now(),
        },
        matched,
      );
      const handler = instances[index % instances.length]!;
      const result = (await handler(event, lambdaContext('gateway'))) as Exclude<APIGatewayProxyResultV2, string>;
      if (result.statusCode === 429) refused += 1;
      else if (result.statusCode !== 200) throw new Error(`false refusals: request answered ${result.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, i) => client(i)));
  return { requests: demand, percent: (100 * refused) / demand };
}
