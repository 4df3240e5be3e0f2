import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { GatewayConfigError } from '../../lambdas/shared/catalog/schema';
import { ROUTES } from '../../lambdas/shared/http/routes';
import { TABLES } from '../../lambdas/shared/store/schema';
import { GatewayStack } from '../../lib/gateway-stack';
import { CONSOLE_ROUTES } from '../../lib/doors';
import { gatewayConfig } from '../../gateway.config';

/** Synthesizes without bundling (fast): assets are placeholders. */
function synth(props: ConstructorParameters<typeof GatewayStack>[2] = {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new GatewayStack(app, 'TestGateway', {
    env: { account: '123456789012', region: 'eu-west-1' },
    ...props,
  });
  return Template.fromStack(stack);
}

// Template JSON is untyped.
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** Every IAM action granted to the function whose description starts with `prefix`, by resource kind. */
function actionsOf(template: Template, descriptionPrefix: string): string[] {
  const resources = template.toJSON().Resources as Resources;
  const [, fn] = Object.entries(resources).find(
    ([, r]) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith(descriptionPrefix),
  )!;
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const policies = Object.values(resources).filter(
    (r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId),
  );
  return policies
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .flatMap((s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
    .sort();
}

describe('GatewayStack', () => {
  const template = synth();

  it('has one HTTP API routing every route of the shared table, admin routes behind IAM', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.resourceCountIs('AWS::ApiGatewayV2::Route', ROUTES.length);
    for (const route of ROUTES) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
        AuthorizationType: route.auth === 'iam' ? 'AWS_IAM' : 'NONE',
      });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  it('has no console door without single sign-on', () => {
    expect(Object.keys(template.findOutputs('ConsoleUrl'))).toEqual([]);
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  it("with single sign-on, adds a console door: every admin and usage route behind a JWT authorizer of the config's issuer and audiences", () => {
    const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123';
    const sso = {
      issuer,
      audience: ['console-client'],
      grants: [{ group: 'gw-admins', role: 'platform_admin' as const }],
    };
    const withSso = synth({ gateway: { config: { ...gatewayConfig, sso } } });
    withSso.resourceCountIs('AWS::ApiGatewayV2::Api', 2);
    withSso.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: issuer, Audience: ['console-client'] },
    });
    withSso.resourceCountIs('AWS::ApiGatewayV2::Route', ROUTES.length + CONSOLE_ROUTES.length);
    expect(CONSOLE_ROUTES.map((route) => route.path)).toEqual(
      expect.arrayContaining(['/v1/admin/teams', '/v1/usage', '/v1/admin/chargeback']),
    );
    expect(CONSOLE_ROUTES.some((route) => route.path === '/v1/chat/completions')).toBe(false);
    for (const route of CONSOLE_ROUTES) {
      withSso.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
        AuthorizationType: 'JWT',
      });
    }
    expect(Object.keys(withSso.findOutputs('ConsoleUrl'))).toEqual(['ConsoleUrl']);
    // A plain-HTTP issuer serves local tests only: a deployment refuses it at synth.
    expect(() =>
      synth({ gateway: { config: { ...gatewayConfig, sso: { ...sso, issuer: 'http://localhost:9000' } } } }),
    ).toThrow(/sso\.issuer must be an https/);
  });

  it("answers the streaming door's own refusals in OpenAI's error shape: throttled 429, unknown route 404, firewall 403", () => {
    for (const [type, status, code] of [
      ['THROTTLED', '429', 'rate_limit_exceeded'],
      ['MISSING_AUTHENTICATION_TOKEN', '404', 'not_found'],
      ['WAF_FILTERED', '403', 'request_blocked'],
    ] as const) {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        StatusCode: status,
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp(`"code":"${code}"`) },
      });
    }
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'DEFAULT_5XX',
      StatusCode: Match.absent(),
    });
  });

  it('has six Lambdas on Node.js 22, arm64, with a log retention, not parsing source maps at cold start', () => {
    template.resourceCountIs('AWS::Lambda::Function', 6);
    template.allResourcesProperties('AWS::Lambda::Function', { Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    // No --enable-source-maps anywhere; only the HTTP API's gateway function preloads the post-response extension.
    const nodeOptions = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => [
      String(fn.Properties.Description).split(':')[1]!.trim().split(' ')[0],
      fn.Properties.Environment.Variables.NODE_OPTIONS,
    ]);
    expect(nodeOptions.filter(([, options]) => options !== undefined)).toEqual([
      ['OpenAI-compatible', '--import=/var/task/after-response-extension.mjs'],
    ]);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('creates the tables from the shared schema: on demand, PITR, TTL, deletion protection', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 4);
    for (const table of Object.values(TABLES)) {
      template.hasResource('AWS::DynamoDB::GlobalTable', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [
            { AttributeName: table.partitionKey, KeyType: 'HASH' },
            ...('sortKey' in table ? [{ AttributeName: table.sortKey, KeyType: 'RANGE' }] : []),
          ],
          Replicas: [
            Match.objectLike({
              PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
              DeletionProtectionEnabled: true,
            }),
          ],
          ...('timeToLiveAttribute' in table
            ? { TimeToLiveSpecification: { AttributeName: table.timeToLiveAttribute, Enabled: true } }
            : {}),
        }),
      });
    }
  });

  it('grants each function only the table and Bedrock actions its code uses', () => {
    const gatewayActions = [
      'bedrock:CountTokens', // count_tokens for Claude
      'bedrock:InvokeModel',
      'bedrock:InvokeModelWithResponseStream',
      'dynamodb:GetItem', // keys
      'dynamodb:GetItem', // response cache lookup
      'dynamodb:GetItem', // held tool call, when redeemed
      'dynamodb:PutItem', // audit record, held tool call
      'dynamodb:PutItem', // ledger entry, cached answer
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem', // held tool call released
      'events:PutEvents',
      // The usage replay queue, for writes DynamoDB refuses in time (grantSendMessages).
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ];
    expect(actionsOf(template, 'LLM gateway: OpenAI')).toEqual(gatewayActions);
    expect(actionsOf(template, 'LLM gateway: streaming')).toEqual(gatewayActions);
    expect(actionsOf(template, 'LLM gateway: admin')).toEqual([
      'dynamodb:GetItem',
      'dynamodb:GetItem', // a held tool call, to approve or reject
      'dynamodb:PutItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem', // the approval decision
    ]);
    expect(actionsOf(template, 'LLM gateway: usage')).toEqual([
      'dynamodb:BatchGetItem', // a month's spend: the month rows of its aggregate shards
      'dynamodb:GetItem',
      'dynamodb:GetItem',
      'dynamodb:Query', // audit trail
      'dynamodb:Query', // teams, for the chargeback
      'dynamodb:Query',
    ]);
    expect(actionsOf(template, 'LLM gateway: releases')).toEqual([
      'bedrock:ListFoundationModels', // the daily model lifecycle check
      'dynamodb:BatchGetItem', // a month's spend: the month rows of its aggregate shards
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'sqs:GetQueueAttributes', // no sweep while usage writes wait on the replay queue
    ]);
    expect(actionsOf(template, 'LLM gateway: applies')).toEqual([
      'dynamodb:PutItem', // audit record
      'dynamodb:PutItem', // ledger entry
      'dynamodb:UpdateItem', // rate window
      'dynamodb:UpdateItem', // aggregates
      // Lambda's SQS event source
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ]);
  });

  it('scopes Bedrock to the catalog models: inference profiles and their foundation models', () => {
    const resources = template.toJSON().Resources as Resources;
    const bedrock = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((s: { Action: unknown }) => JSON.stringify(s.Action).includes('bedrock:Invoke'));
    // One statement for each function that calls providers: the HTTP API one and the streaming one.
    expect(bedrock).toHaveLength(2);
    expect(bedrock[0].Action).toEqual([
      'bedrock:InvokeModel',
      'bedrock:InvokeModelWithResponseStream',
      'bedrock:CountTokens',
    ]);
    const granted = JSON.stringify(bedrock[0].Resource);
    // The stack is in eu-west-1: the EU profiles (the prefix derived from the region at synth).
    for (const model of [
      'anthropic.claude-sonnet-4-6',
      'anthropic.claude-haiku-4-5-20251001-v1:0',
      'amazon.nova-lite-v1:0',
    ]) {
      expect(granted).toContain(`:bedrock:*::foundation-model/${model}`);
      expect(granted).toContain(`:inference-profile/eu.${model}`);
    }
    expect(granted).not.toContain('inference-profile/us.');
    expect(bedrock[0].Resource).toHaveLength(6);
    const json = JSON.stringify(template.toJSON());
    expect(json).not.toContain('"bedrock:*"');
    expect(json).not.toContain('"dynamodb:*"');
  });

  it('passes each function exactly the table names it is bound to', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^LLM gateway: admin'),
      Environment: { Variables: Match.objectLike({ IDENTITY_TABLE: Match.anyValue(), USAGE_TABLE: Match.absent() }) },
    });
  });

  it('serves streaming from a regional REST API, not a Function URL: the gateway routes only, each a streamed Lambda proxy', () => {
    template.resourceCountIs('AWS::Lambda::Url', 0);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    const resources = template.toJSON().Resources as Resources;
    const streamFunctionId = Object.entries(resources).find(
      ([, r]) =>
        r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('LLM gateway: streaming'),
    )![0];
    const pathOf = (resourceId: string): string => {
      const resource = resources[resourceId]!;
      const parent = resource.Properties.ParentId;
      const prefix = parent.Ref ? pathOf(parent.Ref) : '';
      return `${prefix}/${resource.Properties.PathPart}`;
    };
    const methods = Object.values(resources)
      .filter((r) => r.Type === 'AWS::ApiGateway::Method')
      .map((r) => {
        const integration = r.Properties.Integration;
        return {
          route: `${r.Properties.HttpMethod} ${pathOf(r.Properties.ResourceId.Ref)}`,
          auth: r.Properties.AuthorizationType,
          type: integration.Type,
          mode: integration.ResponseTransferMode,
          timeoutMs: integration.TimeoutInMillis,
          uri: JSON.stringify(integration.Uri),
        };
      })
      .sort((a, b) => a.route.localeCompare(b.route));
    const gatewayRoutes = ROUTES.filter((route) => route.function === 'gateway')
      .map((route) => `${route.method} ${route.path}`)
      .sort();
    expect(methods.map((m) => m.route)).toEqual(gatewayRoutes);
    expect(gatewayRoutes).toEqual([
      'GET /health',
      'GET /v1/models',
      'POST /v1/chat',
      'POST /v1/chat/completions',
      'POST /v1/embeddings',
      'POST /v1/messages',
      'POST /v1/messages/count_tokens',
    ]);
    for (const method of methods) {
      expect(method).toMatchObject({ auth: 'NONE', type: 'AWS_PROXY', mode: 'STREAM', timeoutMs: 900_000 });
      // InvokeWithResponseStream, on the streaming function.
      expect(method.uri).toContain('/2021-11-15/functions/');
      expect(method.uri).toContain('/response-streaming-invocations');
      expect(method.uri).toContain(streamFunctionId);
    }
    expect(methods.some((m) => m.route.includes('/admin') || m.route.includes('/usage'))).toBe(false);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^LLM gateway: streaming'),
      Timeout: 900,
      Environment: { Variables: Match.objectLike({ PROVIDER_TIMEOUT_MS: '60000', COUNTERS_TABLE: Match.anyValue() }) },
    });
  });

  it('throttles the streaming stage, logs its access and errors (never bodies), and outputs its URL as StreamUrl', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'stream',
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        }),
      ],
    });
    const output = JSON.stringify(template.toJSON().Outputs.StreamUrl.Value);
    expect(output).toContain('.execute-api.');
    const [stageId] = Object.keys(template.findResources('AWS::ApiGateway::Stage'));
    expect(output).toContain(`{"Ref":"${stageId}"},"/"`);
  });

  it('throttles every HTTP API route by default and the admin routes more tightly', () => {
    const stage = Object.values(template.toJSON().Resources as Resources).find(
      (r) => r.Type === 'AWS::ApiGatewayV2::Stage',
    )!;
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
    const adminKeys = ROUTES.filter((route) => route.auth === 'iam').map((route) => `${route.method} ${route.path}`);
    expect(Object.keys(stage.Properties.RouteSettings).sort()).toEqual([...adminKeys].sort());
    for (const key of adminKeys) {
      expect(stage.Properties.RouteSettings[key]).toEqual({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 });
    }

    const custom = synth({
      gateway: {
        apiThrottle: { rateLimit: 20 },
        adminThrottle: { rateLimit: 1, burstLimit: 2 },
        streamThrottle: { burstLimit: 7 },
      },
    });
    custom.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 200 }),
      RouteSettings: Match.objectLike({ 'POST /v1/admin/teams': { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 } }),
    });
    custom.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 7 })],
    });
    expect(() => synth({ gateway: { streamThrottle: { rateLimit: 0 } } })).toThrow(/streamThrottle\.rateLimit/);
  });

  it('caps the streaming function with reserved concurrency and alarms at 80 % of the cap', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^LLM gateway: streaming'),
      ReservedConcurrentExecutions: 100,
    });
    // Only the streaming function is capped: the others serve the 29 s HTTP API.
    const capped = Object.values(template.toJSON().Resources as Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.ReservedConcurrentExecutions !== undefined,
    );
    expect(capped).toHaveLength(1);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ConcurrentExecutions',
      Namespace: 'AWS/Lambda',
      Statistic: 'Maximum',
      Threshold: 79,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [Match.anyValue()],
    });

    const small = synth({ gateway: { streamReservedConcurrency: 10 } });
    small.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 10 });
    small.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ConcurrentExecutions', Threshold: 7 });
    expect(() => synth({ gateway: { streamReservedConcurrency: 0 } })).toThrow(/streamReservedConcurrency/);
  });

  it('associates a WAF web ACL with the streaming stage only when one is given', () => {
    template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
    const webAclArn = 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/gateway/abc';
    const protectedStack = synth({ gateway: { webAclArn } });
    protectedStack.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    const [association] = Object.values(protectedStack.toJSON().Resources as Resources).filter(
      (r) => r.Type === 'AWS::WAFv2::WebACLAssociation',
    );
    expect(association!.Properties.WebACLArn).toBe(webAclArn);
    const resourceArn = JSON.stringify(association!.Properties.ResourceArn);
    expect(resourceArn).toContain('/restapis/');
    expect(resourceArn).toContain('/stages/');
  });

  it('lets the gateway functions read the provider secrets the config names, and nothing else', () => {
    const config = {
      providers: {
        openai: { adapter: 'openai' as const, apiKeySecret: 'llm-gateway/openai' },
        anthropic: { adapter: 'anthropic' as const, apiKeySecret: 'llm-gateway/anthropic' },
      },
      models: [
        { id: 'gpt', provider: 'openai', upstreamModel: 'gpt-4o-mini', prices: { input: 0.15, output: 0.6 } },
        { id: 'claude', provider: 'anthropic', upstreamModel: 'claude-sonnet-4', prices: { input: 3, output: 15 } },
      ],
    };
    const referenced = synth({ gateway: { config } });
    expect(actionsOf(referenced, 'LLM gateway: OpenAI')).toEqual(
      expect.arrayContaining(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret']),
    );
    expect(actionsOf(referenced, 'LLM gateway: admin')).not.toContain('secretsmanager:GetSecretValue');
    const json = JSON.stringify(referenced.toJSON());
    expect(json).toContain('secret:llm-gateway/openai-??????');
    expect(json).toContain('secret:llm-gateway/anthropic-??????');
    // No Bedrock models in this catalog: no Bedrock permission at all.
    expect(json).not.toContain('bedrock:InvokeModel');
    referenced.resourceCountIs('AWS::SecretsManager::Secret', 0);

    const created = synth({ gateway: { config, createProviderSecrets: true } });
    created.resourceCountIs('AWS::SecretsManager::Secret', 2);
    created.hasResourceProperties('AWS::SecretsManager::Secret', { Name: 'llm-gateway/openai' });
  });

  it('lets the gateway functions apply exactly the guardrails the policy profiles name', () => {
    const config = {
      providers: { mock: { adapter: 'mock' as const } },
      models: [{ id: 'm', provider: 'mock', upstreamModel: 'm', prices: { input: 1, output: 1 } }],
      policies: {
        profiles: {
          default: {},
          strict: { guardrail: { id: 'gr-abc123', version: '2' } },
          eu: { guardrail: { id: 'arn:aws:bedrock:eu-west-1:123456789012:guardrail/gr-eu', region: 'eu-west-1' } },
        },
      },
    };
    const stack = synth({ gateway: { config, enableMockModels: true } });
    const statements = Object.values(stack.toJSON().Resources as Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((s: { Action: unknown }) => s.Action === 'bedrock:ApplyGuardrail');
    expect(statements).toHaveLength(2); // the HTTP API function and the streaming one
    expect(JSON.stringify(statements[0].Resource)).toContain(':guardrail/gr-abc123');
    expect(JSON.stringify(statements[0].Resource)).toContain('arn:aws:bedrock:eu-west-1:123456789012:guardrail/gr-eu');
    expect(actionsOf(stack, 'LLM gateway: usage')).not.toContain('bedrock:ApplyGuardrail');
    expect(JSON.stringify(template.toJSON())).not.toContain('bedrock:ApplyGuardrail');
  });

  it('refuses a policy that names an unknown detector or profile, with the path of the mistake', () => {
    const policies = (policies: unknown) => () =>
      synth({
        gateway: {
          config: {
            providers: { mock: { adapter: 'mock' } },
            models: [{ id: 'x', provider: 'mock', upstreamModel: 'x', prices: { input: 1, output: 1 } }],
            policies,
          } as never,
        },
      });
    expect(policies({ profiles: { default: { detectors: [{ detector: 'passport', action: 'block' }] } } })).toThrow(
      /policies\.profiles\.default\.detectors\.0\.detector.*unknown detector "passport"/s,
    );
    expect(policies({ defaultProfile: 'strict', profiles: { default: {} } })).toThrow(/no profile named "strict"/);
    expect(policies({ profiles: { default: { denyRules: [{ id: 'x', message: 'm', pattern: '(' }] } } })).toThrow(
      /not a valid regular expression/,
    );
  });

  it('runs the maintenance Lambda every five minutes', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: Match.anyValue() })],
    });
  });

  it('schedules the health probe only when configured, with Bedrock and secrets for the probed models only', () => {
    expect(JSON.stringify(template.toJSON())).not.toContain('health-probe');
    const probed = synth({
      gateway: {
        config: {
          providers: {
            bedrock: { adapter: 'bedrock' },
            openai: { adapter: 'openai', apiKeySecret: 'llm-gateway/openai' },
            anthropic: { adapter: 'anthropic', apiKeySecret: 'llm-gateway/anthropic' },
          },
          models: [
            {
              id: 'nova',
              provider: 'bedrock',
              upstreamModel: 'amazon.nova-lite-v1:0',
              prices: { input: 1, output: 1 },
            },
            {
              id: 'titan',
              provider: 'bedrock',
              upstreamModel: 'amazon.titan-text-lite-v1',
              prices: { input: 1, output: 1 },
            },
            { id: 'gpt', provider: 'openai', upstreamModel: 'gpt-4o', prices: { input: 1, output: 1 } },
            { id: 'claude', provider: 'anthropic', upstreamModel: 'claude', prices: { input: 1, output: 1 } },
          ],
          healthProbe: { models: ['nova', 'gpt'] },
        },
      },
    });
    probed.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ job: 'health-probe' }) })],
    });
    const grants = JSON.stringify(
      Object.values(probed.toJSON().Resources as Resources).filter(
        (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes('MaintenanceFunction'),
      ),
    );
    expect(grants).toContain('foundation-model/amazon.nova-lite-v1:0');
    expect(grants).not.toContain('amazon.titan-text-lite-v1');
    expect(grants).toContain('llm-gateway/openai');
    expect(grants).not.toContain('llm-gateway/anthropic');
  });

  it('outputs what a user needs', () => {
    for (const output of [
      'ApiUrl',
      'StreamUrl',
      'IdentityTableName',
      'UsageTableName',
      'CountersTableName',
      'AuditTableName',
    ]) {
      template.hasOutput(output, {});
    }
  });

  it('can be made disposable', () => {
    const disposable = synth({ gateway: { deletionProtection: false } });
    disposable.allResources('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
  });

  it('refuses to synthesize an invalid config', () => {
    expect(() =>
      synth({
        gateway: {
          config: {
            providers: { mock: { adapter: 'mock' } },
            models: [{ id: 'x', provider: 'missing', upstreamModel: 'x', prices: { input: 1, output: 1 } }],
          },
        },
      }),
    ).toThrow(GatewayConfigError);
  });
});

describe('GatewayStack bundling', () => {
  it('bundles each Lambda with esbuild, with source maps, inlining the config where it is used', () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-out-'));
    try {
      const app = new App({ outdir });
      const stack = new GatewayStack(app, 'BundledGateway', { env: { account: '123456789012', region: 'eu-west-1' } });
      app.synth();
      const resources = Template.fromStack(stack).toJSON().Resources as Resources;
      const bundles = Object.values(resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => {
          const dir = path.join(outdir, `asset.${String(r.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
          const code = readFileSync(path.join(dir, 'index.js'), 'utf8');
          // Plain booleans: a failing toContain would print the whole bundle.
          return {
            name: String(r.Properties.Description).split(':')[1]!.trim().split(' ')[0],
            // The runtime's SDK is found through NODE_PATH, which `import()` ignores: lazy loads
            // of it must be require() calls, or they fail in Lambda only.
            importsSdkAsEsm: /import\(["']@aws-sdk\//.test(code),
            hasConfig: code.includes('eu.amazon.nova-lite-v1:0'),
            hasPlaceholder: code.includes('__GATEWAY_CONFIG__'),
            hasSourceMap: readdirSync(dir).includes('index.js.map'),
            // The post-response extension: bundled as an ES module of its own, preloaded by NODE_OPTIONS.
            preload:
              readdirSync(dir).includes('after-response-extension.mjs') &&
              /2020-01-01\/extension/.test(readFileSync(path.join(dir, 'after-response-extension.mjs'), 'utf8')) &&
              r.Properties.Environment.Variables.NODE_OPTIONS === '--import=/var/task/after-response-extension.mjs',
          };
        })
        .sort((a, b) => a.name!.localeCompare(b.name!));
      expect(bundles).toEqual([
        {
          name: 'admin',
          importsSdkAsEsm: false,
          hasConfig: true,
          hasPlaceholder: false,
          hasSourceMap: true,
          preload: false,
        },
        // The replay function applies queued writes as they are: it needs no config.
        {
          name: 'applies',
          importsSdkAsEsm: false,
          hasConfig: false,
          hasPlaceholder: false,
          hasSourceMap: true,
          preload: false,
        },
        {
          name: 'OpenAI-compatible',
          importsSdkAsEsm: false,
          hasConfig: true,
          hasPlaceholder: false,
          hasSourceMap: true,
          preload: true,
        },
        // Maintenance checks the catalog's Bedrock models against their lifecycle once a day.
        {
          name: 'releases',
          importsSdkAsEsm: false,
          hasConfig: true,
          hasPlaceholder: false,
          hasSourceMap: true,
          preload: false,
        },
        {
          name: 'streaming',
          importsSdkAsEsm: false,
          hasConfig: true,
          hasPlaceholder: false,
          hasSourceMap: true,
          preload: false,
        },
        // The usage Lambda reads the audit retention from the config.
        {
          name: 'usage',
          importsSdkAsEsm: false,
          hasConfig: true,
          hasPlaceholder: false,
          hasSourceMap: true,
          preload: false,
        },
      ]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 60_000);
});
