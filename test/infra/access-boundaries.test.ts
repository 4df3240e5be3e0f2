import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { ENVIRONMENT_VARIABLES } from '../../lambdas/shared/config/constants';
import { gatewayConfig } from '../../gateway.config';
import { GatewayStack } from '../../lib/gateway-stack';

// Template JSON is untyped.
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

function synth(config?: GatewayConfigInput) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new GatewayStack(app, 'BoundedGateway', {
    env: { account: '123456789012', region: 'eu-west-1' },
    gateway: config ? { config } : {},
  });
  return { stack, template: Template.fromStack(stack) };
}

const withAdmins = (admins: GatewayConfigInput['admins']): GatewayConfigInput => ({ ...gatewayConfig, admins });

/** The Lambda functions of the template, by the first word of their description after "LLM gateway:". */
function functionsOf(template: Template): [string, Resources[string]][] {
  const resources = template.toJSON().Resources as Resources;
  return Object.values(resources)
    .filter((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('LLM gateway'))
    .map((r) => [String(r.Properties.Description), r]);
}

describe('access boundaries in the synthesized template', () => {
  const { template } = synth();
  const resources = template.toJSON().Resources as Resources;

  it('gives no function the AWSLambdaBasicExecutionRole managed policy: each has a role of its own without managed policies', () => {
    const functions = functionsOf(template);
    expect(functions.length).toBeGreaterThanOrEqual(5);
    const roleIds = new Set(functions.map(([, fn]) => fn.Properties.Role['Fn::GetAtt'][0] as string));
    expect(roleIds.size).toBe(functions.length);
    for (const roleId of roleIds) {
      expect(resources[roleId]!.Properties.ManagedPolicyArns).toBeUndefined();
    }
    expect(JSON.stringify(resources)).not.toContain('AWSLambdaBasicExecutionRole');
  });

  it('lets each function create streams and put events in its own log group and no other, with no CreateLogGroup', () => {
    for (const [description, fn] of functionsOf(template)) {
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      const role = resources[fn.Properties.Role['Fn::GetAtt'][0] as string]!;
      const inline = role.Properties.Policies as { PolicyName: string; PolicyDocument: { Statement: any[] } }[];
      const logStatements = inline.flatMap((p) => p.PolicyDocument.Statement);
      expect({ description, statements: logStatements }).toEqual({
        description,
        statements: [
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: [
              {
                'Fn::Join': [
                  '',
                  ['arn:', { Ref: 'AWS::Partition' }, ':logs:eu-west-1:123456789012:log-group:', { Ref: logGroupId }],
                ],
              },
              { 'Fn::GetAtt': [logGroupId, 'Arn'] },
            ],
          },
        ],
      });
      // No other policy attached to the role grants any CloudWatch Logs action.
      const attached = Object.values(resources).filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' &&
          r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === fn.Properties.Role['Fn::GetAtt'][0]),
      );
      expect(JSON.stringify(attached)).not.toContain('"logs:');
    }
  });

  it('encrypts the alarm topic with a rotated customer-managed key that CloudWatch alarms and EventBridge may use', () => {
    const [keyId] = Object.keys(template.findResources('AWS::KMS::Key'));
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('keeps the topic key when the stack is deleted, unless the stack is disposable', () => {
    template.allResources('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const disposable = new GatewayStack(app, 'DisposableGateway', {
      env: { account: '123456789012', region: 'eu-west-1' },
      gateway: { deletionProtection: false },
    });
    Template.fromStack(disposable).allResources('AWS::KMS::Key', { DeletionPolicy: 'Delete' });
  });

  it("scopes every publish grant of the topic policy to this account's alarms and its budget-alert rule", () => {
    const [policy] = Object.values(template.findResources('AWS::SNS::TopicPolicy')) as Resources[string][];
    const allows = (policy!.Properties.PolicyDocument.Statement as any[]).filter((s) => s.Effect === 'Allow');
    expect(allows.map((s) => s.Principal)).toEqual([
      { Service: 'cloudwatch.amazonaws.com' },
      { Service: 'events.amazonaws.com' },
    ]);
    for (const statement of allows) {
      expect(statement.Action).toBe('sns:Publish');
      expect(statement.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    }
    expect(allows[0].Condition.ArnLike['aws:SourceArn']).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:eu-west-1:123456789012:alarm:*']],
    });
    const [ruleId] = Object.keys(
      template.findResources('AWS::Events::Rule', { Properties: { EventPattern: { source: ['llm-gateway'] } } }),
    );
    expect(allows[1].Condition.ArnEquals['aws:SourceArn']).toEqual({ 'Fn::GetAtt': [ruleId, 'Arn'] });
    // Publishing over plain HTTP stays denied for everyone.
    expect(policy!.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('alarms on the rate of refused API keys (401s) to the alarm topic', () => {
    const [topicId] = Object.keys(template.findResources('AWS::SNS::Topic'));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('Refused team API keys'),
      Metrics: [
        Match.objectLike({
          MetricStat: {
            Metric: {
              Namespace: 'LlmGateway',
              MetricName: 'AuthRefusals',
              Dimensions: [{ Name: 'service', Value: 'llm-gateway' }],
            },
            Period: 300,
            Stat: 'Sum',
          },
        }),
      ],
      Threshold: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: topicId }],
    });
  });

  it('gives the admin allow-list to the auth and usage functions only, empty by default, with a synth warning', () => {
    const { stack, template: fresh } = synth();
    for (const [description, fn] of functionsOf(fresh)) {
      const variables = fn.Properties.Environment?.Variables ?? {};
      const servesAdmin = /admin API|usage reports/.test(description);
      expect({ description, value: variables[ENVIRONMENT_VARIABLES.adminPrincipals] }).toEqual({
        description,
        value: servesAdmin ? '' : undefined,
      });
    }
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('admin allow-list is empty'));
  });

  it('lists the configured role and user ARNs, and adds the account only on the explicit opt-in', () => {
    const role = 'arn:aws:iam::123456789012:role/platform/GatewayAdmin';
    const user = 'arn:aws:iam::123456789012:user/alice';
    const { stack, template: listed } = synth(withAdmins({ principals: [role, user] }));
    const values = functionsOf(listed)
      .map(([, fn]) => fn.Properties.Environment?.Variables?.[ENVIRONMENT_VARIABLES.adminPrincipals])
      .filter((value) => value !== undefined);
    expect(values).toEqual([`${role},${user}`, `${role},${user}`]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('admin allow-list'))).toEqual([]);

    const { template: sandbox } = synth(withAdmins({ allowAnyPrincipalInAccount: true }));
    const sandboxValues = functionsOf(sandbox)
      .map(([, fn]) => fn.Properties.Environment?.Variables?.[ENVIRONMENT_VARIABLES.adminPrincipals])
      .filter((value) => value !== undefined);
    expect(sandboxValues).toHaveLength(2);
    for (const value of sandboxValues) {
      expect(value).toEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']],
      });
    }
  });

  it('refuses at synth an admin entry that is not a role or user ARN, pointing to the opt-in for whole accounts', () => {
    expect(() => synth(withAdmins({ principals: ['arn:aws:iam::123456789012:root'] }))).toThrow(
      /admins\.principals\.0.*allowAnyPrincipalInAccount/s,
    );
    expect(() => synth(withAdmins({ principals: ['arn:aws:sts::123456789012:assumed-role/Admin/alice'] }))).toThrow(
      /role or user ARN/,
    );
  });
});
