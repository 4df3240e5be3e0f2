import { APPROVAL_PENDING_DETAIL_TYPE, EVENT_SOURCE } from '../config/constants';
import { logger } from '../observability/logger';

/** What approvers are told when a tool call waits for them: ids and names, never the arguments. */
export interface ApprovalPendingEvent {
  teamId: string;
  approvalId: string;
  tool: string;
  ruleId: string;
  model: string;
  requestId: string;
  /** ISO instant after which the call can no longer be approved. */
  deadline: string;
}

/** Tells approvers that calls wait (EventBridge in AWS). */
export interface ApprovalNotifier {
  notify(event: ApprovalPendingEvent): Promise<void>;
}

/** Keeps the events it is given (tests, the local runtime), after logging each. */
export class InMemoryApprovalNotifier implements ApprovalNotifier {
  readonly events: ApprovalPendingEvent[] = [];

  async notify(event: ApprovalPendingEvent): Promise<void> {
    logger.info('tool call held for approval', { ...event });
    this.events.push(event);
  }
}

/**
 * Puts the event on an EventBridge bus (the stack's rule sends it to the alarm topic, where
 * approvers subscribe; platform teams may add their own rules). The SDK client is loaded on the
 * first held call, not at cold start: held calls are rare.
 *
 * @example
 * const notifier = approvalNotifierFor(env.eventBusName);
 */
export function approvalNotifierFor(eventBusName: string | undefined): ApprovalNotifier {
  if (!eventBusName) return new InMemoryApprovalNotifier();
  let client: import('@aws-sdk/client-eventbridge').EventBridgeClient | undefined;
  return {
    async notify(event) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on the first held call, from the runtime's SDK copy
      const sdk = require('@aws-sdk/client-eventbridge') as typeof import('@aws-sdk/client-eventbridge');
      client ??= new sdk.EventBridgeClient({});
      const { FailedEntryCount } = await client.send(
        new sdk.PutEventsCommand({
          Entries: [
            {
              EventBusName: eventBusName,
              Source: EVENT_SOURCE,
              DetailType: APPROVAL_PENDING_DETAIL_TYPE,
              Detail: JSON.stringify(event),
            },
          ],
        }),
      );
      if (FailedEntryCount) throw new Error(`EventBridge refused the approval event ${event.approvalId}`);
    },
  };
}
