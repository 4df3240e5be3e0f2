import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const itemDoesNotExist = 'attribute_not_exists(pk)';

/**
 * Writes an item only if no item has its key, in one conditional put. Returns false, changing
 * nothing, when the key is taken, so each repository can raise its own named error.
 *
 * @example
 * if (!(await putIfAbsent(db, table, item))) throw new TeamAlreadyExistsError(teamId);
 */
export async function putIfAbsent(
  db: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
): Promise<boolean> {
  try {
    await db.send(new PutCommand({ TableName: tableName, Item: item, ConditionExpression: itemDoesNotExist }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
