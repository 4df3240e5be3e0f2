import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { microsToPicos } from '../shared/cost/money';
import { logger } from '../shared/observability/logger';
import { BudgetAlerts, type BudgetAlertPublisher } from '../shared/quota/budget-alerts';
import { ReservationSweeper, type PendingWrites, type SweepResult } from '../shared/quota/reservation-sweeper';
import type { TableNames } from '../shared/store/schema';
import { TeamRepository } from '../shared/teams/repository';
import { UsageReader } from '../shared/usage/reader';
import { monthAt } from '../shared/time/calendar';

/** What the maintenance Lambda needs. */
export interface MaintenanceDeps {
  sweeper: ReservationSweeper;
  teams: TeamRepository;
  reader: UsageReader;
  alerts: BudgetAlerts;
  now?: () => number;
}

/** What one run did, returned for the logs and the tests. */
export interface MaintenanceResult {
  sweep: SweepResult;
  budgetsChecked: number;
}

/**
 * The scheduled maintenance Lambda (every few minutes): releases the budget reservations of
 * requests that never settled, and sends the budget alerts of teams whose spend crossed a
 * threshold with no request since (the request path sends them as soon as it sees them).
 *
 * @example
 * export const handler = createMaintenanceHandler(deps);
 */
export function createMaintenanceHandler(deps: MaintenanceDeps) {
  const now = deps.now ?? Date.now;
  return async function maintenance(): Promise<MaintenanceResult> {
    const sweep = await deps.sweeper.sweep();
    const month = monthAt(now());
    let budgetsChecked = 0;
    for (const team of await deps.teams.list()) {
      if (team.monthlyBudgetMicros === undefined) continue;
      const spend = await deps.reader.monthSpend(team.teamId, month);
      await deps.alerts.check(team.teamId, month, spend.spentPicos, spend, {
        budgetPicos: microsToPicos(team.monthlyBudgetMicros),
        softAlertPercent: team.softAlertPercent,
      });
      budgetsChecked += 1;
    }
    logger.info('maintenance run', { ...sweep, budgetsChecked });
    return { sweep, budgetsChecked };
  };
}

/**
 * Wires the maintenance Lambda's dependencies; `index.ts`, the local runtime and the tests share it.
 *
 * @example
 * createMaintenanceHandler(maintenanceDependencies({ db, tables, alerts }))
 */
export function maintenanceDependencies(settings: {
  db: DynamoDBDocumentClient;
  tables: Pick<TableNames, 'identity' | 'usage' | 'counters'>;
  alerts: BudgetAlertPublisher;
  /** The usage replay queue: no reservation is swept while usage writes wait there. */
  pendingWrites?: PendingWrites;
  now?: () => number;
}): MaintenanceDeps {
  const now = settings.now ?? Date.now;
  return {
    sweeper: new ReservationSweeper(settings.db, settings.tables, now, settings.pendingWrites),
    teams: new TeamRepository(settings.db, settings.tables.identity),
    reader: new UsageReader(settings.db, settings.tables.usage),
    alerts: new BudgetAlerts(settings.db, settings.tables.usage, settings.alerts, now),
    now,
  };
}
