import { Aws, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { GatewayConfig } from '../lambdas/shared/catalog/schema';
import { routeKey, type RouteDefinition } from '../lambdas/shared/http/routes';
import { TABLES, type TableId } from '../lambdas/shared/store/schema';
import { bedrockInvokeStatements } from './bedrock-permissions';
import type { GatewayFunction } from './gateway-function';

/**
 * The cdk-nag (AwsSolutions) findings the gateway accepts, each on the construct it concerns
 * and each with its reason. Anything not listed here fails the cdk-nag test, so a new finding
 * is either fixed or argued for in this file.
 *
 * A list of acknowledgements, each with its reason: one place to read what the stack accepts.
 */
export function acknowledgeNagFindings(args: {
  config: GatewayConfig;
  functions: Record<string, GatewayFunction>;
  /** Each function's tables (from the least-privilege table access map). */
  tablesOf: Record<string, TableId[]>;
  tables: Record<TableId, ITableV2>;
  routes: { definition: RouteDefinition; constructs: HttpRoute[] }[];
  /** The streaming door. */
  streamApi: RestApi;
  /** Whether a WAF web ACL is associated with the streaming door's stage. */
  hasWebAcl: boolean;
}): void {
  const noAuthorizer = (auth: RouteDefinition['auth']) =>
    auth === 'none'
      ? 'The health check is public by design and reveals nothing.'
      : 'Team API keys are verified by the gateway Lambda itself (hashed, checksummed, cached at most 30 s); an API Gateway authorizer would add a hop and a second cache without adding a check.';
  for (const { definition, constructs } of args.routes) {
    if (definition.auth === 'iam') continue;
    for (const route of constructs) {
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: noAuthorizer(definition.auth) });
    }
  }
  const streamRoutes = new Map(args.routes.map(({ definition }) => [routeKey(definition), definition.auth]));
  for (const method of args.streamApi.methods) {
    const auth = streamRoutes.get(`${method.httpMethod} ${method.resource.path}`) ?? 'key';
    Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason: noAuthorizer(auth) });
    Validations.of(method).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Callers are services and tools holding team API keys, not Cognito users; the Lambda verifies the key.',
    });
  }
  Validations.of(args.streamApi).acknowledge({
    id: 'AwsSolutions-APIG2',
    reason:
      "The gateway Lambda validates every body (zod) and answers in OpenAI's error shape, which OpenAI clients parse; API Gateway request models would duplicate the schema and answer in another shape.",
  });
  Validations.of(args.streamApi).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    reason:
      "API Gateway's account-wide logging role, without which REST API access and execution logs cannot be written; the AWS managed policy allows CloudWatch Logs actions only (create, describe, write and read log groups and streams).",
  });
  if (!args.hasWebAcl) {
    Validations.of(args.streamApi).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        "A WAF web ACL is optional (the webAclArn prop associates one); without it the stage throttle and the streaming function's reserved concurrency bound the door.",
    });
  }
  const stack = Stack.of(Object.values(args.functions)[0]!);
  const partition = '<AWS::Partition>';
  // Cross-region inference profiles route to the model in any region of their geography, so the
  // foundation-model ARNs behind a profile carry a region wildcard (model ids are still exact).
  const bedrockWildcards = bedrockInvokeStatements(args.config, {
    partition: Aws.PARTITION,
    region: Aws.REGION,
    account: Aws.ACCOUNT_ID,
  })
    .flatMap((statement) => statement.resources)
    .filter((resource) => resource.includes('*'))
    .map((resource) => stack.resolve(resource) as unknown)
    .map((resolved) => (typeof resolved === 'string' ? resolved : joined(resolved, partition)));
  for (const [name, fn] of Object.entries(args.functions)) {
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'nodejs22.x is the runtime the gateway is built and tested for; a runtime upgrade is a tested change.',
    });
    for (const tableId of args.tablesOf[name] ?? []) {
      if (TABLES[tableId].globalSecondaryIndexes.length === 0) continue;
      const logicalId = stack.resolve(stack.getLogicalId(args.tables[tableId].node.defaultChild as CfnElement));
      Validations.of(fn.executionRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/index/*]`,
        reason: `The ${tableId} table's own secondary indexes, with the same item and Query actions as the table (never Scan): a grant on a table with indexes covers its index/* too. No other table.`,
      });
    }
    for (const resource of bedrockWildcards) {
      Validations.of(fn.executionRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${resource}]`,
        reason: 'A cross-region inference profile may serve its model from any region of its geography.',
      });
    }
  }
  if (args.functions.maintenance) {
    Validations.of(args.functions.maintenance.executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only bedrock:ListFoundationModels (the daily model lifecycle check), an action that supports no resource-level permission; it reads the public model list, nothing of the account.',
    });
  }
}

/** An `Fn::Join` of strings and a partition reference, as cdk-nag prints it. */
function joined(value: unknown, partition: string): string {
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return String(value);
  return join[1].map((part) => (typeof part === 'string' ? part : partition)).join(join[0]);
}
