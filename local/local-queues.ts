import { spawn } from 'node:child_process';
import * as path from 'node:path';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { USAGE_REPLAY_QUEUE } from '../lambdas/shared/usage/replay-queue';
import { freePort, superviseEmulator, waitUntilReady } from './emulator-process';

/**
 * The usage replay queue on this machine: fauxqs (an SQS emulator from npm that speaks SQS's wire
 * protocol, with visibility timeouts and dead-letter redrive) in a child process, the queue and its
 * dead-letter queue created through the SQS API exactly as the CDK app declares them, and a poller
 * that plays Lambda's SQS event source mapping for the replay function.
 */
export interface LocalQueues {
  endpoint: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  sqs: SQSClient;
  stop(): Promise<void>;
}

/** A client for the local emulator (it ignores credentials; the SDK wants some). */
export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/**
 * Starts the SQS emulator on a free port and creates the replay queue and its dead-letter queue.
 * `visibilityTimeoutSeconds` shortens the queue's retry interval (tests).
 *
 * @example
 * const queues = await startLocalQueues();
 * // ... USAGE_REPLAY_QUEUE_URL=queues.queueUrl, SQS_ENDPOINT=queues.endpoint ...
 * await queues.stop();
 */
export async function startLocalQueues(options: { visibilityTimeoutSeconds?: number } = {}): Promise<LocalQueues> {
  const port = await freePort();
  // fauxqs is an ES module: run it in its own Node process, as DynamoDB Local runs in its own JVM.
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { startFauxqs } from 'fauxqs'; await startFauxqs({ port: ${port}, logger: false });`,
    ],
    {
      cwd: path.join(__dirname, '..'),
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    },
  );
  const emulator = superviseEmulator(child);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => {
    sqs.destroy();
    return emulator.stop(3_000);
  };
  const sqs = localSqsClient(endpoint);
  try {
    const health = async () => {
      const response = await fetch(`${endpoint}/health`);
      if (!response.ok) throw new Error(`health check answered ${response.status}`);
    };
    await waitUntilReady('the SQS emulator', child, health, { timeoutMs: 20_000, intervalMs: 100 });
    const retention = String(USAGE_REPLAY_QUEUE.retentionDays * 86_400);
    const dlq = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${USAGE_REPLAY_QUEUE.localName}-dlq`,
        Attributes: { MessageRetentionPeriod: retention },
      }),
    );
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: USAGE_REPLAY_QUEUE.localName,
        Attributes: {
          MessageRetentionPeriod: retention,
          VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? USAGE_REPLAY_QUEUE.visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: Attributes?.QueueArn,
            maxReceiveCount: USAGE_REPLAY_QUEUE.maxReceiveCount,
          }),
        },
      }),
    );
    return { endpoint, queueUrl: queue.QueueUrl!, deadLetterQueueUrl: dlq.QueueUrl!, sqs, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${emulator.stderr()}`, { cause: error });
  }
}

/** The SQS handler shape (the replay Lambda's). */
export type SqsLambdaHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/**
 * Plays Lambda's SQS event source mapping with partial batch responses: long-polls the queue,
 * hands each batch to the handler as an SQS event, deletes the messages it did not report as
 * failed, and leaves the failed ones to reappear after the visibility timeout (and, past the
 * receive limit, to move to the dead-letter queue), as in AWS. `drain` resolves once the queue
 * is empty and nothing is in flight.
 *
 * @example
 * const poller = pollQueue(queues.sqs, queues.queueUrl, replayHandler);
 * await poller.stop();
 */
export function pollQueue(
  sqs: SQSClient,
  queueUrl: string,
  handler: SqsLambdaHandler,
  options: { waitTimeSeconds?: number; onError?: (error: unknown) => void } = {},
): { stop(): Promise<void> } {
  let running = true;
  const abort = new AbortController();
  const loop = (async () => {
    while (running) {
      try {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: options.waitTimeSeconds ?? 1,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        if (Messages.length === 0) continue;
        const event: SQSEvent = {
          Records: Messages.map((message) => ({
            messageId: message.MessageId!,
            receiptHandle: message.ReceiptHandle!,
            body: message.Body ?? '',
            attributes: {
              ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
              SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
              SenderId: 'local',
              ApproximateFirstReceiveTimestamp: String(Date.now()),
            },
            messageAttributes: {},
            md5OfBody: message.MD5OfBody ?? '',
            eventSource: 'aws:sqs',
            eventSourceARN: 'arn:aws:sqs:local:000000000000:usage-replay',
            awsRegion: 'local',
          })),
        };
        const { batchItemFailures } = await handler(event);
        const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
        for (const message of Messages) {
          if (failed.has(message.MessageId!)) continue;
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
        }
      } catch (error) {
        if (!running) return;
        options.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  })();
  return {
    async stop() {
      running = false;
      abort.abort();
      await loop;
    },
  };
}
