/**
 * The Bedrock runtime SDK module, loaded on first use: a gateway instance whose requests never go
 * to Bedrock (or through a guardrail) should not pay for loading it at cold start (about 9 ms).
 * A CommonJS require, not `import()`: the bundles leave the AWS SDK to the Lambda runtime, whose
 * copy is found through NODE_PATH, which require() honours and the ES module resolver does not.
 */
export type BedrockRuntimeModule = typeof import('@aws-sdk/client-bedrock-runtime');

let loaded: BedrockRuntimeModule | undefined;

export function bedrockRuntime(): BedrockRuntimeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: lazy, and from the runtime's SDK
  loaded ??= require('@aws-sdk/client-bedrock-runtime') as BedrockRuntimeModule;
  return loaded;
}
