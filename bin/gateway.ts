#!/usr/bin/env node
/**
 * CDK app entry: `npx cdk synth` / `npx cdk deploy`. Context:
 *   -c stackName=MyGateway          (default LlmGateway)
 *   -c deletionProtection=false     (default true; only for throwaway stacks)
 *   -c alarmEmail=ops@example.com   (subscribe an address to alarms and budget alerts)
 */
import { App } from 'aws-cdk-lib';
import { GatewayStack } from '../lib/gateway-stack';

const app = new App();
const stackName = (app.node.tryGetContext('stackName') as string | undefined) ?? 'LlmGateway';
const deletionProtection = String(app.node.tryGetContext('deletionProtection') ?? 'true') !== 'false';
const alarmEmail = app.node.tryGetContext('alarmEmail') as string | undefined;

new GatewayStack(app, stackName, {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  gateway: { deletionProtection, ...(alarmEmail ? { alarmEmail } : {}) },
});
