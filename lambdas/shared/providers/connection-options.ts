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
