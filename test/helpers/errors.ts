import { GatewayError } from '../../lambdas/shared/http/errors';

/**
 * The `GatewayError` a synchronous call throws, for asserting on its status, code and param
 * together. Fails the test when the call returns or throws anything else.
 */
export function errorOf(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}
