import { isNetworkError } from '../../lambdas/shared/http/network-errors';
import { isStoreUnavailable } from '../../lambdas/shared/store/unavailable';

const coded = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code });

describe('network and storage failures', () => {
  it('finds the network code on the error, its causes, an AggregateError, or only in the message', () => {
    expect(isNetworkError(coded('ECONNREFUSED'))).toBe(true);
    expect(isNetworkError(new Error('wrapped', { cause: coded('ECONNRESET') }))).toBe(true);
    expect(isNetworkError(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]))).toBe(true);
    expect(isNetworkError(new Error('AWS SDK error wrapper for Error: connect ECONNREFUSED'))).toBe(true);
    expect(isNetworkError(Object.assign(new Error('h2'), { code: 'ERR_HTTP2_STREAM_ERROR' }))).toBe(true);
    expect(isNetworkError(new Error('ValidationException: bad key'))).toBe(false);
    expect(isNetworkError(undefined)).toBe(false);
  });

  it('calls DynamoDB unavailable when throttled or failing after retries, or unreachable; not on a bad request', () => {
    const sdk = (name: string, fault: 'client' | 'server') =>
      Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: 400 } });
    expect(isStoreUnavailable(sdk('ThrottlingException', 'client'))).toBe(true);
    expect(isStoreUnavailable(sdk('ProvisionedThroughputExceededException', 'client'))).toBe(true);
    expect(isStoreUnavailable(sdk('InternalServerError', 'server'))).toBe(true);
    expect(isStoreUnavailable(coded('ECONNREFUSED'))).toBe(true);
    expect(isStoreUnavailable(sdk('ValidationException', 'client'))).toBe(false);
    expect(isStoreUnavailable(new TypeError('x is undefined'))).toBe(false);
  });
});
