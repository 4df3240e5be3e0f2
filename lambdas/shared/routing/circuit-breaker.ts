import type { ProviderTarget } from '../providers/types';

/** Circuit state of one deployment, as the breaker sees it in this Lambda instance. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Tuning of the breakers. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit skips the connection before one probe call is let through. */
  cooldownMs: number;
  now?: () => number;
}

interface Circuit {
  failures: number;
  openUntil: number;
  probing: boolean;
}

/**
 * What one circuit guards: an upstream model on a connection (a deployment). A model whose
 * deployment fails (retired, missing, throttled on its own quota) must not take the other models
 * of its connection down with it; a connection-wide outage opens each model's circuit in turn.
 *
 * @example
 * circuitKey({ connectionName: 'openai', upstreamModel: 'gpt-4o' }) // 'openai/gpt-4o'
 */
export function circuitKey(target: Pick<ProviderTarget, 'connectionName' | 'upstreamModel'>): string {
  return `${target.connectionName}/${target.upstreamModel}`;
}

/**
 * Per-deployment circuit breakers (see {@link circuitKey}), so that a dead upstream is skipped at
 * once (and the request goes to its fallback) instead of costing every request its timeout.
 * After `failureThreshold` consecutive failures a deployment is skipped for `cooldownMs`; then
 * one request probes it: a success closes the circuit, a failure opens it again. State is per
 * Lambda instance: each instance learns on its own, which needs no shared store and costs no
 * latency.
 */
export class CircuitBreakers {
  private readonly circuits = new Map<string, Circuit>();
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Whether a call to this deployment may go ahead now (claims the probe when half-open).
   *
   * @example
   * if (!breakers.allows(circuitKey(target))) skipToFallback();
   */
  allows(key: string): boolean {
    const circuit = this.circuits.get(key);
    if (!circuit || circuit.failures < this.options.failureThreshold) return true;
    if (this.now() < circuit.openUntil || circuit.probing) return false;
    circuit.probing = true;
    return true;
  }

  /** Records a success: the circuit closes. */
  recordSuccess(key: string): void {
    this.circuits.delete(key);
  }

  /** Records a failure that says the upstream is unwell (not a bad request). */
  recordFailure(key: string): void {
    const circuit = this.circuits.get(key) ?? { failures: 0, openUntil: 0, probing: false };
    circuit.failures += 1;
    circuit.probing = false;
    if (circuit.failures >= this.options.failureThreshold) circuit.openUntil = this.now() + this.options.cooldownMs;
    this.circuits.set(key, circuit);
  }

  /** The circuit's state, for logs and tests. */
  state(key: string): CircuitState {
    const circuit = this.circuits.get(key);
    if (!circuit || circuit.failures < this.options.failureThreshold) return 'closed';
    return this.now() < circuit.openUntil ? 'open' : 'half-open';
  }
}
