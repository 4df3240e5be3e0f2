import * as path from 'node:path';
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { FunctionUrlAuthType, InvokeMode, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { EventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { gatewayConfig as repositoryConfig } from '../gateway.config';
import { parseGatewayConfig, type GatewayConfig, type GatewayConfigInput } from '../lambdas/shared/catalog/schema';
import { secretOf } from '../lambdas/shared/providers/options';
import { ROUTES, type FunctionName, type RouteDefinition } from '../lambdas/shared/http/routes';
import { TABLES, type TableId } from '../lambdas/shared/store/schema';
import { bedrockInvokeStatements, guardrailStatements } from './bedrock-permissions';
import { GatewayFunction } from './gateway-function';
import { GatewayTables } from './gateway-tables';
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
  /** API-wide throttling in front of the gateway's own per-team limits. Default: the account's limits. */
  apiThrottle?: ThrottleSettings;
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
}

/**
 * The Lambdas of the gateway: the three behind the HTTP API, the streaming one behind its
 * Function URL, and the scheduled maintenance one.
 */
export type GatewayFunctionName = FunctionName | 'stream' | 'maintenance';

const GATEWAY_TABLE_ACCESS: Partial<Record<TableId, readonly string[]>> = {
  identity: ['dynamodb:GetItem'],
  counters: ['dynamodb:UpdateItem'],
  usage: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
  // The request's audit record, written in the usage transaction (or alone when blocked).
  audit: ['dynamodb:PutItem'],
};

/** DynamoDB actions each Lambda's code performs on each table, and nothing else. */
const TABLE_ACCESS: Record<GatewayFunctionName, Partial<Record<TableId, readonly string[]>>> = {
  gateway: GATEWAY_TABLE_ACCESS,
  stream: GATEWAY_TABLE_ACCESS,
  auth: {
    identity: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query'],
    audit: ['dynamodb:PutItem', 'dynamodb:Query'],
  },
  usage: {
    // Query: the chargeback lists teams.
    identity: ['dynamodb:GetItem', 'dynamodb:Query'],
    usage: ['dynamodb:GetItem', 'dynamodb:Query'],
    audit: ['dynamodb:Query'],
  },
  maintenance: {
    identity: ['dynamodb:Query'],
    counters: ['dynamodb:Scan', 'dynamodb:UpdateItem'],
    usage: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
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
 * Lambdas on one shared library, a streaming endpoint (Function URL), and the DynamoDB tables.
 * Put it in any CDK app:
 *
 * @example
 * new LlmGateway(stack, 'Gateway', { config: myConfig, deletionProtection: true });
 */
export class LlmGateway extends Construct {
  readonly api: HttpApi;
  readonly tables: GatewayTables['tables'];
  readonly functions: Record<GatewayFunctionName, GatewayFunction>;
  /** The streaming endpoint: a Function URL in RESPONSE_STREAM mode (auth is the gateway's own key check). */
  readonly streamUrl: FunctionUrl;
  /** Dashboard, alarms, alarm topic and saved log queries. */
  readonly observability: GatewayObservability;

  constructor(scope: Construct, id: string, props: LlmGatewayProps = {}) {
    super(scope, id);
    const configInput = props.config ?? repositoryConfig;
    // Fails synth with every problem listed, long before a Lambda could fail on it.
    const config = parseGatewayConfig(configInput);
    const deletionProtection = props.deletionProtection ?? true;
    const removalPolicy = deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    this.tables = new GatewayTables(this, 'Tables', { deletionProtection, removalPolicy }).tables;

    const lambdaEntry = (folder: FunctionName | 'maintenance', file = 'index.ts') =>
      path.join(__dirname, '..', 'lambdas', folder, file);
    const common = { config, logRetention, removalPolicy };
    this.functions = {
      gateway: new GatewayFunction(this, 'GatewayFunction', {
        ...common,
        entry: lambdaEntry('gateway'),
        description: 'LLM gateway: OpenAI-compatible chat completions, models, health',
        memorySize: 1024,
        // The HTTP API gives up after 30 s; the provider deadline (25 s) leaves time to record usage.
        timeout: Duration.seconds(29),
      }),
      auth: new GatewayFunction(this, 'AuthFunction', {
        ...common,
        entry: lambdaEntry('auth'),
        description: 'LLM gateway: admin API for teams and keys',
        memorySize: 512,
        timeout: Duration.seconds(10),
      }),
      usage: new GatewayFunction(this, 'UsageFunction', {
        ...common,
        entry: lambdaEntry('usage'),
        description: 'LLM gateway: usage reports',
        memorySize: 512,
        timeout: Duration.seconds(10),
      }),
      stream: new GatewayFunction(this, 'StreamFunction', {
        ...common,
        entry: lambdaEntry('gateway', 'stream.ts'),
        description: 'LLM gateway: streaming endpoint (Function URL, response streaming)',
        memorySize: 1024,
        // Response streaming may run for up to 15 minutes; only the time used is billed.
        timeout: Duration.minutes(15),
        environment: {
          PROVIDER_TIMEOUT_MS: String((props.streamFirstEventTimeout ?? Duration.seconds(60)).toMilliseconds()),
        },
      }),
      maintenance: new GatewayFunction(this, 'MaintenanceFunction', {
        ...common,
        entry: lambdaEntry('maintenance'),
        description: 'LLM gateway: releases reservations of crashed requests, sends overdue budget alerts',
        memorySize: 512,
        timeout: Duration.minutes(5),
      }),
    };
    for (const [name, access] of Object.entries(TABLE_ACCESS) as [
      GatewayFunctionName,
      Partial<Record<TableId, readonly string[]>>,
    ][]) {
      for (const [tableId, actions] of Object.entries(access) as [TableId, readonly string[]][]) {
        this.functions[name].bindTable(this.tables[tableId], TABLES[tableId], actions);
      }
    }
    // Both gateway faces call providers: Bedrock through IAM, the others with keys from Secrets Manager.
    const callers = [this.functions.gateway, this.functions.stream];
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
      const secret = props.createProviderSecrets
        ? new Secret(this, `ProviderSecret${index}`, {
            secretName,
            description: 'LLM gateway provider API key: put the key in as the secret string',
            removalPolicy,
          })
        : secretName.startsWith('arn:')
          ? Secret.fromSecretCompleteArn(this, `ProviderSecret${index}`, secretName)
          : Secret.fromSecretNameV2(this, `ProviderSecret${index}`, secretName);
      for (const fn of callers) secret.grantRead(fn);
    }
    // Budget alerts go to the account's default event bus, where rules route them.
    const eventBus = EventBus.fromEventBusName(this, 'DefaultEventBus', 'default');
    for (const fn of [this.functions.gateway, this.functions.stream, this.functions.maintenance]) {
      fn.addEnvironment('EVENT_BUS_NAME', eventBus.eventBusName);
      eventBus.grantPutEventsTo(fn);
    }
    new Rule(this, 'MaintenanceSchedule', {
      description: 'LLM gateway maintenance: reservation sweep and budget alerts',
      schedule: Schedule.rate(Duration.minutes(5)),
      targets: [new LambdaFunction(this.functions.maintenance, { retryAttempts: 0 })],
    });

    this.observability = new GatewayObservability(this, 'Observability', {
      config,
      functions: this.functions,
      requestFunctions: [this.functions.gateway, this.functions.stream],
      tables: this.tables,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
      ...(props.alarmThresholds ? { thresholds: props.alarmThresholds } : {}),
    });

    // The gateway checks keys itself, so the URL needs no IAM auth (see README: put CloudFront/WAF in front).
    this.streamUrl = this.functions.stream.addFunctionUrl({
      authType: FunctionUrlAuthType.NONE,
      invokeMode: InvokeMode.RESPONSE_STREAM,
    });

    this.api = new HttpApi(this, 'Api', {
      description: 'LLM gateway (OpenAI-compatible)',
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy });
    new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      ...(props.apiThrottle ? { throttle: props.apiThrottle } : {}),
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            iamPrincipal: '$context.identity.userArn',
          }),
        ),
      },
    });
    const integrations = {} as Record<FunctionName, HttpLambdaIntegration>;
    for (const name of ['gateway', 'auth', 'usage'] as const) {
      integrations[name] = new HttpLambdaIntegration(`${name}Integration`, this.functions[name]);
    }
    const iamAuthorizer = new HttpIamAuthorizer();
    const routes = ROUTES.map((definition: RouteDefinition) => ({
      definition,
      constructs: this.api.addRoutes({
        path: definition.path,
        methods: [HttpMethod[definition.method]],
        integration: integrations[definition.function],
        ...(definition.auth === 'iam' ? { authorizer: iamAuthorizer } : {}),
      }),
    }));
    acknowledgeNagFindings({
      config,
      functions: this.functions,
      tablesOf: Object.fromEntries(
        Object.entries(TABLE_ACCESS).map(([name, access]) => [name, Object.keys(access) as TableId[]]),
      ),
      tables: this.tables,
      routes,
    });
  }

  /** Base URL of the API, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/`. */
  get url(): string {
    return this.api.apiEndpoint + '/';
  }
}
