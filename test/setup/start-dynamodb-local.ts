import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local';

/**
 * Starts one DynamoDB Local for the integration tests; each test file creates its own tables
 * under a unique prefix. Workers inherit the endpoint through the environment.
 */
export default async function startDynamoDbLocalForTests(): Promise<void> {
  const dynamodb = await startDynamoDbLocal();
  (globalThis as { __DYNAMODB_LOCAL__?: DynamoDbLocal }).__DYNAMODB_LOCAL__ = dynamodb;
  process.env.TEST_DYNAMODB_ENDPOINT = dynamodb.endpoint;
}
