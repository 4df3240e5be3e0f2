import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { invalidRequest } from '../http/errors';
import { AUDIT_DECISION_SHARDS, BY_DECISION_INDEX, itemKeys } from '../store/schema';
import { requestShard } from '../store/shards';
import { teamIdSchema } from '../teams/schema';
import type { TransactItem } from '../store/transactions';
import type { AuditRecord } from './record';

/** A page of audit records, newest first. */
export interface AuditPage {
  records: AuditRecord[];
  /** Opaque; pass back for the next page. */
  nextCursor?: string;
}

/** What an admin search may filter on. */
export interface AuditSearch {
  teamId?: string;
  keyId?: string;
  decision?: AuditRecord['decision'];
  /** ISO timestamps, inclusive. */
  from: string;
  to: string;
  limit: number;
  cursor?: string;
}

const DAY_MS = 86_400_000;

/** The longest sort key a cursor may carry: an ISO instant, `#` and a request id, with room to spare. */
const MAX_CURSOR_SORT_KEY = 200;

/** The month of a team's audit partition key (`AUDIT#<team>#<month>`); undefined for any other text. */
function auditPartitionMonth(pk: string): string | undefined {
  const match = /^AUDIT#([^#]+)#(\d{4}-\d{2})$/.exec(pk);
  if (!match || !teamIdSchema.safeParse(match[1]).success) return undefined;
  return pk === itemKeys.auditPartition(match[1]!, match[2]!) ? match[2] : undefined;
}

/** Where the next page of a team's records continues: a partition (team month) and a key in it. */
const teamCursorSchema = z.strictObject({
  p: z.string(),
  /** DynamoDB's LastEvaluatedKey in that partition: exactly the table's key. */
  k: z.strictObject({ pk: z.string(), sk: z.string().max(MAX_CURSOR_SORT_KEY) }).optional(),
});

/** A shard's position: not read yet, read to the end, or the table key of the last record returned. */
const shardPositionSchema = z.union([
  z.literal('start'),
  z.literal('done'),
  z.tuple([z.string().max(64), z.string().max(MAX_CURSOR_SORT_KEY)]),
]);
type ShardPosition = z.infer<typeof shardPositionSchema>;

/** Where the next page of a cross-team search continues: a day and every shard's position in it. */
const decisionCursorSchema = z.strictObject({
  d: z.string(),
  s: z.array(shardPositionSchema).length(AUDIT_DECISION_SHARDS),
});

function encodeCursor(cursor: object | undefined): string | undefined {
  return cursor ? Buffer.from(JSON.stringify(cursor)).toString('base64url') : undefined;
}

function invalidCursor() {
  return invalidRequest('The cursor is not valid for this listing.', { param: 'cursor' });
}

/**
 * A cursor's JSON, checked against its schema. Anything else (not base64, not JSON, another
 * shape) is the client's mistake, a 400, never something to hand DynamoDB.
 */
function cursorJson<S extends z.ZodType>(cursor: string, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalidCursor();
  return parsed.data;
}

/**
 * Whether a record's sort key may start a query of this search: DynamoDB refuses (500) an
 * ExclusiveStartKey outside the key condition, so a cursor from another range is a 400 here.
 */
function sortKeyInRange(sk: string, search: Pick<AuditSearch, 'from' | 'to'>, prefix: string): boolean {
  return sk.startsWith(prefix) && sk.includes('#') && sk >= search.from && sk <= `${search.to}~`;
}

/**
 * Where a team search resumes: the partition's index and, within it, DynamoDB's key. The key must
 * be exactly the table's key (`pk`, `sk`), in the partition named, within the search's range:
 * anything else would let a caller start a query in another team's partition or make DynamoDB fail.
 */
function decodeTeamCursor(
  cursor: string | undefined,
  partitions: readonly string[],
  search: AuditSearch,
): { start: number; key?: Record<string, unknown> } {
  if (!cursor) return { start: 0 };
  const parsed = cursorJson(cursor, teamCursorSchema);
  const start = partitions.indexOf(parsed.p);
  if (start < 0) throw invalidCursor();
  if (!parsed.k) return { start };
  const month = auditPartitionMonth(parsed.p);
  if (parsed.k.pk !== parsed.p || !month || !sortKeyInRange(parsed.k.sk, search, month)) throw invalidCursor();
  return { start, key: { pk: parsed.k.pk, sk: parsed.k.sk } };
}

/** Every shard of a day, none read yet. */
function unreadShards(): ShardPosition[] {
  return Array.from({ length: AUDIT_DECISION_SHARDS }, () => 'start' as const);
}

/**
 * Where a cross-team search resumes: a day of the search and each shard's position in it. A
 * position must be a record of that day, within the search's range, whose request id hashes to
 * that very shard (so it names a key of the partition being read), with a team partition key
 * of the record's month.
 */
function decodeDecisionCursor(
  cursor: string | undefined,
  days: readonly string[],
  search: AuditSearch,
): { start: number; positions: ShardPosition[] } {
  if (!cursor) return { start: 0, positions: unreadShards() };
  const parsed = cursorJson(cursor, decisionCursorSchema);
  const start = days.indexOf(parsed.d);
  if (start < 0) throw invalidCursor();
  parsed.s.forEach((position, shard) => {
    if (typeof position === 'string') return;
    const [pk, sk] = position;
    const month = auditPartitionMonth(pk);
    if (
      month !== parsed.d.slice(0, 7) ||
      !sortKeyInRange(sk, search, `${parsed.d}T`) ||
      requestShard(sk.slice(sk.indexOf('#') + 1), AUDIT_DECISION_SHARDS) !== shard
    ) {
      throw invalidCursor();
    }
  });
  return { start, positions: parsed.s };
}

/** Months (`YYYY-MM`) from `to` back to `from`, newest first. */
function monthsNewestFirst(from: string, to: string): string[] {
  const months: string[] = [];
  const cursor = new Date(`${to.slice(0, 7)}-01T00:00:00Z`);
  const first = from.slice(0, 7);
  while (cursor.toISOString().slice(0, 7) >= first) {
    months.push(cursor.toISOString().slice(0, 7));
    cursor.setUTCMonth(cursor.getUTCMonth() - 1);
  }
  return months;
}

/** Days (`YYYY-MM-DD`) from `to` back to `from`, newest first. */
function daysNewestFirst(from: string, to: string): string[] {
  const days: string[] = [];
  for (
    let t = Date.parse(`${to.slice(0, 10)}T00:00:00Z`);
    t >= Date.parse(`${from.slice(0, 10)}T00:00:00Z`);
    t -= DAY_MS
  ) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  return days;
}

/** One shard of a day while a cross-team search reads it. */
interface ShardReader {
  partition: string;
  /** Where the cursor resumes this shard: after the last record returned from it. */
  resumeAt: ShardPosition;
  /** Records read from DynamoDB and not yet returned, newest first. */
  buffer: Record<string, unknown>[];
  /** DynamoDB's key to read the shard's next page from. */
  next: Record<string, unknown> | undefined;
  /** No page left to read. */
  done: boolean;
}

/**
 * A shard's position for the cursor: unread records in its buffer are read again next time
 * (from after the last returned one); with none, it continues from DynamoDB's key, or is done.
 */
function shardPosition(shard: ShardReader): ShardPosition {
  if (shard.buffer.length > 0) return shard.resumeAt;
  if (shard.done) return 'done';
  const next = shard.next!;
  return [next['pk'] as string, next['sk'] as string];
}

function strip(item: Record<string, unknown>): AuditRecord {
  const { pk: _pk, sk: _sk, decisionDay: _decisionDay, expiresAt: _expiresAt, ...record } = item;
  return record as unknown as AuditRecord;
}

/**
 * The request audit trail in DynamoDB: one record per request, partitioned by team and month
 * (newest first within), expiring after the configured retention; requests a policy did not
 * simply allow are also indexed by decision and day, for cross-team searches.
 */
export class AuditLog {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {}

  private item(record: AuditRecord) {
    return {
      ...itemKeys.auditEntry(record.teamId, record.createdAt, record.requestId),
      // absent for `allow`, so those records stay out of the by-decision index
      decisionDay:
        record.decision !== 'allow'
          ? itemKeys.auditDecisionDay(
              record.decision,
              record.createdAt.slice(0, 10),
              requestShard(record.requestId, AUDIT_DECISION_SHARDS),
            )
          : undefined,
      expiresAt: Math.floor(Date.parse(record.createdAt) / 1000) + this.retentionDays * 86_400,
      ...record,
    };
  }

  /** The transaction item that writes a record (with the request's usage, in one transaction). */
  entryItem(record: AuditRecord): TransactItem {
    return { Put: { TableName: this.tableName, Item: this.item(record) } };
  }

  /** Writes a record on its own (a request blocked before it was admitted). */
  async put(record: AuditRecord): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: this.item(record) }));
  }

  /**
   * Records of one team (optionally one key, one decision) between two instants, newest first.
   *
   * @example
   * const { records, nextCursor } = await audit.team({ teamId, from, to, limit: 50 });
   */
  async team(search: AuditSearch & { teamId: string }): Promise<AuditPage> {
    const partitions = monthsNewestFirst(search.from, search.to).map((m) => itemKeys.auditPartition(search.teamId, m));
    const filters: string[] = [];
    const values: Record<string, unknown> = {};
    if (search.keyId) {
      filters.push('keyId = :keyId');
      values[':keyId'] = search.keyId;
    }
    if (search.decision) {
      filters.push('decision = :decision');
      values[':decision'] = search.decision;
    }
    return this.page(partitions, 'pk', undefined, search, filters, values);
  }

  /**
   * Records with one decision (not `allow`) across every team, newest first. Each day's records
   * are spread over `AUDIT_DECISION_SHARDS` index partitions: every shard of a day is read and
   * the shards merged newest first; the cursor keeps each shard's position, so the next page
   * resumes every shard exactly where this one stopped.
   *
   * @example
   * const { records } = await audit.byDecision({ decision: 'block', from, to, limit: 50 });
   */
  async byDecision(search: AuditSearch & { decision: Exclude<AuditRecord['decision'], 'allow'> }): Promise<AuditPage> {
    const days = daysNewestFirst(search.from, search.to);
    const resume = decodeDecisionCursor(search.cursor, days, search);
    const records: AuditRecord[] = [];
    for (let i = resume.start; i < days.length; i++) {
      const day = days[i]!;
      const positions = i === resume.start ? resume.positions : unreadShards();
      const shards = positions.map((position, shard): ShardReader => {
        const partition = itemKeys.auditDecisionDay(search.decision, day, shard);
        return {
          partition,
          resumeAt: position,
          buffer: [],
          done: position === 'done',
          next: typeof position === 'string' ? undefined : { pk: position[0], sk: position[1], decisionDay: partition },
        };
      });
      while (records.length < search.limit) {
        await Promise.all(shards.map((shard) => this.fill(shard, search, search.limit - records.length)));
        // Every shard's newest unread record is at its buffer's head: the newest of those is next.
        let newest: ShardReader | undefined;
        for (const shard of shards) {
          const head = shard.buffer[0];
          if (head && (!newest || (head['sk'] as string) > (newest.buffer[0]!['sk'] as string))) newest = shard;
        }
        if (!newest) break;
        const item = newest.buffer.shift()!;
        newest.resumeAt = [item['pk'] as string, item['sk'] as string];
        records.push(strip(item));
      }
      if (records.length >= search.limit) {
        const dayLeft = shards.some((shard) => shard.buffer.length > 0 || !shard.done);
        const next = dayLeft
          ? { d: day, s: shards.map(shardPosition) }
          : days[i + 1]
            ? { d: days[i + 1]!, s: unreadShards() }
            : undefined;
        const nextCursor = encodeCursor(next);
        return { records, nextCursor };
      }
    }
    return { records };
  }

  /**
   * Reads a shard's next page when everything read from it was returned, so its buffer's head is
   * its newest unreturned record (pages a filter emptied are skipped).
   */
  private async fill(shard: ShardReader, search: AuditSearch & { decision: string }, wanted: number): Promise<void> {
    while (shard.buffer.length === 0 && !shard.done) {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: BY_DECISION_INDEX,
          KeyConditionExpression: 'decisionDay = :p AND sk BETWEEN :from AND :to',
          FilterExpression: search.keyId ? 'keyId = :keyId' : undefined,
          ExpressionAttributeValues: {
            ':p': shard.partition,
            ':from': search.from,
            ':to': `${search.to}~`,
            // no placeholder without the filter: DynamoDB rejects an unused value
            ...(search.keyId ? { ':keyId': search.keyId } : {}),
          },
          ScanIndexForward: false,
          // Shards share a page evenly on average; reading a little more than a share saves round trips.
          Limit: Math.min(wanted, Math.max(10, Math.ceil((2 * wanted) / AUDIT_DECISION_SHARDS))),
          ExclusiveStartKey: shard.next,
        }),
      );
      shard.buffer.push(...(page.Items ?? []));
      shard.next = page.LastEvaluatedKey;
      shard.done = page.LastEvaluatedKey === undefined;
    }
  }

  /** Walks partitions newest first, filling one page; the cursor says where to resume. */
  private async page(
    partitions: readonly string[],
    partitionKey: string,
    indexName: string | undefined,
    search: AuditSearch,
    filters: readonly string[],
    filterValues: Record<string, unknown>,
  ): Promise<AuditPage> {
    const records: AuditRecord[] = [];
    const resume = decodeTeamCursor(search.cursor, partitions, search);
    let startKey = resume.key;
    for (let i = resume.start; i < partitions.length; i++) {
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: indexName,
            KeyConditionExpression: `${partitionKey} = :p AND sk BETWEEN :from AND :to`,
            FilterExpression: filters.length ? filters.join(' AND ') : undefined,
            ExpressionAttributeValues: {
              ':p': partitions[i],
              ':from': search.from,
              ':to': `${search.to}~`,
              ...filterValues,
            },
            ScanIndexForward: false,
            Limit: search.limit - records.length,
            ExclusiveStartKey: startKey,
          }),
        );
        records.push(...(page.Items ?? []).map(strip));
        startKey = page.LastEvaluatedKey;
        if (records.length >= search.limit) {
          const next = startKey
            ? { p: partitions[i]!, k: startKey }
            : partitions[i + 1]
              ? { p: partitions[i + 1]! }
              : undefined;
          const nextCursor = encodeCursor(next);
          return { records, nextCursor };
        }
      } while (startKey);
      startKey = undefined;
    }
    return { records };
  }
}
