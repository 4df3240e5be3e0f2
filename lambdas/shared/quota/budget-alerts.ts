import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { formatPicos, picosOf } from '../cost/money';
import { logger } from '../observability/logger';
import { itemKeys } from '../store/schema';

/** The two moments of a monthly budget worth telling someone about. */
export type BudgetAlertKind = 'soft_threshold' | 'exhausted';

/** A budget alert, as published (once per team, kind and month). */
export interface BudgetAlertEvent {
  kind: BudgetAlertKind;
  teamId: string;
  month: string;
  /** Settled spend and the budget, in USD (exact decimals; see `formatPicos`). */
  spentUsd: string;
  budgetUsd: string;
  softAlertPercent: number;
}

/** Where alerts go: EventBridge in AWS, the log and a list locally and in tests. */
export interface BudgetAlertPublisher {
  publish(event: BudgetAlertEvent): Promise<void>;
}

/** What the month aggregate says about a team's spend, as DynamoDB returned it. */
export interface MonthBudgetState {
  /** Settled spend (p$): a number, or a bigint past 2^53. */
  costPicos?: number | bigint;
  /** Spend plus outstanding reservations (p$). */
  committedPicos?: number | bigint;
  softAlertSentAt?: string;
  exhaustedAlertSentAt?: string;
}

const SENT_ATTRIBUTE: Record<BudgetAlertKind, keyof MonthBudgetState> = {
  soft_threshold: 'softAlertSentAt',
  exhausted: 'exhaustedAlertSentAt',
};

const notYetSent = 'attribute_not_exists(#sent)';

/**
 * Fires budget alerts exactly once per team, kind and month: the month aggregate item carries a
 * "sent" mark that one conditional write claims, so concurrent Lambdas cannot both publish.
 */
export class BudgetAlerts {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly usageTable: string,
    private readonly publisher: BudgetAlertPublisher,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Publishes the alerts a month's spend calls for and that have not been sent yet.
   *
   * @example
   * await alerts.check('payments', '2026-11', monthItem, { budgetPicos, softAlertPercent: 80 });
   */
  async check(
    teamId: string,
    month: string,
    state: MonthBudgetState,
    budget: { budgetPicos: bigint; softAlertPercent: number },
  ): Promise<void> {
    const spent = picosOf(state.costPicos);
    const due: BudgetAlertKind[] = [];
    if (spent * 100n >= budget.budgetPicos * BigInt(budget.softAlertPercent) && !state.softAlertSentAt)
      due.push('soft_threshold');
    if (spent >= budget.budgetPicos && !state.exhaustedAlertSentAt) due.push('exhausted');
    for (const kind of due) {
      if (!(await this.claim(teamId, month, kind))) continue;
      const event: BudgetAlertEvent = {
        kind,
        teamId,
        month,
        spentUsd: formatPicos(spent),
        budgetUsd: formatPicos(budget.budgetPicos),
        softAlertPercent: budget.softAlertPercent,
      };
      logger.warn('budget alert', { ...event });
      try {
        await this.publisher.publish(event);
      } catch (error) {
        // Give the claim back so the next check (next request, or the maintenance run) retries.
        await this.release(teamId, month, kind);
        throw error;
      }
    }
  }

  private async release(teamId: string, month: string, kind: BudgetAlertKind): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.usageTable,
        Key: itemKeys.monthAggregate(teamId, month),
        UpdateExpression: 'REMOVE #sent',
        ExpressionAttributeNames: { '#sent': SENT_ATTRIBUTE[kind] },
      }),
    );
  }

  /** Marks the alert as sent; false when another Lambda already did. */
  private async claim(teamId: string, month: string, kind: BudgetAlertKind): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.usageTable,
          Key: itemKeys.monthAggregate(teamId, month),
          UpdateExpression: 'SET #sent = :at',
          ConditionExpression: notYetSent,
          ExpressionAttributeNames: { '#sent': SENT_ATTRIBUTE[kind] },
          ExpressionAttributeValues: { ':at': new Date(this.now()).toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/** A publisher that keeps alerts in memory (local runtime, tests) after the log line. */
export class InMemoryAlertPublisher implements BudgetAlertPublisher {
  readonly events: BudgetAlertEvent[] = [];
  async publish(event: BudgetAlertEvent): Promise<void> {
    this.events.push(event);
  }
}
