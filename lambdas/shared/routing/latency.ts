/**
 * Weight of the newest observation in a moving average: 0.3 follows a deployment that slows down
 * within a handful of requests without letting one slow call decide.
 */
const SMOOTHING = 0.3;

/**
 * An exponentially weighted moving average of observed latency per deployment, for the
 * `least-latency` strategy. Kept per Lambda instance, in memory: sharing it (DynamoDB) would add a
 * round trip to the hot path of every request, and each instance's averages converge on their own
 * after a few requests, which is all a choice of the fastest deployment needs.
 */
export class LatencyTracker {
  private readonly averages = new Map<string, number>();

  /** Adds one observation (ms) of a deployment (a catalog model id). */
  observe(modelId: string, latencyMs: number): void {
    const previous = this.averages.get(modelId);
    this.averages.set(modelId, previous === undefined ? latencyMs : previous + SMOOTHING * (latencyMs - previous));
  }

  /** The average so far (ms), or undefined before the first observation. */
  averageOf(modelId: string): number | undefined {
    return this.averages.get(modelId);
  }
}
