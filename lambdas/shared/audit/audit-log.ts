import { PutCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { cursorJson } from '../http/cursor';
import { invalidRequest } from '../http/errors';
import { AUDIT_DECISION_SHARDS, AUDIT_TEAM_SHARDS, BY_DECISION_INDEX, itemKeys } from '../store/schema';
import { requestShard } from '../store/shards';
import { teamIdSchema } from '../teams/schema';
import type { TransactItem } from '../store/transactions';
import type { AuditRecord } from './record';

/** A page of audit records, newest first (or oldest first, when the search asks). */
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
  /**
   * `newest` (the default) for people reading the latest events; `oldest` for an export, which
   * reads a period forward, as the events happened.
   */
  order?: 'newest' | 'oldest';
}

const DAY_MS = 86_400_000;

/** The longest sort key a cursor may carry: an ISO instant, `#` and a request id, with room to spare. */
const MAX_CURSOR_SORT_KEY = 200;

/**
 * The team of a record's table key, when `[pk, sk]` is exactly the key a record of that request
 * would have: its team's audit partition for the record's month, in the shard its request id
 * hashes to. Undefined for any other text, so a cursor can only name keys records really have.
 */
function auditKeyTeam(pk: string, sk: string): string | undefined {
  const match = /^AUDIT#([^#]+)#\d{4}-\d{2}#\d+$/.exec(pk);
  const separator = sk.indexOf('#');
  if (!match || separator < 0 || !teamIdSchema.safeParse(match[1]).success) return undefined;
  const expected = itemKeys.auditEntry(match[1]!, sk.slice(0, separator), sk.slice(separator + 1));
  return pk === expected.pk ? match[1] : undefined;
}

/** A shard's position: not read yet, read to the end, or the table key of the last record returned. */
const shardPositionSchema = z.union([
  z.literal('start'),
  z.literal('done'),
  z.tuple([z.string().max(64), z.string().max(MAX_CURSOR_SORT_KEY)]),
]);
type ShardPosition = z.infer<typeof shardPositionSchema>;

/** Where the next page of a team's records continues: a month and every shard's position in it. */
const teamCursorSchema = z.strictObject({
  m: z.string(),
  s: z.array(shardPositionSchema).length(AUDIT_TEAM_SHARDS),
});

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
 * Whether a record's sort key may start a query of this search: DynamoDB refuses (500) an
 * ExclusiveStartKey outside the key condition, so a cursor from another range is a 400 here.
 */
function sortKeyInRange(sk: string, search: Pick<AuditSearch, 'from' | 'to'>, prefix: string): boolean {
  return sk.startsWith(prefix) && sk.includes('#') && sk >= search.from && sk <= `${search.to}~`;
}

/** The request id in a record's sort key (`<instant>#<request id>`). */
function requestIdOf(sk: string): string {
  return sk.slice(sk.indexOf('#') + 1);
}

/** Where a sharded listing resumes: the index of its group (a day, a month) and each shard's position in it. */
interface Resume {
  start: number;
  positions: ShardPosition[];
}

/**
 * Where a team listing resumes: a month of the search and each shard's position in it. A position
 * must be the key of a record of the searched team, in the very shard partition of that month it
 * is given for, within the search's range: anything else would let a caller start a query in
 * another team's partition or make DynamoDB fail.
 */
function decodeTeamCursor(
  cursor: string | undefined,
  months: readonly string[],
  search: AuditSearch & { teamId: string },
): Resume {
  if (!cursor) return { start: 0, positions: unreadShards(AUDIT_TEAM_SHARDS) };
  const parsed = cursorJson(cursor, teamCursorSchema, invalidCursor);
  const start = months.indexOf(parsed.m);
  if (start < 0) throw invalidCursor();
  parsed.s.forEach((position, shard) => {
    if (typeof position === 'string') return;
    const [pk, sk] = position;
    if (
      pk !== itemKeys.auditPartition(search.teamId, parsed.m, shard) ||
      auditKeyTeam(pk, sk) !== search.teamId ||
      !sortKeyInRange(sk, search, `${parsed.m}-`)
    ) {
      throw invalidCursor();
    }
  });
  return { start, positions: parsed.s };
}

/** Every shard of a group, none read yet. */
function unreadShards(count: number): ShardPosition[] {
  return Array.from({ length: count }, () => 'start' as const);
}

/**
 * Where a cross-team search resumes: a day of the search and each shard's position in it. A
 * position must be a record of that day, within the search's range, whose request id hashes to
 * that very shard (so it names a key of the partition being read), with the table key that record
 * has.
 */
function decodeDecisionCursor(cursor: string | undefined, days: readonly string[], search: AuditSearch): Resume {
  if (!cursor) return { start: 0, positions: unreadShards(AUDIT_DECISION_SHARDS) };
  const parsed = cursorJson(cursor, decisionCursorSchema, invalidCursor);
  const start = days.indexOf(parsed.d);
  if (start < 0) throw invalidCursor();
  parsed.s.forEach((position, shard) => {
    if (typeof position === 'string') return;
    const [pk, sk] = position;
    if (
      !sortKeyInRange(sk, search, `${parsed.d}T`) ||
      auditKeyTeam(pk, sk) === undefined ||
      requestShard(requestIdOf(sk), AUDIT_DECISION_SHARDS) !== shard
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

/**
 * A listing over sharded partitions (a team's months, a decision's days): its groups in order,
 * each spread over `shards` partitions that are read together and merged in that order.
 */
interface ShardedListing {
  /** In reading order: newest first, or oldest first when `oldestFirst`. */
  groups: readonly string[];
  /** Read forward in time (groups, shards and the merge); newest first otherwise. */
  oldestFirst: boolean;
  shards: number;
  resume: Resume;
  /** The partition key value of one shard of a group. */
  partition(group: string, shard: number): string;
  /** The query reading one shard in the listing's order, without its page size and start key. */
  query(partition: string): QueryCommandInput;
  /** DynamoDB's key to continue a shard after one of its records (an index's key has its own attribute too). */
  startKey(partition: string, position: readonly [string, string]): Record<string, unknown>;
  /** The cursor naming a group and every shard's position in it. */
  cursor(group: string, positions: ShardPosition[]): object;
}

/** One shard of a group while a listing reads it. */
interface ShardReader {
  partition: string;
  /** Where the cursor resumes this shard: after the last record returned from it. */
  resumeAt: ShardPosition;
  /** Records read from DynamoDB and not yet returned, in the listing's order. */
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

/** Whether item `a` comes before `b` in a listing: sort keys start with the record's instant. */
function precedes(a: Record<string, unknown>, b: Record<string, unknown>, oldestFirst: boolean): boolean {
  return oldestFirst ? (a['sk'] as string) < (b['sk'] as string) : (a['sk'] as string) > (b['sk'] as string);
}

function strip(item: Record<string, unknown>): AuditRecord {
  const { pk: _pk, sk: _sk, decisionDay: _decisionDay, expiresAt: _expiresAt, ...record } = item;
  return record as unknown as AuditRecord;
}

/**
 * The request audit trail in DynamoDB: one record per request, partitioned by team and month
 * and spread over `AUDIT_TEAM_SHARDS` shards by request id (newest first within each), expiring
 * after the configured retention; requests a policy did not simply allow are also indexed by
 * decision and day, for cross-team searches.
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
   * Records of one team (optionally one key, one decision) between two instants, newest first
   * (oldest first with `order: 'oldest'`). Each month's records are spread over
   * `AUDIT_TEAM_SHARDS` partitions: every shard of a month is read and the shards merged in order,
   * as {@link AuditLog.byDecision} merges its days.
   *
   * @example
   * const { records, nextCursor } = await audit.team({ teamId, from, to, limit: 50 });
   */
  async team(search: AuditSearch & { teamId: string }): Promise<AuditPage> {
    const oldestFirst = search.order === 'oldest';
    const newestFirst = monthsNewestFirst(search.from, search.to);
    const months = oldestFirst ? newestFirst.reverse() : newestFirst;
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
    return this.merge(
      {
        groups: months,
        oldestFirst,
        shards: AUDIT_TEAM_SHARDS,
        resume: decodeTeamCursor(search.cursor, months, search),
        partition: (month, shard) => itemKeys.auditPartition(search.teamId, month, shard),
        query: (partition) => ({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :p AND sk BETWEEN :from AND :to',
          FilterExpression: filters.length ? filters.join(' AND ') : undefined,
          ExpressionAttributeValues: { ':p': partition, ':from': search.from, ':to': `${search.to}~`, ...values },
          ScanIndexForward: oldestFirst,
        }),
        startKey: (_partition, [pk, sk]) => ({ pk, sk }),
        cursor: (m, s) => ({ m, s }),
      },
      search.limit,
    );
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
    return this.merge(
      {
        groups: days,
        oldestFirst: false,
        shards: AUDIT_DECISION_SHARDS,
        resume: decodeDecisionCursor(search.cursor, days, search),
        partition: (day, shard) => itemKeys.auditDecisionDay(search.decision, day, shard),
        query: (partition) => ({
          TableName: this.tableName,
          IndexName: BY_DECISION_INDEX,
          KeyConditionExpression: 'decisionDay = :p AND sk BETWEEN :from AND :to',
          FilterExpression: search.keyId ? 'keyId = :keyId' : undefined,
          ExpressionAttributeValues: {
            ':p': partition,
            ':from': search.from,
            ':to': `${search.to}~`,
            // no placeholder without the filter: DynamoDB rejects an unused value
            ...(search.keyId ? { ':keyId': search.keyId } : {}),
          },
          ScanIndexForward: false,
        }),
        startKey: (partition, [pk, sk]) => ({ pk, sk, decisionDay: partition }),
        cursor: (d, s) => ({ d, s }),
      },
      search.limit,
    );
  }

  /**
   * One page of a sharded listing: group after group, every shard of a group read at once and
   * merged k-way in the listing's order (newest first unless `oldestFirst`). Each shard is sorted,
   * so the next record not yet returned is the first, in that order, of the shards' heads. The cursor keeps each shard's position, so the
   * next page resumes every shard exactly where this one stopped: no record twice, none skipped.
   */
  private async merge(listing: ShardedListing, limit: number): Promise<AuditPage> {
    const { groups, resume } = listing;
    const records: AuditRecord[] = [];
    for (let i = resume.start; i < groups.length; i++) {
      const group = groups[i]!;
      const positions = i === resume.start ? resume.positions : unreadShards(listing.shards);
      const shards = positions.map((position, shard): ShardReader => {
        const partition = listing.partition(group, shard);
        return {
          partition,
          resumeAt: position,
          buffer: [],
          done: position === 'done',
          next: typeof position === 'string' ? undefined : listing.startKey(partition, position),
        };
      });
      while (records.length < limit) {
        await Promise.all(shards.map((shard) => this.fill(shard, listing, limit - records.length)));
        // Every shard's next unread record is at its buffer's head: the first of those in order is next.
        let first: ShardReader | undefined;
        for (const shard of shards) {
          const head = shard.buffer[0];
          if (head && (!first || precedes(head, first.buffer[0]!, listing.oldestFirst))) first = shard;
        }
        if (!first) break;
        const item = first.buffer.shift()!;
        first.resumeAt = [item['pk'] as string, item['sk'] as string];
        records.push(strip(item));
      }
      if (records.length >= limit) {
        const groupLeft = shards.some((shard) => shard.buffer.length > 0 || !shard.done);
        const next = groupLeft
          ? listing.cursor(group, shards.map(shardPosition))
          : groups[i + 1]
            ? listing.cursor(groups[i + 1]!, unreadShards(listing.shards))
            : undefined;
        return { records, nextCursor: encodeCursor(next) };
      }
    }
    return { records };
  }

  /**
   * Reads a shard's next page when everything read from it was returned, so its buffer's head is
   * its next unreturned record (pages a filter emptied are skipped).
   */
  private async fill(shard: ShardReader, listing: ShardedListing, wanted: number): Promise<void> {
    while (shard.buffer.length === 0 && !shard.done) {
      const page = await this.db.send(
        new QueryCommand({
          ...listing.query(shard.partition),
          // Shards share a page evenly on average; reading a little more than a share saves round trips.
          Limit: Math.min(wanted, Math.max(10, Math.ceil((2 * wanted) / listing.shards))),
          ExclusiveStartKey: shard.next,
        }),
      );
      shard.buffer.push(...(page.Items ?? []));
      shard.next = page.LastEvaluatedKey;
      shard.done = page.LastEvaluatedKey === undefined;
    }
  }
}
