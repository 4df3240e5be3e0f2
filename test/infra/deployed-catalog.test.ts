import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { GatewayConfigError } from '../../lambdas/shared/catalog/schema';
import { GatewayStack, type GatewayStackProps } from '../../lib/gateway-stack';

// Template JSON is untyped.
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** Synthesizes without bundling (fast); `context` is the app's (`-c`) context. */
function synth(props: GatewayStackProps, context: Record<string, unknown> = {}): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return Template.fromStack(new GatewayStack(app, 'CatalogGateway', props));
}

/** The resources of the Bedrock invoke statements (one per calling function; they are equal). */
function bedrockResources(template: Template): string {
  const statements = Object.values(template.toJSON().Resources as Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => r.Properties.PolicyDocument.Statement)
    .filter((s: { Action: unknown }) => JSON.stringify(s.Action).includes('bedrock:InvokeModel'));
  expect(statements.length).toBeGreaterThan(0);
  return JSON.stringify(statements[0].Resource);
}

describe('the catalog as the stack deploys it', () => {
  it('grants the EU inference profiles in eu-west-1 and the US ones in us-east-1, with their foundation models', () => {
    const eu = bedrockResources(synth({ env: { account: '123456789012', region: 'eu-west-1' } }));
    const us = bedrockResources(synth({ env: { account: '123456789012', region: 'us-east-1' } }));
    for (const model of [
      'anthropic.claude-sonnet-4-6',
      'anthropic.claude-haiku-4-5-20251001-v1:0',
      'amazon.nova-lite-v1:0',
    ]) {
      // arn:<partition>:bedrock:<stack region>:<account>:inference-profile/<geo>.<model>
      expect(eu).toContain(`:inference-profile/eu.${model}`);
      expect(us).toContain(`:inference-profile/us.${model}`);
      // The geography's regions serve the model: every region of the foundation model ARN.
      expect(eu).toContain(`:bedrock:*::foundation-model/${model}"`);
      expect(us).toContain(`:bedrock:*::foundation-model/${model}"`);
    }
    expect(eu).not.toContain('/us.');
    expect(us).not.toContain('/eu.');
    // Nothing but the catalog: three profiles and three foundation models.
    expect(JSON.parse(eu)).toHaveLength(6);
  });

  it('fails synth, saying to set CDK_DEFAULT_REGION, when the stack has no region', () => {
    const attempt = () => synth({ env: { account: '123456789012' } });
    expect(attempt).toThrow(GatewayConfigError);
    expect(attempt).toThrow(/has no region at synth.*set CDK_DEFAULT_REGION/s);
    // The same without any env (an environment-agnostic stack).
    expect(() => synth({})).toThrow(/set CDK_DEFAULT_REGION/);
  });

  it('fails synth naming the model when a model cannot be served from the region', () => {
    expect(() => synth({ env: { account: '123456789012', region: 'sa-east-1' } })).toThrow(
      /models cannot be served from sa-east-1:.*claude-sonnet-4-6: .*sa-east-1 calls: no known geography/s,
    );
  });

  it('keeps a full inference profile id or ARN as written, whatever the region', () => {
    const template = synth({
      env: { account: '123456789012', region: 'us-east-1' },
      gateway: {
        config: {
          providers: { bedrock: { adapter: 'bedrock' } },
          models: [
            {
              id: 'claude',
              provider: 'bedrock',
              upstreamModel: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0',
              prices: { input: 1, output: 5 },
            },
          ],
        },
      },
    });
    expect(bedrockResources(template)).toContain(':inference-profile/eu.anthropic.claude-haiku-4-5-20251001-v1:0');
  });

  it('does not deploy the mock models unless enabled by prop or by -c enableMockModels=true', () => {
    const env = { account: '123456789012', region: 'eu-west-1' };
    const modelsShown = (template: Template) => {
      const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resources[string][];
      return JSON.stringify(dashboard!.Properties.DashboardBody);
    };
    // The mock models are in gateway.config.ts; the dashboard's per-model graphs list the deployed catalog.
    const byDefault = synth({ env });
    expect(modelsShown(byDefault)).toContain('claude-haiku-4-5');
    expect(modelsShown(byDefault)).not.toContain('mock-small');
    expect(modelsShown(synth({ env, gateway: { enableMockModels: true } }))).toContain('mock-small');
    expect(modelsShown(synth({ env }, { enableMockModels: 'true' }))).toContain('mock-small');
    expect(
      modelsShown(synth({ env, gateway: { enableMockModels: false } }, { enableMockModels: 'true' })),
    ).not.toContain('mock-small');
  });

  it('runs the model lifecycle check daily through its own rule, with ListFoundationModels on * only', () => {
    const template = synth({ env: { account: '123456789012', region: 'eu-west-1' } });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 day)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ job: 'model-lifecycle' }) })],
    });
    const listStatements = Object.values(template.toJSON().Resources as Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((s: { Action: unknown }) => JSON.stringify(s.Action).includes('bedrock:ListFoundationModels'));
    expect(listStatements).toEqual([{ Effect: 'Allow', Action: 'bedrock:ListFoundationModels', Resource: '*' }]);
  });
});
