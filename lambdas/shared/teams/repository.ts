import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { putIfAbsent } from '../store/put-if-absent';
import { queryAll } from '../store/query-all';
import { BY_PARENT_INDEX, itemKeys } from '../store/schema';
import type { TransactItem } from '../store/transactions';
import { teamIdSchema, teamRecordSchema, type TeamRecord } from './schema';

/** Raised when creating a team whose id is taken. */
export class TeamAlreadyExistsError extends Error {
  constructor(readonly teamId: string) {
    super(`team ${teamId} already exists`);
    this.name = 'TeamAlreadyExistsError';
  }
}

const teamDoesNotExist = 'attribute_not_exists(pk)';
const teamUnchangedSince = 'updatedAt = :expectedUpdatedAt';

/** Teams in the identity table, listed through the `byParent` index. */
export class TeamRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private item(team: TeamRecord) {
    return { ...itemKeys.team(team.teamId), parent: itemKeys.allTeamsParent, parentSort: team.teamId, ...team };
  }

  /**
   * Stores a new team; refuses to overwrite an existing one.
   *
   * @example
   * await teams.create(team);
   */
  async create(team: TeamRecord): Promise<void> {
    if (!(await putIfAbsent(this.db, this.tableName, this.item(team)))) throw new TeamAlreadyExistsError(team.teamId);
  }

  /** The transaction item that creates a team (fails if the id is taken). */
  createItem(team: TeamRecord): TransactItem {
    return { Put: { TableName: this.tableName, Item: this.item(team), ConditionExpression: teamDoesNotExist } };
  }

  /**
   * The transaction item that replaces a team, only if nobody changed it since it was read
   * (optimistic concurrency on `updatedAt`).
   */
  replaceItem(team: TeamRecord, expectedUpdatedAt: string): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: this.item(team),
        ConditionExpression: teamUnchangedSince,
        ExpressionAttributeValues: { ':expectedUpdatedAt': expectedUpdatedAt },
      },
    };
  }

  /** A team by id, or undefined. */
  async get(teamId: string): Promise<TeamRecord | undefined> {
    // A malformed id (from a URL) cannot exist; DynamoDB would refuse an oversized key with a 400.
    if (!teamIdSchema.safeParse(teamId).success) return undefined;
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: itemKeys.team(teamId), ConsistentRead: true }),
    );
    return Item ? teamRecordSchema.parse(Item) : undefined;
  }

  /**
   * Every team, in id order.
   *
   * @example
   * for (const team of await teams.list()) ...
   */
  async list(): Promise<TeamRecord[]> {
    const items = await queryAll(this.db, {
      TableName: this.tableName,
      IndexName: BY_PARENT_INDEX,
      KeyConditionExpression: 'parent = :parent',
      ExpressionAttributeValues: { ':parent': itemKeys.allTeamsParent },
    });
    return items.map((item) => teamRecordSchema.parse(item));
  }
}
