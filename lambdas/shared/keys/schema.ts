import * as z from 'zod';
import { modelPatternSchema, teamIdSchema } from '../teams/schema';

/** An API key as stored: its hash, never the key. */
export const apiKeyRecordSchema = z.object({
  keyId: z.string(),
  teamId: teamIdSchema,
  name: z.string().optional(),
  /** Hex SHA-256 of the whole key. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** After a rotation, the previous key's hash, accepted until `previousHashExpiresAt`. */
  previousHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  previousHashExpiresAt: z.string().optional(),
  rotatedAt: z.string().optional(),
  createdAt: z.string(),
  createdBy: z.string().optional(),
  expiresAt: z.string().optional(),
  revokedAt: z.string().optional(),
  /** Per-key limits, narrower than the team's. */
  requestsPerMinute: z.number().int().positive().optional(),
  tokensPerMinute: z.number().int().positive().optional(),
  allowedModels: z.array(modelPatternSchema).optional(),
});

/** An API key as stored. */
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;
