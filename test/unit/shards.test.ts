import { createHash } from 'node:crypto';
import {
  AUDIT_DECISION_SHARDS,
  AUDIT_TEAM_SHARDS,
  endUserKey,
  itemKeys,
  USAGE_SHARDS,
} from '../../lambdas/shared/store/schema';
import { allShards, mapBounded, requestShard } from '../../lambdas/shared/store/shards';

/**
 * One shard function for every sharded partition: a pure function of the request id (a retried
 * or replayed write must land on the same key), spread evenly, and unchanged for the
 * `byDecision` index, whose records were written with this hash before the other families
 * were sharded.
 */
describe('requestShard', () => {
  const ids = Array.from({ length: 32_000 }, (_, i) => `req-${i}-${(i * 7919).toString(36)}`);

  it('is the same for the same id, and within range', () => {
    for (const id of ids.slice(0, 1_000)) {
      for (const count of [AUDIT_DECISION_SHARDS, AUDIT_TEAM_SHARDS, USAGE_SHARDS]) {
        const shard = requestShard(id, count);
        expect(shard).toBe(requestShard(id, count));
        expect(Number.isInteger(shard) && shard >= 0 && shard < count).toBe(true);
      }
    }
  });

  it('keeps the byDecision shard of every record indexed before (sha-256, first 32 bits)', () => {
    for (const id of ids.slice(0, 1_000)) {
      const before = createHash('sha256').update(id).digest().readUInt32BE(0) % AUDIT_DECISION_SHARDS;
      expect(requestShard(id, AUDIT_DECISION_SHARDS)).toBe(before);
    }
  });

  it('spreads one team’s requests evenly: every shard within 15 % of its share', () => {
    const counts = new Array<number>(USAGE_SHARDS).fill(0);
    for (const id of ids) counts[requestShard(id, USAGE_SHARDS)]! += 1;
    const share = ids.length / USAGE_SHARDS;
    expect(Math.max(...counts)).toBeLessThan(share * 1.15);
    expect(Math.min(...counts)).toBeGreaterThan(share * 0.85);
  });

  it('puts a ledger entry on the shard partition its id hashes to, one of the day’s partitions', () => {
    const partitions = itemKeys.ledgerPartitions('payments', '2026-11-29');
    expect(partitions).toHaveLength(USAGE_SHARDS);
    expect(new Set(partitions).size).toBe(USAGE_SHARDS);
    for (const id of ids.slice(0, 200)) {
      const { pk } = itemKeys.ledger('payments', '2026-11-29', '2026-11-29T10:00:00.000Z', id);
      expect(pk).toBe(partitions[requestShard(id, USAGE_SHARDS)]);
    }
  });
});

describe('aggregate keys', () => {
  it('put a request’s day × model and month rows in its ledger entry’s shard, one of the month’s partitions', () => {
    const partitions = itemKeys.aggregatePartitions('payments', '2026-11');
    expect(partitions).toHaveLength(USAGE_SHARDS);
    expect(itemKeys.monthAggregates('payments', '2026-11').map((key) => key.pk)).toEqual(partitions);
    for (let i = 0; i < 200; i++) {
      const id = `req-${i}`;
      const shard = requestShard(id, USAGE_SHARDS);
      const day = itemKeys.dayModelAggregate('payments', '2026-11', '2026-11-29', 'nova-lite', id);
      expect(day).toEqual({ pk: partitions[shard], sk: 'DAY#2026-11-29#MODEL#nova-lite' });
      expect(itemKeys.monthAggregate('payments', '2026-11', id)).toEqual({ pk: partitions[shard], sk: 'MONTH' });
      expect(itemKeys.ledger('payments', '2026-11-29', '2026-11-29T10:00:00.000Z', id).pk).toBe(
        itemKeys.ledgerPartitions('payments', '2026-11-29')[shard],
      );
    }
  });
});

describe('end-user aggregate keys', () => {
  it('append the variant, then a fixed-size hash of the user, whatever the id holds', () => {
    const variant = { experiment: 'exp', variant: 'b' };
    const key = (endUser?: string) =>
      itemKeys.dayModelAggregate('payments', '2026-11', '2026-11-29', 'nova-lite', 'r1', { variant, endUser }).sk;
    expect(key()).toBe('DAY#2026-11-29#MODEL#nova-lite#VARIANT#exp#b');
    expect(key('a#b')).toBe(`DAY#2026-11-29#MODEL#nova-lite#VARIANT#exp#b#USER#${endUserKey('a#b')}`);
    expect(itemKeys.dayModelAggregate('p', '2026-11', '2026-11-29', 'm', 'r1', { endUser: 'a' }).sk).toBe(
      `DAY#2026-11-29#MODEL#m#USER#${endUserKey('a')}`,
    );
    for (const endUser of ['a', 'a#b', '€'.repeat(256), '']) expect(endUserKey(endUser)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(endUserKey('a#b')).not.toBe(endUserKey('a'));
  });
});

describe('mapBounded', () => {
  it('keeps the items’ order and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const results = await mapBounded(allShards(20), 4, async (n) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, (n * 7) % 5));
      running -= 1;
      return n * 2;
    });
    expect(results).toEqual(allShards(20).map((n) => n * 2));
    expect(most).toBe(4);
  });
});
