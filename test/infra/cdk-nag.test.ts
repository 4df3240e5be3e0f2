import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { gatewayConfig } from '../../gateway.config';
import { GatewayStack } from '../../lib/gateway-stack';

/**
 * cdk-nag's AwsSolutions pack over the whole stack: synth fails on any finding that is not
 * acknowledged, with its reason, in `lib/nag-acknowledgements.ts`.
 */
function synthWithNag(config?: GatewayConfigInput): void {
  const outdir = mkdtempSync(path.join(tmpdir(), 'nag-'));
  try {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, outdir });
    new GatewayStack(app, 'NagGateway', {
      env: { account: '123456789012', region: 'eu-west-1' },
      gateway: { alarmEmail: 'ops@example.com', ...(config ? { config } : {}) },
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    app.synth();
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('cdk-nag (AwsSolutions)', () => {
  it('has no unexplained findings with the repository config', () => {
    expect(() => synthWithNag()).not.toThrow();
  });

  it('has none either with external providers, a guardrail and an EU inference profile', () => {
    expect(() =>
      synthWithNag({
        providers: {
          bedrock: { adapter: 'bedrock' },
          openai: { adapter: 'openai', apiKeySecret: 'llm-gateway/openai' },
        },
        models: [
          { id: 'gpt', provider: 'openai', upstreamModel: 'gpt-4o-mini', prices: { input: 1, output: 1 } },
          {
            id: 'claude',
            provider: 'bedrock',
            upstreamModel: 'eu.anthropic.claude-sonnet-4-20250514-v1:0',
            prices: { input: 3, output: 15 },
          },
        ],
        policies: { profiles: { default: { guardrail: { id: 'abc123', version: '1' } } } },
      }),
    ).not.toThrow();
  });

  it('has none either with single sign-on (the console door)', () => {
    expect(() =>
      synthWithNag({
        ...gatewayConfig,
        sso: {
          issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123',
          audience: ['console-client'],
          grants: [{ group: 'gw-admins', role: 'platform_admin' }],
        },
      }),
    ).not.toThrow();
  });
});
