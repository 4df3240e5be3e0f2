import { Duration, Stack, Token } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { HEALTH_PROBE_JOB } from '../lambdas/shared/catalog/health-probe';
import { MODEL_LIFECYCLE_JOB } from '../lambdas/shared/catalog/model-lifecycle';
import { needsRegion, resolveCatalog } from '../lambdas/shared/catalog/resolve';
import { GatewayConfigError, type GatewayConfig } from '../lambdas/shared/catalog/schema';
import type { GatewayFunction } from './gateway-function';

/** Context key that deploys the mock models (`-c enableMockModels=true`). */
export const ENABLE_MOCK_MODELS_CONTEXT = 'enableMockModels';

/**
 * The catalog as the stack will run it, resolved at synth for the stack's region: Bedrock
 * inference-profile prefixes derived from the region, mock models dropped unless enabled (the
 * prop, else the `enableMockModels` context). Fails synth with a clear message when the region
 * is not known at synth (an environment-agnostic stack) or a model cannot be served there.
 *
 * @example
 * const config = deployedCatalog(this, parseGatewayConfig(configInput), props.enableMockModels);
 */
export function deployedCatalog(scope: Construct, parsed: GatewayConfig, enableMockModels?: boolean): GatewayConfig {
  const includeMockModels =
    enableMockModels ?? String(scope.node.tryGetContext(ENABLE_MOCK_MODELS_CONTEXT) ?? 'false') === 'true';
  const stackRegion = Stack.of(scope).region;
  const region = Token.isUnresolved(stackRegion) ? undefined : stackRegion;
  if (region === undefined && needsRegion(parsed)) {
    throw new GatewayConfigError(
      `the stack ${Stack.of(scope).stackName} has no region at synth, and the model catalog derives each Bedrock ` +
        `model's inference profile (us., eu., apac., jp., ...) from it. Give the stack an env with a region: ` +
        `set CDK_DEFAULT_REGION (bin/gateway.ts passes it; the CDK CLI sets it from AWS_REGION or your profile), ` +
        `e.g. CDK_DEFAULT_REGION=eu-west-1 npx cdk synth`,
    );
  }
  return resolveCatalog(parsed, { region, includeMockModels });
}

/**
 * The health probe's schedule, when the config has one: every 5 minutes the maintenance function
 * is invoked with `{ "job": "health-probe" }` (its provider access is granted with the gateway's,
 * for the probed models only).
 *
 * @example
 * scheduleHealthProbe(this, functions.maintenance);
 */
export function scheduleHealthProbe(scope: Construct, maintenance: GatewayFunction): Rule {
  return scheduleMaintenanceJob(scope, 'HealthProbeSchedule', maintenance, {
    description: 'LLM gateway maintenance: one-token health probe of the configured catalog models',
    every: Duration.minutes(5),
    job: HEALTH_PROBE_JOB,
    retryAttempts: 0,
  });
}

/**
 * The daily Bedrock lifecycle check: a rule that invokes the maintenance function once a day
 * with `{ "job": "model-lifecycle" }` (the 5-minute sweep keeps its own rule), and the one IAM
 * action it needs. `bedrock:ListFoundationModels` supports no resource-level permission, hence `*`
 * (acknowledged in nag-acknowledgements.ts).
 *
 * @example
 * scheduleModelLifecycleCheck(this, functions.maintenance);
 */
export function scheduleModelLifecycleCheck(scope: Construct, maintenance: GatewayFunction): Rule {
  maintenance.addToRolePolicy(
    new PolicyStatement({ effect: Effect.ALLOW, actions: ['bedrock:ListFoundationModels'], resources: ['*'] }),
  );
  return scheduleMaintenanceJob(scope, 'ModelLifecycleSchedule', maintenance, {
    description: 'LLM gateway maintenance: daily check of the catalog models against Bedrock lifecycle states',
    every: Duration.days(1),
    job: MODEL_LIFECYCLE_JOB,
    retryAttempts: 2,
  });
}

/** A rule that invokes the maintenance function with `{ "job": <job> }` at a fixed rate. */
function scheduleMaintenanceJob(
  scope: Construct,
  id: string,
  maintenance: GatewayFunction,
  options: { description: string; every: Duration; job: string; retryAttempts: number },
): Rule {
  return new Rule(scope, id, {
    description: options.description,
    schedule: Schedule.rate(options.every),
    targets: [
      new LambdaFunction(maintenance, {
        event: RuleTargetInput.fromObject({ job: options.job }),
        retryAttempts: options.retryAttempts,
      }),
    ],
  });
}
