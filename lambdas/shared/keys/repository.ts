import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { itemKeys } from '../store/schema';
import { apiKeyRecordSchema, type ApiKeyRecord } from './schema';

const keyDoesNotExist = 'attribute_not_exists(pk)';

/** Raised when a generated key id collides with an existing one (astronomically rare). */
export class KeyIdCollisionError extends Error {
  constructor(readonly keyId: string) {
    super(`key id ${keyId} already exists`);
    this.name = 'KeyIdCollisionError';
  }
}

/** API keys in the identity table, listed per team through the `byParent` index. */
export class ApiKeyRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Stores a new key record.
   *
   * @example
   * await keys.create({ keyId, teamId, hash: hashApiKey(plaintext), createdAt });
   */
  async create(record: ApiKeyRecord): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...itemKeys.apiKey(record.keyId),
            parent: itemKeys.teamKeysParent(record.teamId),
            parentSort: `KEY#${record.createdAt}#${record.keyId}`,
            ...record,
          },
          ConditionExpression: keyDoesNotExist,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new KeyIdCollisionError(record.keyId);
      throw error;
    }
  }

  /** A key record by its public id, or undefined. */
  async get(keyId: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: itemKeys.apiKey(keyId), ConsistentRead: true }),
    );
    return Item ? apiKeyRecordSchema.parse(Item) : undefined;
  }
}
