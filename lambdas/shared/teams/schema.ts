import * as z from 'zod';
import { usdToMicros } from '../cost/money';

/** Team ids are stable slugs: they appear in metrics, the ledger and the chargeback report. */
export const teamIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/, 'team ids are 3-40 lower-case letters, digits and hyphens');

/** A model id or a pattern with `*` wildcards (`claude-*`, `*`). */
export const modelPatternSchema = z
  .string()
  .regex(/^[A-Za-z0-9*][A-Za-z0-9._:/*-]{0,127}$/, 'model patterns use model-id characters and *');

/**
 * Highest per-minute request or token limit an admin may set, on a team or a key: far above
 * what any provider serves one account, and small enough that counters never leave the safe
 * integers whatever they add up.
 */
export const MAX_PER_MINUTE_LIMIT = 10_000_000;

/** Highest monthly budget an admin may set, in USD; its micro-dollars (1e14) stay a safe integer. */
export const MAX_MONTHLY_BUDGET_USD = 100_000_000;

/**
 * Whether a USD amount is whole micro-dollars, as the ledger counts money. `usdToMicros` forgives
 * float noise below a micro-dollar; a positive amount that would round to nothing (1e-12) is a
 * mistake too, not a zero budget that refuses every request.
 */
function wholeMicros(usd: number): boolean {
  try {
    return usdToMicros(usd) > 0 || usd === 0;
  } catch {
    return false;
  }
}

/**
 * A per-minute limit as an admin writes it: a positive whole number up to
 * {@link MAX_PER_MINUTE_LIMIT} (zod refuses fractions, non-finite and unsafe integers).
 */
export const perMinuteLimitSchema = z.number().int().positive().max(MAX_PER_MINUTE_LIMIT);

/**
 * A monthly budget as an admin writes it, in USD: finite, not negative, at most
 * {@link MAX_MONTHLY_BUDGET_USD}, and whole micro-dollars (at most six decimals), so converting it
 * never rounds a budget away or fails after validation.
 */
export const monthlyBudgetUsdSchema = z
  .number()
  .nonnegative()
  .max(MAX_MONTHLY_BUDGET_USD)
  .refine(wholeMicros, 'budgets are whole micro-dollars: at most six decimals');

/** Longest response-cache TTL an admin may set: a week (stored answers age with their models). */
export const MAX_CACHE_TTL_SECONDS = 7 * 24 * 60 * 60;

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
  /** How long answers are served from the response cache; absent or 0: the team has no cache. */
  cacheTtlSeconds: z.number().int().nonnegative().optional(),
  /** Sampled answers (temperature above 0, or unset) are cached too. */
  cacheNondeterministic: z.boolean().optional(),
  /** When no deployment answers, the most recent stored answer (past its TTL) may be served. */
  cacheStaleIfError: z.boolean().optional(),
  status: z.enum(['active', 'disabled']),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** A team as stored. */
export type TeamRecord = z.infer<typeof teamRecordSchema>;
