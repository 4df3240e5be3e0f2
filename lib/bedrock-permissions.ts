import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { GatewayConfig } from '../lambdas/shared/catalog/schema';

/** Where the statements are scoped: the stack's partition, region and account (tokens are fine). */
export interface BedrockScope {
  partition: string;
  region: string;
  account: string;
}

/** System-defined cross-region inference profiles are the model id with a geography prefix. */
const INFERENCE_PROFILE_PREFIX = /^(us|eu|apac|us-gov|global|jp|au|ca)\.(.+)$/;

/**
 * IAM actions the Bedrock adapter calls (Converse is authorised as InvokeModel, ConverseStream as
 * InvokeModelWithResponseStream; CountTokens answers the Messages face's count_tokens for Claude).
 */
export const BEDROCK_INVOKE_ACTIONS = [
  'bedrock:InvokeModel',
  'bedrock:InvokeModelWithResponseStream',
  'bedrock:CountTokens',
] as const;

/**
 * Least-privilege IAM statements for the Bedrock models in the catalog as resolved for the
 * deploy region (`resolveCatalog`: each model id final, its profile prefix derived from the
 * region), and no others:
 * - a foundation model id: that model in the connection's region;
 * - a system inference profile (`us.anthropic…`): the profile, and the model in every region the
 *   profile may route to;
 * - an inference-profile or application-inference-profile ARN: the profile, and foundation
 *   models only when invoked through that profile (`bedrock:InferenceProfileArn` condition),
 *   because which model an application profile wraps is not known at synth time;
 * - any other ARN (provisioned throughput): that ARN.
 *
 * @example
 * bedrockInvokeStatements(config, { partition: Aws.PARTITION, region: Aws.REGION, account: Aws.ACCOUNT_ID })
 */
export function bedrockInvokeStatements(
  config: GatewayConfig,
  scope: BedrockScope,
  actions: readonly string[] = BEDROCK_INVOKE_ACTIONS,
): PolicyStatement[] {
  const resources = new Set<string>();
  const profileArns = new Set<string>();
  for (const model of config.models) {
    const connection = config.providers[model.provider];
    if (connection?.adapter !== 'bedrock') continue;
    if (model.inferenceProfile !== undefined) {
      // A base id with `inferenceProfile` is not what the Lambda calls: granting it would allow
      // the wrong resource. The construct resolves the catalog for its region first.
      throw new Error(`bedrockInvokeStatements: model ${model.id} is not resolved for a region (resolveCatalog first)`);
    }
    const region = connection.region ?? scope.region;
    const id = model.upstreamModel;
    if (id.startsWith('arn:')) {
      if (/:(application-)?inference-profile\//.test(id)) profileArns.add(id);
      else resources.add(id);
      continue;
    }
    const profile = INFERENCE_PROFILE_PREFIX.exec(id);
    if (profile) {
      resources.add(`arn:${scope.partition}:bedrock:${region}:${scope.account}:inference-profile/${id}`);
      resources.add(`arn:${scope.partition}:bedrock:*::foundation-model/${profile[2]}`);
    } else {
      resources.add(`arn:${scope.partition}:bedrock:${region}::foundation-model/${id}`);
    }
  }
  const statements: PolicyStatement[] = [];
  if (resources.size > 0) {
    statements.push(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [...actions],
        resources: [...resources].sort(),
      }),
    );
  }
  for (const arn of profileArns) {
    statements.push(new PolicyStatement({ effect: Effect.ALLOW, actions: [...actions], resources: [arn] }));
    statements.push(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [...actions],
        resources: [`arn:${scope.partition}:bedrock:*::foundation-model/*`],
        conditions: { StringEquals: { 'bedrock:InferenceProfileArn': arn } },
      }),
    );
  }
  return statements;
}

/**
 * `bedrock:ApplyGuardrail` on exactly the guardrails the config's policy profiles name (an id
 * becomes the guardrail's ARN in its region; an ARN is used as is).
 *
 * @example
 * guardrailStatements(config, { partition: Aws.PARTITION, region: Aws.REGION, account: Aws.ACCOUNT_ID })
 */
export function guardrailStatements(config: GatewayConfig, scope: BedrockScope): PolicyStatement[] {
  const resources = new Set<string>();
  for (const profile of Object.values(config.policies.profiles)) {
    const guardrail = profile.guardrail;
    if (!guardrail) continue;
    resources.add(
      guardrail.id.startsWith('arn:')
        ? guardrail.id
        : `arn:${scope.partition}:bedrock:${guardrail.region ?? scope.region}:${scope.account}:guardrail/${guardrail.id}`,
    );
  }
  if (resources.size === 0) return [];
  return [
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['bedrock:ApplyGuardrail'],
      resources: [...resources].sort(),
    }),
  ];
}
