import * as z from 'zod';
import { betasAllowListSchema, commonConnectionOptions } from '../connection-options';

/**
 * Connection options of Amazon Bedrock (Converse API). Credentials come from the Lambda role; no
 * secret is configured here.
 */
export const bedrockOptionsSchema = z.strictObject({
  adapter: z.literal('bedrock'),
  ...commonConnectionOptions,
  /** Region of the Bedrock runtime endpoint; defaults to the Lambda's own region. */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
    .optional(),
  /**
   * `anthropic-beta` values this connection passes on (`*`: all); the rest are dropped and the
   * response header `x-gateway-dropped-betas` names them. Default: the betas Bedrock documents for Claude (`BEDROCK_DEFAULT_BETAS`).
   */
  betas: betasAllowListSchema,
  /** Endpoint override (a VPC endpoint, or a local fake in tests). */
  endpoint: z.url().optional(),
});

/** Parsed Bedrock connection options. */
export type BedrockOptions = z.infer<typeof bedrockOptionsSchema>;
