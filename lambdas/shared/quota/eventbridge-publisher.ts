import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { BUDGET_ALERT_DETAIL_TYPES, EVENT_SOURCE } from '../config/constants';
import { InMemoryAlertPublisher, type BudgetAlertEvent, type BudgetAlertPublisher } from './budget-alerts';

// Defined in the pure constants module, which the CDK's alert rule reads too.
export { BUDGET_ALERT_DETAIL_TYPES, EVENT_SOURCE };

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
