import { installedAfterResponse, withAfterResponse } from '../shared/lifecycle/after-response';
import { logger } from '../shared/observability/logger';
import { createGatewayHandler, gatewayDependenciesFromEnvironment } from './handler';

/**
 * Entry point of the gateway Lambda behind the HTTP API (payload 2.0, buffered responses).
 * Dependencies are built once per Lambda instance (cold start) and reused by every request. When
 * the post-response extension registered at init (`after-response-extension.mts`), usage records
 * are written after the answer, within the invocation.
 */
export const handler = withAfterResponse(
  (defer) => createGatewayHandler(gatewayDependenciesFromEnvironment(), defer),
  // The usage recorder never rejects (a refused write goes to the replay queue): this is a bug's last net.
  (error) => logger.error('post-response work failed', { error: (error as Error).name }),
  installedAfterResponse(),
);
