import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { RATE_LIMIT_HEADERS } from '../http/headers';
import { itemKeys } from '../store/schema';
import { RateLimitExceededError } from './errors';
import {
  formatResetDuration,
  msUntilWindowReset,
  RATE_WINDOW_RETENTION_SECONDS,
  RATE_WINDOW_SECONDS,
  windowStartSeconds,
} from './rate-window';

/** The requests-per-minute limits that apply to one call. */
export interface RequestLimits {
  teamId: string;
  keyId: string;
  teamRequestsPerMinute: number;
  /** The key's own limit, when it has one narrower than the team's. */
  keyRequestsPerMinute?: number;
}

/** Where the binding limit stands after an admitted request, for OpenAI's rate-limit headers. */
export interface RateLimitStatus {
  limitRequests: number;
  remainingRequests: number;
  resetMs: number;
}

/** Counter attribute names inside a team's window item. */
const TEAM_REQUESTS = 'teamRequests';
const keyRequestsAttribute = (keyId: string) => `key_${keyId}_requests`;

const underTeamLimit = '(attribute_not_exists(#teamRequests) OR #teamRequests < :teamLimit)';
const underKeyLimit = '(attribute_not_exists(#keyRequests) OR #keyRequests < :keyLimit)';

/**
 * Requests-per-minute limits shared by every Lambda instance. A team's counters for one window
 * (the team's total and each key's) live in one DynamoDB item, so admitting a request is one
 * conditional `UpdateItem`: DynamoDB applies concurrent updates to an item one at a time, so N
 * parallel requests against a limit of L admit exactly min(N, L), and a refused request changes
 * nothing. One item also avoids transactions and the conflicts they have on hot counters.
 */
export class RateLimiter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts one request against the team's and the key's limits, or throws
   * {@link RateLimitExceededError} without counting it.
   *
   * @example
   * const status = await limiter.admit({ teamId, keyId, teamRequestsPerMinute: 60 });
   */
  async admit(limits: RequestLimits): Promise<RateLimitStatus> {
    const nowMs = this.now();
    const windowStart = windowStartSeconds(nowMs);
    const resetMs = msUntilWindowReset(nowMs);
    const keyLimit = limits.keyRequestsPerMinute;
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKeys.rateWindow(limits.teamId, windowStart),
          UpdateExpression: 'ADD #teamRequests :one, #keyRequests :one SET expiresAt = :expiresAt',
          ConditionExpression: keyLimit === undefined ? underTeamLimit : `${underTeamLimit} AND ${underKeyLimit}`,
          ExpressionAttributeNames: {
            '#teamRequests': TEAM_REQUESTS,
            '#keyRequests': keyRequestsAttribute(limits.keyId),
          },
          ExpressionAttributeValues: {
            ':one': 1,
            ':teamLimit': limits.teamRequestsPerMinute,
            ':expiresAt': windowStart + RATE_WINDOW_SECONDS + RATE_WINDOW_RETENTION_SECONDS,
            ...(keyLimit === undefined ? {} : { ':keyLimit': keyLimit }),
          },
          ReturnValues: 'UPDATED_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const teamUsed = Number(Attributes?.[TEAM_REQUESTS] ?? 0);
      const keyUsed = Number(Attributes?.[keyRequestsAttribute(limits.keyId)] ?? 0);
      return bindingStatus(limits, teamUsed, keyUsed, resetMs);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old = error.Item ? unmarshall(error.Item) : {};
      const teamBound = Number(old[TEAM_REQUESTS] ?? 0) >= limits.teamRequestsPerMinute;
      const scope = teamBound ? `team ${limits.teamId}` : `key ${limits.keyId}`;
      const limit = teamBound ? limits.teamRequestsPerMinute : (keyLimit ?? limits.teamRequestsPerMinute);
      const reset = formatResetDuration(resetMs);
      throw new RateLimitExceededError(
        `Rate limit reached for requests per minute (RPM) on ${scope}: limit ${limit}, used ${limit}, requested 1. ` +
          `Please try again in ${reset}.`,
        'requests',
        {
          ...rateLimitHeaders({ limitRequests: limit, remainingRequests: 0, resetMs }),
          [RATE_LIMIT_HEADERS.retryAfter]: String(Math.max(1, Math.ceil(resetMs / 1000))),
        },
      );
    }
  }
}

function bindingStatus(limits: RequestLimits, teamUsed: number, keyUsed: number, resetMs: number): RateLimitStatus {
  const teamRemaining = limits.teamRequestsPerMinute - teamUsed;
  const keyLimit = limits.keyRequestsPerMinute;
  if (keyLimit !== undefined && keyLimit - keyUsed < teamRemaining) {
    return { limitRequests: keyLimit, remainingRequests: Math.max(0, keyLimit - keyUsed), resetMs };
  }
  return { limitRequests: limits.teamRequestsPerMinute, remainingRequests: Math.max(0, teamRemaining), resetMs };
}

/**
 * OpenAI's request rate-limit headers for a status.
 *
 * @example
 * rateLimitHeaders({ limitRequests: 60, remainingRequests: 59, resetMs: 12_000 })
 * // { 'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-reset-requests': '12s' }
 */
export function rateLimitHeaders(status: RateLimitStatus): Record<string, string> {
  return {
    [RATE_LIMIT_HEADERS.limitRequests]: String(status.limitRequests),
    [RATE_LIMIT_HEADERS.remainingRequests]: String(status.remainingRequests),
    [RATE_LIMIT_HEADERS.resetRequests]: formatResetDuration(status.resetMs),
  };
}
