import { ERROR_CODES, GatewayError } from './errors';

/**
 * What API Gateway itself answers on the streaming door (REST API gateway responses), in
 * OpenAI's error shape so that OpenAI's SDKs understand it: a throttled request is a 429 they
 * back off from, an unknown route a 404, a request the web ACL refused a 403, and API Gateway's
 * own 5xx (the function at its reserved concurrency, say) keeps its status with a body the SDKs
 * can read. Defined once: the CDK app installs these as the REST API's gateway responses, and the
 * local stand-in of the door answers unknown routes with the same one.
 */
export const STREAM_DOOR_RESPONSES = {
  /** Stage or method throttling. */
  THROTTLED: new GatewayError(429, 'requests', 'Too many requests to the streaming endpoint; retry shortly.', {
    code: ERROR_CODES.rateLimitExceeded,
  }),
  /** How a REST API answers a path or method it has no resource for. */
  MISSING_AUTHENTICATION_TOKEN: new GatewayError(404, 'invalid_request_error', 'Unknown route.', {
    code: ERROR_CODES.notFound,
  }),
  /** The optional AWS WAF web ACL refused the request. */
  WAF_FILTERED: new GatewayError(403, 'permission_error', 'The request was refused by the firewall.', {
    code: ERROR_CODES.requestBlocked,
  }),
  /** Any other failure of API Gateway itself; the status stays API Gateway's own. */
  DEFAULT_5XX: new GatewayError(
    503,
    'server_error',
    'The streaming endpoint could not take the request; retry shortly.',
    {
      code: ERROR_CODES.internalError,
    },
  ),
} as const;

/** Gateway response types whose status API Gateway keeps (only the body is ours). */
export const KEEP_STATUS: ReadonlySet<keyof typeof STREAM_DOOR_RESPONSES> = new Set(['DEFAULT_5XX']);
