import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AuditLog } from '../shared/audit/audit-log';
import { AdminChangeLog } from '../shared/admin/change-log';
import { ApprovalStore } from '../shared/approvals/store';
import { approvalNotifierFor, InMemoryApprovalNotifier, type ApprovalNotifier } from '../shared/approvals/notifier';
import type { Catalog } from '../shared/catalog/catalog';
import { loadCatalog } from '../shared/catalog/load';
import { loadEnvironment, loadReplayQueue } from '../shared/config/environment';
import { FUNCTION_TABLES } from '../shared/config/function-tables';
import { ExchangeService, type ExchangeServiceDeps } from '../shared/exchange';
import { createAuthenticator, type ApiKeyAuthenticator } from '../shared/keys/authenticator';
import { PolicyEngine } from '../shared/policy/engine';
import { BedrockGuardrailChecker, type GuardrailChecker } from '../shared/policy/guardrail';
import type { SecretResolver } from '../shared/providers/secrets';
import { loadSecretResolver } from '../shared/providers/secrets-manager';
import { BudgetAlerts, type BudgetAlertPublisher } from '../shared/quota/budget-alerts';
import { QuotaService } from '../shared/quota/quota-service';
import { CircuitBreakers } from '../shared/routing/circuit-breaker';
import { ResponseCache } from '../shared/response-cache';
import { Router } from '../shared/routing/router';
import { ssoVerifierOf, type SsoVerifier } from '../shared/sso/verifier';
import { createDocumentClient } from '../shared/store/client';
import type { TableNames } from '../shared/store/schema';
import { DurableUsageRecorder, type DurableRecorderOptions, type UsageSpool } from '../shared/usage/durable-recorder';
import { UsageRecorder } from '../shared/usage/recorder';
import { SqsUsageSpool } from '../shared/usage/sqs-spool';

/** What the gateway Lambdas need; `index.ts` builds it from the environment, tests from DynamoDB Local. */
export interface GatewayHandlerDeps {
  catalog: Catalog;
  authenticator: ApiKeyAuthenticator;
  /** Single sign-on tokens (the config's `sso`); none without it. */
  sso?: SsoVerifier;
  exchanges: ExchangeService;
}

/** Settings the gateway Lambdas are built from (the environment in AWS, DynamoDB Local in tests). */
export interface GatewaySettings {
  db: DynamoDBDocumentClient;
  tables: Pick<TableNames, 'identity' | 'counters' | 'usage' | 'audit'>;
  catalog: Catalog;
  secrets: SecretResolver;
  /** Where budget alerts go (EventBridge in AWS). */
  alerts: BudgetAlertPublisher;
  /** Where approvers are told a tool call waits (EventBridge in AWS); default: the log only. */
  approvalNotifier?: ApprovalNotifier;
  identityCacheTtlMs: number;
  providerTimeoutMs: number;
  now?: () => number;
  /** Adapter lookup override, for tests that observe provider calls. */
  adapters?: ExchangeServiceDeps['adapters'];
  /** Guardrail override (tests); Bedrock's ApplyGuardrail otherwise. */
  guardrails?: GuardrailChecker;
  /** Metrics sink override (tests); EMF on stdout otherwise. */
  observe?: ExchangeServiceDeps['observe'];
  /** The usage replay queue (SQS in AWS, the local emulator locally); none: writes DynamoDB refuses are lost. */
  spool?: UsageSpool;
  /** Inline retry tuning of usage writes (tests shorten it). */
  usageRetries?: DurableRecorderOptions;
}

/**
 * Wires the gateway's dependencies; `index.ts`, `stream.ts` and the tests share this wiring.
 *
 * @example
 * createGatewayHandler(gatewayDependencies({ db, tables, catalog, secrets, alerts, identityCacheTtlMs: 30_000, providerTimeoutMs: 25_000 }))
 */
export function gatewayDependencies(settings: GatewaySettings): GatewayHandlerDeps {
  const now = settings.now ?? Date.now;
  return {
    catalog: settings.catalog,
    authenticator: createAuthenticator(settings.db, settings.tables.identity, settings.identityCacheTtlMs, now),
    sso: ssoVerifierOf(settings.catalog.config.sso, now),
    exchanges: new ExchangeService({
      catalog: settings.catalog,
      quota: new QuotaService(settings.db, settings.tables, {
        alerts: new BudgetAlerts(settings.db, settings.tables.usage, settings.alerts, now),
        now,
      }),
      usage: new DurableUsageRecorder(new UsageRecorder(settings.db, settings.tables.usage), settings.spool, {
        now,
        ...settings.usageRetries,
      }),
      router: new Router(new CircuitBreakers({ failureThreshold: 5, cooldownMs: 30_000, now }), {
        maxAttemptsPerCandidate: 2,
        baseDelayMs: 100,
        maxDelayMs: 2_000,
        now,
      }),
      secrets: settings.secrets,
      providerTimeoutMs: settings.providerTimeoutMs,
      policies: new PolicyEngine(settings.catalog.config.policies),
      guardrails: settings.guardrails ?? new BedrockGuardrailChecker(),
      audit: new AuditLog(settings.db, settings.tables.audit, settings.catalog.config.audit.retentionDays),
      approvalNotifier: settings.approvalNotifier ?? new InMemoryApprovalNotifier(),
      approvals: new ApprovalStore(
        settings.db,
        settings.tables.audit,
        new AdminChangeLog(settings.db, settings.tables.audit),
        now,
      ),
      now,
      adapters: settings.adapters,
      observe: settings.observe,
      responseCache: new ResponseCache(settings.db, settings.tables.usage),
    }),
  };
}

type EventBridgePublisherModule = typeof import('../shared/quota/eventbridge-publisher');

/**
 * `alertPublisherFor(eventBusName)`, built on the first alert instead of at cold start: budget
 * alerts are rare, and loading and constructing the EventBridge client cost the gateway's cold
 * start about 7 ms. The module is bundled; require() evaluates it (and the SDK client) on first use.
 */
function lazyAlertPublisher(eventBusName: string | undefined): BudgetAlertPublisher {
  let publisher: BudgetAlertPublisher | undefined;
  return {
    publish(event) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: evaluated on first use
      const eventBridge = require('../shared/quota/eventbridge-publisher') as EventBridgePublisherModule;
      publisher ??= eventBridge.alertPublisherFor(eventBusName);
      return publisher.publish(event);
    },
  };
}

/**
 * The dependencies as a deployed gateway Lambda builds them at cold start: its environment,
 * the config inlined in its bundle, provider keys from Secrets Manager, the replay queue.
 *
 * @example
 * export const handler = createGatewayHandler(gatewayDependenciesFromEnvironment());
 */
export function gatewayDependenciesFromEnvironment(): GatewayHandlerDeps {
  const env = loadEnvironment(FUNCTION_TABLES.gateway);
  const queue = loadReplayQueue();
  return gatewayDependencies({
    db: createDocumentClient({ region: env.region, endpoint: env.dynamodbEndpoint }),
    tables: env.tables,
    catalog: loadCatalog(),
    secrets: loadSecretResolver(),
    alerts: lazyAlertPublisher(env.eventBusName),
    approvalNotifier: approvalNotifierFor(env.eventBusName),
    identityCacheTtlMs: env.identityCacheTtlMs,
    providerTimeoutMs: env.providerTimeoutMs,
    spool: queue.queueUrl
      ? new SqsUsageSpool(queue.queueUrl, { region: env.region, endpoint: queue.endpoint })
      : undefined,
  });
}
