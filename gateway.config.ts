/**
 * The platform team's config: provider connections, the model catalog with prices, and the
 * defaults new teams get. Edit it, then `cdk deploy`; it is validated at synth time and again
 * when each Lambda starts. Prices are USD per million tokens, as providers publish them.
 */
import { defineGatewayConfig } from './lambdas/shared/catalog/schema';

export const gatewayConfig = defineGatewayConfig({
  providers: {
    // Built-in deterministic models: no credentials, no network. Useful for smoke tests.
    mock: { adapter: 'mock' },
    // Amazon Bedrock through the Converse API, in the deploying region, with the Lambda's role.
    bedrock: { adapter: 'bedrock' },
    // Providers with API keys read them from Secrets Manager (the name below); locally from
    // <CONNECTION>_API_KEY (e.g. OPENAI_API_KEY). Uncomment, add models, `cdk deploy`:
    // openai: { adapter: 'openai', apiKeySecret: 'llm-gateway/openai' },
    // anthropic: { adapter: 'anthropic', apiKeySecret: 'llm-gateway/anthropic' },
    // OpenAI-compatible servers are connections of the OpenAI adapter, not code:
    // azure: {
    //   adapter: 'openai',
    //   baseUrl: 'https://my-resource.openai.azure.com/openai/v1',
    //   authHeader: 'api-key',
    //   apiKeySecret: 'llm-gateway/azure-openai',
    // },
    // vllm: { adapter: 'openai', baseUrl: 'http://vllm.internal:8000/v1', maxTokensParameter: 'max_tokens' },
    // ollama: { adapter: 'openai', baseUrl: 'http://ollama.internal:11434/v1', maxTokensParameter: 'max_tokens' },
  },
  models: [
    {
      id: 'mock-small',
      provider: 'mock',
      upstreamModel: 'mock-small',
      description: 'Deterministic mock model, for tests and local use',
      prices: { input: 0.1, output: 0.4 },
      maxOutputTokens: 4096,
    },
    {
      id: 'mock-large',
      provider: 'mock',
      upstreamModel: 'mock-large',
      description: 'Deterministic mock model with cache prices, for tests and local use',
      prices: { input: 2, output: 8, cacheRead: 0.5, cacheWrite: 2.5 },
      maxOutputTokens: 8192,
    },
    {
      id: 'mock-embed',
      kind: 'embedding',
      provider: 'mock',
      upstreamModel: 'mock-embed',
      description:
        'Deterministic mock embedding model (unit vectors from SHA-256 of the text), for tests and local use',
      prices: { input: 0.02, output: 0 },
      dimensions: [256, 64],
    },
    // Bedrock models name their base model id and how they are served; the construct derives the
    // inference-profile prefix from the deploy region at synth (eu-west-1 -> `eu.…`, us-east-1 ->
    // `us.…`, ap-northeast-1 -> `jp.…`) and fails synth, saying why, where a model is not offered.
    // Sources seen 2026-11-29 through stored copies (the copies' own dates are unknown).
    // Prices: USD per million tokens for the geographic ("Geo / In-region") profiles. Bedrock
    // prices the Claude 4.5+ models 10% above their global-profile price in geographic profiles,
    // prompt-cache writes at 1.25x and reads at 0.1x the input price (clauder-navi.com/en/
    // bedrock-claude-cost, seen 2026-11-29, citing the Amazon Bedrock pricing page). The pricing page itself
    // (aws.amazon.com/bedrock/pricing) is not among the stored sources: check these numbers there
    // before relying on them for chargeback.
    {
      id: 'claude-sonnet-4-6',
      provider: 'bedrock',
      // Id and geographies (global, us, eu, jp; apac: No): Anthropic's "Claude on Amazon Bedrock"
      // model table (platform.claude.com/docs/es/build-with-claude/claude-on-amazon-bedrock, seen
      // 2026-11-29); the dateless id without -v1:0 also in platform.claude.com/docs/en/about-claude/
      // models/model-ids-and-versions (seen 2026-11-29).
      // Lifecycle: no AWS model card for Sonnet 4.6 was found in the stored sources, so its
      // Bedrock state is NOT confirmed here; the daily lifecycle check reports it if Bedrock lists it
      // as Legacy. Why not a newer Claude: Anthropic's Bedrock guide ("Claude on Amazon Bedrock
      // (Opus 4.6 and earlier)", platform.claude.com/docs/en/build-with-claude/claude-on-amazon-bedrock,
      // seen 2026-11-29) says later models (Sonnet 5, 5.5, Opus 5.5...) are served on Bedrock's
      // Messages-API endpoint (/anthropic/v1/messages, SSE), not through InvokeModel/Converse, which
      // is what the bedrock adapter speaks. Sonnet 4.6 is the newest Sonnet it can call.
      upstreamModel: 'anthropic.claude-sonnet-4-6',
      inferenceProfile: 'geo',
      description: 'Anthropic Claude Sonnet 4.6 on Amazon Bedrock (geographic inference profile of the deploy region)',
      // $3 / $15 global (clauder-navi.com, above), +10% geographic.
      prices: { input: 3.3, output: 16.5, cacheRead: 0.33, cacheWrite: 4.125 },
      // The gateway's cap per call (and its budget reservation), below the model's own maximum.
      maxOutputTokens: 8192,
      aliases: ['sonnet'],
      // fallbacks: ['claude-haiku-4-5'], // tried in order when Sonnet fails, throttles or times out
    },
    {
      id: 'claude-haiku-4-5',
      provider: 'bedrock',
      // AWS model card (docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-haiku-4-5.html,
      // seen 2026-11-29):
      // Model lifecycle: Active; EOL no sooner than 10/1/2026 (a floor, now passed: the stored copy
      // may predate a move to Legacy, which the daily lifecycle check would report); max output 64K;
      // prompt caching supported; geo ids us. and eu. (jp. and au. from the aether-llm crate's
      // generated list of Bedrock ids, docs.rs/aether-llm, seen 2026-11-29).
      upstreamModel: 'anthropic.claude-haiku-4-5-20251001-v1:0',
      inferenceProfile: 'geo',
      description: 'Anthropic Claude Haiku 4.5 on Amazon Bedrock (geographic inference profile of the deploy region)',
      // $1 / $5 global (clauder-navi.com, above; Anthropic's own price for Haiku 4.5 is the same,
      // platform.claude.com/docs/.../models/haiku-4-5/overview, seen 2026-11-29), +10% geographic.
      prices: { input: 1.1, output: 5.5, cacheRead: 0.11, cacheWrite: 1.375 },
      maxOutputTokens: 8192,
      aliases: ['haiku'],
    },
    {
      id: 'nova-lite',
      provider: 'bedrock',
      // AWS model card (docs.aws.eu/bedrock/latest/userguide/model-card-amazon-nova-lite.html, the
      // European Sovereign Cloud copy of the Bedrock user guide, seen 2026-11-29; the
      // docs.aws.amazon.com copy was not in the stored sources): Model lifecycle: Active; EOL no
      // sooner than 12/4/2025;
      // max output 5K; in-region amazon.nova-lite-v1:0, geo us. and eu.; no global profile.
      upstreamModel: 'amazon.nova-lite-v1:0',
      inferenceProfile: 'geo',
      description: 'Amazon Nova Lite on Amazon Bedrock (geographic inference profile of the deploy region)',
      // Not confirmed from the stored sources (the pricing page is not among them): the price this
      // config shipped before. No cache prices: cache tokens are charged at the input price.
      prices: { input: 0.06, output: 0.24 },
      maxOutputTokens: 5000,
    },
    // Embedding models (`POST /v1/embeddings`), priced per input token (no output tokens). Both are
    // called in-region by their base id through InvokeModel (no inference profile).
    // Ids and request formats: the Bedrock user guide's model parameter pages (docs.aws.amazon.com/
    // bedrock/latest/userguide/model-parameters-titan-embed-text.html and model-parameters-embed-v3.html,
    // seen 2026-11-29 through stored copies). Prices: NOT confirmed from the Amazon Bedrock pricing page
    // (not among the stored sources). $0.02/MTok for Titan V2 agrees with a third-party price table
    // (aitot.net/en/blog/embeddings-pricing-comparison-2026, seen 2026-11-29) and $0.10/MTok for Cohere
    // Embed English v3 with Cohere's own list price quoted there and by deploybase.ai (seen 2026-11-29);
    // check both on aws.amazon.com/bedrock/pricing before relying on them for chargeback. With
    // their prices unconfirmed they are not enabled by default (as Nova 2 Lite below); uncomment to
    // serve them (the construct then grants InvokeModel on their foundation models).
    // {
    //   id: 'titan-embed-text-v2',
    //   kind: 'embedding',
    //   provider: 'bedrock',
    //   // One text per call, up to 8,192 tokens or 50,000 characters; vectors of 1024 (default), 512 or 256.
    //   upstreamModel: 'amazon.titan-embed-text-v2:0',
    //   description: 'Amazon Titan Text Embeddings V2 on Amazon Bedrock',
    //   prices: { input: 0.02, output: 0 },
    //   dimensions: [1024, 512, 256],
    // },
    // {
    //   id: 'cohere-embed-english-v3',
    //   kind: 'embedding',
    //   provider: 'bedrock',
    //   // Up to 96 texts per call (the adapter batches), 2,048 characters each; 1024-dimensional vectors.
    //   upstreamModel: 'cohere.embed-english-v3',
    //   description: 'Cohere Embed English v3 on Amazon Bedrock',
    //   prices: { input: 0.1, output: 0 },
    // },
    // Amazon Nova 2 Lite (the second generation, 1M-token context) is served through inference
    // profiles only: global.amazon.nova-2-lite-v1:0 (Amazon Nova 2 user guide, core inference) and
    // us.amazon.nova-2-lite-v1:0 (AWS console guidance). No other geography and no Bedrock price
    // were confirmed from the stored sources, so it is not enabled by default:
    // {
    //   id: 'nova-2-lite',
    //   provider: 'bedrock',
    //   upstreamModel: 'amazon.nova-2-lite-v1:0',
    //   inferenceProfile: 'global', // any commercial region: no data-residency guarantee
    //   prices: { input: 0.33, output: 2.75 }, // unconfirmed: check the Amazon Bedrock pricing page
    //   maxOutputTokens: 8192,
    // },
    // {
    //   id: 'gpt-4o-mini',
    //   provider: 'openai',
    //   upstreamModel: 'gpt-4o-mini',
    //   prices: { input: 0.15, output: 0.6, cacheRead: 0.075 },
    //   maxOutputTokens: 16384,
    // },
  ],
  teamDefaults: {
    requestsPerMinute: 60,
    tokensPerMinute: 200_000,
    softAlertPercent: 80,
    allowedModels: ['*'],
  },
  // Policy profiles: teams name one (`npm run admin -- team update <id> --policy-profile strict`),
  // the others get `defaultProfile`. Rule ids (`dlp:<detector>`, deny rule ids) are what blocked
  // requests, the audit trail and metrics report; never the matched text.
  policies: {
    defaultProfile: 'default',
    profiles: {
      default: {
        description: 'Secrets never leave; payment data is masked; other personal data is recorded.',
        detectors: [
          { detector: 'private_key', action: 'block', direction: 'input' },
          { detector: 'aws_secret_access_key', action: 'block', direction: 'input' },
          { detector: 'aws_access_key_id', action: 'redact' },
          { detector: 'api_key', action: 'redact' },
          { detector: 'jwt', action: 'redact' },
          { detector: 'credit_card', action: 'redact' },
          { detector: 'us_ssn', action: 'redact' },
          { detector: 'iban', action: 'alert' },
          { detector: 'email', action: 'alert' },
          { detector: 'phone', action: 'alert' },
        ],
        audit: { promptExcerptChars: 200, responseExcerptChars: 0 },
      },
      strict: {
        description: 'For regulated data: personal data is masked both ways, big prompts refused.',
        allowedModels: ['claude-*', 'mock-*'],
        maxPromptTokens: 16_000,
        maxOutputTokens: 4_096,
        denyRules: [
          {
            id: 'project-codenames',
            message: 'Unannounced project code names may not be sent to models.',
            keywords: ['project nightingale', 'project kestrel'],
          },
        ],
        detectors: [
          { detector: 'private_key', action: 'block' },
          { detector: 'aws_secret_access_key', action: 'block' },
          { detector: 'aws_access_key_id', action: 'block' },
          { detector: 'api_key', action: 'block' },
          { detector: 'jwt', action: 'redact' },
          { detector: 'credit_card', action: 'redact' },
          { detector: 'us_ssn', action: 'redact' },
          { detector: 'iban', action: 'redact' },
          { detector: 'email', action: 'redact' },
          { detector: 'phone', action: 'redact' },
          { detector: 'ipv4', action: 'redact' },
        ],
        // A Bedrock guardrail applied to every provider's traffic (ApplyGuardrail), e.g.:
        // guardrail: { id: 'abc123def456', version: '1', direction: 'both' },
      },
    },
    // Detectors of the company's own identifiers, usable in any profile by name:
    // customDetectors: { employee_id: { pattern: '\\bEMP-\\d{6}\\b' } },
  },
  // How long each request's audit record is kept (DynamoDB TTL).
  audit: { retentionDays: 90 },
  // Who may use the admin API (teams, keys, chargeback, audit search). API Gateway's IAM check
  // admits any principal of the account allowed to invoke the API; the gateway then admits only
  // these. With none listed and no opt-in, the admin routes refuse everyone (synth warns). Name
  // roles (any session of the role is admitted) or IAM users, e.g.:
  //   principals: [
  //     'arn:aws:iam::123456789012:role/GatewayAdmin',
  //     'arn:aws:iam::123456789012:role/platform/PlatformOnCall', // a path is fine
  //     'arn:aws:iam::123456789012:user/alice',
  //   ],
  // allowAnyPrincipalInAccount: true admits every principal of the deploying account: sandboxes only.
  admins: { principals: [], allowAnyPrincipalInAccount: false },
});
