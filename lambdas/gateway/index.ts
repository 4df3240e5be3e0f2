import { createGatewayHandler, gatewayDependenciesFromEnvironment } from './handler';

/**
 * Entry point of the gateway Lambda behind the HTTP API (payload 2.0, buffered responses).
 * Dependencies are built once per Lambda instance (cold start) and reused by every request.
 */
export const handler = createGatewayHandler(gatewayDependenciesFromEnvironment());
