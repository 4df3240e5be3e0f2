import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { logger } from '../shared/observability/logger';
import type { TableNames } from '../shared/store/schema';
import { UsageRecorder } from '../shared/usage/recorder';
import { decodeQueuedWrite } from '../shared/usage/replay-queue';

/** What the replay Lambda needs. */
export interface ReplayDeps {
  recorder: UsageRecorder;
}

/**
 * The replay Lambda: applies usage writes that could not land when their request was answered
 * (DynamoDB throttling, failing or unreachable), from the replay queue (SQS event source, partial
 * batch responses). Applying is idempotent, so a write that did land after all, or arrives twice,
 * counts once. A write that fails again stays on the queue and is retried after its visibility
 * timeout; after the queue's receive limit it moves to the dead-letter queue, which is alarmed.
 *
 * @example
 * export const handler = createReplayHandler({ recorder });
 */
export function createReplayHandler(deps: ReplayDeps) {
  return async function replay(event: SQSEvent): Promise<SQSBatchResponse> {
    const batchItemFailures: SQSBatchItemFailure[] = [];
    let recorded = 0;
    let alreadyRecorded = 0;
    for (const message of event.Records) {
      try {
        const write = decodeQueuedWrite(message.body);
        const outcome = await deps.recorder.apply(write);
        if (outcome === 'recorded') recorded += 1;
        else alreadyRecorded += 1;
      } catch (error) {
        logger.warn('usage write replay failed; it will be retried', {
          messageId: message.messageId,
          receiveCount: Number(message.attributes?.ApproximateReceiveCount ?? 0),
          error: (error as { name?: string }).name ?? 'Error',
        });
        batchItemFailures.push({ itemIdentifier: message.messageId });
      }
    }
    logger.info('usage writes replayed', { recorded, alreadyRecorded, failed: batchItemFailures.length });
    return { batchItemFailures };
  };
}

/**
 * Wires the replay Lambda's dependencies; `index.ts`, the local runtime and the tests share it.
 *
 * @example
 * createReplayHandler(replayDependencies({ db, tables }))
 */
export function replayDependencies(settings: {
  db: DynamoDBDocumentClient;
  tables: Pick<TableNames, 'usage'>;
}): ReplayDeps {
  return { recorder: new UsageRecorder(settings.db, settings.tables.usage) };
}
