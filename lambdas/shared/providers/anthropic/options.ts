import * as z from 'zod';
import { betasAllowListSchema, commonConnectionOptions } from '../connection-options';

/** Connection options of Anthropic's Messages API. */
export const anthropicOptionsSchema = z.strictObject({
  adapter: z.literal('anthropic'),
  ...commonConnectionOptions,
  /** Base URL up to (not including) `/v1/messages`. */
  baseUrl: z.url().default('https://api.anthropic.com'),
  /** Secrets Manager secret (name or ARN) holding the API key. */
  apiKeySecret: z.string().min(1),
  /** The `anthropic-version` header. */
  version: z.string().default('2023-06-01'),
  /**
   * `anthropic-beta` values this connection passes on (`*`: all); the rest are dropped and the
   * response header `x-gateway-dropped-betas` names them. Default: every beta except those that reprice the call (`context-1m-…`).
   */
  betas: betasAllowListSchema,
  /** Extra headers on every call (e.g. an organization header). */
  headers: z.record(z.string(), z.string()).optional(),
});

/** Parsed Anthropic connection options. */
export type AnthropicOptions = z.infer<typeof anthropicOptionsSchema>;
