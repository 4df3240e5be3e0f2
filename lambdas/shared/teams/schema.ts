import * as z from 'zod';

/** Team ids are stable slugs: they appear in metrics, the ledger and the chargeback report. */
export const teamIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/, 'team ids are 3-40 lower-case letters, digits and hyphens');

/** A model id or a pattern with `*` wildcards (`claude-*`, `*`). */
export const modelPatternSchema = z
  .string()
  .regex(/^[A-Za-z0-9*][A-Za-z0-9._:/*-]{0,127}$/, 'model patterns use model-id characters and *');

/** A team as stored. Money is integer micro-dollars. */
export const teamRecordSchema = z.object({
  teamId: teamIdSchema,
  name: z.string(),
  costCenter: z.string().optional(),
  /** Monthly (UTC calendar month) budget; absent means unlimited. */
  monthlyBudgetMicros: z.number().int().nonnegative().optional(),
  softAlertPercent: z.number().int().min(1).max(100),
  requestsPerMinute: z.number().int().positive(),
  tokensPerMinute: z.number().int().positive(),
  allowedModels: z.array(modelPatternSchema),
  /** Name of the policy profile (guardrails, DLP) that applies; the config's default when absent. */
  policyProfile: z.string().optional(),
  status: z.enum(['active', 'disabled']),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** A team as stored. */
export type TeamRecord = z.infer<typeof teamRecordSchema>;
