import type { AdminChange } from '../admin/change-log';
import { formatPicos, picosOf } from '../cost/money';
import { csvCell } from '../usage/chargeback';
import type { AuditRecord } from './record';

/**
 * What a line of the compliance export records. Each source of the audit trail has its type;
 * a new source (approvals, when they exist) adds its own type, fills the shared columns (`id`,
 * `at`, `team`, `actor`, and `decision` for what it decided) and appends any column of its own at
 * the end, so files already written stay readable by column name.
 */
export type ExportRecordType = 'request' | 'admin_change';

/**
 * The columns of every export line, in order: JSON Lines carry them as keys, CSV as its header.
 * One flat shape for every record type (null where a column does not apply), so both formats
 * hold the very same table.
 */
export const EXPORT_COLUMNS = [
  'record_type',
  'id',
  'at',
  'team',
  'actor',
  'key_id',
  'action',
  'decision',
  'rule_ids',
  'status',
  'http_status',
  'requested_model',
  'model',
  'provider',
  'end_user',
  'streamed',
  'input_tokens',
  'output_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cost_picos',
  'cost_usd',
  'latency_ms',
  'prompt_excerpt',
  'response_excerpt',
  'before',
  'after',
] as const;

type ExportValue = string | number | boolean | null | readonly string[] | Record<string, unknown>;

/** One line of the export. */
export type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], ExportValue> & { record_type: ExportRecordType };

const NOTHING = Object.fromEntries(EXPORT_COLUMNS.map((column) => [column, null])) as Record<
  (typeof EXPORT_COLUMNS)[number],
  null
>;

/**
 * A request's audit record as an export line: the record as stored (its excerpts already
 * redacted when it was written; nothing of the prompt beyond them exists to add). The actor of a
 * request is its API key; tokens are split as stored, and the cost is the exact integer of
 * pico-dollars as a string (beyond what a JSON number holds exactly), with its exact decimal.
 *
 * @example
 * requestRow(record).cost_picos // '1250000000'
 */
export function requestRow(record: AuditRecord): ExportRow {
  const picos = picosOf(record.costPicos);
  return {
    ...NOTHING,
    record_type: 'request',
    id: record.requestId,
    at: record.createdAt,
    team: record.teamId,
    actor: record.keyId,
    key_id: record.keyId,
    decision: record.decision,
    rule_ids: record.ruleIds,
    status: record.status,
    http_status: record.httpStatus,
    requested_model: record.requestedModel,
    model: record.model ?? null,
    provider: record.provider ?? null,
    end_user: record.endUser ?? null,
    streamed: record.streamed,
    input_tokens: record.usage?.inputTokens ?? 0,
    output_tokens: record.usage?.outputTokens ?? 0,
    cache_read_tokens: record.usage?.cacheReadTokens ?? 0,
    cache_write_tokens: record.usage?.cacheWriteTokens ?? 0,
    cost_picos: String(picos),
    cost_usd: formatPicos(picos),
    latency_ms: record.latencyMs,
    prompt_excerpt: record.promptExcerpt ?? null,
    response_excerpt: record.responseExcerpt ?? null,
  };
}

/**
 * An admin change as an export line: who (the IAM principal) did what to which team or key,
 * with the admin API views before and after as stored (never a key's hash or secret).
 *
 * @example
 * adminChangeRow(change).action // 'team.update'
 */
export function adminChangeRow(change: AdminChange): ExportRow {
  return {
    ...NOTHING,
    record_type: 'admin_change',
    id: change.changeId,
    at: change.at,
    team: change.teamId,
    actor: change.actor,
    key_id: change.keyId ?? null,
    action: change.action,
    before: change.before,
    after: change.after,
  };
}

/** A line of JSON Lines: the row as one JSON object, columns in order. */
export function jsonLine(row: ExportRow): string {
  return `${JSON.stringify(row)}\n`;
}

/**
 * A CSV cell of a row's value: empty for null, rule ids space-separated (a rule id has no
 * space), before and after as JSON. Text that starts with `'` gets one more, because
 * {@link csvCell} marks formula-like text with a leading `'`: a reader drops exactly one leading
 * `'` from any text cell and has the stored text back.
 */
function exportCell(value: ExportValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return csvCell(value);
  if (typeof value === 'boolean') return String(value);
  const text = typeof value === 'string' ? value : Array.isArray(value) ? value.join(' ') : JSON.stringify(value);
  return csvCell(text.startsWith("'") ? `'${text}` : text);
}

/** The CSV header line (RFC 4180, CRLF). */
export const CSV_HEADER = `${EXPORT_COLUMNS.join(',')}\r\n`;

/** A CSV line of a row, columns as in {@link CSV_HEADER}. */
export function csvLine(row: ExportRow): string {
  return `${EXPORT_COLUMNS.map((column) => exportCell(row[column])).join(',')}\r\n`;
}
