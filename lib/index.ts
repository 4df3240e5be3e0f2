export { bedrockInvokeStatements, type BedrockScope } from './bedrock-permissions';
export { GatewayFunction, type GatewayFunctionProps } from './gateway-function';
export { GatewayStack, type GatewayStackProps } from './gateway-stack';
export { GatewayTables, type GatewayTablesProps } from './gateway-tables';
export { LlmGateway, type LlmGatewayProps } from './llm-gateway';
