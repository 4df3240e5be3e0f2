import { randomBytes } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/shared/store/client';
import type { TableNames } from '../../lambdas/shared/store/schema';
import { createTables, tableNames } from '../../local/tables';

/** Tables of one test file in the shared DynamoDB Local. */
export interface TestStore {
  endpoint: string;
  db: DynamoDBDocumentClient;
  tables: TableNames;
  destroy(): void;
}

/** The DynamoDB Local endpoint the integration project's global setup started. */
export function testEndpoint(): string {
  const endpoint = process.env.TEST_DYNAMODB_ENDPOINT;
  if (!endpoint) throw new Error('TEST_DYNAMODB_ENDPOINT is unset: run integration tests through jest (global setup)');
  return endpoint;
}

/**
 * Creates the gateway's tables under a fresh prefix, from the same schema the CDK app deploys.
 *
 * @example
 * const store = await createTestStore(); afterAll(() => store.destroy());
 */
export async function createTestStore(): Promise<TestStore> {
  const endpoint = testEndpoint();
  const tables = tableNames(`t${randomBytes(5).toString('hex')}`);
  await createTables(endpoint, tables);
  const db = createDocumentClient({ region: 'us-east-1', endpoint });
  return { endpoint, db, tables, destroy: () => db.destroy() };
}
