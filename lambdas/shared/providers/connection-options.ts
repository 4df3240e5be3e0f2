import * as z from 'zod';

/**
 * Options every provider connection accepts, whatever its adapter.
 */
export const commonConnectionOptions = {
  /**
   * Longest wait for one attempt on this connection. Shorter than the request's overall deadline
   * so that a hung upstream leaves time to retry or fall back; unset means the whole deadline.
   */
  timeoutMs: z.number().int().min(100).max(900_000).optional(),
};

/**
 * The `anthropic-beta` values a connection that speaks Anthropic's Messages API (Anthropic's own,
 * Claude on Bedrock) passes on: names, or `*` for all. Optional: each adapter has its default.
 */
export const betasAllowListSchema = z
  .array(
    z
      .string()
      .regex(/^[a-z0-9*][a-z0-9._*-]{0,99}$/, 'beta names are lower-case, e.g. interleaved-thinking-2025-05-14'),
  )
  .max(100)
  .optional();
