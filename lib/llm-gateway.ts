import * as path from 'node:path';
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { HttpApi, ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { EventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { gatewayConfig as repositoryConfig } from '../gateway.config';
import { parseGatewayConfig, type GatewayConfig, type GatewayConfigInput } from '../lambdas/shared/catalog/schema';
import { secretOf } from '../lambdas/shared/providers/options';
import type { FunctionName } from '../lambdas/shared/http/routes';
import { BUDGET_ALERT_EVENT_BUS, ENVIRONMENT_VARIABLES } from '../lambdas/shared/config/constants';
import { FUNCTION_TABLES, type GatewayFunctionName } from '../lambdas/shared/config/function-tables';
import { TABLES, type TableId } from '../lambdas/shared/store/schema';
import { adminAllowListEnvironment } from './admin-allow-list';
import { bedrockInvokeStatements, guardrailStatements } from './bedrock-permissions';
import { probedModels } from '../lambdas/shared/catalog/health-probe';
import { deployedCatalog, scheduleHealthProbe, scheduleModelLifecycleCheck } from './deployed-catalog';
import { GatewayFunction } from './gateway-function';
import { createConsoleDoor, createHttpApiDoor, createStreamDoor, DEFAULT_STREAM_RESERVED_CONCURRENCY } from './doors';
import { GatewayTables } from './gateway-tables';
import { UsageReplay } from './usage-replay';
import { acknowledgeNagFindings } from './nag-acknowledgements';
import { GatewayObservability, type AlarmThresholds } from './observability';

/** Options of the gateway construct. Everything has a production-minded default. */
export interface LlmGatewayProps {
  /** Providers, model catalog and team defaults; defaults to the repository's `gateway.config.ts`. */
  config?: GatewayConfigInput;
  /**
   * Protect the tables from deletion (and retain them and the log groups when the stack is
   * deleted). Default true; turn off only for throwaway stacks.
   */
  deletionProtection?: boolean;
  /** Retention of the Lambda and API access logs. Default one month. */
  logRetention?: RetentionDays;
  /**
   * Throttling of every HTTP API route, in front of the gateway's own per-team limits; requests
   * over it get API Gateway's 429 before any Lambda runs. Default {@link DEFAULT_API_THROTTLE}.
   */
  apiThrottle?: ThrottleSettings;
  /**
   * Tighter throttling of each admin route (IAM-signed): admins make a handful of calls, so a
   * flood there is a script gone wrong or a stolen credential. Default {@link DEFAULT_ADMIN_THROTTLE}.
   */
  adminThrottle?: ThrottleSettings;
  /**
   * Throttling of the streaming door's stage (new requests per second and burst); requests over
   * it get API Gateway's 429 before any Lambda runs. Default {@link DEFAULT_STREAM_THROTTLE}.
   */
  streamThrottle?: ThrottleSettings;
  /**
   * Reserved concurrency of the streaming function: the most streams in flight at once. A stream
   * holds its slot for its whole life (up to 15 minutes), so without a cap a flood of slow
   * streams would take the account's whole Lambda concurrency (1,000 by default per region) and
   * starve every other function. Past the cap Lambda throttles new invocations (API Gateway
   * answers them with a 5xx) and the `StreamLambdaThrottles` alarm fires; the
   * `StreamConcurrencyNearLimit` alarm fires before, at 80 %. Default 100.
   */
  streamReservedConcurrency?: number;
  /**
   * ARN of an AWS WAF web ACL (scope REGIONAL, same region) to associate with the streaming
   * door's stage, for IP reputation, rate-based and size rules. Default none.
   */
  webAclArn?: string;
  /**
   * Create the Secrets Manager secrets the config's provider connections name (`apiKeySecret`),
   * empty, for an admin to fill in with `aws secretsmanager put-secret-value`. Default false: the
   * secrets already exist and are only referenced.
   */
  createProviderSecrets?: boolean;
  /**
   * Deadline for the first event of a streamed call on the streaming endpoint (retries and
   * fallbacks included). Default 60 s; the stream itself may then run up to the function's 15 min.
   */
  streamFirstEventTimeout?: Duration;
  /** Email address subscribed to the alarm topic (alarms and budget alerts). Default none. */
  alarmEmail?: string;
  /** Alarm thresholds; the defaults are in {@link AlarmThresholds}. */
  alarmThresholds?: AlarmThresholds;
  /**
   * Deploy the config's mock connections and models (deterministic answers, for local use and
   * tests). Default: the `enableMockModels` context (`-c enableMockModels=true`), else false.
   */
  enableMockModels?: boolean;
}

export type { GatewayFunctionName };

/** The DynamoDB actions a function performs on each table `FUNCTION_TABLES` gives it: no table more, none less. */
type TableAccess = {
  readonly [F in GatewayFunctionName]: Readonly<Record<(typeof FUNCTION_TABLES)[F][number], readonly string[]>>;
};

const GATEWAY_TABLE_ACCESS = {
  identity: ['dynamodb:GetItem'],
  counters: ['dynamodb:UpdateItem'],
  // GetItem: the response cache's lookup (its answers are items of the usage table).
  usage: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  // The request's audit record, written in the usage transaction (or alone when blocked); a held
  // tool call's approval (PutItem), read and marked released when the client redeems it.
  audit: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
} as const;

/**
 * DynamoDB actions each Lambda's code performs on each table, and nothing else. Which tables a
 * function gets is `FUNCTION_TABLES` (its `index.ts` loads the same list); this adds the actions.
 */
const TABLE_ACCESS: TableAccess = {
  gateway: GATEWAY_TABLE_ACCESS,
  stream: GATEWAY_TABLE_ACCESS,
  auth: {
    identity: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
    // GetItem, UpdateItem: approving or rejecting a held tool call; Query: listing them.
    audit: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  },
  usage: {
    // Query: the chargeback lists teams.
    identity: ['dynamodb:GetItem', 'dynamodb:Query'],
    // BatchGetItem: a month's spend is the sum of its aggregate shards' month rows.
    usage: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query'],
    audit: ['dynamodb:Query'],
  },
  // Applies queued usage writes: the same transaction the gateway functions write.
  replay: {
    counters: ['dynamodb:UpdateItem'],
    usage: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    audit: ['dynamodb:PutItem'],
  },
  maintenance: {
    identity: ['dynamodb:Query'],
    counters: ['dynamodb:Scan', 'dynamodb:UpdateItem'],
    // BatchGetItem: the overdue budget alerts read each team's month spend (its aggregate shards).
    usage: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
  },
};

/** The distinct Secrets Manager secrets the config's provider connections read their keys from. */
function providerSecretNames(config: GatewayConfig): string[] {
  const names = Object.values(config.providers)
    .map(secretOf)
    .filter((name): name is string => name !== undefined);
  return [...new Set(names)].sort();
}

/**
 * The whole gateway as one reusable construct: an HTTP API, the gateway, auth and usage
 * Lambdas on one shared library, a streaming door (a REST API with response streaming), and the
 * DynamoDB tables.
 * Put it in any CDK app:
 *
 * @example
 * new LlmGateway(stack, 'Gateway', { config: myConfig, deletionProtection: true });
 */
export class LlmGateway extends Construct {
  readonly api: HttpApi;
  readonly tables: GatewayTables['tables'];
  readonly functions: Record<GatewayFunctionName, GatewayFunction>;
  /**
   * The streaming door: a REST API whose methods are the gateway function's routes, each a Lambda
   * proxy integration in STREAM mode, throttled at the stage (auth is the gateway's own key check).
   */
  readonly streamApi: RestApi;
  /** The console door for signed-in users (admin and usage routes behind the JWT authorizer); only with the config's `sso`. */
  readonly consoleApi?: HttpApi;
  /** Dashboard, alarms, alarm topic and saved log queries. */
  readonly observability: GatewayObservability;

  constructor(scope: Construct, id: string, props: LlmGatewayProps = {}) {
    super(scope, id);
    const configInput = props.config ?? repositoryConfig;
    // Fails synth with every problem listed, long before a Lambda could fail on it; then resolved
    // for this stack's region (inference-profile prefixes) with mock models dropped unless enabled.
    const config = deployedCatalog(this, parseGatewayConfig(configInput), props.enableMockModels);
    const deletionProtection = props.deletionProtection ?? true;
    const removalPolicy = deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    this.tables = new GatewayTables(this, 'Tables', { deletionProtection, removalPolicy }).tables;

    this.functions = this.createFunctions(config, props, logRetention, removalPolicy);
    for (const name of Object.keys(FUNCTION_TABLES) as GatewayFunctionName[]) {
      const access: Partial<Record<TableId, readonly string[]>> = TABLE_ACCESS[name];
      for (const tableId of FUNCTION_TABLES[name]) {
        // `TableAccess` makes the compiler check that every table of the function has its actions.
        this.functions[name].bindTable(this.tables[tableId], TABLES[tableId], access[tableId]!);
      }
    }
    this.grantProviderAccess(config, props.createProviderSecrets === true, removalPolicy);
    const usageReplay = this.scheduleBackgroundWork(config, removalPolicy);

    // A stream holds a concurrency slot for its whole life: cap them (see `streamReservedConcurrency`).
    const streamReservedConcurrency = props.streamReservedConcurrency ?? DEFAULT_STREAM_RESERVED_CONCURRENCY;
    if (!Number.isInteger(streamReservedConcurrency) || streamReservedConcurrency < 1) {
      throw new Error(
        `LlmGateway: streamReservedConcurrency must be a positive integer (got ${String(streamReservedConcurrency)}).`,
      );
    }
    // GatewayFunction fixes the defaults every function shares; this cap is the stream function's alone.
    (this.functions.stream.node.defaultChild as CfnFunction).reservedConcurrentExecutions = streamReservedConcurrency;

    this.observability = new GatewayObservability(this, 'Observability', {
      config,
      functions: this.functions,
      reservedConcurrency: { stream: streamReservedConcurrency },
      requestFunctions: [this.functions.gateway, this.functions.stream],
      tables: this.tables,
      removalPolicy,
      alarmEmail: props.alarmEmail,
      thresholds: props.alarmThresholds,
    });

    usageReplay.addAlarms(this.observability);

    this.streamApi = createStreamDoor(this, this.functions.stream, { ...props, logRetention, removalPolicy });

    const { api, routes } = createHttpApiDoor(this, this.functions, { ...props, logRetention, removalPolicy });
    this.api = api;
    if (config.sso) {
      this.consoleApi = createConsoleDoor(this, this.functions, config.sso, { ...props, logRetention, removalPolicy });
    }
    acknowledgeNagFindings({
      config,
      functions: this.functions,
      tablesOf: Object.fromEntries(Object.entries(FUNCTION_TABLES).map(([name, tables]) => [name, [...tables]])),
      tables: this.tables,
      routes,
      streamApi: this.streamApi,
      hasWebAcl: Boolean(props.webAclArn),
    });
  }

  /** The six Lambdas, with the defaults `GatewayFunction` fixes and each one's own limits. */
  private createFunctions(
    config: GatewayConfig,
    props: LlmGatewayProps,
    logRetention: RetentionDays,
    removalPolicy: RemovalPolicy,
  ): Record<GatewayFunctionName, GatewayFunction> {
    const lambdaEntry = (folder: FunctionName | 'maintenance' | 'replay', file = 'index.ts') =>
      path.join(__dirname, '..', 'lambdas', folder, file);
    const common = { config, logRetention, removalPolicy };
    // The auth and usage Lambdas serve the admin routes: both get the admin allow-list.
    const adminEnvironment = adminAllowListEnvironment(this, config);
    return {
      gateway: new GatewayFunction(this, 'GatewayFunction', {
        ...common,
        entry: lambdaEntry('gateway'),
        description: 'LLM gateway: OpenAI-compatible chat completions, models, health',
        memorySize: 1024,
        // Registers the post-response extension at init: usage is recorded after the answer.
        preload: lambdaEntry('gateway', 'after-response-extension.mts'),
        // The HTTP API gives up after 30 s; the provider deadline (25 s) leaves time to record usage.
        timeout: Duration.seconds(29),
      }),
      auth: new GatewayFunction(this, 'AuthFunction', {
        ...common,
        entry: lambdaEntry('auth'),
        description: 'LLM gateway: admin API for teams and keys',
        memorySize: 512,
        timeout: Duration.seconds(10),
        environment: adminEnvironment,
      }),
      usage: new GatewayFunction(this, 'UsageFunction', {
        ...common,
        entry: lambdaEntry('usage'),
        description: 'LLM gateway: usage reports',
        memorySize: 512,
        timeout: Duration.seconds(10),
        environment: adminEnvironment,
      }),
      stream: new GatewayFunction(this, 'StreamFunction', {
        ...common,
        entry: lambdaEntry('gateway', 'stream.ts'),
        description: 'LLM gateway: streaming endpoint (REST API, response streaming)',
        memorySize: 1024,
        // Response streaming may run for up to 15 minutes; only the time used is billed.
        timeout: Duration.minutes(15),
        environment: {
          [ENVIRONMENT_VARIABLES.providerTimeoutMs]: String(
            (props.streamFirstEventTimeout ?? Duration.seconds(60)).toMilliseconds(),
          ),
        },
      }),
      maintenance: new GatewayFunction(this, 'MaintenanceFunction', {
        ...common,
        entry: lambdaEntry('maintenance'),
        description: 'LLM gateway: releases reservations of crashed requests, sends overdue budget alerts',
        memorySize: 512,
        timeout: Duration.minutes(5),
      }),
      replay: new GatewayFunction(this, 'ReplayFunction', {
        ...common,
        entry: lambdaEntry('replay'),
        description: 'LLM gateway: applies usage writes DynamoDB refused in time, from the replay queue',
        memorySize: 256,
        timeout: Duration.seconds(30),
      }),
    };
  }

  /**
   * Both gateway functions call providers: Bedrock through IAM (exactly the catalog's models and
   * the profiles' guardrails), the others with keys from Secrets Manager (exactly the secrets the
   * connections name).
   */
  private grantProviderAccess(config: GatewayConfig, createSecrets: boolean, removalPolicy: RemovalPolicy): void {
    // Both gateway faces call providers: Bedrock through IAM, the others with keys from Secrets Manager.
    const callers = [this.functions.gateway, this.functions.stream];
    // The health probe (maintenance) calls the probed models only.
    const probed = { ...config, models: probedModels(config) };
    // A probe is one chat call: InvokeModel (Converse is authorised as it), nothing else.
    for (const statement of bedrockInvokeStatements(
      probed,
      { partition: Aws.PARTITION, region: Aws.REGION, account: Aws.ACCOUNT_ID },
      ['bedrock:InvokeModel'],
    )) {
      this.functions.maintenance.addToRolePolicy(statement);
    }
    const probedSecrets = new Set(probed.models.map((model) => secretOf(config.providers[model.provider]!)));
    for (const statement of bedrockInvokeStatements(config, {
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
    })) {
      for (const fn of callers) fn.addToRolePolicy(statement);
    }
    for (const statement of guardrailStatements(config, {
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
    })) {
      for (const fn of callers) fn.addToRolePolicy(statement);
    }
    for (const [index, secretName] of providerSecretNames(config).entries()) {
      const secret = createSecrets
        ? new Secret(this, `ProviderSecret${index}`, {
            secretName,
            description: 'LLM gateway provider API key: put the key in as the secret string',
            removalPolicy,
          })
        : secretName.startsWith('arn:')
          ? Secret.fromSecretCompleteArn(this, `ProviderSecret${index}`, secretName)
          : Secret.fromSecretNameV2(this, `ProviderSecret${index}`, secretName);
      for (const fn of callers) secret.grantRead(fn);
      if (probedSecrets.has(secretName)) secret.grantRead(this.functions.maintenance);
    }
  }

  /**
   * What runs beside the requests: budget alerts to the event bus, the maintenance schedule
   * (reservation sweep, budget alerts, the daily model lifecycle check), and the usage replay
   * queue with its replay function.
   */
  private scheduleBackgroundWork(config: GatewayConfig, removalPolicy: RemovalPolicy): UsageReplay {
    // Budget alerts go to the account's default event bus, where rules route them.
    const eventBus = EventBus.fromEventBusName(this, 'DefaultEventBus', BUDGET_ALERT_EVENT_BUS);
    for (const fn of [this.functions.gateway, this.functions.stream, this.functions.maintenance]) {
      fn.addEnvironment(ENVIRONMENT_VARIABLES.eventBusName, eventBus.eventBusName);
      eventBus.grantPutEventsTo(fn);
    }
    new Rule(this, 'MaintenanceSchedule', {
      description: 'LLM gateway maintenance: reservation sweep and budget alerts',
      schedule: Schedule.rate(Duration.minutes(5)),
      targets: [new LambdaFunction(this.functions.maintenance, { retryAttempts: 0 })],
    });
    scheduleModelLifecycleCheck(this, this.functions.maintenance);
    if (config.healthProbe) scheduleHealthProbe(this, this.functions.maintenance);
    // Usage DynamoDB refuses in time goes to a queue that does not depend on it, and lands later.
    return new UsageReplay(this, 'UsageReplay', {
      replay: this.functions.replay,
      senders: [this.functions.gateway, this.functions.stream],
      sweeper: this.functions.maintenance,
      removalPolicy,
    });
  }

  /** Base URL of the API, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/`. */
  get url(): string {
    return this.api.apiEndpoint + '/';
  }

  /** Base URL of the streaming door, e.g. `https://def456.execute-api.eu-west-1.amazonaws.com/stream/`. */
  get streamUrl(): string {
    return this.streamApi.url;
  }

  /** Base URL of the console door, when single sign-on is configured. */
  get consoleUrl(): string | undefined {
    return this.consoleApi ? this.consoleApi.apiEndpoint + '/' : undefined;
  }
}
