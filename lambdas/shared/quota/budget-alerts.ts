import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { formatPicos } from '../cost/money';
import { logger } from '../observability/logger';
import { itemKeys } from '../store/schema';

/** The two moments of a monthly budget worth telling someone about. */
export type BudgetAlertKind = 'soft_threshold' | 'exhausted';

/** A budget alert, as published (once per team, kind and month). */
export interface BudgetAlertEvent {
  kind: BudgetAlertKind;
  teamId: string;
  month: string;
  /**
   * What the team had committed when the alert fired, in USD (exact; see `formatPicos`): spend
   * plus the reservations of requests in flight on the request path, settled spend from the
   * maintenance run. Admission compares the same committed amount with the budget.
   */
  committedUsd: string;
  budgetUsd: string;
  softAlertPercent: number;
}

/** Where alerts go: EventBridge in AWS, the log and a list locally and in tests. */
export interface BudgetAlertPublisher {
  publish(event: BudgetAlertEvent): Promise<void>;
}

/** A team's month budget item as DynamoDB returned it: what is committed and which alerts went out. */
export interface MonthBudgetState {
  /** Spend plus outstanding reservations (p$): a number, or a bigint past 2^53. */
  committedPicos?: number | bigint;
  softAlertSentAt?: string;
  exhaustedAlertSentAt?: string;
}

/** Which of a month's alerts went out already. */
export type SentAlerts = Pick<MonthBudgetState, 'softAlertSentAt' | 'exhaustedAlertSentAt'>;

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
   * Publishes the alerts that `committed` calls for and that have not been sent yet. The request path
   * passes the budget's committed amount (spend plus the reservations of requests in flight, what
   * admission compares with the budget); the maintenance run passes settled spend.
   *
   * @example
   * await alerts.check('payments', '2026-11', committedPicos, budgetItem, { budgetPicos, softAlertPercent: 80 });
   */
  async check(
    teamId: string,
    month: string,
    committed: bigint,
    sent: SentAlerts,
    budget: { budgetPicos: bigint; softAlertPercent: number },
  ): Promise<void> {
    const due: BudgetAlertKind[] = [];
    if (committed * 100n >= budget.budgetPicos * BigInt(budget.softAlertPercent) && !sent.softAlertSentAt)
      due.push('soft_threshold');
    if (committed >= budget.budgetPicos && !sent.exhaustedAlertSentAt) due.push('exhausted');
    for (const kind of due) {
      if (!(await this.claim(teamId, month, kind))) continue;
      const event: BudgetAlertEvent = {
        kind,
        teamId,
        month,
        committedUsd: formatPicos(committed),
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
        Key: itemKeys.monthBudget(teamId, month),
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
          Key: itemKeys.monthBudget(teamId, month),
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
