import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { itemKeys } from '../store/schema';
import { teamRecordSchema, type TeamRecord } from './schema';

const teamDoesNotExist = 'attribute_not_exists(pk)';

/** Raised when creating a team whose id is taken. */
export class TeamAlreadyExistsError extends Error {
  constructor(readonly teamId: string) {
    super(`team ${teamId} already exists`);
    this.name = 'TeamAlreadyExistsError';
  }
}

/** Teams in the identity table. */
export class TeamRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Stores a new team; refuses to overwrite an existing one.
   *
   * @example
   * await teams.create(team);
   */
  async create(team: TeamRecord): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...itemKeys.team(team.teamId),
            parent: itemKeys.allTeamsParent,
            parentSort: team.teamId,
            ...team,
          },
          ConditionExpression: teamDoesNotExist,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new TeamAlreadyExistsError(team.teamId);
      throw error;
    }
  }

  /** A team by id, or undefined. */
  async get(teamId: string): Promise<TeamRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: itemKeys.team(teamId), ConsistentRead: true }),
    );
    return Item ? teamRecordSchema.parse(Item) : undefined;
  }
}
