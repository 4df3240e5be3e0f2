import { startLocalGateway, type LocalGateway, type LocalGatewayOptions } from '../../local/local-gateway';
import { testEndpoint } from './dynamodb';

/**
 * A local gateway as the integration suites start it: on random ports, on the tests' shared
 * DynamoDB Local, with tables of its own (`<prefix>-<now>`).
 *
 * @example
 * const gateway = await startTestLocalGateway('routing', { config });
 */
export function startTestLocalGateway(prefix: string, options: LocalGatewayOptions = {}): Promise<LocalGateway> {
  return startLocalGateway({
    port: 0,
    dynamodbEndpoint: testEndpoint(),
    tablePrefix: `${prefix}-${Date.now()}`,
    ...options,
  });
}
