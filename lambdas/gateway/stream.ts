import { createGatewayStreamHandler, gatewayDependenciesFromEnvironment } from './handler';

/**
 * Entry point of the streaming gateway Lambda, behind a Function URL in RESPONSE_STREAM mode:
 * the same routes, auth, policy, quotas and metering as `index.ts`, with SSE written as it comes.
 */
export const handler = createGatewayStreamHandler(gatewayDependenciesFromEnvironment());
