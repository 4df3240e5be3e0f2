import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InMemoryAlertPublisher, type BudgetAlertEvent, type BudgetAlertPublisher } from './budget-alerts';

/** `source` of the gateway's events on EventBridge; rules match on it. */
export const EVENT_SOURCE = 'llm-gateway';

/** `detail-type` of each budget alert. */
export const BUDGET_ALERT_DETAIL_TYPES = {
  soft_threshold: 'Budget Soft Threshold Crossed',
  exhausted: 'Budget Exhausted',
} as const;

/**
 * Publishes budget alerts to an EventBridge bus, where rules route them (email via SNS, Slack,
 * ticketing) without the gateway knowing.
 *
 * @example
 * new EventBridgePublisher(process.env.EVENT_BUS_NAME ?? 'default')
 */
export class EventBridgePublisher implements BudgetAlertPublisher {
  private readonly client = new EventBridgeClient({});

  constructor(private readonly eventBusName: string) {}

  async publish(event: BudgetAlertEvent): Promise<void> {
    const { FailedEntryCount } = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.eventBusName,
            Source: EVENT_SOURCE,
            DetailType: BUDGET_ALERT_DETAIL_TYPES[event.kind],
            Detail: JSON.stringify(event),
          },
        ],
      }),
    );
    if (FailedEntryCount) throw new Error(`EventBridge refused the ${event.kind} alert for ${event.teamId}`);
  }
}

/**
 * Where a Lambda sends budget alerts: EventBridge when it has a bus (in AWS), otherwise only the
 * log line every alert gets (the local runtime).
 *
 * @example
 * const publisher = alertPublisherFor(env.eventBusName);
 */
export function alertPublisherFor(eventBusName: string | undefined): BudgetAlertPublisher {
  return eventBusName ? new EventBridgePublisher(eventBusName) : new InMemoryAlertPublisher();
}
