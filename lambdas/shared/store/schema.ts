import { createHash } from 'node:crypto';
import { monthOf } from '../time/calendar';
import { allShards, requestShard } from './shards';

/**
 * DynamoDB tables and item keys, defined once. The CDK app creates tables from these
 * definitions, the local runtime and the tests create the same tables in DynamoDB Local, and
 * the repositories build every item key with the functions below.
 */

/** The tables of the gateway. */
export type TableId = 'identity' | 'usage' | 'counters' | 'audit';

/** What the CDK app and the local runtime need to create one table. */
export interface TableDefinition {
  id: TableId;
  /** Environment variable through which a Lambda learns the table's name. */
  envVar: string;
  /** Construct id in the CDK app. */
  constructId: string;
  partitionKey: string;
  sortKey?: string;
  /** Attribute holding an epoch-seconds expiry, when items expire. */
  timeToLiveAttribute?: string;
  globalSecondaryIndexes: readonly { indexName: string; partitionKey: string; sortKey: string }[];
}

/** Name of the identity table's index that lists teams, and keys per team. */
export const BY_PARENT_INDEX = 'byParent';

/** Name of the audit table's index of requests a policy did not simply allow, by decision and day. */
export const BY_DECISION_INDEX = 'byDecision';

/**
 * Index partitions per decision and day in `byDecision`. One partition a day would be one hot key
 * shared by every team (a partition takes about 1,000 writes a second): each record goes to the
 * shard its request id hashes to, so even one busy team spreads, and a search reads every shard
 * of a day and merges them.
 */
export const AUDIT_DECISION_SHARDS = 8;

/**
 * Partitions per team and day of the ledger, and per team and month of the usage aggregates. A
 * request writes its ledger entry (2 write units: under 1 KB, in a transaction) and its two
 * aggregate rows, team × model × day and team × month (4), to the shards its request id hashes
 * to, so one team at 5,000 requests a second puts about 5,000 × 4 / 32 = 625 write units a second
 * on each aggregate shard: under DynamoDB's 1,000 per partition key, with room for uneven hashing
 * and larger items. The price: a report reads all 32 aggregate partitions of each team-month (a
 * query each, and one batch read of the month rows), a ledger listing all 32 partitions of a day.
 */
export const USAGE_SHARDS = 32;

/**
 * Partitions per team and month of the request audit trail: one record (2 write units, in the
 * usage transaction) per request, so 5,000 requests a second are about 625 write units a second
 * on each of 16 shards. A team listing reads every shard of a month and merges them newest first.
 */
export const AUDIT_TEAM_SHARDS = 16;

/** Every table. All keys are strings. */
export const TABLES = {
  /** Teams and API keys. */
  identity: {
    id: 'identity',
    envVar: 'IDENTITY_TABLE',
    constructId: 'IdentityTable',
    partitionKey: 'pk',
    sortKey: 'sk',
    globalSecondaryIndexes: [{ indexName: BY_PARENT_INDEX, partitionKey: 'parent', sortKey: 'parentSort' }],
  },
  /**
   * The per-request ledger, the aggregates reports read (team × model × day, team × month),
   * budgets, and the response cache's stored answers (expiring through `expiresAt`).
   */
  usage: {
    id: 'usage',
    envVar: 'USAGE_TABLE',
    constructId: 'UsageTable',
    partitionKey: 'pk',
    sortKey: 'sk',
    timeToLiveAttribute: 'expiresAt',
    globalSecondaryIndexes: [],
  },
  /** Rate-limit windows and budget leases; each item expires after it can matter. */
  counters: {
    id: 'counters',
    envVar: 'COUNTERS_TABLE',
    constructId: 'CountersTable',
    partitionKey: 'pk',
    timeToLiveAttribute: 'expiresAt',
    globalSecondaryIndexes: [],
  },
  /** The request audit trail (redacted, expiring) and the admin audit trail (kept). */
  audit: {
    id: 'audit',
    envVar: 'AUDIT_TABLE',
    constructId: 'AuditTable',
    partitionKey: 'pk',
    sortKey: 'sk',
    timeToLiveAttribute: 'expiresAt',
    globalSecondaryIndexes: [{ indexName: BY_DECISION_INDEX, partitionKey: 'decisionDay', sortKey: 'sk' }],
  },
} as const satisfies Record<TableId, TableDefinition>;

/** The names the tables have in one deployment (or one test run). */
export type TableNames = Record<TableId, string>;

/**
 * An end user as a sort-key part: the SHA-256 of the id, base64url (43 characters), always. A
 * sort key holds at most 1,024 bytes: the day × model key spends up to about 300 on the day, a
 * 128-character model id and two 64-character experiment names, and a 256-character user id
 * may take 768 bytes of UTF-8 — so the plain id could overflow it and fail the request's whole
 * usage transaction. Hashing every id (rather than only the long ones) keeps one encoding per
 * user and a fixed size; the plain id is in the row's `endUser` attribute, which readers use.
 *
 * @example
 * endUserKey('alice#1') // 43 characters of [A-Za-z0-9_-]
 */
export function endUserKey(endUser: string): string {
  return createHash('sha256').update(endUser).digest('base64url');
}

/** Item keys, built in one place so that no repository spells a key by hand. */
export const itemKeys = {
  team: (teamId: string) => ({ pk: `TEAM#${teamId}`, sk: 'TEAM' }),
  apiKey: (keyId: string) => ({ pk: `KEY#${keyId}`, sk: 'KEY' }),
  /** Index partition under which every team is listed. */
  allTeamsParent: 'TEAMS',
  /** Index partition under which a team's keys are listed. */
  teamKeysParent: (teamId: string) => `TEAM#${teamId}`,
  /** One request in the ledger; partitioned by team and UTC day, in the shard its request id hashes to. */
  ledger: (teamId: string, day: string, timestamp: string, requestId: string) => ({
    pk: `LEDGER#${teamId}#${day}#${requestShard(requestId, USAGE_SHARDS)}`,
    sk: `${timestamp}#${requestId}`,
  }),
  /** Every shard of a team's ledger for one UTC day: a listing reads them all. */
  ledgerPartitions: (teamId: string, day: string) =>
    allShards(USAGE_SHARDS).map((shard) => `LEDGER#${teamId}#${day}#${shard}`),
  /**
   * Every shard of a team's aggregates for one UTC month. Each shard holds the day × model rows
   * and a month row of the requests whose ids hash to it: a report reads and sums them all.
   */
  aggregatePartitions: (teamId: string, month: string) =>
    allShards(USAGE_SHARDS).map((shard) => `AGG#${teamId}#${month}#${shard}`),
  /**
   * A request's team × model × day row: in the aggregate shard of its request id, as its ledger
   * entry. A request in an experiment has its own row per variant (`…#VARIANT#<experiment>#<variant>`),
   * and a request naming an end user its own row per user (`…#USER#<userKey>`, after the variant
   * part if any), which the day's range holds too: reports sum such a row into its model and read
   * the variant and user from its attributes (never from the key), so neither costs an extra
   * write or read.
   */
  dayModelAggregate: (
    teamId: string,
    month: string,
    day: string,
    model: string,
    requestId: string,
    groups: { variant?: { experiment: string; variant: string }; endUser?: string } = {},
  ) => ({
    pk: `AGG#${teamId}#${month}#${requestShard(requestId, USAGE_SHARDS)}`,
    sk:
      `DAY#${day}#MODEL#${model}` +
      (groups.variant ? `#VARIANT#${groups.variant.experiment}#${groups.variant.variant}` : '') +
      (groups.endUser !== undefined ? `#USER#${endUserKey(groups.endUser)}` : ''),
  }),
  /** A request's team × month row: in the aggregate shard of its request id. */
  monthAggregate: (teamId: string, month: string, requestId: string) => ({
    pk: `AGG#${teamId}#${month}#${requestShard(requestId, USAGE_SHARDS)}`,
    sk: 'MONTH',
  }),
  /** The month row of every aggregate shard: the team's month is their sum. */
  monthAggregates: (teamId: string, month: string) =>
    allShards(USAGE_SHARDS).map((shard) => ({ pk: `AGG#${teamId}#${month}#${shard}`, sk: 'MONTH' })),
  /**
   * A budgeted team's month: what its requests have committed against the budget (settled cost
   * plus outstanding reservations) and which alerts went out. Its own item, apart from the usage
   * aggregates, so reports can spread those while the budget stays one atomic counter.
   */
  monthBudget: (teamId: string, month: string) => ({ pk: `BUDGET#${teamId}#${month}`, sk: 'BUDGET' }),
  /**
   * A block of a team's month budget leased to one gateway instance: what it took and what its
   * requests actually cost, so the unused part can be returned (by the instance, or the sweeper).
   */
  budgetLease: (teamId: string, month: string, leaseId: string) => ({ pk: `LEASE#${teamId}#${month}#${leaseId}` }),
  /** A team's fixed rate-limit window: what every instance leased of the team's and keys' limits. */
  rateWindow: (teamId: string, windowStartSeconds: number) => ({ pk: `RATE#${teamId}#${windowStartSeconds}` }),
  /** A tool call held for approval, in its team's partition. */
  approval: (teamId: string, approvalId: string) => ({ pk: `APPROVALS#${teamId}`, sk: approvalId }),
  /**
   * A team's stored answer to one request (the response cache; `key` is the request's SHA-256).
   * The team is in the partition key, so no lookup can reach another team's answers; one item
   * per request key spreads the reads over as many partitions as there are distinct requests.
   */
  responseCache: (teamId: string, key: string) => ({ pk: `RCACHE#${teamId}#${key}`, sk: 'ANSWER' }),
  /** One admin action, partitioned by UTC month, sorted by time. */
  adminChange: (month: string, timestamp: string, changeId: string) => ({
    pk: `ADMIN#${month}`,
    sk: `${timestamp}#${changeId}`,
  }),
  adminChangePartition: (month: string) => `ADMIN#${month}`,
  /**
   * One request in the audit trail, partitioned by team and UTC month, in the shard its request id
   * hashes to (one of `AUDIT_TEAM_SHARDS`), sorted by time.
   */
  auditEntry: (teamId: string, timestamp: string, requestId: string) => ({
    pk: `AUDIT#${teamId}#${monthOf(timestamp)}#${requestShard(requestId, AUDIT_TEAM_SHARDS)}`,
    sk: `${timestamp}#${requestId}`,
  }),
  /** One shard of a team's audit trail for a UTC month: a listing reads all and merges them. */
  auditPartition: (teamId: string, month: string, shard: number) => `AUDIT#${teamId}#${month}#${shard}`,
  /**
   * Index partition of the requests with one decision on one UTC day, in one of
   * `AUDIT_DECISION_SHARDS` shards (not set for plain allows).
   */
  auditDecisionDay: (decision: string, day: string, shard: number) => `DECISION#${decision}#${day}#${shard}`,
} as const;
