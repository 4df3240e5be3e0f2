import Anthropic from '@anthropic-ai/sdk';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import type { LocalGateway } from '../../local/local-gateway';
import { FakeAnthropic, type FakeAnthropicReply } from '../fakes/anthropic-server';
import { echoResponder, FakeOpenAi } from '../fakes/openai-server';
import { GENEROUS_TEAM_DEFAULTS } from '../helpers/config';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * The Messages face under the same policy as the OpenAI face, and translated to an
 * OpenAI-format model: DLP on prompts (blocked before anything is admitted, redacted before it
 * goes upstream), on answers and reasoning (streamed with the finding split across deltas, never
 * leaked), a feature the provider lacks refused before admission, and the end user in the audit.
 */

const EMAIL = 'jane.doe@example.com';
const AWS_KEY_ID = 'AKIAR40N2CWDFFSWIEXH';

describe('Anthropic face: policy, translation, audit', () => {
  let gateway: LocalGateway;
  const openai = new FakeOpenAi(echoResponder);
  const claude = new FakeAnthropic(() => ({
    kind: 'message',
    text: 'unused',
    usage: { input_tokens: 1, output_tokens: 1 },
  }));
  const savedEnv = { ...process.env };
  const client = (base: () => string) => new Anthropic({ baseURL: base(), apiKey: gateway.demoKey, maxRetries: 0 });

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
              { detector: 'aws_access_key_id', action: 'block', direction: 'input' },
              { detector: 'email', action: 'redact' },
            ],
            audit: { promptExcerptChars: 200, responseExcerptChars: 200 },
          },
        },
      },
    };
    process.env.OPENAI_API_KEY = 'sk-test';
    process.env.ANTHROPIC_API_KEY = 'sk-ant-test';
    gateway = await startTestLocalGateway('anthropic-policy', {
      config,
      mockWithoutCredentials: false,
    });
  });

  afterAll(async () => {
    process.env = savedEnv;
    await gateway?.stop();
    await Promise.all([openai.stop(), claude.stop()]);
  });

  const doors = [
    ['buffered door', () => gateway.url],
    ['streaming door', () => gateway.streamUrl],
  ] as const;

  it.each(doors)(
    'on the %s: a blocked detector is a 400 invalid_request_error, nothing sent or billed',
    async (_, base) => {
      const before = claude.requests.length;
      const error = await client(base)
        .messages.create({
          model: 'claude',
          max_tokens: 50,
          messages: [{ role: 'user', content: [{ type: 'text', text: `deploy with ${AWS_KEY_ID}` }] }],
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.BadRequestError);
      expect((error as InstanceType<typeof Anthropic.BadRequestError>).message).not.toContain(AWS_KEY_ID);
      expect(claude.requests.length).toBe(before);
    },
  );

  it('redacts prompts before they go upstream: text, system, tool results and plain-text documents', async () => {
    claude.setResponder(() => ({ kind: 'message', text: 'noted', usage: { input_tokens: 5, output_tokens: 1 } }));
    await client(() => gateway.url).messages.create({
      model: 'claude',
      max_tokens: 50,
      system: [{ type: 'text', text: `Reply to ${EMAIL}`, cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: 'Look this up' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'lookup', input: {} }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: `owner: ${EMAIL}` }] },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: `cc ${EMAIL}` } },
          ],
        },
      ],
      tools: [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }],
    });
    const sent = JSON.stringify(claude.requests.at(-1)!.body);
    expect(sent).not.toContain(EMAIL);
    expect(sent.match(/\[EMAIL_1\]/g)?.length).toBe(3);
    // The breakpoint the caller set survives the redaction.
    expect(claude.requests.at(-1)!.body['system']).toEqual([
      { type: 'text', text: 'Reply to [EMAIL_1]', cache_control: { type: 'ephemeral' } },
    ]);
  });

  it.each(doors)(
    'on the %s: a finding split across deltas of the answer and of the reasoning never reaches the client',
    async (_, base) => {
      // Three-character deltas: the address arrives in pieces, in the reasoning and in the text.
      const reply: FakeAnthropicReply = {
        deltaChars: 3,
        kind: 'message',
        blocks: [
          { type: 'thinking', thinking: `The user is ${EMAIL}, I think.`, signature: 'sig' },
          { type: 'text', text: `Write to ${EMAIL} today.` },
        ],
        usage: { input_tokens: 10, output_tokens: 20 },
      };
      claude.setResponder(() => reply);
      const stream = client(base).messages.stream({
        model: 'claude',
        max_tokens: 2000,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: 'Who?' }],
      });
      const deltas: string[] = [];
      stream.on('streamEvent', (event) => deltas.push(JSON.stringify(event)));
      stream.on('text', (delta) => deltas.push(delta));
      const message = await stream.finalMessage();
      expect(deltas.join('')).not.toContain(EMAIL);
      expect(JSON.stringify(message)).not.toContain(EMAIL);
      expect(message.content).toEqual([
        { type: 'thinking', thinking: 'The user is [EMAIL_1], I think.', signature: 'sig' },
        { type: 'text', text: 'Write to [EMAIL_1] today.' },
      ]);
    },
  );

  it('translates to an OpenAI-format model what it shares, and refuses what it lacks before admission', async () => {
    openai.setResponder(echoResponder);
    const sdk = client(() => gateway.url);
    const message = await sdk.messages.create({
      model: 'gpt',
      max_tokens: 50,
      system: 'Be brief.',
      stop_sequences: ['END'],
      metadata: { user_id: 'dev-7' },
      messages: [{ role: 'user', content: 'Hello there' }],
    });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn' });
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: Hello there' }]);
    const sent = openai.requests.at(-1)!.body;
    expect(sent).toMatchObject({
      model: 'gpt-4o-mini',
      stop: ['END'],
      user: 'dev-7',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
    });

    const before = openai.requests.length;
    const refused = await sdk.messages
      .create({
        model: 'gpt',
        max_tokens: 2000,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: 'Think' }],
      })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Anthropic.BadRequestError);
    expect((refused as Error).message).toContain('does not support thinking');
    expect(openai.requests.length).toBe(before);
  });

  it("counts tokens with Anthropic's own count_tokens, redacted as a call would be, and the estimate when it fails", async () => {
    const sdk = client(() => gateway.url);
    claude.setTokenCounter(() => 4242);
    const before = claude.requests.length;
    const { data, response } = await sdk.messages
      .countTokens({ model: 'claude', messages: [{ role: 'user', content: `count me, ${EMAIL}` }] })
      .withResponse();
    expect(data).toEqual({ input_tokens: 4242 });
    expect(response.headers.get('x-gateway-token-count')).toBe('provider');
    const counted = claude.requests.slice(before).find((r) => r.path === '/v1/messages/count_tokens')!;
    expect(JSON.stringify(counted.body)).not.toContain(EMAIL);
    expect(counted.body).not.toHaveProperty('max_tokens');

    claude.setTokenCounter(() => {
      throw new Error('count_tokens is down');
    });
    const fallback = await sdk.messages
      .countTokens({ model: 'claude', messages: [{ role: 'user', content: 'count me' }] })
      .withResponse();
    expect(fallback.data.input_tokens).toBeGreaterThan(0);
    expect(fallback.response.headers.get('x-gateway-token-count')).toBe('estimate');
    // A model whose provider has no count answers the estimate.
    const translated = await sdk.messages
      .countTokens({ model: 'gpt', messages: [{ role: 'user', content: 'count me' }] })
      .withResponse();
    expect(translated.response.headers.get('x-gateway-token-count')).toBe('estimate');
  });

  it("records Anthropic's metadata.user_id as the end user in the audit trail", async () => {
    claude.setResponder(() => ({ kind: 'message', text: 'hi', usage: { input_tokens: 3, output_tokens: 1 } }));
    const { response } = await client(() => gateway.url)
      .messages.create({
        model: 'claude',
        max_tokens: 20,
        metadata: { user_id: 'session-abc' },
        messages: [{ role: 'user', content: 'hello' }],
      })
      .withResponse();
    const requestId = response.headers.get('request-id');
    const audit = (await fetch(`${gateway.url}/v1/audit?limit=50`, {
      headers: { authorization: `Bearer ${gateway.demoKey}` },
    }).then((r) => r.json())) as { data: { request_id: string; end_user: string | null; model: string }[] };
    expect(audit.data.find((entry) => entry.request_id === requestId)).toMatchObject({
      end_user: 'session-abc',
      model: 'claude',
    });
  });
});
