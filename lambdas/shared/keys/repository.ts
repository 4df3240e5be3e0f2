import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { putIfAbsent } from '../store/put-if-absent';
import { itemKeys } from '../store/schema';
import { apiKeyRecordSchema, type ApiKeyRecord } from './schema';

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
    const item = {
      ...itemKeys.apiKey(record.keyId),
      parent: itemKeys.teamKeysParent(record.teamId),
      parentSort: `KEY#${record.createdAt}#${record.keyId}`,
      ...record,
    };
    if (!(await putIfAbsent(this.db, this.tableName, item))) throw new KeyIdCollisionError(record.keyId);
  }

  /** A key record by its public id, or undefined. */
  async get(keyId: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: itemKeys.apiKey(keyId), ConsistentRead: true }),
    );
    return Item ? apiKeyRecordSchema.parse(Item) : undefined;
  }
}
