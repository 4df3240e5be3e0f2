import {
  CreateTableCommand,
  ResourceInUseException,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableDefinition, type TableId, type TableNames } from '../lambdas/shared/store/schema';

/**
 * Table names with a common prefix: `llm-gateway-identity`, ... for the local runtime; a
 * unique prefix per test file so suites never share state.
 *
 * @example
 * tableNames('test-abc') // { identity: 'test-abc-identity', usage: 'test-abc-usage', counters: 'test-abc-counters' }
 */
export function tableNames(prefix: string): TableNames {
  return Object.fromEntries((Object.keys(TABLES) as TableId[]).map((id) => [id, `${prefix}-${id}`])) as TableNames;
}

/** The CreateTable request for a table definition, the same one the CDK construct deploys. */
export function createTableInput(definition: TableDefinition, tableName: string): CreateTableCommandInput {
  const attributes = new Set<string>([definition.partitionKey]);
  if (definition.sortKey) attributes.add(definition.sortKey);
  for (const index of definition.globalSecondaryIndexes) {
    attributes.add(index.partitionKey);
    attributes.add(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: definition.partitionKey, KeyType: 'HASH' },
      ...(definition.sortKey ? [{ AttributeName: definition.sortKey, KeyType: 'RANGE' as const }] : []),
    ],
    // DynamoDB rejects an empty list: none is sent for a table without indexes
    GlobalSecondaryIndexes:
      definition.globalSecondaryIndexes.length > 0
        ? definition.globalSecondaryIndexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          }))
        : undefined,
  };
}

/**
 * Creates every gateway table (with TTL where the schema has it) under the given names in a
 * DynamoDB Local. Ours runs with `-sharedDb`; one started without it keeps tables per region, so
 * `region` is the one the gateway's clients use. DynamoDB Local ignores credentials; the SDK
 * wants some.
 *
 * @example
 * await createTables(dynamodb.endpoint, tableNames('llm-gateway'));
 */
export async function createTables(endpoint: string, names: TableNames, region = 'us-east-1'): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await Promise.all(
      (Object.keys(TABLES) as TableId[]).map(async (id) => {
        const definition: TableDefinition = TABLES[id];
        try {
          await client.send(new CreateTableCommand(createTableInput(definition, names[id])));
        } catch (error) {
          // Another gateway process on the same DynamoDB Local made it (several local instances).
          if (error instanceof ResourceInUseException) return;
          throw error;
        }
        if (definition.timeToLiveAttribute) {
          await client.send(
            new UpdateTimeToLiveCommand({
              TableName: names[id],
              TimeToLiveSpecification: { AttributeName: definition.timeToLiveAttribute, Enabled: true },
            }),
          );
        }
      }),
    );
  } finally {
    client.destroy();
  }
}
