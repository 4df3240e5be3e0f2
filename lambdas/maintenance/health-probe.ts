import type { Catalog } from '../shared/catalog/catalog';
import { HEALTH_PROBE_JOB, probedModels } from '../shared/catalog/health-probe';
import type { ChatRequest } from '../shared/chat/types';
import { observeProbe } from '../shared/observability/metrics';
import { ProviderError } from '../shared/providers/errors';
import { adapterFor } from '../shared/providers/registry';
import type { SecretResolver } from '../shared/providers/secrets';
import type { ProviderAdapter, ProviderTarget } from '../shared/providers/types';

/** The probe's request: one word in, at most one token out, so each probe costs a few tokens. */
const PROBE_REQUEST: ChatRequest = {
  messages: [{ role: 'user', content: [{ type: 'text', text: 'ping' }] }],
  maxOutputTokens: 1,
};

export { HEALTH_PROBE_JOB, probedModels };

/** One probe's result. */
export interface ProbeResult {
  model: string;
  provider: string;
  healthy: boolean;
  latencyMs: number;
  failure?: string;
}

/**
 * The health probe job: sends each probed model, concurrently, a one-token request through its
 * own adapter and connection, with the configured timeout, and records `DeploymentHealthy` and
 * `ProbeLatency` per model (`observeProbe`). Independent of the gateway's circuit breakers, which
 * live in each gateway instance's memory: the probe shows a deployment's health to operators
 * (dashboard, alarms) whether or not traffic is flowing. Probe calls are the platform's own and
 * are not in any team's ledger.
 *
 * @example
 * const probe = createHealthProbeJob({ catalog, secrets: loadSecretResolver() });
 * await probe(); // [{ model: 'claude-sonnet-4-6', healthy: true, latencyMs: 412, ... }]
 */
export function createHealthProbeJob(deps: {
  catalog: Catalog;
  secrets: SecretResolver;
  adapters?: (id: ProviderTarget['connection']['adapter']) => ProviderAdapter;
  now?: () => number;
}) {
  const adapters = deps.adapters ?? adapterFor;
  const now = deps.now ?? Date.now;
  const timeoutMs = deps.catalog.config.healthProbe?.timeoutMs ?? 10_000;
  return async function healthProbe(): Promise<ProbeResult[]> {
    return Promise.all(
      probedModels(deps.catalog.config).map(async (model): Promise<ProbeResult> => {
        const connection = deps.catalog.connectionOf(model);
        const target: ProviderTarget = {
          connectionName: model.provider,
          connection,
          upstreamModel: model.upstreamModel,
        };
        const start = now();
        let failure: string | undefined;
        try {
          await adapters(connection.adapter).complete(PROBE_REQUEST, target, {
            signal: AbortSignal.timeout(timeoutMs),
            secrets: deps.secrets,
          });
        } catch (error) {
          failure = error instanceof ProviderError ? error.failure : 'error';
        }
        const result: ProbeResult = {
          model: model.id,
          provider: model.provider,
          healthy: failure === undefined,
          latencyMs: now() - start,
          ...(failure !== undefined ? { failure } : {}),
        };
        observeProbe(result);
        return result;
      }),
    );
  };
}

/**
 * Whether a maintenance invocation asks for the health probe.
 *
 * @example
 * isHealthProbeJob({ job: 'health-probe' }) // true
 */
export function isHealthProbeJob(event: unknown): boolean {
  return typeof event === 'object' && event !== null && (event as { job?: unknown }).job === HEALTH_PROBE_JOB;
}
