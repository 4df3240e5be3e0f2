import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { ROUTES } from '../../lambdas/shared/http/routes';
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
const deep = fc.integer({ min: 50, max: 5_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth));

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
  let counts: () => Promise<Record<string, number>>;

  beforeAll(async () => {
    gw = await createTestGateway();
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
    '%s: 4xx in OpenAI shape or a harmless 2xx, never a 5xx, nothing written',
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
          async (body, parameter, query, auth, contentType, headerValue) => {
            const search = new URLSearchParams(query).toString();
            const url = `${pathOf(route.path, parameter)}${search ? `?${search}` : ''}`;
            const headers: Record<string, string> = {
              'content-type': contentType,
              'x-forwarded-for': headerValue.replace(/[\r\n]/g, ' '),
              'user-agent': headerValue.replace(/[\r\n]/g, ' '),
            };
            if (auth === 'garbage') headers['authorization'] = `Bearer gwk_${parameter}`;
            let response;
            try {
              response = await gw.call(route.method, url, {
                ...(auth === 'valid' ? { key } : {}),
                ...(auth === 'admin' ? { admin: true } : {}),
                ...(route.method === 'GET' ? {} : { rawBody: body }),
                headers,
              });
            } catch (error) {
              // A path the router cannot match (e.g. an encoded slash) never reaches a Lambda.
              if (String(error).includes('no route')) return;
              throw error;
            }
            if (response.status >= 500 || (response.status < 400 && route.method !== 'GET')) {
              // Say which input did it, briefly (bodies can be megabytes).
              throw new Error(
                `${route.method} ${url.slice(0, 120)} auth=${auth} type=${contentType} -> ${response.status} ` +
                  `${JSON.stringify(response.body).slice(0, 300)} for body ${JSON.stringify(body.slice(0, 200))}`,
              );
            }
            if (response.status >= 400) {
              const error = (response.body as { error?: Record<string, unknown> }).error;
              expect(typeof error?.message).toBe('string');
              expect(typeof error?.type).toBe('string');
              expect(error).toHaveProperty('param');
              expect(error).toHaveProperty('code');
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
