import type { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type TableDefinition, type TableId } from '../lambdas/shared/store/schema';

/** Props of the gateway's tables. */
export interface GatewayTablesProps {
  deletionProtection: boolean;
  removalPolicy: RemovalPolicy;
}

function createTable(scope: Construct, definition: TableDefinition, props: GatewayTablesProps): TableV2 {
  return new TableV2(scope, definition.constructId, {
    partitionKey: { name: definition.partitionKey, type: AttributeType.STRING },
    sortKey: definition.sortKey ? { name: definition.sortKey, type: AttributeType.STRING } : undefined,
    billing: Billing.onDemand(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: props.deletionProtection,
    removalPolicy: props.removalPolicy,
    timeToLiveAttribute: definition.timeToLiveAttribute,
    globalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({
      indexName: index.indexName,
      partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
      sortKey: { name: index.sortKey, type: AttributeType.STRING },
    })),
  });
}

/**
 * The gateway's DynamoDB tables, created from the shared schema (the same definitions the local
 * runtime and the tests use): on-demand, point-in-time recovery, TTL where items expire.
 */
export class GatewayTables extends Construct {
  readonly tables: Record<TableId, TableV2>;

  constructor(scope: Construct, id: string, props: GatewayTablesProps) {
    super(scope, id);
    this.tables = {
      identity: createTable(this, TABLES.identity, props),
      usage: createTable(this, TABLES.usage, props),
      counters: createTable(this, TABLES.counters, props),
      audit: createTable(this, TABLES.audit, props),
    };
  }
}
