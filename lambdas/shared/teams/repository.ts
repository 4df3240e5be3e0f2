import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { putIfAbsent } from '../store/put-if-absent';
import { itemKeys } from '../store/schema';
import { teamRecordSchema, type TeamRecord } from './schema';

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
    const item = { ...itemKeys.team(team.teamId), parent: itemKeys.allTeamsParent, parentSort: team.teamId, ...team };
    if (!(await putIfAbsent(this.db, this.tableName, item))) throw new TeamAlreadyExistsError(team.teamId);
  }

  /** A team by id, or undefined. */
  async get(teamId: string): Promise<TeamRecord | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: itemKeys.team(teamId), ConsistentRead: true }),
    );
    return Item ? teamRecordSchema.parse(Item) : undefined;
  }
}
