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
      id: 'claude-sonnet-4',
      provider: 'bedrock',
      upstreamModel: 'us.anthropic.claude-sonnet-4-20250514-v1:0',
      description: 'Anthropic Claude Sonnet 4 on Amazon Bedrock (US cross-region inference profile)',
      prices: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
      maxOutputTokens: 8192,
      aliases: ['sonnet'],
      // fallbacks: ['claude-3-5-haiku'], // tried in order when Sonnet fails, throttles or times out
    },
    {
      id: 'claude-3-5-haiku',
      provider: 'bedrock',
      upstreamModel: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
      description: 'Anthropic Claude 3.5 Haiku on Amazon Bedrock (US cross-region inference profile)',
      prices: { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1 },
      maxOutputTokens: 8192,
      aliases: ['haiku'],
    },
    {
      id: 'nova-lite',
      provider: 'bedrock',
      upstreamModel: 'us.amazon.nova-lite-v1:0',
      description: 'Amazon Nova Lite on Amazon Bedrock (US cross-region inference profile)',
      prices: { input: 0.06, output: 0.24 },
      maxOutputTokens: 5000,
    },
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
});
