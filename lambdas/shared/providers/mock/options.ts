import * as z from 'zod';
import { commonConnectionOptions } from '../connection-options';

/**
 * Connection options of the built-in mock provider. The mock answers deterministically from the
 * prompt, so tests and the local runtime can assert on exact text, tokens and cost; latency and
 * failures are settings so that timeouts, retries and fallback can be exercised without a network.
 */
export const mockOptionsSchema = z.strictObject({
  adapter: z.literal('mock'),
  ...commonConnectionOptions,
  /** Delay before the answer (and between streamed chunks, split evenly). */
  latencyMs: z.number().int().min(0).max(120_000).default(0),
  /** Fraction of calls that fail, chosen deterministically from the request content. */
  failureRate: z.number().min(0).max(1).default(0),
  /** HTTP status the simulated upstream failure carries. */
  failStatus: z.union([z.literal(400), z.literal(429), z.literal(500), z.literal(503), z.literal(504)]).default(503),
  /** Streamed calls break off after this many text chunks, like an upstream that drops the connection. */
  breakStreamAfterChunks: z.number().int().min(0).optional(),
});

/** Parsed mock connection options. */
export type MockOptions = z.infer<typeof mockOptionsSchema>;
