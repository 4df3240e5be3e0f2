import * as z from 'zod';
import { formatMicros } from '../cost/money';
import type { ApiKeyRecord } from '../keys/schema';
import type { AdminChange } from './change-log';
import {
  MAX_CACHE_TTL_SECONDS,
  modelPatternSchema,
  monthlyBudgetUsdSchema,
  perMinuteLimitSchema,
  teamIdSchema,
  type TeamRecord,
} from '../teams/schema';

/** Admin API bodies use snake_case, like the rest of the gateway's HTTP surface. */
const limit = perMinuteLimitSchema;

/** A response-cache TTL: whole seconds, 0 (no cache) to {@link MAX_CACHE_TTL_SECONDS}. */
const cacheTtl = z.number().int().min(0).max(MAX_CACHE_TTL_SECONDS);

/** Body of `POST /v1/admin/teams`. Unset limits take the config's team defaults. */
export const createTeamInputSchema = z.strictObject({
  id: teamIdSchema,
  name: z.string().trim().min(1).max(100),
  cost_center: z.string().trim().min(1).max(64).optional(),
  monthly_budget_usd: monthlyBudgetUsdSchema.optional(),
  soft_alert_percent: z.number().int().min(1).max(100).optional(),
  requests_per_minute: limit.optional(),
  tokens_per_minute: limit.optional(),
  allowed_models: z.array(modelPatternSchema).min(1).max(100).optional(),
  policy_profile: z.string().min(1).max(64).optional(),
  cache_ttl_seconds: cacheTtl.optional(),
  cache_nondeterministic: z.boolean().optional(),
  cache_stale_if_error: z.boolean().optional(),
});

/** Body of `PATCH /v1/admin/teams/{teamId}`: only the fields to change; null removes an optional one. */
export const updateTeamInputSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional(),
    cost_center: z.string().trim().min(1).max(64).nullable().optional(),
    monthly_budget_usd: monthlyBudgetUsdSchema.nullable().optional(),
    soft_alert_percent: z.number().int().min(1).max(100).optional(),
    requests_per_minute: limit.optional(),
    tokens_per_minute: limit.optional(),
    allowed_models: z.array(modelPatternSchema).min(1).max(100).optional(),
    policy_profile: z.string().min(1).max(64).nullable().optional(),
    cache_ttl_seconds: cacheTtl.optional(),
    cache_nondeterministic: z.boolean().optional(),
    cache_stale_if_error: z.boolean().optional(),
    status: z.enum(['active', 'disabled']).optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, 'send at least one field to change');

/** Body of `POST /v1/admin/keys/{keyId}/rotate`. */
export const rotateKeyInputSchema = z.strictObject({
  /** How long the old secret keeps working (default one day, at most seven). */
  grace_period_seconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600)
    .default(24 * 3600),
});

/** Body of `POST /v1/admin/teams/{teamId}/keys`. */
export const createKeyInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  /** ISO 8601 instant after which the key stops working. */
  expires_at: z.iso.datetime({ offset: true }).optional(),
  requests_per_minute: limit.optional(),
  tokens_per_minute: limit.optional(),
  /** Narrows the team's list: a model must be allowed by both. */
  allowed_models: z.array(modelPatternSchema).min(1).max(100).optional(),
});

/** Validated create-team input. */
export type CreateTeamInput = z.infer<typeof createTeamInputSchema>;
/** Validated create-key input. */
export type CreateKeyInput = z.infer<typeof createKeyInputSchema>;
/** Validated update-team input. */
export type UpdateTeamInput = z.infer<typeof updateTeamInputSchema>;

/** A team as the admin API shows it. */
export function teamView(team: TeamRecord) {
  return {
    id: team.teamId,
    name: team.name,
    cost_center: team.costCenter ?? null,
    monthly_budget_usd: team.monthlyBudgetMicros === undefined ? null : formatMicros(team.monthlyBudgetMicros),
    soft_alert_percent: team.softAlertPercent,
    requests_per_minute: team.requestsPerMinute,
    tokens_per_minute: team.tokensPerMinute,
    allowed_models: team.allowedModels,
    policy_profile: team.policyProfile ?? null,
    cache_ttl_seconds: team.cacheTtlSeconds ?? 0,
    cache_nondeterministic: team.cacheNondeterministic ?? false,
    cache_stale_if_error: team.cacheStaleIfError ?? false,
    status: team.status,
    created_at: team.createdAt,
    updated_at: team.updatedAt,
  };
}

/** A key as the admin API shows it: never its hash, never its secret. */
export function keyView(key: ApiKeyRecord) {
  return {
    id: key.keyId,
    team: key.teamId,
    name: key.name ?? null,
    created_at: key.createdAt,
    created_by: key.createdBy ?? null,
    expires_at: key.expiresAt ?? null,
    revoked_at: key.revokedAt ?? null,
    rotated_at: key.rotatedAt ?? null,
    previous_secret_valid_until: key.previousHashExpiresAt ?? null,
    requests_per_minute: key.requestsPerMinute ?? null,
    tokens_per_minute: key.tokensPerMinute ?? null,
    allowed_models: key.allowedModels ?? null,
  };
}

/**
 * An admin audit trail entry as the admin API shows it: snake_case like every other body, with
 * the ids named as in {@link keyView} (`team`, `key_id`), so a client reads one convention. The
 * stored record keeps its own (camelCase) attribute names; this is the only place they meet.
 *
 * @example
 * jsonResponse(200, { object: 'list', data: page.changes.map(changeView) })
 */
export function changeView(change: AdminChange) {
  return {
    id: change.changeId,
    at: change.at,
    actor: change.actor,
    action: change.action,
    team: change.teamId,
    key_id: change.keyId ?? null,
    before: change.before,
    after: change.after,
  };
}
