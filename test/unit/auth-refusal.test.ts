import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { parseAdminAllowList } from '../../lambdas/shared/config/admin-principals';
import { GatewayError } from '../../lambdas/shared/http/errors';
import { httpErrors } from '../../lambdas/shared/http/middleware';
import { requireAdmin, toHttpRequest } from '../../lambdas/shared/http/request';
import { matchRoute } from '../../lambdas/shared/http/routes';
import { ApiKeyRefusedError, AUTH_REFUSAL_REASONS } from '../../lambdas/shared/keys/errors';
import { generateApiKey, generateKeyId, keyIdOf } from '../../lambdas/shared/keys/format';
import { logger } from '../../lambdas/shared/observability/logger';
import { DIMENSION_SETS, METRICS } from '../../lambdas/shared/observability/metrics';
import { toHttpApiEvent } from '../../local/server';
import { captureEmf, type EmfDocument } from '../helpers/emf';

type OnError = NonNullable<ReturnType<typeof httpErrors>['onError']>;
type MiddyRequest = Parameters<OnError>[0];

function eventFrom(sourceIp: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /v1/chat/completions',
    rawPath: '/v1/chat/completions',
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'example.com',
      domainPrefix: 'example',
      http: { method: 'POST', path: '/v1/chat/completions', protocol: 'HTTP/1.1', sourceIp, userAgent: 'test' },
      requestId: 'req-refused',
      routeKey: 'POST /v1/chat/completions',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
  };
}

/**
 * Turns an error into a response through the error middleware, as every handler does, and
 * returns the response, the EMF documents and the log lines it wrote (logs at WARN and above).
 */
async function captured(fn: () => unknown) {
  const written: string[] = [];
  const stderr = process.stderr.write;
  logger.setLogLevel('WARN');
  let docs: EmfDocument[];
  try {
    // The logger writes warnings to stderr; EMF documents go to stdout (captured by captureEmf).
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }) as typeof process.stderr.write;
    docs = await captureEmf(fn);
  } finally {
    process.stderr.write = stderr;
    logger.setLogLevel('SILENT');
  }
  const logLines = written
    .join('')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { docs, logLines };
}

async function answer(error: unknown, sourceIp: string) {
  const request = { event: eventFrom(sourceIp), error, response: undefined } as unknown as MiddyRequest;
  const { docs, logLines } = await captured(() => (httpErrors().onError as OnError)(request));
  return { response: request.response as { statusCode: number; body: string }, docs, logLines };
}

describe('refused API keys are visible', () => {
  it('counts a refusal in AuthRefusals by reason, in total and by reason only', async () => {
    const keyId = generateKeyId();
    const { response, docs } = await answer(new ApiKeyRefusedError('revoked', 'revoked', keyId), '203.0.113.7');
    expect(response.statusCode).toBe(401);
    expect(docs).toHaveLength(1);
    const doc = docs[0]!;
    expect(doc).toMatchObject({ reason: 'revoked', [METRICS.authRefusals.name]: 1 });
    const directive = doc._aws.CloudWatchMetrics[0]!;
    expect(directive.Metrics).toEqual([{ Name: 'AuthRefusals', Unit: 'Count' }]);
    expect(directive.Dimensions.map((set) => [...set].sort())).toEqual(
      DIMENSION_SETS.authRefusal.map((set) => [...set].sort()),
    );
    // Key ids and addresses are unbounded: never dimensions (they are in the log line).
    expect(JSON.stringify(directive.Dimensions)).not.toMatch(/keyId|sourceIp/);
    expect(Object.values(doc)).not.toContain(keyId);
  });

  it("logs one line with the source IP, the reason and the key's public id, and no part of the secret", async () => {
    const keyId = generateKeyId();
    const presented = generateApiKey(keyId);
    const secret = presented.slice(`gwk_${keyId}_`.length);
    const { logLines } = await answer(new ApiKeyRefusedError('unknown', 'Invalid API key.', keyId), '198.51.100.23');
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).toMatchObject({
      level: 'WARN',
      message: 'api key refused',
      reason: 'unknown',
      keyId,
      sourceIp: '198.51.100.23',
      requestId: 'req-refused',
    });
    const written = JSON.stringify(logLines);
    for (let i = 0; i + 8 <= secret.length; i += 1) expect(written).not.toContain(secret.slice(i, i + 8));
  });

  it('logs a malformed key without any key id, and answers every reason with its status and code', async () => {
    const presented = generateApiKey(generateKeyId());
    const typo = presented.slice(0, -1) + (presented.endsWith('A') ? 'B' : 'A');
    expect(keyIdOf(typo)).toBeUndefined();
    const { logLines, response } = await answer(new ApiKeyRefusedError('malformed', 'Invalid API key.'), '192.0.2.1');
    expect(response.statusCode).toBe(401);
    expect(logLines[0]).toMatchObject({ reason: 'malformed', sourceIp: '192.0.2.1' });
    expect(logLines[0]).not.toHaveProperty('keyId');
    expect(JSON.stringify(logLines)).not.toContain(typo.slice(4, 20));

    const answered: Record<string, [number, string | null]> = {};
    for (const reason of AUTH_REFUSAL_REASONS) {
      const error = new ApiKeyRefusedError(reason, 'refused', reason === 'malformed' ? undefined : 'abcdefghijkl');
      const body = JSON.parse((await answer(error, '192.0.2.1')).response.body) as { error: { code: string } };
      answered[reason] = [error.status, body.error.code];
    }
    expect(answered).toEqual({
      missing: [401, 'invalid_api_key'],
      malformed: [401, 'invalid_api_key'],
      unknown: [401, 'invalid_api_key'],
      revoked: [401, 'revoked_api_key'],
      expired: [401, 'expired_api_key'],
      team_disabled: [403, 'team_disabled'],
      token_invalid: [401, 'invalid_token'],
      token_expired: [401, 'expired_token'],
    });
  });

  it('neither counts nor logs other client errors as refused keys', async () => {
    const { docs, logLines } = await answer(new GatewayError(400, 'invalid_request_error', 'bad'), '192.0.2.1');
    expect(docs).toEqual([]);
    expect(logLines).toEqual([]);
  });
});

describe('refused admin principals are visible', () => {
  const admins = parseAdminAllowList('arn:aws:iam::123456789012:role/GatewayAdmin');
  const adminRequest = (principal: string | undefined) =>
    toHttpRequest(
      toHttpApiEvent(
        { method: 'POST', url: '/v1/admin/teams', headers: {}, body: '{}', sourceIp: '198.51.100.9' },
        matchRoute('POST', '/v1/admin/teams'),
        principal,
      ),
    );

  it('refuses an unlisted principal with 403 admin_not_allowed, logging principal, route and source IP, counting it', async () => {
    const principal = 'arn:aws:sts::123456789012:assumed-role/Developer/bob';
    let refusal: unknown;
    const { docs, logLines } = await captured(() => {
      try {
        requireAdmin(adminRequest(principal), admins);
      } catch (error) {
        refusal = error;
      }
    });
    expect(refusal).toBeInstanceOf(GatewayError);
    expect((refusal as GatewayError).status).toBe(403);
    expect((refusal as GatewayError).toBody().error).toMatchObject({
      type: 'permission_error',
      code: 'admin_not_allowed',
    });
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).toMatchObject({
      level: 'WARN',
      message: 'admin request refused',
      principal,
      route: 'POST /v1/admin/teams',
      sourceIp: '198.51.100.9',
    });
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ AdminRefusals: 1 });
  });

  it('admits a session of a listed role silently, and refuses a request without a principal as admin_only', async () => {
    const { docs, logLines } = await captured(() => {
      expect(requireAdmin(adminRequest('arn:aws:sts::123456789012:assumed-role/GatewayAdmin/alice'), admins)).toBe(
        'arn:aws:sts::123456789012:assumed-role/GatewayAdmin/alice',
      );
    });
    expect(docs).toEqual([]);
    expect(logLines).toEqual([]);
    expect(() => requireAdmin(adminRequest(undefined), admins)).toThrow(
      expect.objectContaining({ status: 403, code: 'admin_only' }),
    );
  });
});
