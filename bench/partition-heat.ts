import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { createGatewayHandler, gatewayDependencies } from '../lambdas/gateway/handler';
import { createAdminService } from '../lambdas/shared/admin/admin-service';
import { Catalog } from '../lambdas/shared/catalog/catalog';
import { parseGatewayConfig } from '../lambdas/shared/catalog/schema';
import { matchRoute } from '../lambdas/shared/http/routes';
import { staticSecrets } from '../lambdas/shared/providers/secrets';
import { InMemoryAlertPublisher } from '../lambdas/shared/quota/budget-alerts';
import { BUDGET_LEASE_ADMIT_MS } from '../lambdas/shared/quota/leases';
import { createDocumentClient } from '../lambdas/shared/store/client';
import { AUDIT_TEAM_SHARDS, USAGE_SHARDS } from '../lambdas/shared/store/schema';
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

/**
 * An item or key as the document client has it: transactions reach the stack already marshalled
 * (`transactWrite` sends them through a low-level client), other requests in document form.
 */
function documentForm(map: Record<string, unknown>): Record<string, unknown> {
  const pk = map['pk'];
  return typeof pk === 'object' && pk !== null && 'S' in pk ? unmarshall(map as Record<string, AttributeValue>) : map;
}

/** Records every item each DynamoDB call touches, in document form. */
function recordTouches(db: DynamoDBDocumentClient, touches: Touch[]): void {
  db.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const keyOf = (key: Record<string, unknown>) => String(key['pk']);
      const items = (input['TransactItems'] as Record<string, Record<string, unknown>>[] | undefined) ?? [];
      for (const item of items) {
        const [kind, marshalled] = Object.entries(item)[0]!;
        const body: Record<string, unknown> = {
          ...marshalled,
          ...(marshalled['Key'] ? { Key: documentForm(marshalled['Key'] as Record<string, unknown>) } : {}),
          ...(marshalled['Item'] ? { Item: documentForm(marshalled['Item'] as Record<string, unknown>) } : {}),
        };
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

/** DynamoDB's capacity price of every item one batch of requests touched, per partition key. */
async function heatPerPartition(
  db: DynamoDBDocumentClient,
  touches: readonly Touch[],
  requests: number,
): Promise<{ id: string; wcuPerRequest: number; rcuPerRequest: number }[]> {
  // The requests' touches only: the sizing reads below go through the same recording client.
  const counted = [...touches];
  // Size every item written by an update as it is now (DynamoDB bills the larger of before and after).
  const sizes = new Map<string, number>();
  for (const touch of counted.filter((t) => !t.read && t.putBytes === undefined)) {
    const id = `${touch.table}|${JSON.stringify(touch.key)}`;
    if (sizes.has(id)) continue;
    const { Item } = await db.send(new GetCommand({ TableName: touch.table, Key: touch.key }));
    sizes.set(id, Item ? itemBytes(Item) : 1);
  }
  const perPartition = new Map<string, { wcu: number; rcu: number }>();
  for (const touch of counted) {
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
  // A sharded kind's keys each take 1/N of its requests in the long run (the shard is a hash of
  // the request id): its heat is the kind's total over N. The busiest shard of a sample of a few
  // hundred requests overstates that (by about 1.4x at 1,000 requests over 32 shards); at 5,000
  // requests a second a shard's second-to-second share varies by about 8 %.
  const sharded = new Map<string, { wcu: number; rcu: number; shards: number }>();
  const single: [string, { wcu: number; rcu: number }][] = [];
  for (const [id, totals] of perPartition) {
    const [table, pk] = id.split('|') as [string, string];
    const shards = SHARD_COUNTS[pk.split('#')[0]!];
    if (shards === undefined) {
      single.push([id, totals]);
      continue;
    }
    const kindId = `${table}|${pk.replace(/#\d+$/, '')}#<shard of ${shards}>`;
    const kind = sharded.get(kindId) ?? { wcu: 0, rcu: 0, shards };
    kind.wcu += totals.wcu;
    kind.rcu += totals.rcu;
    sharded.set(kindId, kind);
  }
  return [
    ...single.map(([id, { wcu, rcu }]) => ({ id, wcuPerRequest: wcu / requests, rcuPerRequest: rcu / requests })),
    ...[...sharded].map(([id, { wcu, rcu, shards }]) => ({
      id,
      wcuPerRequest: wcu / shards / requests,
      rcuPerRequest: rcu / shards / requests,
    })),
  ].sort((a, b) => b.wcuPerRequest - a.wcuPerRequest);
}

/** Partition kinds spread over shards by request id, and how many (`store/schema.ts`). */
const SHARD_COUNTS: Record<string, number> = {
  LEDGER: USAGE_SHARDS,
  AGG: USAGE_SHARDS,
  AUDIT: AUDIT_TEAM_SHARDS,
};

/**
 * Keys one Lambda instance writes for its own requests only (its budget leases): their heat grows
 * with the instance's rate, at most about one request a second, never with the team's.
 */
const PER_INSTANCE_KINDS = new Set(['LEASE']);

/** Minutes of a budget lease's period (`BUDGET_LEASE_ADMIT_MS`): the steady state is measured over one. */
const STEADY_MINUTES = BUDGET_LEASE_ADMIT_MS / 60_000;

/** The team rate at which the first shared partition key reaches its ceiling. */
function ceilingOf(partitions: readonly { id: string; wcuPerRequest: number; rcuPerRequest: number }[]): number {
  return Math.min(
    ...partitions
      .filter((p) => !PER_INSTANCE_KINDS.has(p.id.split('|')[1]!.split('#')[0]!))
      .map((p) =>
        Math.min(
          p.wcuPerRequest > 0 ? WCU_PER_PARTITION / p.wcuPerRequest : Infinity,
          p.rcuPerRequest > 0 ? RCU_PER_PARTITION / p.rcuPerRequest : Infinity,
        ),
      ),
  );
}

/**
 * The highest rate one team can sustain before any single DynamoDB partition key passes its
 * ceiling (1,000 write units or 3,000 read units per second), measured, not guessed: one team's
 * requests go through the real gateway handler against DynamoDB Local, an SDK middleware records
 * every item each request writes or reads, and each write is priced by DynamoDB's rules (1 WCU
 * per KB of the item written, sized after the write; transactional writes 2; reads 0.5 RCU per 4
 * KB, eventually consistent). The hottest partition key bounds the team's rate.
 *
 * Capacity is leased to each Lambda instance, and a Lambda instance serves one request at a time,
 * so what a request costs the team's hot items depends on how many requests each instance serves
 * in a minute: a team at R requests/s whose requests take D seconds keeps about R × D instances
 * busy, each serving 60 / D requests a minute. Each case runs separate gateway instances (their
 * own leases, as separate Lambdas), each serving 60 / D requests sequentially in each of ten
 * minutes, and counts the last five (the steady state: a budget lease period); the
 * per-request heat does not depend on how many instances there are (the limits here are far from
 * reached), so a few instances stand for thousands.
 *
 * @example
 * const rows = await benchPartitionHeat({ requests: 240 });
 */
export async function benchPartitionHeat(options: { requests: number }): Promise<BenchRow[]> {
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
    const matched = matchRoute('POST', '/v1/chat/completions');
    const body = JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'A short question.' }] });
    // The clock: 5 s into the current UTC minute, moved on a minute for each instance's second
    // minute (and back for the next instance), moving with real time within a minute.
    const minute = Math.floor(Date.now() / 60_000) * 60_000 + 5_000;
    let phase = { at: minute, since: Date.now() };
    const now = () => phase.at + (Date.now() - phase.since);

    const kindOf = (id: string) => id.split('|')[1]!.split('#')[0]!;

    /** The rows of one case: the team's ceiling, its hottest key, the hottest key of each kind written. */
    const heatRows = (
      duration: string,
      perMinute: number,
      heat: { ceiling: number; hottest: { id: string; wcuPerRequest: number }; byKind: Map<string, number> },
      target?: string,
    ): BenchRow[] => [
      {
        section: 'Scale',
        metric: `one team: sustainable requests/s (requests of ${duration}: ${perMinute} a minute per instance)`,
        value: heat.ceiling,
        unit: 'req/s',
        ...(target ? { target } : {}),
      },
      {
        section: 'Scale',
        metric: `one team, ${duration} requests: hottest partition (${kindOf(heat.hottest.id)}#…): write units per request`,
        value: heat.hottest.wcuPerRequest,
        unit: 'WCU',
      },
      ...[...heat.byKind].map(([kind, wcu]) => ({
        section: 'Scale',
        metric: `one team, ${duration} requests: write units per request on the hottest ${kind}#… key`,
        value: wcu,
        unit: 'WCU',
      })),
    ];

    /** Heat per partition when each instance serves `perInstance` requests in the minute. */
    const measure = async (teamId: string, perInstance: number) => {
      // A team with a budget: the heaviest case (admission also leases from the month's budget).
      await service.createTeam({ id: teamId, name: teamId, monthly_budget_usd: 1_000_000 }, 'bench');
      const { plaintext } = await service.issueKey(teamId, { name: 'bench' }, 'bench');
      const instances = Math.max(2, Math.ceil(options.requests / (STEADY_MINUTES * perInstance)));
      const send = async (handler: ReturnType<typeof createGatewayHandler>) => {
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
        const result = (await handler(event, lambdaContext('gateway'))) as Exclude<APIGatewayProxyResultV2, string>;
        if (result.statusCode !== 200) throw new Error(`partition heat: request answered ${result.statusCode}`);
      };
      let requests = 0;
      touches.length = 0;
      for (let i = 0; i < instances; i++) {
        const handler = createGatewayHandler(
          gatewayDependencies({
            db,
            tables,
            catalog,
            secrets: staticSecrets({}),
            alerts: new InMemoryAlertPublisher(),
            identityCacheTtlMs: 30_000,
            providerTimeoutMs: 5_000,
            now,
          }),
        );
        // Ten minutes of it: the first five (a new instance: cold caches, first blocks, a first
        // budget lease period) are not counted; the next five are its steady state, each lease
        // sized from what it used in the period before.
        for (let m = 0; m < 2 * STEADY_MINUTES; m++) {
          phase = { at: minute + m * 60_000, since: Date.now() };
          const before = touches.length;
          for (let r = 0; r < perInstance; r++) await send(handler);
          if (m < STEADY_MINUTES) touches.splice(before);
          else requests += perInstance;
        }
      }
      const partitions = await heatPerPartition(db, touches, requests);
      // The hottest key of each kind (RATE, BUDGET, LEASE, AGG, LEDGER, AUDIT, ...): where the next ceiling is.
      const byKind = new Map<string, number>();
      for (const p of partitions) byKind.set(kindOf(p.id), Math.max(byKind.get(kindOf(p.id)) ?? 0, p.wcuPerRequest));
      const hottest = partitions.find((p) => !PER_INSTANCE_KINDS.has(kindOf(p.id)))!;
      return { ceiling: ceilingOf(partitions), hottest, byKind };
    };

    const fast = await measure('hot-fast', 60);
    const slow = await measure('hot-slow', 6);
    const setup = { db, tables, catalog, service };
    const falseRefusals = await falseRefusalRate(setup, { teamId: 'steady', instances: 3, clients: 16 });
    // As on Lambda: each instance serves one request at a time.
    const lambdaLike = await falseRefusalRate(setup, { teamId: 'steady-lambda', instances: 30, clients: 30 });
    return [
      ...heatRows('1 s', 60, fast, '>= 5000'),
      ...heatRows('10 s', 6, slow),
      {
        section: 'Scale',
        metric: `one team: refused at 90 % of its limit (${falseRefusals.requests} requests, 3 instances, 16 clients)`,
        value: falseRefusals.percent,
        unit: '%',
        target: '< 1',
      },
      {
        section: 'Scale',
        metric: `one team: refused at 90 % of its limit (${lambdaLike.requests} requests, 30 instances, one request at a time each)`,
        value: lambdaLike.percent,
        unit: '%',
        target: '< 1',
      },
    ];
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
async function falseRefusalRate(
  setup: {
    db: DynamoDBDocumentClient;
    tables: ReturnType<typeof tableNames>;
    catalog: Catalog;
    service: ReturnType<typeof createAdminService>;
  },
  shape: { teamId: string; instances: number; clients: number },
): Promise<{ requests: number; percent: number }> {
  const limit = 600;
  const demand = Math.floor(limit * 0.9);
  await setup.service.createTeam({ id: shape.teamId, name: shape.teamId, requests_per_minute: limit }, 'bench');
  const { plaintext } = await setup.service.issueKey(shape.teamId, { name: 'bench' }, 'bench');
  // One UTC minute for the whole burst: a clock pinned 5 s into it, moving with real time.
  const startedAt = Date.now();
  const minute = Math.floor(startedAt / 60_000) * 60_000 + 5_000;
  const now = () => minute + (Date.now() - startedAt);
  const instances = Array.from({ length: shape.instances }, () =>
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
  await Promise.all(Array.from({ length: shape.clients }, (_, i) => client(i)));
  return { requests: demand, percent: (100 * refused) / demand };
}
