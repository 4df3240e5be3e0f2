import type { RouteCandidate } from '../router';
import type { StrategyConfig, StrategyName } from './config';

/** What a request asks of a deployment, as the strategies weigh it. */
export interface RequestDemand {
  /** The gateway's prompt estimate (UTF-8 bytes / 3). */
  promptTokens: number;
  /** The output cap the provider is called with (0 for embeddings). */
  maxOutputTokens: number;
}

/**
 * Everything a strategy may look at: the deployments the caller may use and that can serve the
 * request (access and capabilities are filtered before), in config order, and the instance's
 * observations. No I/O and no clock: a strategy is a pure function of this.
 */
export interface StrategyContext {
  readonly candidates: readonly RouteCandidate[];
  readonly demand: RequestDemand;
  /** Uniform in [0, 1); seeded in tests. */
  random(): number;
  /** How many requests this entry has routed on this instance before this one. */
  readonly turn: number;
  /** The moving average of a deployment's observed latency (ms), if it was observed on this instance. */
  latencyOf(modelId: string): number | undefined;
}

/** A strategy: the index (into `candidates`) of the deployment to try first. */
export type Strategy<N extends StrategyName> = (config: StrategyConfig<N>, context: StrategyContext) => number;
