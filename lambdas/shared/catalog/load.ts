import { gatewayConfig as repositoryConfig } from '../../../gateway.config';
import { Catalog } from './catalog';
import { parseGatewayConfig, type GatewayConfig } from './schema';

/**
 * The config the CDK construct was given, as it validated it at synth, inlined into each Lambda
 * bundle by esbuild's `define` (see `lib/gateway-function.ts`). The local runtime sets the same
 * global; absent when running from source otherwise (tests), where the repository's own
 * `gateway.config.ts` applies.
 */
declare const __GATEWAY_CONFIG__: GatewayConfig | undefined;

let cached: Catalog | undefined;

/**
 * The deployed catalog, built once per Lambda instance. The inlined config was validated when
 * the stack was synthesized (a bad config fails `cdk synth`, never a request); only the
 * repository's own config, read from source, is validated here.
 *
 * @example
 * const catalog = loadCatalog();
 */
export function loadCatalog(): Catalog {
  if (!cached) {
    cached = new Catalog(
      typeof __GATEWAY_CONFIG__ === 'undefined' ? parseGatewayConfig(repositoryConfig) : __GATEWAY_CONFIG__,
    );
  }
  return cached;
}
