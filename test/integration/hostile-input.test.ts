import { Writable } from 'node:stream';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { createGatewayStreamHandler, gatewayDependencies } from '../../lambdas/gateway/handler';
import { AuditLog } from '../../lambdas/shared/audit/audit-log';
import { anthropicErrorType } from '../../lambdas/shared/http/error-shapes';
import { matchRoute, routeByKey, ROUTES, type RouteDefinition } from '../../lambdas/shared/http/routes';
import { staticSecrets } from '../../lambdas/shared/providers/secrets';
import { InMemoryAlertPublisher } from '../../lambdas/shared/quota/budget-alerts';
import { AUDIT_DECISION_SHARDS, AUDIT_TEAM_SHARDS, itemKeys } from '../../lambdas/shared/store/schema';
import { requestShard } from '../../lambdas/shared/store/shards';
import { installAwsLambdaGlobal, type ResponsePrelude } from '../../local/awslambda';
import { lambdaContext, toRestApiEvent } from '../../local/server';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';

/**
 * Hostile input on every route, property-based: random and malformed JSON, wrong types, huge
 * strings and arrays, deep nesting, invalid UTF-8 and base64 bodies, unknown fields, header
 * injection attempts, path traversal in path parameters, random query strings and cursors.
 * Every answer is a 2xx (a GET that ignores nothing harmful) or a 4xx in OpenAI's error shape,
 * never a 5xx, and nothing is written to any table.
 */

const RUNS = Number(process.env.HOSTILE_RUNS ?? 60);

/** Text that tries to escape: traversal, encodings, control characters, injection payloads. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '../../etc/passwd',
    '..%2F..%2Fetc',
    '%00',
    '\u0000',
    '\r\nx-injected: 1',
    "' OR 1=1 --",
    '{"$ne":null}',
    'AGG#demo#2026-11',
    '__proto__',
    'constructor',
    '\ud800',
    'é'.repeat(300),
    'a'.repeat(5_000),
  ),
);

/** Deeply nested arrays and objects. */
const deep = fc.integer({ min: 50, max: 50_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth));

/** Any body a hostile client might send, as text. */
const bodies = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ model: v, messages: v, stream: v, max_tokens: v })),
  fc
    .record({ id: nasty, name: nasty, requests_per_minute: fc.jsonValue(), allowed_models: fc.jsonValue() })
    .map((v) => JSON.stringify(v)),
  fc
    .record({ model: fc.constant('mock-small'), messages: fc.jsonValue({ maxDepth: 3 }) })
    .map((v) => JSON.stringify(v)),
  // Over the 5 MB body limit: a 413 before anything is parsed.
  fc.constant(JSON.stringify({ model: 'mock-small', messages: [{ role: 'user', content: 'x'.repeat(5_300_000) }] })),
  fc.constant(JSON.stringify({ model: 'mock-small', messages: Array.from({ length: 20_000 }, () => 'x') })),
  deep,
  fc.constant('{"model": "mock-small", "messages": [{"role": "user", "content": "hi"}], "unknown_field": 1}'),
  fc.constant('\u0000\u0001\u0002'),
);

/** Route paths with random (often hostile) path parameters. */
const pathOf = (template: string, parameter: string) =>
  template.replace(/\{\w+\}/g, () => {
    try {
      return encodeURIComponent(parameter);
    } catch {
      return '%ED%A0%80'; // a lone surrogate: percent-encoded invalid UTF-8
    }
  });

const queries = fc.dictionary(
  fc.constantFrom('days', 'limit', 'cursor', 'month', 'format', 'decision', 'from', 'to', 'team', 'key', 'x'),
  nasty,
  { maxKeys: 4 },
);

describe('hostile input on every route', () => {
  let gw: TestGateway;
  let key: string;
  let stream: Door;
  let counts: () => Promise<Record<string, number>>;

  beforeAll(async () => {
    gw = await createTestGateway();
    stream = streamingDoor(gw);
    const team = await gw.createTeam({ id: 'hostile' });
    key = (await gw.issueKey(team.teamId)).plaintext;
    counts = async () => {
      const result: Record<string, number> = {};
      for (const [name, table] of Object.entries(gw.store.tables)) {
        const scanned = await gw.store.db.send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
        result[name] = scanned.Count ?? 0;
      }
      return result;
    };
  });
  afterAll(() => gw.destroy());

  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
    "%s: 4xx in the route's error shape or a harmless 2xx, never a 5xx, nothing written",
    async (_, route) => {
      const before = await counts();
      await fc.assert(
        fc.asyncProperty(
          bodies,
          nasty,
          queries,
          fc.constantFrom('valid', 'none', 'garbage', 'admin'),
          fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'multipart/form-data'),
          nasty,
          fc.constantFrom('api', 'stream'),
          async (body, parameter, query, auth, contentType, headerValue, door) => {
            const search = new URLSearchParams(query).toString();
            const url = `${pathOf(route.path, parameter)}${search ? `?${search}` : ''}`;
            const headers: Record<string, string> = {
              'content-type': contentType,
              'x-forwarded-for': headerValue.replace(/[\r\n]/g, ' '),
              'user-agent': headerValue.replace(/[\r\n]/g, ' '),
            };
            if (auth === 'garbage') headers['authorization'] = `Bearer gwk_${parameter}`;
            const init = {
              ...(auth === 'valid' ? { key } : {}),
              ...(auth === 'admin' ? { admin: true } : {}),
              ...(route.method === 'GET' ? {} : { rawBody: body }),
              headers,
            };
            let response;
            try {
              response =
                door === 'api' ? await gw.call(route.method, url, init) : await stream(route.method, url, init);
              if (!response) return; // a route the streaming door's REST API does not have
            } catch (error) {
              // A path the router cannot match (e.g. an encoded slash) never reaches a Lambda.
              if (String(error).includes('no route')) return;
              throw error;
            }
            if (response.status >= 500 || (response.status < 400 && route.method !== 'GET')) {
              // Say which input did it, briefly (bodies can be megabytes).
              throw new Error(
                `${door}: ${route.method} ${url.slice(0, 120)} auth=${auth} type=${contentType} -> ${response.status} ` +
                  `${JSON.stringify(response.body).slice(0, 300)} for body ${JSON.stringify(body.slice(0, 200))}`,
              );
            }
            if (response.status >= 400) {
              const error = (response.body as { error?: Record<string, unknown> }).error;
              expect(typeof error?.message).toBe('string');
              expect(typeof error?.type).toBe('string');
              if ((route as RouteDefinition).errors === 'anthropic') {
                expect(response.body).toMatchObject({
                  type: 'error',
                  error: { type: anthropicErrorType(response.status) },
                });
              } else {
                expect(error).toHaveProperty('param');
                expect(error).toHaveProperty('code');
              }
            } else {
              // Only reads may succeed on random input (a listing, a usage report, a health check).
              expect(route.method).toBe('GET');
            }
          },
        ),
        { numRuns: RUNS },
      );
      expect(await counts()).toEqual(before);
    },
    120_000,
  );
});

/** How deep the nesting attacks go: far past any stack a recursive walk could survive. */
const DEPTH = 50_000;

/** JSON text nested `DEPTH` levels: arrays, objects, or the two alternating. */
const DEEP_SHAPES = {
  arrays: '['.repeat(DEPTH) + ']'.repeat(DEPTH),
  objects: '{"a":'.repeat(DEPTH) + '1' + '}'.repeat(DEPTH),
  mixed: '{"a":['.repeat(DEPTH / 2) + ']}'.repeat(DEPTH / 2),
} as const;

/** Where a nested value goes: a body with `DEEP` standing for it. */
const HOLE = '__DEEP__';
const bodyWith = (template: unknown, deep: string) => JSON.stringify(template).replace(`"${HOLE}"`, () => deep);
const hi = { role: 'user', content: 'hi' };

/** Chat Completions bodies with the nested value in each client-supplied field. */
const CHAT_FIELDS: Record<string, unknown> = {
  messages: { model: 'mock-small', messages: HOLE },
  'message content': { model: 'mock-small', messages: [{ role: 'user', content: HOLE }] },
  'tools[].function.parameters': {
    model: 'mock-small',
    messages: [hi],
    tools: [{ type: 'function', function: { name: 't', parameters: { type: 'object', properties: { x: HOLE } } } }],
  },
  'response_format.json_schema.schema': {
    model: 'mock-small',
    messages: [hi],
    response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object', properties: HOLE } } },
  },
  metadata: { model: 'mock-small', messages: [hi], metadata: { k: HOLE } },
  'the whole body': HOLE,
};

/** Admin bodies with the nested value in a field, by route. */
const ADMIN_FIELDS: Record<string, unknown> = {
  'POST /v1/admin/teams': { id: 'deep-team', name: 'Deep', allowed_models: HOLE },
  'PATCH /v1/admin/teams/{teamId}': { name: HOLE },
  'POST /v1/admin/teams/{teamId}/keys': { name: 'k', allowed_models: HOLE },
  'POST /v1/admin/keys/{keyId}/rotate': { grace_period_seconds: HOLE },
};

/** A Lambda response stream that keeps what the streaming door would have sent the client. */
class CollectedResponse extends Writable {
  status = 200;
  text = '';
  setPrelude(prelude: ResponsePrelude): void {
    this.status = prelude.statusCode ?? 200;
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString('utf8');
    callback();
  }
}

/** One way into the gateway: the HTTP API, or the streaming door (a REST API over the gateway function). */
type Door = (
  method: string,
  url: string,
  init: { key?: string; admin?: boolean; rawBody?: string; headers?: Record<string, string> },
) => Promise<{ status: number; body: { error?: Record<string, unknown> } } | undefined>;

/** The streaming door's function, called with the event its REST API sends; undefined for routes it has no resource for. */
function streamingDoor(gw: TestGateway): Door {
  installAwsLambdaGlobal();
  const handler = createGatewayStreamHandler(
    gatewayDependencies({
      db: gw.store.db,
      tables: gw.store.tables,
      catalog: gw.catalog,
      secrets: staticSecrets({}),
      alerts: new InMemoryAlertPublisher(),
      identityCacheTtlMs: 0,
      providerTimeoutMs: 5_000,
    }),
  ) as unknown as (event: unknown, stream: Writable, context: unknown) => Promise<void>;
  return async (method, url, init) => {
    const matched = matchRoute(method, new URL(url, 'http://localhost').pathname);
    // API Gateway answers a route the REST API does not have (admin, usage) without a Lambda.
    if (!matched || matched.route.function !== 'gateway') return undefined;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
    if (init.key) headers['authorization'] = `Bearer ${init.key}`;
    const event = toRestApiEvent(
      { method, url, headers, ...(init.rawBody !== undefined ? { body: init.rawBody } : {}) },
      matched,
    );
    const response = new CollectedResponse();
    await handler(event, response, lambdaContext('llm-gateway-stream', 60_000));
    return { status: response.status, body: response.status >= 400 ? JSON.parse(response.text) : {} };
  };
}

/** A 4xx in OpenAI's error shape, naming `param` when given. */
function expectOpenAiError(
  response: { status: number; body: { error?: Record<string, unknown> } },
  status: number,
  param?: string | null,
) {
  expect(response.status).toBe(status);
  const error = response.body.error!;
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof error['message']).toBe('string');
  expect(error['type']).toBe('invalid_request_error');
  if (param !== undefined) expect(error['param']).toBe(param);
}

/** A 4xx in the error shape of the route (OpenAI's, or Anthropic's on the Messages face). */
function expectRouteError(
  routeKey: string,
  response: { status: number; body: { error?: Record<string, unknown> } },
  status: number,
  param?: string | null,
) {
  if (routeByKey(routeKey)?.errors !== 'anthropic') return expectOpenAiError(response, status, param);
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ type: 'error', error: { type: anthropicErrorType(status) } });
  expect(typeof response.body.error!['message']).toBe('string');
}

/** Every item in every table, so "changes nothing" can compare contents, not only counts. */
async function snapshot(gw: TestGateway): Promise<Record<string, unknown[]>> {
  const result: Record<string, unknown[]> = {};
  for (const [name, table] of Object.entries(gw.store.tables)) {
    const items: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await gw.store.db.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    result[name] = items.map((item) => JSON.stringify(item)).sort();
  }
  return result;
}

describe('hostile input on both doors: deep nesting, forged cursors, extreme numbers', () => {
  let gw: TestGateway;
  let doors: Record<'api' | 'stream', Door>;
  let key: string;
  let keyId: string;
  let before: Record<string, unknown[]>;
  const now = Date.now();
  const month = new Date(now).toISOString().slice(0, 7);
  const today = new Date(now).toISOString().slice(0, 10);

  beforeAll(async () => {
    gw = await createTestGateway();
    const team = await gw.createTeam({ id: 'fortress' });
    await gw.createTeam({ id: 'neighbour' });
    const issued = await gw.issueKey(team.teamId);
    key = issued.plaintext;
    keyId = issued.record.keyId;
    doors = { api: (method, url, init) => gw.call(method, url, init), stream: streamingDoor(gw) };
    // Blocked requests of two teams, so that audit listings have pages and cursors.
    const audit = new AuditLog(gw.store.db, gw.store.tables.audit, 90);
    for (let i = 0; i < 12; i++) {
      await audit.put({
        requestId: `req-${i}`,
        teamId: i % 2 === 0 ? 'fortress' : 'neighbour',
        keyId: i % 2 === 0 ? keyId : 'kneighbour',
        requestedModel: 'mock-small',
        decision: 'block',
        ruleIds: ['deny'],
        status: 'blocked',
        httpStatus: 400,
        streamed: false,
        costPicos: 0n,
        latencyMs: 1,
        createdAt: new Date(now - 60_000 + i * 1_000).toISOString(),
      });
    }
    before = await snapshot(gw);
  });
  afterAll(() => gw.destroy());

  /** Path parameters that exist, so a refusal is the input's doing, not a 404. */
  const pathOfRoute = (path: string) =>
    path
      .replace('{teamId}', 'fortress')
      .replace('{keyId}', path.endsWith('/revoke') ? 'kmissing' : keyId)
      .replace('{approvalId}', `apr_${'m'.repeat(20)}`);
  const authOf = (route: (typeof ROUTES)[number]) =>
    route.auth === 'iam' ? { admin: true } : route.auth === 'key' ? { key } : {};

  describe(`JSON nested ${DEPTH.toLocaleString('en')} deep`, () => {
    const chatCases = ROUTES.filter((r) => r.method === 'POST' && r.function === 'gateway').flatMap((route) =>
      (['api', 'stream'] as const).flatMap((door) =>
        Object.keys(CHAT_FIELDS).flatMap((field) =>
          (Object.keys(DEEP_SHAPES) as (keyof typeof DEEP_SHAPES)[]).map(
            (shape) => [`${route.method} ${route.path}`, door, field, shape] as const,
          ),
        ),
      ),
    );

    it.each(chatCases)('%s via the %s door: %s nested deep in %s is a 400', async (routeKey, door, field, shape) => {
      const path = routeKey.split(' ')[1]!;
      const template = CHAT_FIELDS[field];
      for (const stream of [false, true]) {
        const withStream = template && typeof template === 'object' ? { ...(template as object), stream } : template;
        const response = (await doors[door]('POST', path, { key, rawBody: bodyWith(withStream, DEEP_SHAPES[shape]) }))!;
        expectRouteError(routeKey, response, 400, null);
        if (routeByKey(routeKey)?.errors !== 'anthropic') expect(response.body.error!['code']).toBe('invalid_json');
        expect(response.body.error!['message']).toMatch(/deeper than 64 levels/);
      }
    });

    it.each(Object.keys(ADMIN_FIELDS))('%s: an admin body nested deep is a 400', async (routeKey) => {
      const [method, template] = routeKey.split(' ') as [string, string];
      for (const deep of Object.values(DEEP_SHAPES)) {
        const response = await gw.call(method, pathOfRoute(template), {
          admin: true,
          rawBody: bodyWith(ADMIN_FIELDS[routeKey], deep),
        });
        expectOpenAiError(response, 400, null);
        expect(response.body.error['code']).toBe('invalid_json');
      }
    });

    it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
      '%s on both doors: a deep body is never a 5xx',
      async (_, route) => {
        for (const door of Object.values(doors)) {
          for (const deep of Object.values(DEEP_SHAPES)) {
            const response = await door(route.method, pathOfRoute(route.path), { ...authOf(route), rawBody: deep });
            if (!response) continue; // a route this door does not have
            if (route.method === 'GET') {
              // Reads take no body and ignore one.
              expect(response.status).toBeLessThan(500);
            } else if (route.path.includes('{approvalId}')) {
              expectOpenAiError(response, 404, 'approvalId'); // takes no body; no such held call
            } else if (route.path.endsWith('/revoke')) {
              expectOpenAiError(response, 404, 'keyId'); // takes no body; the key does not exist
            } else {
              expectRouteError(`${route.method} ${route.path}`, response, 400, null);
            }
          }
        }
      },
    );

    it('refuses tool-call arguments that nest deep, naming them: adapters parse and re-serialise them', async () => {
      const body = {
        model: 'mock-small',
        messages: [
          hi,
          {
            role: 'assistant',
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 't', arguments: DEEP_SHAPES.arrays } }],
          },
          { role: 'tool', tool_call_id: 'c1', content: 'ok' },
        ],
      };
      for (const door of Object.values(doors)) {
        const response = (await door('POST', '/v1/chat/completions', { key, rawBody: JSON.stringify(body) }))!;
        expectOpenAiError(response, 400, 'messages[1].tool_calls[0].function.arguments');
      }
    });
  });

  describe('forged and foreign pagination cursors', () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    // The team partitions of before the audit trail was sharded: cursors naming them are refused.
    const own = `AUDIT#fortress#${month}`;
    const theirs = `AUDIT#neighbour#${month}`;
    const instant = (i: number) => new Date(now - 60_000 + i * 1_000).toISOString();
    const sk = (i: number) => `${instant(i)}#req-${i}`;
    /** The table key record `req-<i>` has: its team's partition of the month, in its request id's shard. */
    const keyOf = (i: number) => itemKeys.auditEntry(i % 2 === 0 ? 'fortress' : 'neighbour', instant(i), `req-${i}`);
    const starts = Array.from({ length: AUDIT_DECISION_SHARDS }, () => 'start');
    const teamStarts = Array.from({ length: AUDIT_TEAM_SHARDS }, () => 'start');
    const teamShard = (i: number) => requestShard(`req-${i}`, AUDIT_TEAM_SHARDS);
    const teamPositionsWith = (at: number, position: unknown) => teamStarts.map((s, i) => (i === at ? position : s));

    /** Cursors of any shape: random text, random base64, base64 of random JSON. */
    const anyCursor = fc.oneof(
      fc.string({ minLength: 1, maxLength: 300 }),
      fc.base64String({ minLength: 1, maxLength: 300 }),
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
      fc.jsonValue({ maxDepth: 4 }).map(b64),
      fc.record({ p: fc.constantFrom(own, theirs), k: fc.jsonValue({ maxDepth: 3 }) }).map(b64),
      fc.record({ pk: fc.string(), sk: fc.jsonValue({ maxDepth: 2 }) }).map(b64),
      fc
        .record({
          d: fc.constantFrom(today, '1999-01-01'),
          s: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 9 }),
        })
        .map(b64),
      fc
        .record({
          m: fc.constantFrom(month, '1999-01'),
          s: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: AUDIT_TEAM_SHARDS + 1 }),
        })
        .map(b64),
      fc.constant('x'.repeat(2_001)),
    );

    /** Cursors shaped like a team listing's, but with a key DynamoDB must never be handed. */
    const forgedTeamCursors = [
      { p: theirs }, // another team's partition
      { p: `AUDIT#fortress#1999-01` }, // a month outside the search
      { p: own, k: { pk: theirs, sk: sk(1) } }, // a key in another team's partition
      { p: own, k: { pk: own, sk: 5 } }, // wrong type
      { p: own, k: { pk: own } }, // a key attribute missing
      { p: own, k: { pk: own, sk: sk(2), decisionDay: 'DECISION#block' } }, // an attribute too many
      { p: own, k: { pk: own, sk: '1999-01-01T00:00:00.000Z#r' } }, // before the range: DynamoDB refuses it
      { p: own, k: { pk: own, sk: '9999-01-01T00:00:00.000Z#r' } }, // after the range
      { p: own, k: { pk: own, sk: 'x'.repeat(1_200) } }, // over DynamoDB's sort key size
      { p: own, k: null },
      { p: own, k: [] },
      // The sharded listing's shape: a month and every shard's position, each wrong in one way.
      { m: month, s: teamStarts.slice(1) }, // a shard too few
      { m: month, s: [...teamStarts, 'start'] }, // a shard too many
      { m: '1999-01', s: teamStarts }, // a month outside the search
      { m: month, s: teamStarts, d: today }, // an attribute too many
      { m: month, s: teamPositionsWith(teamShard(1), [keyOf(1).pk, sk(1)]) }, // another team's record
      { m: month, s: teamPositionsWith(teamShard(0), [keyOf(1).pk.replace(/#\d+$/, `#${teamShard(0)}`), sk(0)]) }, // its partition
      { m: month, s: teamPositionsWith(teamShard(0) ^ 1, [keyOf(0).pk, sk(0)]) }, // at another shard's place
      { m: month, s: teamPositionsWith(teamShard(0) ^ 1, [`AUDIT#fortress#${month}#${teamShard(0) ^ 1}`, sk(0)]) }, // a shard it is not in
      { m: month, s: teamPositionsWith(teamShard(0), [keyOf(0).pk, '1999-01-01T00:00:00.000Z#req-0']) }, // before the range
      { m: month, s: teamPositionsWith(teamShard(0), [keyOf(0).pk, 'x'.repeat(1_200)]) }, // over the sort key size
      { m: month, s: teamPositionsWith(teamShard(0), [keyOf(0).pk, 5]) }, // wrong type
      { m: month, s: teamPositionsWith(teamShard(0), [keyOf(0).pk]) }, // a key attribute missing
      { m: month, s: teamPositionsWith(teamShard(0), { pk: keyOf(0).pk, sk: sk(0) }) },
    ];

    /** Cursors shaped like a cross-team search's, each wrong in one way. */
    const shard = (i: number) => requestShard(`req-${i}`, AUDIT_DECISION_SHARDS);
    const positionsWith = (at: number, position: unknown) => starts.map((s, i) => (i === at ? position : s));
    const forgedDecisionCursors = [
      { d: today, s: starts.slice(1) }, // a shard too few
      { d: today, s: [...starts, 'start'] }, // a shard too many
      { d: '1999-01-01', s: starts }, // a day outside the search
      { d: today, s: starts.map(() => 7) },
      { d: today, s: positionsWith(shard(1), [keyOf(1).pk.replace('neighbour', 'NOT A TEAM'), sk(1)]) },
      { d: today, s: positionsWith((shard(1) + 1) % AUDIT_DECISION_SHARDS, [keyOf(1).pk, sk(1)]) }, // the wrong shard
      { d: today, s: positionsWith(shard(1), [`AUDIT#neighbour#1999-01#${teamShard(1)}`, sk(1)]) }, // pk of another month
      { d: today, s: positionsWith(shard(1), [theirs, sk(1)]) }, // the team's month, unsharded
      { d: today, s: positionsWith(shard(1), [`${theirs}#${teamShard(1) ^ 1}`, sk(1)]) }, // a team shard it is not in
      { d: today, s: positionsWith(shard(1), [keyOf(1).pk, '1999-01-01T00:00:00.000Z#req-1']) }, // another day
      { d: today, s: positionsWith(shard(1), [keyOf(1).pk, sk(1), 'extra']) },
      { d: today, s: positionsWith(shard(1), { pk: keyOf(1).pk, sk: sk(1) }) },
    ];

    /** Cursors shaped like the admin changes listing's, each wrong in one way. */
    const change = `${new Date(now).toISOString()}#00000000-0000-4000-8000-000000000000`;
    const forgedChangeCursors = [
      { pk: 'ADMIN#1999-01', sk: change },
      { pk: `ADMIN#${month}`, sk: 123 },
      { pk: `ADMIN#${month}`, sk: change, extra: 1 },
      { pk: `ADMIN#${month}` },
      { pk: `ADMIN#${month}`, sk: 'x' },
      { pk: `ADMIN#${month}`, sk: `1999-01-01T00:00:00.000Z#00000000-0000-4000-8000-000000000000` },
      { pk: `AUDIT#fortress#${month}`, sk: sk(1) },
    ];

    const paginated = [
      ['GET /v1/audit', '/v1/audit?limit=2', 'key'],
      ['GET /v1/admin/audit (one team)', '/v1/admin/audit?team=fortress&limit=2', 'admin'],
      ['GET /v1/admin/audit (across teams)', '/v1/admin/audit?decision=block&limit=2', 'admin'],
      ['GET /v1/admin/changes', '/v1/admin/changes?limit=1', 'admin'],
      ['GET /v1/admin/export (one team)', `/v1/admin/export?team=fortress&from=${today}&to=${today}&limit=2`, 'admin'],
      ['GET /v1/admin/export (every team)', `/v1/admin/export?from=${today}&to=${today}&limit=2`, 'admin'],
    ] as const;
    // The key is issued in beforeAll, after the test table is built.
    const credentials = (auth: 'key' | 'admin') => (auth === 'key' ? { key } : { admin: true });

    it.each(paginated)('%s: any random or malformed cursor is a 400 naming the cursor', async (_, url, auth) => {
      await fc.assert(
        fc.asyncProperty(anyCursor, async (cursor) => {
          const response = await gw.call('GET', `${url}&cursor=${encodeURIComponent(cursor)}`, credentials(auth));
          expectOpenAiError(response, 400, 'cursor');
        }),
        { numRuns: RUNS },
      );
    });

    it.each(paginated)('%s: every forged key of every shape is a 400 naming the cursor', async (_, url, auth) => {
      for (const forged of [...forgedTeamCursors, ...forgedDecisionCursors, ...forgedChangeCursors]) {
        const response = await gw.call('GET', `${url}&cursor=${b64(forged)}`, credentials(auth));
        expectOpenAiError(response, 400, 'cursor');
      }
    });

    it('refuses a real cursor on another listing, another team or another range', async () => {
      const mine = await gw.call('GET', '/v1/audit?limit=1', { key });
      const across = await gw.call('GET', '/v1/admin/audit?decision=block&limit=1', { admin: true });
      const changes = await gw.call('GET', '/v1/admin/changes?limit=1', { admin: true });
      const [teamCursor, decisionCursor, changeCursor] = [mine, across, changes].map(
        (page) => page.body.next_cursor as string,
      );
      expect([teamCursor, decisionCursor, changeCursor].every(Boolean)).toBe(true);
      // Each is good where it came from.
      expect((await gw.call('GET', `/v1/audit?limit=1&cursor=${teamCursor}`, { key })).status).toBe(200);
      const next = `/v1/admin/audit?decision=block&limit=1&cursor=${decisionCursor}`;
      expect((await gw.call('GET', next, { admin: true })).status).toBe(200);
      expect((await gw.call('GET', `/v1/admin/changes?limit=1&cursor=${changeCursor}`, { admin: true })).status).toBe(
        200,
      );
      // Anywhere else it is a 400, never a DynamoDB error.
      const newest = across.body.data[0].created_at as string;
      const later = new Date(Date.parse(newest) + 1).toISOString();
      const elsewhere: [string, object][] = [
        [`/v1/admin/audit?team=neighbour&limit=1&cursor=${teamCursor}`, { admin: true }],
        [`/v1/admin/audit?decision=block&limit=1&cursor=${teamCursor}`, { admin: true }],
        [`/v1/admin/audit?team=fortress&limit=1&cursor=${decisionCursor}`, { admin: true }],
        [`/v1/admin/audit?decision=redact&limit=1&from=${later}&cursor=${decisionCursor}`, { admin: true }],
        [`/v1/admin/audit?decision=block&limit=1&from=${later}&cursor=${decisionCursor}`, { admin: true }],
        [`/v1/audit?limit=1&from=${encodeURIComponent(later)}&cursor=${teamCursor}`, { key }],
        [`/v1/audit?limit=1&cursor=${changeCursor}`, { key }],
        [`/v1/admin/changes?limit=1&cursor=${teamCursor}`, { admin: true }],
        [`/v1/admin/changes?limit=1&month=1999-01&cursor=${changeCursor}`, { admin: true }],
      ];
      for (const [url, auth] of elsewhere) {
        expectOpenAiError(await gw.call('GET', url, auth), 400, 'cursor');
      }
    });
  });

  describe('extreme numbers in admin inputs', () => {
    /** Numbers as JSON text: `1e400` parses to Infinity, which JSON.stringify cannot write. */
    const BAD_BUDGETS = [
      '1e-7',
      '0.0000015',
      '1e20',
      '1e308',
      '-1',
      '-0.000001',
      '1e400',
      '-1e400',
      '100000000.000001',
    ];
    const BAD_COUNTS = ['0', '-1', '1.5', '1e-7', '10000001', '1e20', '1e308', '1e400', '-1e400', '9007199254740993'];
    const BAD_PERCENTS = ['0', '101', '50.5', '-1', '1e400'];
    const BAD_GRACE = ['-1', '1.5', '604801', '1e20', '1e400'];

    const cases: [string, string, string, Record<string, string>, string[]][] = [
      ['POST', '/v1/admin/teams', 'monthly_budget_usd', { id: '"extreme"', name: '"x"' }, BAD_BUDGETS],
      ['POST', '/v1/admin/teams', 'requests_per_minute', { id: '"extreme"', name: '"x"' }, BAD_COUNTS],
      ['POST', '/v1/admin/teams', 'tokens_per_minute', { id: '"extreme"', name: '"x"' }, BAD_COUNTS],
      ['POST', '/v1/admin/teams', 'soft_alert_percent', { id: '"extreme"', name: '"x"' }, BAD_PERCENTS],
      ['PATCH', '/v1/admin/teams/fortress', 'monthly_budget_usd', {}, BAD_BUDGETS],
      ['PATCH', '/v1/admin/teams/fortress', 'requests_per_minute', {}, BAD_COUNTS],
      ['PATCH', '/v1/admin/teams/fortress', 'tokens_per_minute', {}, BAD_COUNTS],
      ['PATCH', '/v1/admin/teams/fortress', 'soft_alert_percent', {}, BAD_PERCENTS],
      ['POST', '/v1/admin/teams/fortress/keys', 'requests_per_minute', {}, BAD_COUNTS],
      ['POST', '/v1/admin/teams/fortress/keys', 'tokens_per_minute', {}, BAD_COUNTS],
      ['POST', '/v1/admin/keys/{keyId}/rotate', 'grace_period_seconds', {}, BAD_GRACE],
    ];

    it.each(cases)('%s %s: each bad %s is a 400 naming it', async (method, path, field, rest, values) => {
      for (const value of values) {
        const fields = { ...rest, [field]: value };
        const body = `{${Object.entries(fields)
          .map(([name, text]) => `"${name}":${text}`)
          .join(',')}}`;
        const response = await gw.call(method, path.replace('{keyId}', keyId), { admin: true, rawBody: body });
        expectOpenAiError(response, 400, field);
      }
    });

    it('refuses random out-of-range and fractional numbers as a property', async () => {
      const outOfRange = fc.oneof(
        fc.double({ noNaN: true, max: -Number.MIN_VALUE }),
        fc.double({ noNaN: true, min: 100_000_000.5 }),
        fc.double({ noNaN: true, min: 1e-12, max: 1e-7 }),
      );
      const notAPositiveInteger = fc.oneof(
        fc.double({ noNaN: true, min: -1e308, max: 0 }),
        fc.double({ noNaN: true, min: 0.01, max: 9.99e6 }).filter((n) => !Number.isInteger(n)),
        fc.double({ noNaN: true, min: 10_000_001 }),
      );
      const asJson = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? '1e400' : '-1e400');
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            outOfRange.map((n) => ['monthly_budget_usd', asJson(n)] as const),
            notAPositiveInteger.map((n) => ['requests_per_minute', asJson(n)] as const),
            notAPositiveInteger.map((n) => ['tokens_per_minute', asJson(n)] as const),
          ),
          fc.constantFrom('POST', 'PATCH'),
          async ([field, value], method) => {
            const body =
              method === 'POST' ? `{"id":"random-team","name":"x","${field}":${value}}` : `{"${field}":${value}}`;
            const path = method === 'POST' ? '/v1/admin/teams' : '/v1/admin/teams/fortress';
            expectOpenAiError(await gw.call(method, path, { admin: true, rawBody: body }), 400, field);
          },
        ),
        { numRuns: RUNS * 2 },
      );
    });

    it.each([
      ['/v1/usage', 'days', 'key'],
      ['/v1/admin/teams/fortress/usage', 'days', 'admin'],
      ['/v1/audit', 'limit', 'key'],
      ['/v1/admin/audit?team=fortress', 'limit', 'admin'],
      ['/v1/admin/changes', 'limit', 'admin'],
    ] as const)('GET %s: %s out of range, fractional or not finite is a 400 naming it', async (path, param, auth) => {
      const bad = ['0', '-1', '1.5', '1e400', 'Infinity', '-Infinity', 'NaN', '1e20', '9007199254740993', 'ten'];
      bad.push(param === 'days' ? '367' : '201');
      for (const value of bad) {
        const url = `${path}${path.includes('?') ? '&' : '?'}${param}=${encodeURIComponent(value)}`;
        expectOpenAiError(await gw.call('GET', url, auth === 'key' ? { key } : { admin: true }), 400, param);
      }
    });
  });

  it.each([
    ['/v1/audit', 'key'],
    ['/v1/admin/audit?team=fortress', 'admin'],
  ] as const)(
    'GET %s: far, impossible and rolled-over dates are a 400 naming them or a plain answer, never a 5xx',
    async (path, auth) => {
      const dates = [
        '9999-12-31',
        '9999-12-31T23:59:59-14:00',
        '0000-01-01T00:00:00Z',
        '2026-02-30',
        '2026-13-01',
        '1969-12-31',
      ];
      for (const param of ['from', 'to'] as const) {
        for (const date of dates) {
          const url = `${path}${path.includes('?') ? '&' : '?'}${param}=${encodeURIComponent(date)}`;
          const response = await gw.call('GET', url, auth === 'key' ? { key } : { admin: true });
          if (response.status !== 200)
            expectOpenAiError(response, 400, response.body.error?.param === 'to' ? 'to' : 'from');
        }
      }
    },
  );

  it('changed nothing: no ledger, audit, admin change or counter was written', async () => {
    expect(await snapshot(gw)).toEqual(before);
  });

  describe('what stays allowed', () => {
    it('serves a body nested as deep as real requests go, on both doors', async () => {
      let schema: unknown = { type: 'string' };
      for (let i = 0; i < 25; i++) schema = { type: 'object', properties: { p: schema } };
      const body = JSON.stringify({
        model: 'mock-small',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
        tools: [{ type: 'function', function: { name: 't', parameters: schema } }],
      });
      for (const door of Object.values(doors)) {
        expect((await door('POST', '/v1/chat/completions', { key, rawBody: body }))!.status).toBe(200);
      }
    });

    it('stores the smallest and largest budgets exactly', async () => {
      for (const [usd, shown] of [
        ['0.000001', '0.000001'],
        ['100000000', '100000000.000000'],
      ]) {
        const response = await gw.call('PATCH', '/v1/admin/teams/neighbour', {
          admin: true,
          rawBody: `{"monthly_budget_usd":${usd}}`,
        });
        expect(response.status).toBe(200);
        expect(response.body.team.monthly_budget_usd).toBe(shown);
      }
    });
  });
});
