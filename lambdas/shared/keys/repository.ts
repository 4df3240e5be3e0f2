import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queryAll } from '../store/query-all';
import { BY_PARENT_INDEX, itemKeys } from '../store/schema';
import type { TransactItem } from '../store/transactions';
import { isKeyId } from './format';
import { apiKeyRecordSchema, type ApiKeyRecord } from './schema';

const keyDoesNotExist = 'attribute_not_exists(pk)';
const keyIsLive = 'attribute_exists(pk) AND attribute_not_exists(revokedAt)';
const keyHashIs = 'attribute_not_exists(revokedAt) AND #hash = :currentHash';

/** API keys in the identity table, listed per team through the `byParent` index. */
export class ApiKeyRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The transaction item that stores a new key record (fails on a key id collision). */
  createItem(record: ApiKeyRecord): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          ...itemKeys.apiKey(record.keyId),
          parent: itemKeys.teamKeysParent(record.teamId),
          parentSort: `KEY#${record.createdAt}#${record.keyId}`,
          ...record,
        },
        ConditionExpression: keyDoesNotExist,
      },
    };
  }

  /** The transaction item that revokes a key that is not revoked yet. */
  revokeItem(keyId: string, revokedAt: string): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: itemKeys.apiKey(keyId),
        UpdateExpression: 'SET revokedAt = :at',
        ConditionExpression: keyIsLive,
        ExpressionAttributeValues: { ':at': revokedAt },
      },
    };
  }

  /**
   * The transaction item that gives a key a new secret, keeping the old one valid until
   * `previousHashExpiresAt`; only if the key still has the hash it was read with.
   */
  rotateItem(
    keyId: string,
    currentHash: string,
    newHash: string,
    rotatedAt: string,
    previousHashExpiresAt: string,
  ): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: itemKeys.apiKey(keyId),
        UpdateExpression:
          'SET #hash = :newHash, previousHash = :currentHash, previousHashExpiresAt = :until, rotatedAt = :at',
        ConditionExpression: keyHashIs,
        ExpressionAttributeNames: { '#hash': 'hash' },
        ExpressionAttributeValues: {
          ':newHash': newHash,
          ':currentHash': currentHash,
          ':until': previousHashExpiresAt,
          ':at': rotatedAt,
        },
      },
    };
  }

  /** A key record by its public id, or undefined. */
  async get(keyId: string): Promise<ApiKeyRecord | undefined> {
    // A malformed id (from a URL) cannot exist; DynamoDB would refuse an oversized key with a 400.
    if (!isKeyId(keyId)) return undefined;
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: itemKeys.apiKey(keyId), ConsistentRead: true }),
    );
    return Item ? apiKeyRecordSchema.parse(Item) : undefined;
  }

  /**
   * A team's keys, oldest first.
   *
   * @example
   * const keys = await repository.listByTeam('payments');
   */
  async listByTeam(teamId: string): Promise<ApiKeyRecord[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      IndexName: BY_PARENT_INDEX,
      KeyConditionExpression: 'parent = :parent AND begins_with(parentSort, :prefix)',
      ExpressionAttributeValues: { ':parent': itemKeys.teamKeysParent(teamId), ':prefix': 'KEY#' },
    });
    return items.map((item) => apiKeyRecordSchema.parse(item));
  }
}
