import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { GatewayConfig } from '../lambdas/shared/catalog/schema';
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
}

/**
 * The one place Lambda defaults are fixed: Node.js 22 on arm64 (cheaper per ms, fast cold
 * starts), one minified, tree-shaken esbuild bundle with its source map, a log group with a
 * retention. Tables are bound with {@link GatewayFunction.bindTable}, which sets the table's
 * environment variable and grants exactly the listed actions, nothing more.
 */
export class GatewayFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: GatewayFunctionProps) {
    super(scope, id, {
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
      },
      // No NODE_OPTIONS=--enable-source-maps: Node would parse each bundle's source map at load,
      // about 40 ms of every cold start (measured by `npm run bench`). The maps ship with the
      // code, so a logged stack trace can be mapped back to the source after the fact.
      environment: {
        POWERTOOLS_SERVICE_NAME: 'llm-gateway',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...props.environment,
      },
      logGroup: new LogGroup(scope, `${id}Logs`, {
        retention: props.logRetention,
        removalPolicy: props.removalPolicy,
      }),
    });
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
