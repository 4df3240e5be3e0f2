import { gatewayConfig as repositoryConfig } from '../../../gateway.config';
import { Catalog } from './catalog';
import { parseGatewayConfig } from './schema';

/**
 * The config the CDK construct was given, inlined into each Lambda bundle by esbuild's `define`
 * (see `lib/gateway-function.ts`). Absent when running from source (tests, local runtime), where
 * the repository's own `gateway.config.ts` applies.
 */
declare const __GATEWAY_CONFIG__: unknown;

let cached: Catalog | undefined;

/**
 * Validates and returns the deployed catalog once per Lambda instance. A bad config fails the
 * cold start loudly instead of failing requests one by one.
 *
 * @example
 * const catalog = loadCatalog();
 */
export function loadCatalog(): Catalog {
  if (!cached) {
    const raw = typeof __GATEWAY_CONFIG__ === 'undefined' ? repositoryConfig : __GATEWAY_CONFIG__;
    cached = new Catalog(parseGatewayConfig(raw));
  }
  return cached;
}
