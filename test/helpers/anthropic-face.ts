import Anthropic from '@anthropic-ai/sdk';
import type { LocalGateway } from '../../local/local-gateway';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { FakeAnthropic, type FakeAnthropicRequest } from '../fakes/anthropic-server';
import { anthropicReply, FakeBedrock } from '../fakes/bedrock-server';
import { GENEROUS_TEAM_DEFAULTS } from './config';
import { startTestLocalGateway } from './local-gateway';

/** The API key the gateway holds for the Anthropic connections (read from `<CONNECTION>_API_KEY` locally). */
export const UPSTREAM_ANTHROPIC_KEY = 'sk-ant-upstream-test-key';

/** Betas the `anthropic` connection allows; anything else is dropped and reported. */
export const ANTHROPIC_ALLOWED_BETAS = [
  'claude-code-20250219',
  'interleaved-thinking-2025-05-14',
  'fine-grained-tool-streaming-2025-05-14',
  'context-1m-2025-08-07',
];

/** Betas the `bedrock` connection allows. */
export const BEDROCK_ALLOWED_BETAS = ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07'];

/** Catalog prices of the Claude models, in USD per million tokens. */
export const CLAUDE_PRICES = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };

/** Upstream model ids the catalog maps to. */
export const UPSTREAM = {
  sonnet: 'claude-sonnet-4-5-20250929',
  open: 'claude-haiku-4-5-20251001',
  opusDated: 'claude-opus-4-1-20250805',
  bedrock: 'us.anthropic.claude-sonnet-4-6',
  bedrockBase: 'anthropic.claude-haiku-4-5-20251001-v1:0',
} as const;

/**
 * The config of the Anthropic face tests: the mock, two Anthropic connections on the fake
 * Anthropic (one with a beta allow-list, one without: every beta passes) and a Bedrock
 * connection on the fake Bedrock (with its own allow-list). The connections are built apart from
 * the config literal: `betas` is the face's addition to the connection options.
 */
export function anthropicFaceConfig(anthropicUrl: string, bedrockUrl: string): GatewayConfigInput {
  const anthropic = {
    adapter: 'anthropic' as const,
    baseUrl: anthropicUrl,
    apiKeySecret: 'x',
    betas: ANTHROPIC_ALLOWED_BETAS,
  };
  const anthropicOpen = { adapter: 'anthropic' as const, baseUrl: anthropicUrl, apiKeySecret: 'x-open' };
  const bedrock = {
    adapter: 'bedrock' as const,
    region: 'us-east-1',
    endpoint: bedrockUrl,
    betas: BEDROCK_ALLOWED_BETAS,
  };
  return {
    providers: { mock: { adapter: 'mock' }, anthropic, 'anthropic-open': anthropicOpen, bedrock },
    models: [
      { id: 'mock-small', provider: 'mock', upstreamModel: 'mock-small', prices: { input: 0.1, output: 0.4 } },
      {
        id: 'claude-sonnet-4-5',
        provider: 'anthropic',
        upstreamModel: UPSTREAM.sonnet,
        prices: CLAUDE_PRICES,
        maxOutputTokens: 64_000,
        aliases: ['sonnet'],
      },
      {
        id: 'claude-open',
        provider: 'anthropic-open',
        upstreamModel: UPSTREAM.open,
        prices: CLAUDE_PRICES,
        maxOutputTokens: 64_000,
      },
      // An undated id and a dated one side by side: the dated name is served by its own entry.
      { id: 'claude-opus-4-1', provider: 'mock', upstreamModel: 'mock-opus', prices: { input: 1, output: 1 } },
      {
        id: UPSTREAM.opusDated,
        provider: 'anthropic',
        upstreamModel: UPSTREAM.opusDated,
        prices: CLAUDE_PRICES,
        maxOutputTokens: 32_000,
      },
      {
        id: 'bedrock-claude',
        provider: 'bedrock',
        upstreamModel: UPSTREAM.bedrock,
        prices: CLAUDE_PRICES,
        maxOutputTokens: 64_000,
        aliases: ['claude-sonnet-4-6'],
      },
      {
        id: 'bedrock-haiku',
        provider: 'bedrock',
        upstreamModel: UPSTREAM.bedrockBase,
        prices: { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 },
        maxOutputTokens: 64_000,
      },
    ],
    teamDefaults: GENEROUS_TEAM_DEFAULTS,
  };
}

/** The running gateway and its fake upstreams. */
export interface AnthropicFace {
  gateway: LocalGateway;
  anthropic: FakeAnthropic;
  bedrock: FakeBedrock;
  stop(): Promise<void>;
}

/** Default replies of the fakes: a short text with cache counters, the same on both. */
export function defaultAnthropicReply(text = 'Hello from the fake Anthropic.') {
  return {
    kind: 'message' as const,
    text,
    usage: { input_tokens: 25, output_tokens: 8, cache_read_input_tokens: 100, cache_creation_input_tokens: 40 },
  };
}

/**
 * Starts the fakes and the local gateway with {@link anthropicFaceConfig}; sets the upstream key
 * variables the local runtime reads (restored by `stop`).
 */
export async function startAnthropicFace(prefix: string): Promise<AnthropicFace> {
  const saved = { ...process.env };
  const anthropic = new FakeAnthropic(() => defaultAnthropicReply());
  const bedrock = new FakeBedrock(() => {
    const { kind: _kind, ...message } = defaultAnthropicReply('Hello from the fake Bedrock.');
    return anthropicReply(message);
  });
  const [anthropicUrl, bedrockUrl] = await Promise.all([anthropic.start(), bedrock.start()]);
  Object.assign(process.env, {
    ANTHROPIC_API_KEY: UPSTREAM_ANTHROPIC_KEY,
    ANTHROPIC_OPEN_API_KEY: UPSTREAM_ANTHROPIC_KEY,
    AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE',
    AWS_SECRET_ACCESS_KEY: 'fake-secret',
  });
  let gateway: LocalGateway;
  try {
    gateway = await startTestLocalGateway(prefix, {
      config: anthropicFaceConfig(anthropicUrl, bedrockUrl),
      mockWithoutCredentials: false,
    });
  } catch (error) {
    process.env = saved;
    await Promise.all([anthropic.stop(), bedrock.stop()]);
    throw error;
  }
  return {
    gateway,
    anthropic,
    bedrock,
    stop: async () => {
      process.env = saved;
      await gateway.stop();
      await Promise.all([anthropic.stop(), bedrock.stop()]);
    },
  };
}

/** How a client sends its key. */
export type AuthStyle = 'bearer (apiKey)' | 'bearer (authToken)' | 'x-api-key';

/**
 * The official client against a gateway door. SDK 1.x sends `apiKey` as `Authorization: Bearer`
 * (API version 2026-10-21); `x-api-key`, what clients of version 2023-06-01 such as Claude Code
 * send, is set as a default header with Authorization removed.
 */
export function anthropicClient(baseURL: string, key: string, style: AuthStyle = 'bearer (apiKey)'): Anthropic {
  if (style === 'bearer (authToken)') return new Anthropic({ baseURL, authToken: key, apiKey: null, maxRetries: 0 });
  if (style === 'x-api-key') {
    return new Anthropic({
      baseURL,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { authorization: null, 'x-api-key': key },
    });
  }
  return new Anthropic({ baseURL, apiKey: key, maxRetries: 0 });
}

/** The `/v1/messages` requests that reached the fake Anthropic since `from` (an index into its requests). */
export function messagesSince(fake: FakeAnthropic, from: number): FakeAnthropicRequest[] {
  return fake.requests.slice(from).filter((request) => request.path === '/v1/messages');
}

/** Retries `read` until `done` holds for its result (a streamed request is recorded just after its last byte). */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}
