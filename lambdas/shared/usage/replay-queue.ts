import * as z from 'zod';
import type { UsageWrite } from './recorder';

/**
 * The replay queue, defined once: the CDK app creates it (with its dead-letter queue) from these
 * numbers, the local runtime creates the same pair in its SQS emulator, and the Lambdas find it
 * through `ENVIRONMENT_VARIABLES.usageReplayQueueUrl`. Pure constants and codecs: safe for the
 * CDK app to import.
 */
export const USAGE_REPLAY_QUEUE = {
  constructId: 'UsageReplayQueue',
  /** Name prefix of the local queues. */
  localName: 'llm-gateway-usage-replay',
  /**
   * Receives before a write moves to the dead-letter queue. With the visibility timeout below
   * this is about an hour of retries: longer than DynamoDB throttling or a regional hiccup lasts.
   */
  maxReceiveCount: 12,
  /** A failed replay is retried after this long. */
  visibilityTimeoutSeconds: 300,
  /** SQS's longest retention, for the queue and its dead-letter queue. */
  retentionDays: 14,
} as const;

const transactItems = z.array(z.record(z.string(), z.unknown())).min(1).max(100);

/**
 * A queued write: versioned so a future format can be told apart. Version 2 carries money as
 * exact pico-dollar bigints (see `encodeQueuedWrite`); version 1 (micro-dollars) is not applied,
 * since its attributes are no longer the aggregates'. Upgrade with an empty replay queue.
 */
const messageSchema = z.strictObject({
  v: z.literal(2),
  write: z.strictObject({
    requestId: z.string().min(1).max(256),
    teamId: z.string().min(1).max(256),
    items: transactItems,
    ifSwept: transactItems.optional(),
  }),
});

/** How a bigint travels in JSON, which has no integers beyond 2^53: a tagged string of digits. */
const BIGINT_TAG = '$bigint';

function bigintsTagged(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? { [BIGINT_TAG]: value.toString() } : value;
}

function bigintsRestored(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const digits = (value as Record<string, unknown>)[BIGINT_TAG];
  return keys.length === 1 && typeof digits === 'string' && /^-?\d{1,40}$/.test(digits) ? BigInt(digits) : value;
}

/**
 * A write as the queue carries it: JSON, with its bigints (costs in pico-dollars) tagged so they
 * come back as the same bigints.
 *
 * @example
 * await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: encodeQueuedWrite(write) }));
 */
export function encodeQueuedWrite(write: UsageWrite): string {
  return JSON.stringify({ v: 2, write }, bigintsTagged);
}

/**
 * The write a queue message carries, or an error for a message that is not one of ours (it is
 * then left to fail into the dead-letter queue, where an alarm sees it).
 *
 * @example
 * const write = decodeQueuedWrite(record.body);
 */
export function decodeQueuedWrite(body: string): UsageWrite {
  const parsed = messageSchema.parse(JSON.parse(body, bigintsRestored));
  return parsed.write as UsageWrite;
}
