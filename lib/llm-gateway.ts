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
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { gatewayConfig as repositoryConfig } from '../gateway.config';
import { parseGatewayConfig, type GatewayConfigInput } from '../lambdas/shared/catalog/schema';
import { ROUTES, type FunctionName } from '../lambdas/shared/http/routes';
import { TABLES, type TableId } from '../lambdas/shared/store/schema';
import { bedrockInvokeStatements } from './bedrock-permissions';
import { GatewayFunction } from './gateway-function';
import { GatewayTables } from './gateway-tables';

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
}

/** DynamoDB actions each Lambda's code performs on each table, and nothing else. */
const TABLE_ACCESS: Record<FunctionName, Partial<Record<TableId, readonly string[]>>> = {
  gateway: {
    identity: ['dynamodb:GetItem'],
    counters: ['dynamodb:UpdateItem'],
    usage: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
  auth: {
    identity: ['dynamodb:GetItem', 'dynamodb:PutItem'],
  },
  usage: {
    identity: ['dynamodb:GetItem'],
    usage: ['dynamodb:Query'],
  },
};

/**
 * The whole gateway as one reusable construct: an HTTP API, the gateway, auth and usage
 * Lambdas on one shared library, and the DynamoDB tables. Put it in any CDK app:
 *
 * @example
 * new LlmGateway(stack, 'Gateway', { config: myConfig, deletionProtection: true });
 */
export class LlmGateway extends Construct {
  readonly api: HttpApi;
  readonly tables: GatewayTables['tables'];
  readonly functions: Record<FunctionName, GatewayFunction>;

  constructor(scope: Construct, id: string, props: LlmGatewayProps = {}) {
    super(scope, id);
    const configInput = props.config ?? repositoryConfig;
    // Fails synth with every problem listed, long before a Lambda could fail on it.
    const config = parseGatewayConfig(configInput);
    const deletionProtection = props.deletionProtection ?? true;
    const removalPolicy = deletionProtection ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    this.tables = new GatewayTables(this, 'Tables', { deletionProtection, removalPolicy }).tables;

    const lambdaEntry = (name: FunctionName) => path.join(__dirname, '..', 'lambdas', name, 'index.ts');
    const common = { config: configInput, logRetention, removalPolicy };
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
    };
    for (const [name, access] of Object.entries(TABLE_ACCESS) as [
      FunctionName,
      Partial<Record<TableId, readonly string[]>>,
    ][]) {
      for (const [tableId, actions] of Object.entries(access) as [TableId, readonly string[]][]) {
        this.functions[name].bindTable(this.tables[tableId], TABLES[tableId], actions);
      }
    }
    for (const statement of bedrockInvokeStatements(config, {
      partition: Aws.PARTITION,
      region: Aws.REGION,
      account: Aws.ACCOUNT_ID,
    })) {
      this.functions.gateway.addToRolePolicy(statement);
    }

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
    for (const name of Object.keys(this.functions) as FunctionName[]) {
      integrations[name] = new HttpLambdaIntegration(`${name}Integration`, this.functions[name]);
    }
    const iamAuthorizer = new HttpIamAuthorizer();
    for (const route of ROUTES) {
      this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrations[route.function],
        ...(route.auth === 'iam' ? { authorizer: iamAuthorizer } : {}),
      });
    }
  }

  /** Base URL of the API, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com/`. */
  get url(): string {
    return this.api.apiEndpoint + '/';
  }
}
