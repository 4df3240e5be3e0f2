import * as z from 'zod';
import type { AdminChangeLog } from '../admin/change-log';
import { cursorJson } from '../http/cursor';
import { invalidRequest } from '../http/errors';
import type { TeamRepository } from '../teams/repository';
import { teamIdSchema } from '../teams/schema';
import type { AuditLog } from './audit-log';
import { adminChangeRow, CSV_HEADER, csvLine, jsonLine, requestRow, type ExportRow } from './export-rows';
import { isoInstant } from './views';

/**
 * The compliance export of the audit trail, page by page.
 *
 * Why pages and not one streamed response: the admin routes are behind the HTTP API, which
 * buffers a Lambda's answer, and a buffered answer is capped at 6 MB, so a month of a busy team
 * cannot be one response (the streaming door serves only the gateway function's routes, and an
 * export there would put an admin route on the public chat door). Each page is bounded in records
 * and in bytes and names where the next one starts; the CLI follows the cursors and writes each
 * page out before asking for the next, so neither the Lambda nor the CLI ever holds more than a
 * page.
 *
 * Order: per source, not one merge. The admin change log comes first (only the team's changes
 * when a team is named), then each team's request records (one team, or every team in team-id
 * order), each source oldest first. Merging every team's 16 audit shards and the change log into
 * one time order would read all of them for every page; per source, a page reads one source at a
 * time. Each line carries its `record_type` and `at`, so a reader that wants one timeline sorts.
 */

/** Response headers of an export page. */
export const EXPORT_HEADERS = {
  /** Where the next page starts, passed back as `cursor`; absent on the last page. */
  nextCursor: 'x-gateway-next-cursor',
  /** How many records the page holds (a CSV's header line is not one). */
  records: 'x-gateway-export-records',
} as const;

/** Most records a page holds (`limit`); a page may hold fewer (the byte bound, a source's end). */
export const MAX_EXPORT_PAGE_RECORDS = 1_000;

/**
 * Most bytes a page's body takes inside the Lambda's response payload, where it is a JSON string
 * (every `"` and line break escaped): 4 MiB, well under the 6 MB payload limit with the headers.
 * No single record comes near it: a DynamoDB item is at most 400 KB.
 */
export const MAX_EXPORT_PAGE_BYTES = 4 * 1024 * 1024;

/** Records read from a source at a time: a page is built chunk by chunk until a bound is reached. */
const CHUNK_RECORDS = 100;

/** The longest period one export covers: a year (13 months of partitions per team at most). */
const MAX_PERIOD_DAYS = 366;

/** Query of `GET /v1/admin/export`. */
export const exportQuerySchema = z.strictObject({
  from: isoInstant,
  to: isoInstant,
  team: teamIdSchema.optional(),
  format: z.enum(['jsonl', 'csv']).default('jsonl'),
  limit: z.coerce.number().int().min(1).max(MAX_EXPORT_PAGE_RECORDS).default(500),
  cursor: z.string().max(8_000).optional(),
});

/** How a format writes a page: its content type, the header of its first page, and a line per record. */
export interface ExportFormat {
  contentType: string;
  /** Only on the first page, so that the pages concatenated are one valid file. */
  header: string;
  line(row: ExportRow): string;
}

/** The export's formats. */
export const EXPORT_FORMATS: Record<z.infer<typeof exportQuerySchema>['format'], ExportFormat> = {
  jsonl: { contentType: 'application/x-ndjson; charset=utf-8', header: '', line: jsonLine },
  csv: { contentType: 'text/csv; charset=utf-8', header: CSV_HEADER, line: csvLine },
};

/**
 * The export's period as ISO instants, both inclusive: a date alone means that whole UTC day.
 * Never shortened to the retention, unlike the audit search: admin changes do not expire.
 *
 * @example
 * exportPeriod({ from: '2026-11-01', to: '2026-11-30' }) // { from: '2026-11-01T00:00:00.000Z', to: '2026-11-30T23:59:59.999Z' }
 */
export function exportPeriod(query: { from: string; to: string }): { from: string; to: string } {
  const instant = (param: 'from' | 'to', value: string) => {
    const iso = new Date(
      value.length === 10 ? `${value}T${param === 'to' ? '23:59:59.999' : '00:00:00.000'}Z` : value,
    ).toISOString();
    // An offset can carry 9999-12-31 into year 10000, which has no place in a table key.
    if (!/^\d{4}-/.test(iso)) throw invalidRequest(`\`${param}\` is out of range.`, { param });
    return iso;
  };
  const from = instant('from', query.from);
  const to = instant('to', query.to);
  if (from > to) throw invalidRequest('`from` is after `to`.', { param: 'from' });
  if (Date.parse(to) - Date.parse(from) > MAX_PERIOD_DAYS * 86_400_000) {
    throw invalidRequest(`The period is longer than ${MAX_PERIOD_DAYS} days: export it in parts.`, { param: 'to' });
  }
  return { from, to };
}

/** Where an export stands: inside the change log, or inside one team's request records. */
const positionSchema = z.discriminatedUnion('s', [
  z.strictObject({ s: z.literal('changes'), c: z.string().max(4_000).optional() }),
  z.strictObject({ s: z.literal('requests'), t: teamIdSchema, c: z.string().max(4_000).optional() }),
]);
type Position = z.infer<typeof positionSchema>;

function invalidCursor() {
  return invalidRequest('The cursor is not valid for this export.', { param: 'cursor' });
}

/**
 * The position a cursor names. The source's own cursor inside it is checked by that source (a
 * 400 naming `cursor` too); a team other than the one exported is refused here, so a cursor
 * cannot widen an export to another team.
 */
function decodePosition(cursor: string, teamId: string | undefined): Position {
  const position = cursorJson(cursor, positionSchema, invalidCursor);
  if (position.s === 'requests' && teamId !== undefined && position.t !== teamId) throw invalidCursor();
  return position;
}

function encodePosition(position: Position): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** What a text adds to the Lambda's response payload, where the body is a JSON string. */
function payloadBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text)) - 2;
}

/** How many of the lines, from the first, fit in `budget` bytes of payload. */
function fittingLines(lines: readonly string[], budget: number): number {
  let used = 0;
  const fit = lines.findIndex((line) => (used += payloadBytes(line)) > budget);
  return fit < 0 ? lines.length : fit;
}

/** What one page of the export asks for. */
export interface ExportRequest {
  /** ISO instants, inclusive (see {@link exportPeriod}). */
  from: string;
  to: string;
  /** One team; every team when absent. */
  teamId?: string;
  limit: number;
  cursor?: string;
  format: ExportFormat;
}

/** One page: its body, how many records it holds, and where the next page starts (none: the export is complete). */
export interface ExportPage {
  body: string;
  records: number;
  nextCursor?: string;
}

/** Where the export reads. */
export interface ExportSources {
  audit: AuditLog;
  changes: AdminChangeLog;
  teams: Pick<TeamRepository, 'list'>;
}

/** Records read from one position, and where the source continues after them. */
interface Chunk {
  rows: ExportRow[];
  next: Position | undefined;
}

/**
 * The team whose records come after `previous` (after the change log when undefined): the one
 * team exported, or the next team id in order. By id, not by an index into the list, so a team
 * created during the export neither shifts nor repeats another's records.
 */
async function teamAfter(
  request: Pick<ExportRequest, 'teamId'>,
  previous: string | undefined,
  teams: () => Promise<string[]>,
): Promise<Position | undefined> {
  if (request.teamId !== undefined) {
    return previous === undefined ? { s: 'requests', t: request.teamId } : undefined;
  }
  const next = (await teams()).find((id) => previous === undefined || id > previous);
  return next === undefined ? undefined : { s: 'requests', t: next };
}

/**
 * The audit trail's compliance export: records as stored (redacted when written), page by page.
 *
 * @example
 * const page = await new AuditExport(sources).page({ from, to, teamId: 'payments', limit: 500, format: EXPORT_FORMATS.csv });
 */
export class AuditExport {
  constructor(private readonly sources: ExportSources) {}

  /**
   * One page: chunks read from the sources in order until the page has `limit` records, the next
   * chunk would take it past {@link MAX_EXPORT_PAGE_BYTES}, or the export is complete. A chunk that
   * does not fit is left for the next page (its cursor is where the chunk started), or, when it
   * alone is too large for an empty page, read again as just the records that fit (one, at least:
   * no record comes near the bound).
   */
  async page(request: ExportRequest): Promise<ExportPage> {
    let position: Position | undefined = request.cursor
      ? decodePosition(request.cursor, request.teamId)
      : { s: 'changes' };
    let body = request.cursor ? '' : request.format.header;
    let bytes = payloadBytes(body);
    let records = 0;
    let chunkRecords = CHUNK_RECORDS;
    // Listed once a page, when a source ends: every team has its turn without a query per team.
    let teamIds: Promise<string[]> | undefined;
    const teams = () => (teamIds ??= this.sources.teams.list().then((list) => list.map((team) => team.teamId).sort()));
    while (position && records < request.limit) {
      const size = Math.min(chunkRecords, request.limit - records);
      const chunk = await this.read(request, position, size, teams);
      const lines = chunk.rows.map(request.format.line);
      const text = lines.join('');
      const textBytes = payloadBytes(text);
      if (bytes + textBytes > MAX_EXPORT_PAGE_BYTES) {
        if (records > 0) break;
        // A cursor can only resume after a whole chunk: read again just the records that fit.
        const fitting = Math.max(1, fittingLines(lines, MAX_EXPORT_PAGE_BYTES - bytes));
        if (fitting < size) {
          chunkRecords = fitting;
          continue;
        }
      }
      body += text;
      bytes += textBytes;
      records += chunk.rows.length;
      position = chunk.next;
    }
    return { body, records, ...(position ? { nextCursor: encodePosition(position) } : {}) };
  }

  /** Up to `size` records from a position, oldest first, and the position after them. */
  private async read(
    request: ExportRequest,
    position: Position,
    size: number,
    teams: () => Promise<string[]>,
  ): Promise<Chunk> {
    const { from, to, teamId } = request;
    if (position.s === 'changes') {
      const page = await this.sources.changes.period({ from, to, teamId, limit: size, cursor: position.c });
      return {
        rows: page.changes.map(adminChangeRow),
        next: page.nextCursor ? { s: 'changes', c: page.nextCursor } : await teamAfter(request, undefined, teams),
      };
    }
    const page = await this.sources.audit.team({
      teamId: position.t,
      from,
      to,
      limit: size,
      cursor: position.c,
      order: 'oldest',
    });
    return {
      rows: page.records.map(requestRow),
      next: page.nextCursor ? { ...position, c: page.nextCursor } : await teamAfter(request, position.t, teams),
    };
  }
}
