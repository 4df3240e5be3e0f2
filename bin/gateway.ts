#!/usr/bin/env node
/**
 * CDK app entry: `npx cdk synth` / `npx cdk deploy`. Context:
 *   -c stackName=MyGateway          (default LlmGateway)
 *   -c deletionProtection=false     (default true; only for throwaway stacks)
 *   -c alarmEmail=ops@example.com   (subscribe an address to alarms and budget alerts)
 *   -c enableMockModels=true        (deploy the config's mock models too; default false)
 * The stack's region is CDK_DEFAULT_REGION, which the CDK CLI sets from AWS_REGION or the AWS
 * profile: the catalog derives each Bedrock model's inference profile (us., eu., ...) from it, so
 * synth refuses to run without it (`CDK_DEFAULT_REGION=eu-west-1 npx cdk synth` works offline).
 */
import { App } from 'aws-cdk-lib';
import { GatewayStack } from '../lib/gateway-stack';

const app = new App();
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'LlmGateway';
const deletionProtection = String(app.node.tryGetContext('deletionProtection') ?? 'true') !== 'false';
const alarmEmail = app.node.tryGetContext('alarmEmail') as string | undefined;
const enableMockModels = String(app.node.tryGetContext('enableMockModels') ?? 'false') === 'true';

new GatewayStack(app, stackName, {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  gateway: { deletionProtection, enableMockModels, alarmEmail },
});
