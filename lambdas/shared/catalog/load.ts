import { Catalog } from './catalog';
import type { GatewayConfig } from './schema';

/**
 * The config the CDK construct was given, as it validated it and resolved it for its region at
 * synth (final Bedrock model ids, no mock models unless enabled: `resolveCatalog`), inlined into each Lambda
 * bundle by esbuild's `define` (see `lib/gateway-function.ts`); the local runtime sets the same
 * global, validated, before it loads the handlers. Nothing here parses it: the config schemas
 * (catalog, providers, policies) stay out of the Lambda bundles and out of their cold starts.
 */
declare const __GATEWAY_CONFIG__: GatewayConfig | undefined;

let cached: Catalog | undefined;

/**
 * The deployed catalog, built once per Lambda instance. A bad config fails `cdk synth` (or
 * `npm start`), never a request.
 *
 * @example
 * const catalog = loadCatalog();
 */
export function loadCatalog(): Catalog {
  if (typeof __GATEWAY_CONFIG__ === 'undefined') {
    throw new Error(
      'No gateway config: a Lambda bundle has it inlined by the CDK construct, and the local runtime sets it before loading the handlers.',
    );
  }
  return (cached ??= new Catalog(__GATEWAY_CONFIG__));
}
