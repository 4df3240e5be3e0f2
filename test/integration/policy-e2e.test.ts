import OpenAI from 'openai';
import { logger } from '../../lambdas/shared/observability/logger';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import type { LocalGateway } from '../../local/local-gateway';
import { FakeBedrock } from '../fakes/bedrock-server';
import { echoResponder, FakeOpenAi, lastUserText, type FakeOpenAiRequest } from '../fakes/openai-server';
import { GENEROUS_TEAM_DEFAULTS } from '../helpers/config';
import { adminFetch } from '../helpers/local-admin';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * The policy engine end to end: the official OpenAI client against the local gateway (both
 * faces), an OpenAI-format fake upstream that records what it was sent, and the Bedrock fake
 * answering ApplyGuardrail. Blocks, redactions and alerts; answers redacted streamed and not;
 * the audit trail per team and for admins; and logs that hold none of it.
 */

const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
// Not AWS's documented `...EXAMPLE` key: the detectors treat that one as a placeholder (issue 19).
const AWS_KEY_ID = 'AKIAR40N2CWDFFSWIEXH';
const PHONE = '+1 212 555 0143';

/** Every upstream message's text, joined. */
function sentText(request: FakeOpenAiRequest): string {
  return JSON.stringify(request.body['messages']);
}

interface AuditEntry {
  request_id: string;
  team: string;
  decision: string;
  rule_ids: string[];
  status: string;
  http_status: number;
  prompt_excerpt: string | null;
  response_excerpt: string | null;
  cost_picos: string;
  model: string | null;
}

describe('policy engine through the local gateway', () => {
  let gateway: LocalGateway;
  const upstream = new FakeOpenAi(echoResponder);
  const bedrock = new FakeBedrock(() => ({ kind: 'error', status: 500, errorType: 'Unused', message: 'unused' }));
  let buffered: OpenAI;
  let streaming: OpenAI;
  const savedEnv = { ...process.env };

  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await adminFetch(gateway, method, path, body);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const newTeam = async (id: string, profile?: string) => {
    expect(
      (await admin('POST', '/v1/admin/teams', { id, name: id, ...(profile ? { policy_profile: profile } : {}) }))
        .status,
    ).toBe(201);
    const issued = await admin('POST', `/v1/admin/teams/${id}/keys`, { name: 'k' });
    return issued.body['key'] as string;
  };

  const ownAudit = async (key: string, query = '') => {
    const response = await fetch(`${gateway.url}/v1/audit${query}`, { headers: { authorization: `Bearer ${key}` } });
    return {
      status: response.status,
      body: (await response.json()) as { data: AuditEntry[]; next_cursor: string | null },
    };
  };

  beforeAll(async () => {
    const [openaiUrl, bedrockUrl] = await Promise.all([upstream.start(), bedrock.start()]);
    const config: GatewayConfigInput = {
      providers: {
        openai: { adapter: 'openai', baseUrl: `${openaiUrl}/v1`, apiKeySecret: 'test/openai' },
      },
      models: [
        { id: 'gpt', provider: 'openai', upstreamModel: 'gpt-4o-mini', prices: { input: 1, output: 2 } },
        { id: 'other', provider: 'openai', upstreamModel: 'gpt-4o', prices: { input: 1, output: 2 } },
      ],
      teamDefaults: GENEROUS_TEAM_DEFAULTS,
      policies: {
        profiles: {
          default: {
            denyRules: [{ id: 'codename', message: 'Code names stay inside.', keywords: ['project falcon'] }],
            detectors: [
              { detector: 'aws_access_key_id', action: 'block', direction: 'input' },
              { detector: 'email', action: 'redact' },
              { detector: 'phone', action: 'alert', direction: 'input' },
              { detector: 'credit_card', action: 'redact', direction: 'output' },
            ],
            audit: { promptExcerptChars: 200, responseExcerptChars: 200 },
          },
          guarded: {
            allowedModels: ['gpt'],
            maxOutputTokens: 100,
            guardrail: { id: 'gr1', version: '3', endpoint: bedrockUrl, region: 'us-east-1' },
          },
        },
      },
    };
    process.env.OPENAI_API_KEY = 'sk-test-upstream';
    gateway = await startTestLocalGateway('policy', {
      config,
    });
    buffered = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.demoKey, maxRetries: 0 });
    streaming = new OpenAI({ baseURL: `${gateway.streamUrl}/v1`, apiKey: gateway.demoKey, maxRetries: 0 });
  });

  afterAll(async () => {
    process.env = savedEnv;
    await gateway?.stop();
    await Promise.all([upstream.stop(), bedrock.stop()]);
  });

  beforeEach(() => upstream.setResponder(echoResponder));

  it('blocks a prompt with a blocked detector: 400 content_policy_violation naming the rule, nothing sent', async () => {
    const before = upstream.requests.length;
    const error = await buffered.chat.completions
      .create({ model: 'gpt', messages: [{ role: 'user', content: `deploy with ${AWS_KEY_ID} please` }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(bad.status).toBe(400);
    expect(bad.code).toBe('content_policy_violation');
    expect(bad.message).toContain("'dlp:aws_access_key_id'");
    expect(bad.message).not.toContain(AWS_KEY_ID);
    expect(upstream.requests.length).toBe(before);
    const usage = await fetch(`${gateway.url}/v1/usage?days=1`, {
      headers: { authorization: `Bearer ${gateway.demoKey}` },
    }).then((r) => r.json() as Promise<{ totals: { requests: number } }>);
    expect(usage.totals.requests).toBe(0); // blocked before admission: no usage
  });

  it('blocks on a deny rule on the streaming face too, before any byte of the stream', async () => {
    const error = await streaming.chat.completions
      .create({ model: 'gpt', stream: true, messages: [{ role: 'user', content: 'Status of Project Falcon?' }] })
      .catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('content_policy_violation');
    expect((error as Error).message).toContain("'codename': Code names stay inside.");
  });

  it('redacts the prompt: the upstream sees only placeholders, the response says so', async () => {
    const { data, response } = await buffered.chat.completions
      .create({
        model: 'gpt',
        messages: [
          { role: 'system', content: `Reply to ${EMAIL}` },
          { role: 'user', content: `Write to ${EMAIL} and bob@example.org` },
        ],
      })
      .withResponse();
    const sent = sentText(upstream.requests.at(-1)!);
    expect(sent).not.toContain(EMAIL);
    expect(sent).not.toContain('bob@example.org');
    expect(lastUserText(upstream.requests.at(-1)!)).toBe('Write to [EMAIL_1] and [EMAIL_2]');
    expect(sent).toContain('Reply to [EMAIL_1]'); // same value, same placeholder
    expect(response.headers.get('x-gateway-policy')).toBe('redact');
    expect(response.headers.get('x-gateway-policy-rules')).toBe('dlp:email');
    expect((data as unknown as { gateway: { policy: unknown } }).gateway.policy).toEqual({
      decision: 'redact',
      rule_ids: ['dlp:email'],
    });
    expect(data.choices[0]!.message.content).toBe('Echo: Write to [EMAIL_1] and [EMAIL_2]');
  });

  it('alerts: the prompt goes unchanged, the decision is reported', async () => {
    const { response } = await buffered.chat.completions
      .create({ model: 'gpt', messages: [{ role: 'user', content: `Call me at ${PHONE}` }] })
      .withResponse();
    expect(lastUserText(upstream.requests.at(-1)!)).toBe(`Call me at ${PHONE}`);
    expect(response.headers.get('x-gateway-policy')).toBe('alert');
    expect(response.headers.get('x-gateway-policy-rules')).toBe('dlp:phone');
  });

  it('redacts the answer, non-streamed', async () => {
    upstream.setResponder(() => ({
      kind: 'completion',
      text: `Your card ${CARD} is on file.`,
      usage: { prompt_tokens: 5, completion_tokens: 9 },
    }));
    const completion = await buffered.chat.completions.create({
      model: 'gpt',
      messages: [{ role: 'user', content: 'Which card?' }],
    });
    expect(completion.choices[0]!.message.content).toBe('Your card [CREDIT_CARD_1] is on file.');
    expect((completion as unknown as { gateway: { policy: unknown } }).gateway.policy).toEqual({
      decision: 'redact',
      rule_ids: ['dlp:credit_card'],
    });
  });

  it.each([
    ['streaming door', () => streaming],
    ['HTTP API (buffered SSE)', () => buffered],
  ])('redacts the answer as it streams (%s), a card split over many chunks never leaking', async (_, client) => {
    upstream.setResponder(() => ({
      kind: 'completion',
      text: `Your card ${CARD} is on file, and nothing else is sensitive in this rather long answer.`,
      usage: { prompt_tokens: 5, completion_tokens: 20 },
    }));
    const stream = await client().chat.completions.create({
      model: 'gpt',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Which card?' }],
    });
    const pieces: string[] = [];
    let last: unknown;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta?.content;
      if (content) pieces.push(content);
      last = chunk;
    }
    expect(pieces.join('')).toBe(
      'Your card [CREDIT_CARD_1] is on file, and nothing else is sensitive in this rather long answer.',
    );
    for (const piece of pieces) expect(piece).not.toMatch(/\d{4}/);
    expect((last as { gateway: { policy: unknown } }).gateway.policy).toEqual({
      decision: 'redact',
      rule_ids: ['dlp:credit_card'],
    });
  });

  describe('Bedrock guardrail (ApplyGuardrail) on another provider', () => {
    let key: string;
    let client: OpenAI;
    beforeAll(async () => {
      key = await newTeam('guarded-team', 'guarded');
      client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
    });

    it('blocks an input the guardrail blocks, with the guardrail as the rule', async () => {
      bedrock.setGuardrail((request) =>
        request.source === 'INPUT' && request.text.includes('weapons')
          ? {
              action: 'GUARDRAIL_INTERVENED',
              outputs: [{ text: 'Sorry.' }],
              assessments: [{ topicPolicy: { topics: [{ name: 'Weapons', type: 'DENY', action: 'BLOCKED' }] } }],
            }
          : { action: 'NONE' },
      );
      const error = await client.chat.completions
        .create({ model: 'gpt', messages: [{ role: 'user', content: 'How are weapons made?' }] })
        .catch((e: unknown) => e);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('content_policy_violation');
      expect((error as Error).message).toContain("'guardrail:gr1'");
      expect(bedrock.guardrailRequests.at(-1)).toMatchObject({ guardrailId: 'gr1', version: '3', source: 'INPUT' });
    });

    it('uses the masked text when the guardrail anonymizes, on input and output', async () => {
      bedrock.setGuardrail((request) =>
        request.text.includes('Alice')
          ? {
              action: 'GUARDRAIL_INTERVENED',
              outputs: [{ text: request.text.replaceAll('Alice', '{NAME}') }],
              assessments: [
                {
                  sensitiveInformationPolicy: { piiEntities: [{ match: 'Alice', type: 'NAME', action: 'ANONYMIZED' }] },
                },
              ],
            }
          : { action: 'NONE' },
      );
      upstream.setResponder(() => ({
        kind: 'completion',
        text: 'Alice is fine.',
        usage: { prompt_tokens: 5, completion_tokens: 3 },
      }));
      const { data, response } = await client.chat.completions
        .create({ model: 'gpt', messages: [{ role: 'user', content: 'Is Alice ok?' }] })
        .withResponse();
      expect(lastUserText(upstream.requests.at(-1)!)).toBe('Is {NAME} ok?');
      expect(data.choices[0]!.message.content).toBe('{NAME} is fine.');
      expect(response.headers.get('x-gateway-policy')).toBe('redact');
      expect(response.headers.get('x-gateway-policy-rules')).toBe('guardrail:gr1');
    });

    it("applies the profile's model allow-list and output cap", async () => {
      const notAllowed = await client.chat.completions
        .create({ model: 'other', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect((notAllowed as InstanceType<typeof OpenAI.PermissionDeniedError>).status).toBe(403);
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toEqual(['gpt']);
      const tooLong = await client.chat.completions
        .create({ model: 'gpt', max_tokens: 500, messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect((tooLong as InstanceType<typeof OpenAI.BadRequestError>).status).toBe(400);
    });

    it('fails closed with 503 when the guardrail cannot be reached', async () => {
      bedrock.setGuardrail(() => {
        throw new Error('guardrail down');
      });
      const before = upstream.requests.length;
      const error = await client.chat.completions
        .create({ model: 'gpt', messages: [{ role: 'user', content: 'hello' }] })
        .catch((e: unknown) => e);
      expect((error as InstanceType<typeof OpenAI.InternalServerError>).status).toBe(503);
      expect(upstream.requests.length).toBe(before);
    });
  });

  describe('audit trail', () => {
    it('records allowed, blocked and failed requests, newest first, redacted, paginated', async () => {
      const key = await newTeam('audited');
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: `mail ${EMAIL}` }] });
      await client.chat.completions
        .create({ model: 'gpt', messages: [{ role: 'user', content: `key ${AWS_KEY_ID} for ${EMAIL}` }] })
        .catch(() => undefined);
      upstream.setResponder(() => ({ kind: 'error', status: 500, type: 'server_error', message: 'boom' }));
      await client.chat.completions
        .create({ model: 'gpt', messages: [{ role: 'user', content: 'fail' }] })
        .catch(() => undefined);

      const { status, body } = await ownAudit(key);
      expect(status).toBe(200);
      expect(body.data.map((r) => [r.status, r.decision, r.http_status])).toEqual([
        ['error', 'allow', 502],
        ['blocked', 'block', 400],
        ['ok', 'redact', 200],
      ]);
      const [failed, blocked, allowed] = body.data;
      expect(blocked!.rule_ids).toEqual(['dlp:aws_access_key_id']);
      expect(blocked!.prompt_excerpt).toBe('key [AWS_ACCESS_KEY_ID_1] for [EMAIL_1]');
      expect(blocked!.cost_picos).toBe('0');
      expect(allowed!.prompt_excerpt).toBe('mail [EMAIL_1]');
      expect(allowed!.response_excerpt).toBe('Echo: mail [EMAIL_1]');
      expect(BigInt(allowed!.cost_picos)).toBeGreaterThan(0n);
      expect(failed!.model).toBe('gpt');
      expect(JSON.stringify(body)).not.toContain(EMAIL);
      expect(JSON.stringify(body)).not.toContain(AWS_KEY_ID);

      // Pagination: one at a time, same order, then no cursor.
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { data: AuditEntry[]; next_cursor: string | null } } = await ownAudit(
          key,
          `?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...page.body.data.map((r) => r.request_id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(body.data.map((r) => r.request_id));
    });

    it("never shows one team another team's events", async () => {
      const keyA = await newTeam('team-a');
      const keyB = await newTeam('team-b');
      const clientA = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: keyA, maxRetries: 0 });
      await clientA.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hello' }] });
      const a = await ownAudit(keyA);
      const b = await ownAudit(keyB);
      expect(a.body.data).toHaveLength(1);
      expect(a.body.data[0]!.team).toBe('team-a');
      expect(b.body.data).toEqual([]);
      // A's cursor cannot be replayed by B to reach A's partition: the team comes from the key.
      const page = await ownAudit(keyA, '?limit=1');
      expect((await ownAudit(keyB, `?cursor=${page.body.next_cursor ?? 'x'}`)).status).toBe(400);
      expect((await ownAudit('gwk_nope')).status).toBe(401);
    });

    it('lets admins search across teams by decision, and by team and key', async () => {
      const blocks = await admin('GET', '/v1/admin/audit?decision=block');
      const records = blocks.body['data'] as AuditEntry[];
      expect(records.length).toBeGreaterThanOrEqual(2);
      expect(new Set(records.map((r) => r.decision))).toEqual(new Set(['block']));
      expect(new Set(records.map((r) => r.team))).toEqual(new Set(['demo', 'audited', 'guarded-team']));
      const team = await admin('GET', '/v1/admin/audit?team=team-a');
      expect((team.body['data'] as AuditEntry[]).map((r) => r.team)).toEqual(['team-a']);
      expect((await admin('GET', '/v1/admin/audit')).status).toBe(400); // neither team nor decision
      expect((await admin('GET', '/v1/admin/audit?team=demo&from=2026-13-01')).status).toBe(400);
    });
  });

  it('keeps prompts, PII and keys out of the logs at every level', async () => {
    const lines: string[] = [];
    const capture = (original: typeof process.stdout.write) =>
      ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof process.stdout.write;
    const { stdout, stderr } = process;
    const [out, err] = [stdout.write.bind(stdout), stderr.write.bind(stderr)];
    const secretPrompt = 'my confidential merger plan';
    logger.setLogLevel('DEBUG');
    stdout.write = capture(() => true);
    stderr.write = capture(() => true);
    try {
      const send = (content: string, model = 'gpt') =>
        buffered.chat.completions.create({ model, messages: [{ role: 'user', content }] }).catch(() => undefined);
      await send(`${secretPrompt}: write to ${EMAIL}, card ${CARD}, call ${PHONE}`);
      await send(`${secretPrompt} with ${AWS_KEY_ID}`);
      await send(`${secretPrompt} about project falcon`);
      upstream.setResponder(() => ({ kind: 'error', status: 400, type: 'invalid_request_error', message: 'bad' }));
      await send(`${secretPrompt} failing upstream ${EMAIL}`);
      upstream.setResponder(() => ({
        kind: 'completion',
        text: `${secretPrompt} ${EMAIL} ${CARD}`,
        usage: { prompt_tokens: 1, completion_tokens: 1 },
        cutAfterChunks: 3,
      }));
      const broken = await streaming.chat.completions.create({
        model: 'gpt',
        stream: true,
        messages: [{ role: 'user', content: `${secretPrompt} stream` }],
      });
      await (async () => {
        for await (const _ of broken);
      })().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      stdout.write = out;
      stderr.write = err;
      logger.setLogLevel((process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT') as 'SILENT');
    }
    const logged = lines.join('');
    expect(logged).toContain('request completed'); // the capture did see the gateway's logs
    for (const secret of [secretPrompt, EMAIL, CARD, '4111', PHONE, AWS_KEY_ID, gateway.demoKey, 'sk-test-upstream']) {
      expect(logged).not.toContain(secret);
    }
  });
});
