import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENVIRONMENT_VARIABLES } from '../lambdas/shared/config/constants';
import { USAGE_REPLAY_QUEUE } from '../lambdas/shared/usage/replay-queue';
import type { GatewayFunction } from './gateway-function';
import type { GatewayObservability } from './observability';

/** What the replay queue connects. */
export interface UsageReplayProps {
  /** The function that applies queued writes (SQS event source). */
  replay: GatewayFunction;
  /** The functions that answer requests and hand writes over when DynamoDB refuses them. */
  senders: GatewayFunction[];
  /** The function whose reservation sweep waits while writes are queued (reads the queue's depth). */
  sweeper: GatewayFunction;
  removalPolicy: RemovalPolicy;
}

/**
 * The durable path of usage records: an SQS queue (and its dead-letter queue) that takes a usage
 * write when DynamoDB will not, and the replay function that applies it later, idempotently.
 * SQS does not depend on DynamoDB's health and keeps messages for 14 days; a write that keeps
 * failing moves to the dead-letter queue after about an hour of retries, and an alarm says so.
 */
export class UsageReplay extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: UsageReplayProps) {
    super(scope, id);
    const retentionPeriod = Duration.days(USAGE_REPLAY_QUEUE.retentionDays);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
    });
    this.queue = new Queue(this, USAGE_REPLAY_QUEUE.constructId, {
      retentionPeriod,
      // At least six times the replay function's timeout, as Lambda's SQS event source asks.
      visibilityTimeout: Duration.seconds(USAGE_REPLAY_QUEUE.visibilityTimeoutSeconds),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: USAGE_REPLAY_QUEUE.maxReceiveCount },
      removalPolicy: props.removalPolicy,
    });
    props.replay.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        // Replays are rare and DynamoDB may be struggling when they happen: do not pile on.
        maxConcurrency: 2,
      }),
    );
    for (const sender of props.senders) {
      this.queue.grantSendMessages(sender);
      sender.addEnvironment(ENVIRONMENT_VARIABLES.usageReplayQueueUrl, this.queue.queueUrl);
    }
    this.queue.grant(props.sweeper, 'sqs:GetQueueAttributes');
    props.sweeper.addEnvironment(ENVIRONMENT_VARIABLES.usageReplayQueueUrl, this.queue.queueUrl);
  }

  /**
   * Alarms: any write in the dead-letter queue (usage an operator must redrive), and a write
   * waiting longer than 15 minutes (DynamoDB has been refusing replays that long).
   *
   * @example
   * replay.addAlarms(observability);
   */
  addAlarms(observability: Pick<GatewayObservability, 'addAlarm'>): Alarm[] {
    return [
      observability.addAlarm(
        this,
        'DeadLetters',
        'Usage writes in the dead-letter queue: answered requests not yet billed; redrive them to the replay queue once DynamoDB is healthy',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5) }),
        0,
        1,
      ),
      observability.addAlarm(
        this,
        'ReplayBacklog',
        'A usage write has waited on the replay queue for more than 15 minutes',
        this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
        900,
        1,
      ),
    ];
  }
}
