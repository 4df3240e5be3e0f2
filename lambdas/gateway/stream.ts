import { createGatewayStreamHandler, gatewayDependenciesFromEnvironment } from './handler';

/**
 * Entry point of the streaming gateway Lambda, behind the REST API door with response streaming:
 * the same routes, auth, policy, quotas and metering as `index.ts`, with SSE written as it comes.
 */
export const handler = createGatewayStreamHandler(gatewayDependenciesFromEnvironment());
