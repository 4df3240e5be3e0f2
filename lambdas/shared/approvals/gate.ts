import { GATEWAY_REQUEST_HEADERS } from '../http/headers';
import type { ToolCall } from '../chat/types';
import type { ToolRules } from '../policy/tool-rules';

/** A tool call a rule took out of an answer, and the rule. */
export interface GatedCall {
  call: ToolCall;
  ruleId: string;
}

/**
 * What the answer policy needs to gate tool calls: the profile's rules and a way to hold calls
 * for approval (the approval store, bound to one request). Without `hold`, a call that needs
 * approval is blocked: failing closed.
 */
export interface ToolGate {
  rules: ToolRules;
  /** Holds the calls; resolves to their approval ids, in order. */
  hold?(calls: readonly GatedCall[]): Promise<string[]>;
}

/** The header a client resends a request with to receive a held call once it is approved. */
const APPROVAL_HEADER = GATEWAY_REQUEST_HEADERS.approval;

/**
 * The text an answer gains for the calls taken out of it, one line each, so the caller (a person
 * or an agent) learns what happened and, for a held call, how to get it once approved. Names the
 * tool and the rule, never the arguments.
 *
 * @example
 * gateNotice([{ call, ruleId: 'tool:no-iam' }], [])
 * // '[gateway] The tool call `put_role_policy` was blocked by the policy (rule tool:no-iam).'
 */
export function gateNotice(
  blocked: readonly GatedCall[],
  held: readonly (GatedCall & { approvalId: string })[],
): string {
  const lines = [
    ...blocked.map(
      ({ call, ruleId }) => `[gateway] The tool call \`${call.name}\` was blocked by the policy (rule ${ruleId}).`,
    ),
    ...held.map(
      ({ call, ruleId, approvalId }) =>
        `[gateway] The tool call \`${call.name}\` is held for approval ${approvalId} (rule ${ruleId}). Once an approver approves it, send the same request again with the header \`${APPROVAL_HEADER}: ${approvalId}\` to receive it.`,
    ),
  ];
  return lines.join('\n');
}
