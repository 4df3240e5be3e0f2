import type { SQSClient } from '@aws-sdk/client-sqs';
import type { UsageWrite } from './recorder';
import { encodeQueuedWrite } from './replay-queue';
import type { UsageSpool } from './durable-recorder';

/**
 * The SQS module, loaded on first use: most invocations never spool, and it costs cold start.
 * A CommonJS require, not `import()`: the bundles leave the AWS SDK to the Lambda runtime, whose
 * copy is found through NODE_PATH, which require() honours and the ES module resolver does not.
 */
type SqsModule = typeof import('@aws-sdk/client-sqs');

function loadSqs(): SqsModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see SqsModule: lazy, and from the runtime's SDK
  return require('@aws-sdk/client-sqs') as SqsModule;
}

/**
 * The replay queue on Amazon SQS (or a local emulator): where usage writes go when DynamoDB will
 * not take them in time. SQS keeps them up to 14 days, independently of DynamoDB's health.
 */
export class SqsUsageSpool implements UsageSpool {
  private client: Promise<{ sqs: SQSClient; module: SqsModule }> | undefined;

  constructor(
    private readonly queueUrl: string,
    private readonly options: { region: string; endpoint?: string | undefined },
  ) {}

  private connect() {
    this.client ??= Promise.resolve().then(() => {
      const module = loadSqs();
      return {
        module,
        sqs: new module.SQSClient({
          region: this.options.region,
          endpoint: this.options.endpoint,
          credentials: this.options.endpoint ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
          requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
          maxAttempts: 3,
        }),
      };
    });
    return this.client;
  }

  async send(write: UsageWrite): Promise<void> {
    const { sqs, module } = await this.connect();
    await sqs.send(
      new module.SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: encodeQueuedWrite(write),
        MessageAttributes: { requestId: { DataType: 'String', StringValue: write.requestId } },
      }),
    );
  }

  /** Writes waiting, in flight or delayed (SQS's approximate counts, exact for a quiet queue). */
  async pending(): Promise<number> {
    const { sqs, module } = await this.connect();
    const { Attributes = {} } = await sqs.send(
      new module.GetQueueAttributesCommand({
        QueueUrl: this.queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    return Object.values(Attributes).reduce((sum, value) => sum + Number(value ?? 0), 0);
  }
}
