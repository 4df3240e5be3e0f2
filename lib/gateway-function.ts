import * as path from 'node:path';
import { ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type ICommandHooks, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { GatewayConfig } from '../lambdas/shared/catalog/schema';
import { ENVIRONMENT_VARIABLES, SERVICE_NAME } from '../lambdas/shared/config/constants';
import type { TableDefinition } from '../lambdas/shared/store/schema';

/** Props of one gateway Lambda. */
export interface GatewayFunctionProps {
  /** Path of the Lambda's `index.ts`. */
  entry: string;
  description: string;
  /**
   * The config as the construct validated it, inlined into the bundle so the Lambda reads no
   * config at run time and does not validate it again at cold start (a parse costs ~17 ms there).
   */
  config: GatewayConfig;
  memorySize?: number;
  timeout?: Duration;
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  environment?: Record<string, string>;
  /**
   * An ES module preloaded before the handler (`NODE_OPTIONS=--import`), bundled next to it: code
   * that must run during Lambda's init phase with top-level await (the post-response extension's
   * registration). Path of its `.mts` source.
   */
  preload?: string;
}

/** Where Lambda puts a function's code. */
const TASK_ROOT = '/var/task';

/**
 * The one place Lambda defaults are fixed: Node.js 22 on arm64 (cheaper per ms, fast cold
 * starts), one minified, tree-shaken esbuild bundle with its source map, a log group with a
 * retention, and a role of its own that may write to that log group and nothing else (instead
 * of the managed `AWSLambdaBasicExecutionRole`, which lets a function create and write any log
 * group of the account). Tables are bound with {@link GatewayFunction.bindTable}, which sets the table's
 * environment variable and grants exactly the listed actions, nothing more.
 */
export class GatewayFunction extends NodejsFunction {
  /**
   * The function's own role. It is a sibling of the function in the construct tree (a role
   * passed to a function cannot be its child), so cdk-nag acknowledgements of the role's
   * policies go on this construct, not on the function.
   */
  readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: GatewayFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      // A fixed text: IAM descriptions accept fewer characters than Lambda's.
      description: 'LLM gateway function role: writes only its own log group',
      inlinePolicies: { logs: ownLogGroupPolicy(logGroup) },
    });
    super(scope, id, {
      role,
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(29),
      bundling: {
        minify: true,
        sourceMap: true,
        target: 'node22',
        format: OutputFormat.CJS,
        // Prefer packages' ES module builds: esbuild tree-shakes them far better.
        mainFields: ['module', 'main'],
        define: { __GATEWAY_CONFIG__: JSON.stringify(props.config) },
        ...(props.preload ? { commandHooks: preloadBundling(props.preload) } : {}),
      },
      // No NODE_OPTIONS=--enable-source-maps: Node would parse each bundle's source map at load,
      // about 40 ms of every cold start (measured by `npm run bench`). The maps ship with the
      // code, so a logged stack trace can be mapped back to the source after the fact.
      environment: {
        [ENVIRONMENT_VARIABLES.powertoolsServiceName]: SERVICE_NAME,
        [ENVIRONMENT_VARIABLES.powertoolsLogLevel]: 'INFO',
        ...(props.preload ? { NODE_OPTIONS: `--import=${TASK_ROOT}/${preloadFile(props.preload)}` } : {}),
        ...props.environment,
      },
      logGroup,
    });
    this.executionRole = role;
  }

  /**
   * Gives this function one table: its name in the table's environment variable and IAM
   * permission for exactly `actions`.
   *
   * @example
   * gateway.bindTable(tables.counters, TABLES.counters, ['dynamodb:UpdateItem']);
   */
  bindTable(table: ITableV2, definition: TableDefinition, actions: readonly string[]): void {
    this.addEnvironment(definition.envVar, table.tableName);
    table.grant(this, ...actions);
  }
}

/**
 * Writing to one log group: creating streams in it and putting events in them. The group's bare
 * ARN (CreateLogStream is authorized on the group) and its `Arn` attribute, which ends in `:*`
 * and so covers the group's streams (PutLogEvents). No `logs:CreateLogGroup`: the group is
 * created by the stack, so the function never needs to.
 */
function ownLogGroupPolicy(logGroup: LogGroup): PolicyDocument {
  const groupArn = Stack.of(logGroup).formatArn({
    service: 'logs',
    resource: 'log-group',
    resourceName: logGroup.logGroupName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [groupArn, logGroup.logGroupArn],
      }),
    ],
  });
}

/** The bundled preload's file name: `after-response-extension.mts` → `after-response-extension.mjs`. */
function preloadFile(source: string): string {
  return path.basename(source).replace(/\.mts$/, '.mjs');
}

/**
 * Bundles a preload module next to the handler: one ES module of its own (the handler bundle is
 * CommonJS, and a preload needs top-level await), with the same esbuild the handler is built with.
 */
function preloadBundling(source: string): ICommandHooks {
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (inputDir, outputDir) => [
      [
        path.join(inputDir, 'node_modules', '.bin', 'esbuild'),
        path.join(inputDir, path.relative(path.join(__dirname, '..'), source)),
        '--bundle',
        '--platform=node',
        '--format=esm',
        '--target=node22',
        '--minify',
        `--outfile=${path.join(outputDir, preloadFile(source))}`,
      ].join(' '),
    ],
  };
}
