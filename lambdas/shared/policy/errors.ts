import { ERROR_CODES, GatewayError } from '../http/errors';

/**
 * 400 `content_policy_violation`: a policy rule blocked the request. The message names the rule
 * and says why in the rule's own words, never what it matched.
 */
export class PolicyViolationError extends GatewayError {
  constructor(
    readonly ruleId: string,
    reason: string,
  ) {
    super(400, 'invalid_request_error', `Request blocked by policy rule '${ruleId}': ${reason}`, {
      code: ERROR_CODES.contentPolicyViolation,
      param: 'messages',
    });
    this.name = 'PolicyViolationError';
  }
}

/**
 * 503 `guardrail_unavailable`: the profile's Bedrock guardrail could not be applied. The gateway
 * fails closed: text a guardrail was meant to judge is neither sent nor returned unjudged.
 */
export function guardrailUnavailable(cause: unknown): GatewayError {
  return new GatewayError(503, 'server_error', 'The content guardrail could not be applied; try again.', {
    code: ERROR_CODES.guardrailUnavailable,
    cause,
  });
}
