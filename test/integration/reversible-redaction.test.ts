import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { logger } from '../../lambdas/shared/observability/logger';
import type { LocalGateway } from '../../local/local-gateway';
import { FakeAnthropic } from '../fakes/anthropic-server';
import { echoResponder, FakeOpenAi } from '../fakes/openai-server';
import { GENEROUS_TEAM_DEFAULTS } from '../helpers/config';
import { teamWithKey } from '../helpers/local-admin';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * Reversible redaction end to end: the provider receives placeholders only, the caller gets the
 * original values back in the answer (streamed with placeholders split across deltas, both faces,
 * both doors), invented or mangled placeholders stay as they are, a key the profile does not name
 * sees placeholders, and the audit trail and logs keep no original.
 */

const EMAIL = 'jane.doe@example.com';
const PHONE = '+1 212 555 0143';

describe('reversible redaction through the local gateway', () => {
  let gateway: LocalGateway;
  const openai = new FakeOpenAi(echoResponder);
  const claude = new FakeAnthropic(() => ({ kind: 'message', text: '', usage: { input_tokens: 1, output_tokens: 1 } }));
  const savedEnv = { ...process.env };
  let maskedKey: string;
  const logged: string[] = [];
  const [out, err] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  const capture = (original: typeof process.stdout.write) =>
    ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;

  beforeAll(async () => {
    const [openaiUrl, claudeUrl] = await Promise.all([openai.start(), claude.start()]);
    const config: GatewayConfigInput = {
      providers: {
        openai: { adapter: 'openai', baseUrl: `${openaiUrl}/v1`, apiKeySecret: 'test/openai' },
        anthropic: { adapter: 'anthropic', baseUrl: claudeUrl, apiKeySecret: 'test/anthropic' },
      },
      models: [
        { id: 'gpt', provider: 'openai', upstreamModel: 'gpt-4o-mini', prices: { input: 1, output: 2 } },
        { id: 'claude', provider: 'anthropic', upstreamModel: 'claude-sonnet-4-6', prices: { input: 3, output: 15 } },
      ],
      teamDefaults: GENEROUS_TEAM_DEFAULTS,
      policies: {
        profiles: {
          default: {
            detectors: [
              { detector: 'email', action: 'redact_reversible', direction: 'input' },
              { detector: 'phone', action: 'redact_reversible', direction: 'input' },
            ],
            audit: { promptExcerptChars: 300, responseExcerptChars: 300 },
          },
          masked: {
            detectors: [{ detector: 'email', action: 'redact_reversible', direction: 'input' }],
            restoreFor: [],
          },
        },
      },
    };
    process.env.OPENAI_API_KEY = 'sk-test';
    process.env.ANTHROPIC_API_KEY = 'sk-ant-test';
    gateway = await startTestLocalGateway('reversible', {
      config,
      mockWithoutCredentials: false,
    });
    maskedKey = await teamWithKey(gateway, { id: 'masked', policy_profile: 'masked' });
    // Everything the gateway logs from here on, at every level, to check it for originals.
    logger.setLogLevel('DEBUG');
    process.stdout.write = capture(() => true);
    process.stderr.write = capture(() => true);
  });

  afterAll(async () => {
    process.stdout.write = out;
    process.stderr.write = err;
    logger.setLogLevel((savedEnv.POWERTOOLS_LOG_LEVEL ?? 'SILENT') as 'SILENT');
    process.env = savedEnv;
    await gateway?.stop();
    await Promise.all([openai.stop(), claude.stop()]);
  });

  it('sends placeholders upstream and gives the caller its values back (OpenAI face)', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.demoKey, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'gpt',
      messages: [{ role: 'user', content: `Mail ${EMAIL} or call ${PHONE}` }],
    });
    const sent = JSON.stringify(openai.requests.at(-1)!.body);
    expect(sent).not.toContain(EMAIL);
    expect(sent).toContain('Mail [EMAIL_1] or call [PHONE_1]');
    expect(completion.choices[0]!.message.content).toBe(`Echo: Mail ${EMAIL} or call ${PHONE}`);
  });

  it.each([
    ['buffered door', () => gateway.url],
    ['streaming door', () => gateway.streamUrl],
  ] as const)(
    'on the %s: restores placeholders split across deltas; invented or mangled ones stay (Anthropic face)',
    async (_, base) => {
      claude.setResponder(() => ({
        kind: 'message',
        deltaChars: 3,
        text: 'Writing to [EMAIL_1], not [EMAIL_9] nor [EMAIL 1].',
        usage: { input_tokens: 12, output_tokens: 9 },
      }));
      const stream = new Anthropic({ baseURL: base(), apiKey: gateway.demoKey, maxRetries: 0 }).messages.stream({
        model: 'claude',
        max_tokens: 100,
        messages: [{ role: 'user', content: `Write to ${EMAIL}` }],
      });
      const message = await stream.finalMessage();
      expect(JSON.stringify(claude.requests.at(-1)!.body)).not.toContain(EMAIL);
      expect(message.content).toEqual([{ type: 'text', text: `Writing to ${EMAIL}, not [EMAIL_9] nor [EMAIL 1].` }]);
    },
  );

  it('restores tool-call arguments too', async () => {
    claude.setResponder(() => ({
      kind: 'message',
      toolUses: [{ id: 'toolu_1', name: 'send_mail', input: { to: '[EMAIL_1]' } }],
      usage: { input_tokens: 12, output_tokens: 9 },
    }));
    const message = await new Anthropic({
      baseURL: gateway.url,
      apiKey: gateway.demoKey,
      maxRetries: 0,
    }).messages.create({
      model: 'claude',
      max_tokens: 100,
      tools: [{ name: 'send_mail', input_schema: { type: 'object', properties: { to: { type: 'string' } } } }],
      messages: [{ role: 'user', content: `Mail ${EMAIL}` }],
    });
    expect(message.content).toEqual([{ type: 'tool_use', id: 'toolu_1', name: 'send_mail', input: { to: EMAIL } }]);
  });

  it('gives placeholders, not values, to a key the profile does not name', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: maskedKey, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'gpt',
      messages: [{ role: 'user', content: `Mail ${EMAIL}` }],
    });
    expect(completion.choices[0]!.message.content).toBe('Echo: Mail [EMAIL_1]');
  });

  it('keeps no original in the audit trail or the logs', async () => {
    const audit = await fetch(`${gateway.url}/v1/audit?limit=50`, {
      headers: { authorization: `Bearer ${gateway.demoKey}` },
    }).then((r) => r.text());
    expect(audit).toContain('[EMAIL_1]');
    expect(audit).not.toContain(EMAIL);
    expect(audit).not.toContain(PHONE);
    const lines = logged.join('');
    expect(lines).toContain('request completed'); // the capture did see the gateway's logs
    expect(lines).not.toContain(EMAIL);
    expect(lines).not.toContain(PHONE);
  });
});
