/**
 * A small in-memory cache with a time-to-live, for one Lambda instance. Concurrent misses for
 * the same key share one load, so a burst on a cold instance makes one database read, not one
 * per request. Failed loads are not cached.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { expiresAt: number; value: Promise<V> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The cached value for `key`, or the result of `load()`, cached for the TTL.
   *
   * @example
   * const key = await cache.get(keyId, () => repository.get(keyId));
   */
  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    if (hit) this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const value = load();
    if (this.ttlMs > 0) {
      this.entries.set(key, { expiresAt: now + this.ttlMs, value });
      value.catch(() => this.entries.delete(key));
    }
    return value;
  }

  /** Forgets one key (after this instance itself changed it). */
  delete(key: string): void {
    this.entries.delete(key);
  }
}
