export { Catalog } from './catalog';
export { loadCatalog } from './load';
export {
  defineGatewayConfig,
  GatewayConfigError,
  gatewayConfigSchema,
  parseGatewayConfig,
  type GatewayConfig,
  type GatewayConfigInput,
  type ModelEntry,
  type ModelPrices,
} from './schema';
