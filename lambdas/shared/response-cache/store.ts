import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChatCompletion } from '../chat/types';
import { logger } from '../observability/logger';
import { itemKeys } from '../store/schema';

/**
 * Largest stored answer, in UTF-8 bytes of its JSON. A DynamoDB item holds at most 400 KB,
 * attribute names and the other attributes included: a larger answer is not cached (the
 * request is served and recorded as usual, its header says `miss`).
 */
export const MAX_CACHED_ANSWER_BYTES = 390_000;

/**
 * How long an answer is kept past its TTL for a team that may be served stale answers when no
 * provider answers (`cache_stale_if_error`); without it the item expires with its TTL.
 */
export const STALE_RETENTION_SECONDS = 24 * 60 * 60;

/** A stored answer: the neutral completion (before any per-request restoration) and what it cost. */
export interface CachedAnswer {
  /** The catalog model that produced it (a fallback when one served). */
  model: string;
  completion: ChatCompletion;
  /** What the provider call that produced it cost: a hit's saved cost. */
  costPicos: bigint;
  /** Epoch ms until which it is served as a hit (after: only as a stale answer). */
  freshUntil: number;
}

/** One request's cache slot: its team and key. */
export interface CacheSlot {
  teamId: string;
  key: string;
}

/**
 * Stored answers in the usage table (their own item type, `RCACHE#…`, expiring through the
 * table's TTL attribute). One GetItem per looked-up request, issued alongside admission; one
 * PutItem per stored answer, written with the usage record. Failures never fail a request: a
 * lookup that fails is a miss, a store that fails is logged (ids only) and forgotten.
 */
export class ResponseCache {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * The answer stored for a slot, fresh or not (the caller compares `freshUntil` with its clock:
   * DynamoDB deletes expired items up to days late). Undefined when there is none or the read failed.
   *
   * @example
   * const cached = await cache.lookup({ teamId, key }, requestId);
   */
  async lookup(slot: CacheSlot, requestId: string): Promise<CachedAnswer | undefined> {
    try {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: itemKeys.responseCache(slot.teamId, slot.key) }),
      );
      if (!Item) return undefined;
      return {
        model: String(Item['model']),
        completion: JSON.parse(String(Item['answer'])) as ChatCompletion,
        costPicos: BigInt(String(Item['costPicos'])),
        freshUntil: Number(Item['freshUntil']),
      };
    } catch (error) {
      logger.warn('response cache lookup failed; served as a miss', { requestId, error: (error as Error).name });
      return undefined;
    }
  }

  /**
   * Stores an answer for `ttlSeconds` from `now` (kept {@link STALE_RETENTION_SECONDS} longer when
   * `keepStale`); an answer over {@link MAX_CACHED_ANSWER_BYTES} is not stored. Never rejects.
   *
   * @example
   * await cache.store(slot, { model, completion, costPicos }, { now, ttlSeconds: 300, keepStale: false }, requestId);
   */
  async store(
    slot: CacheSlot,
    answer: Omit<CachedAnswer, 'freshUntil'>,
    timing: { now: number; ttlSeconds: number; keepStale: boolean },
    requestId: string,
  ): Promise<void> {
    const json = JSON.stringify(answer.completion);
    if (Buffer.byteLength(json, 'utf8') > MAX_CACHED_ANSWER_BYTES) {
      logger.info('answer too large to cache', { requestId, bytes: Buffer.byteLength(json, 'utf8') });
      return;
    }
    const freshUntil = timing.now + timing.ttlSeconds * 1000;
    const keptSeconds = timing.ttlSeconds + (timing.keepStale ? STALE_RETENTION_SECONDS : 0);
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...itemKeys.responseCache(slot.teamId, slot.key),
            model: answer.model,
            answer: json,
            costPicos: String(answer.costPicos),
            freshUntil,
            expiresAt: Math.ceil(timing.now / 1000) + keptSeconds,
          },
        }),
      );
    } catch (error) {
      logger.warn('response cache store failed', { requestId, error: (error as Error).name });
    }
  }
}
