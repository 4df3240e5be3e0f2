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

/** One deployment's circuits: the one every team shares, and each failing team's own. */
interface Deployment {
  shared: Circuit;
  /** Teams whose provider-side failures make up `shared.failures` since the last success. */
  failingTeams: Set<string>;
  teams: Map<string, Circuit>;
}

/** Failures recorded without a team count as everyone's (one shared circuit, as before teams). */
const EVERYONE = '';

/**
 * Per-deployment circuit breakers (see {@link circuitKey}), so that a dead upstream is skipped at
 * once (and the request goes to its fallback) instead of costing every request its timeout.
 * After `failureThreshold` consecutive failures a deployment is skipped for `cooldownMs`; then
 * one request probes it: a success closes the circuit, a failure opens it again. State is per
 * Lambda instance: each instance learns on its own, which needs no shared store and costs no
 * latency.
 *
 * Only provider-side failures are recorded (the router's job: throttling, 5xx, timeouts,
 * connection errors, never a request the provider refused as invalid), and one team cannot take
 * a model away from the others: while every failure since the last success came from one team,
 * only that team's own circuit opens; the shared circuit opens once failures come from two teams
 * or more, which is what an outage looks like.
 */
export class CircuitBreakers {
  private readonly deployments = new Map<string, Deployment>();
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  private deployment(key: string): Deployment {
    let deployment = this.deployments.get(key);
    if (!deployment) {
      deployment = { shared: newCircuit(), failingTeams: new Set(), teams: new Map() };
      this.deployments.set(key, deployment);
    }
    return deployment;
  }

  private isOpen(circuit: Circuit | undefined): boolean {
    return circuit !== undefined && circuit.failures >= this.options.failureThreshold;
  }

  /** Whether a circuit lets a call through now, claiming its probe when half-open. */
  private admits(circuit: Circuit | undefined): boolean {
    if (!this.isOpen(circuit)) return true;
    if (this.now() < circuit!.openUntil || circuit!.probing) return false;
    circuit!.probing = true;
    return true;
  }

  /**
   * Whether a call to this deployment may go ahead now for this team (claims the probe when
   * half-open).
   *
   * @example
   * if (!breakers.allows(circuitKey(target), teamId)) skipToFallback();
   */
  allows(key: string, team: string = EVERYONE): boolean {
    const deployment = this.deployments.get(key);
    if (!deployment) return true;
    return this.admits(deployment.shared) && this.admits(deployment.teams.get(team));
  }

  /** Records a success: the provider works, every circuit of the deployment closes. */
  recordSuccess(key: string): void {
    this.deployments.delete(key);
  }

  /** Records a provider-side failure of a call made for `team`. */
  recordFailure(key: string, team: string = EVERYONE): void {
    const deployment = this.deployment(key);
    const own = deployment.teams.get(team) ?? newCircuit();
    deployment.teams.set(team, own);
    this.fail(own);
    deployment.failingTeams.add(team);
    const shared = deployment.shared;
    shared.failures += 1;
    shared.probing = false;
    if (this.isOpen(shared) && (deployment.failingTeams.size >= 2 || deployment.failingTeams.has(EVERYONE))) {
      shared.openUntil = this.now() + this.options.cooldownMs;
    } else if (this.isOpen(shared)) {
      // One team's failures alone: hold the shared count below the threshold, the team's own opened.
      shared.failures = this.options.failureThreshold - 1;
    }
  }

  private fail(circuit: Circuit): void {
    circuit.failures += 1;
    circuit.probing = false;
    if (this.isOpen(circuit)) circuit.openUntil = this.now() + this.options.cooldownMs;
  }

  /** The circuit's state for a team (the shared circuit's, or the team's own when that is worse), for logs and tests. */
  state(key: string, team: string = EVERYONE): CircuitState {
    const deployment = this.deployments.get(key);
    if (!deployment) return 'closed';
    const states = [deployment.shared, deployment.teams.get(team)].map((circuit): CircuitState => {
      if (!this.isOpen(circuit)) return 'closed';
      return this.now() < circuit!.openUntil ? 'open' : 'half-open';
    });
    return states.includes('open') ? 'open' : states.includes('half-open') ? 'half-open' : 'closed';
  }
}

function newCircuit(): Circuit {
  return { failures: 0, openUntil: 0, probing: false };
}
