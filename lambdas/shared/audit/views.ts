import * as z from 'zod';
import { invalidRequest } from '../http/errors';
import { formatPicos, picosOf } from '../cost/money';
import type { AuditRecord } from './record';

/**
 * An audit record as the API shows it.
 *
 * @example
 * jsonResponse(200, { object: 'list', data: page.records.map(auditView) })
 */
export function auditView(record: AuditRecord) {
  return {
    request_id: record.requestId,
    created_at: record.createdAt,
    team: record.teamId,
    key_id: record.keyId,
    requested_model: record.requestedModel,
    end_user: record.endUser ?? null,
    experiment: record.experiment ?? null,
    variant: record.variant ?? null,
    model: record.model ?? null,
    provider: record.provider ?? null,
    decision: record.decision,
    rule_ids: record.ruleIds,
    status: record.status,
    http_status: record.httpStatus,
    streamed: record.streamed,
    input_tokens: record.usage
      ? record.usage.inputTokens + record.usage.cacheReadTokens + record.usage.cacheWriteTokens
      : 0,
    output_tokens: record.usage?.outputTokens ?? 0,
    cost_picos: String(picosOf(record.costPicos)),
    cost_usd: formatPicos(picosOf(record.costPicos)),
    latency_ms: record.latencyMs,
    prompt_excerpt: record.promptExcerpt ?? null,
    response_excerpt: record.responseExcerpt ?? null,
  };
}

/** An ISO 8601 instant with its offset, or a UTC date alone (`YYYY-MM-DD`). */
export const isoInstant = z.iso.datetime({ offset: true }).or(z.iso.date());

/** Query of `GET /v1/audit`: the caller's team, newest first. */
export const ownAuditQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(2_000).optional(),
  decision: z.enum(['allow', 'alert', 'redact', 'block']).optional(),
  from: isoInstant.optional(),
  to: isoInstant.optional(),
});

/** Query of `GET /v1/admin/audit`: one team, or one decision across teams. */
export const adminAuditQuerySchema = ownAuditQuerySchema
  .extend({
    team: z.string().min(1).max(64).optional(),
    key: z.string().min(1).max(64).optional(),
  })
  .refine((query) => query.team !== undefined || (query.decision !== undefined && query.decision !== 'allow'), {
    message: 'Name a team, or a decision other than allow (alert, redact, block) to search across teams.',
    path: ['team'],
  });

/**
 * The time range of an audit query as ISO instants: `to` defaults to now, `from` to the start of
 * the retention period; neither goes past what can exist (nothing is newer than now, nothing older
 * than the retention), so a far date costs no queries. A date alone means that whole UTC day; a
 * value that names no real instant (`2026-02-30`, year 0) is a 400 naming it.
 *
 * @example
 * auditRange({ from: '2026-11-01' }, Date.now(), 90) // { from: '2026-11-01T00:00:00.000Z', to: '<now>' }
 */
export function auditRange(
  query: { from?: string | undefined; to?: string | undefined },
  now: number,
  retentionDays: number,
): { from: string; to: string } {
  const instant = (value: string, endOfDay: boolean, param: 'from' | 'to') => {
    const ms = Date.parse(value.length === 10 ? `${value}T${endOfDay ? '23:59:59.999' : '00:00:00.000'}Z` : value);
    // The calendar must agree: Date.parse rolls 2026-02-30 over to March instead of refusing it.
    const rolled = value.length === 10 && Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) !== value;
    if (!Number.isFinite(ms) || ms < 0 || rolled) {
      throw invalidRequest(`\`${param}\` is not a valid date or instant.`, { param });
    }
    return ms;
  };
  const oldest = now - retentionDays * 86_400_000;
  const toMs = Math.min(query.to ? instant(query.to, true, 'to') : now, now);
  const fromMs = Math.max(query.from ? instant(query.from, false, 'from') : oldest, oldest);
  if (fromMs > toMs) throw invalidRequest('`from` is after `to`, or outside the retention period.', { param: 'from' });
  return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
}
