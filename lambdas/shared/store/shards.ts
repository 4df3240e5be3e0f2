import { hash } from 'node:crypto';

/**
 * The shard (0..count-1) a request's items go to: a hash of its request id, the same for every
 * table and index. A pure function of the id, so a retried or replayed write lands on the very key
 * it would have the first time (and its existence condition still makes it a no-op), and ids spread
 * evenly over the shards whoever sent them. Shard counts are powers of two (see `store/schema.ts`),
 * so the modulo of the 32-bit hash is unbiased.
 *
 * @example
 * requestShard('JqF0XhYnIAMEVZg=', 16) // 0..15, always the same for this id
 */
export function requestShard(requestId: string, count: number): number {
  return shardWord(requestId) % count;
}

/** The last request id hashed and its word: a request's ledger, aggregate and audit keys all ask for it in turn. */
let last: { requestId: string; word: number } | undefined;

/** The first 32 bits of the SHA-256 of a request id. */
function shardWord(requestId: string): number {
  if (last?.requestId !== requestId) last = { requestId, word: hash('sha256', requestId, 'buffer').readUInt32BE(0) };
  return last.word;
}

/**
 * `0..count-1`, to build every shard's key of a partition family.
 *
 * @example
 * allShards(4) // [0, 1, 2, 3]
 */
export function allShards(count: number): number[] {
  return Array.from({ length: count }, (_, shard) => shard);
}

/**
 * `work` applied to every item, at most `limit` at a time, results in the items' order: reading
 * every shard of a partition family at once would burst the table for one report.
 *
 * @example
 * const pages = await mapBounded(partitions, 8, (pk) => queryAll(db, { ...input, pk }));
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
