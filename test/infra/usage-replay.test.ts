import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ENVIRONMENT_VARIABLES } from '../../lambdas/shared/config/constants';
import { USAGE_REPLAY_QUEUE } from '../../lambdas/shared/usage/replay-queue';
import { GatewayStack } from '../../lib/gateway-stack';

// Template JSON is untyped.
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** The durable usage path as deployed: queue, dead-letter queue, replay function, grants, alarms. */
describe('usage replay queue', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new GatewayStack(app, 'ReplayTest', { env: { account: '123456789012', region: 'eu-west-1' } });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Resources;
  const queueId = stack.getLogicalId(
    stack.gateway.node.findChild('UsageReplay').node.findChild(USAGE_REPLAY_QUEUE.constructId).node
      .defaultChild as never,
  );
  const fn = (prefix: string) =>
    Object.entries(resources).find(
      ([, r]) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith(prefix),
    )!;
  const statementsOf = (prefix: string) => {
    const roleId = fn(prefix)[1].Properties.Role['Fn::GetAtt'][0];
    return Object.values(resources)
      .filter(
        (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId),
      )
      .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
  };
  const sqsActionsOf = (prefix: string) =>
    statementsOf(prefix)
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
      .filter((action) => action.startsWith('sqs:'))
      .sort();

  it('keeps writes 14 days, encrypted, TLS only, and moves a write that keeps failing to the dead-letter queue', () => {
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: USAGE_REPLAY_QUEUE.retentionDays * 86_400,
      VisibilityTimeout: USAGE_REPLAY_QUEUE.visibilityTimeoutSeconds,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: USAGE_REPLAY_QUEUE.maxReceiveCount },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('feeds the replay function with partial batch responses, and lets it write only the usage transaction', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
    const dynamo = statementsOf('LLM gateway: applies usage writes')
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
      .filter((action) => action.startsWith('dynamodb:'));
    expect([...new Set(dynamo)].sort()).toEqual(['dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(sqsActionsOf('LLM gateway: applies usage writes')).toEqual(
      expect.arrayContaining(['sqs:DeleteMessage', 'sqs:ReceiveMessage']),
    );
  });

  it('lets the gateway functions send to it and the maintenance function count it, nothing more', () => {
    for (const prefix of ['LLM gateway: OpenAI-compatible', 'LLM gateway: streaming']) {
      expect(sqsActionsOf(prefix)).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
      expect(fn(prefix)[1].Properties.Environment.Variables[ENVIRONMENT_VARIABLES.usageReplayQueueUrl]).toEqual({
        Ref: queueId,
      });
    }
    expect(sqsActionsOf('LLM gateway: releases reservations')).toEqual(['sqs:GetQueueAttributes']);
    for (const prefix of ['LLM gateway: admin API', 'LLM gateway: usage reports'])
      expect(sqsActionsOf(prefix)).toEqual([]);
  });

  it('alarms on dead letters and on a write waiting more than 15 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 0,
      AlarmActions: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 900,
    });
  });
});
