import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { generateApiKey, generateKeyId } from '../../lambdas/shared/keys/format';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import { testEndpoint } from '../helpers/dynamodb';
import { captureEmf } from '../helpers/emf';
import { createTestGateway, type TestGateway } from '../helpers/test-gateway';

const chat = { model: 'mock-small', messages: [{ role: 'user', content: 'hi' }] };

describe('refused team API keys, through the handlers', () => {
  let gw: TestGateway;
  let counted: TestGateway;
  const commands: string[] = [];
  beforeAll(async () => {
    gw = await createTestGateway();
    const counting: DynamoDBDocumentClient = createDocumentClient({ region: 'us-east-1', endpoint: testEndpoint() });
    counting.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName ?? '?');
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
    counted = await gw.instance({ db: counting });
  });
  afterAll(() => gw.destroy());

  it('refuses a malformed key (bad checksum, bad format, missing) with 401 without reading DynamoDB', async () => {
    const valid = generateApiKey(generateKeyId());
    const badChecksum = valid.slice(0, -1) + (valid.endsWith('A') ? 'B' : 'A');
    const presented: (string | undefined)[] = [badChecksum, 'gwk_short', 'sk-not-ours', valid.slice(0, -3), undefined];
    commands.length = 0;
    const docs = await captureEmf(async () => {
      for (const key of presented) {
        for (const [method, url] of [
          ['POST', '/v1/chat/completions'],
          ['GET', '/v1/models'],
          ['GET', '/v1/usage'],
        ] as const) {
          const res = await counted.call(method, url, { ...(key ? { key } : {}), body: chat });
          expect({ key, url, status: res.status, code: res.body.error.code }).toEqual({
            key,
            url,
            status: 401,
            code: 'invalid_api_key',
          });
        }
      }
    });
    expect(commands).toEqual([]);
    // One refusal counted per request, by reason.
    expect(docs.map((doc) => doc['reason'])).toEqual([...Array(12).fill('malformed'), ...Array(3).fill('missing')]);
  });

  it('counts unknown, revoked and disabled-team keys by reason, reading DynamoDB only for well-formed keys', async () => {
    const team = await gw.createTeam();
    const { plaintext: revoked, record } = await gw.issueKey(team.teamId);
    await gw.admin.revokeKey(record.keyId, 'test');
    const disabledTeam = await gw.createTeam();
    const { plaintext: ofDisabled } = await gw.issueKey(disabledTeam.teamId);
    await gw.admin.updateTeam(disabledTeam.teamId, { status: 'disabled' }, 'test');
    const unknown = generateApiKey(generateKeyId());

    const statuses: number[] = [];
    const docs = await captureEmf(async () => {
      for (const key of [unknown, revoked, ofDisabled]) {
        statuses.push((await counted.call('POST', '/v1/chat/completions', { key, body: chat })).status);
      }
    });
    expect(statuses).toEqual([401, 401, 403]);
    expect(docs.map((doc) => [doc['reason'], doc['AuthRefusals']])).toEqual([
      ['unknown', 1],
      ['revoked', 1],
      ['team_disabled', 1],
    ]);
  });
});
