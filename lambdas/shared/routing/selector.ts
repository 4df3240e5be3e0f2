import type { RouteCandidate } from './router';
import { LatencyTracker } from './latency';
import { orderCandidates, type RequestDemand, type RoutingConfig } from './strategies';

/**
 * The routing state of one Lambda instance, and the one place strategies are applied: counters
 * for round-robin and latency averages for least-latency, both in memory (no I/O on the hot path;
 * each instance balances its own traffic), and the randomness, injectable so tests can seed it.
 */
export class RouteSelector {
  private readonly turns = new Map<string, number>();
  private readonly latency = new LatencyTracker();
  private readonly random: () => number;

  constructor(options: { random?: () => number } = {}) {
    this.random = options.random ?? Math.random;
  }

  /**
   * The candidates of a catalog entry (`entryId`, whose `routing` it is) in the order to try
   * them for one request.
   *
   * @example
   * selector.order('chat', { strategy: 'weighted', weights: { a: 3, b: 1 } }, candidates, { promptTokens: 12, maxOutputTokens: 512 })
   */
  order(
    entryId: string,
    routing: RoutingConfig,
    candidates: readonly RouteCandidate[],
    demand: RequestDemand,
  ): RouteCandidate[] {
    const turn = this.turns.get(entryId) ?? 0;
    if (routing.strategy === 'round-robin') this.turns.set(entryId, turn + 1);
    return orderCandidates(routing, {
      candidates,
      demand,
      random: this.random,
      turn,
      latencyOf: (modelId) => this.latency.averageOf(modelId),
    });
  }

  /** Records how long a deployment took to answer (for a stream, to its first event). */
  observe(modelId: string, latencyMs: number): void {
    this.latency.observe(modelId, latencyMs);
  }
}
