import { combine, type CompiledPolicy, type PolicyDecision } from '../policy/engine';
import { PolicyViolationError } from '../policy/errors';
import type { GuardrailChecker } from '../policy/guardrail';
import type { Redactor } from '../policy/redactor';
import type { ChatRequest } from '../chat/types';

/** The rule id of a profile's Bedrock guardrail. */
export const guardrailRuleId = (id: string) => `guardrail:${id}`;

/** Index of the last user message, the one a guardrail judges. */
function lastUserIndex(request: ChatRequest): number {
  for (let i = request.messages.length - 1; i >= 0; i--) if (request.messages[i]!.role === 'user') return i;
  return -1;
}

/** The text of the last user message. */
export function lastUserText(request: ChatRequest): string {
  const message = request.messages[lastUserIndex(request)];
  if (!message || message.role !== 'user') return '';
  return message.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

/** A request after a policy check, and what the policy decided. */
export interface CheckedRequest {
  request: ChatRequest;
  decision: PolicyDecision;
}

/**
 * Applies a profile's free, local checks to a request before it is admitted: the prompt-size
 * limit, then deny rules and DLP detectors on every text the request sends upstream (redacting
 * what the profile says to redact). Throws {@link PolicyViolationError} on a block, naming the
 * rule and never what it matched. Runs before admission, so a blocked request counts against no
 * limit.
 *
 * @example
 * const { request: safe, decision } = checkLocalPolicy(policy, request, promptTokens, redactor);
 */
export function checkLocalPolicy(
  policy: CompiledPolicy,
  request: ChatRequest,
  promptTokens: number,
  redactor: Redactor,
): CheckedRequest {
  const { maxPromptTokens } = policy.profile;
  if (maxPromptTokens !== undefined && promptTokens > maxPromptTokens) {
    throw new PolicyViolationError(
      'max_prompt_tokens',
      `The prompt is estimated at ${promptTokens} tokens; this policy allows at most ${maxPromptTokens}.`,
    );
  }
  const checked = policy.checkRequest(request, redactor);
  if (checked.blockedBy) throw new PolicyViolationError(checked.blockedBy.ruleId, checked.blockedBy.message);
  return { request: checked.request, decision: checked.decision };
}

/**
 * Applies the profile's Bedrock guardrail, if it names one for input, to the newest user message
 * of a request the local checks passed (a guardrail that masks is a redaction, one that blocks is
 * a block). Each call is billed by Bedrock, so it runs after admission: a request refused by a
 * rate limit or budget never pays for one. Throws {@link PolicyViolationError} on a block, and
 * whatever the guardrail client threw when it could not judge (the caller fails closed).
 *
 * @example
 * const { request: safe, decision } = await checkInputGuardrail(policy, checked, guardrails);
 */
export async function checkInputGuardrail(
  policy: CompiledPolicy,
  checked: CheckedRequest,
  guardrails: GuardrailChecker | undefined,
): Promise<CheckedRequest> {
  const { guardrail } = policy.profile;
  if (!guardrail || guardrail.direction === 'output' || !guardrails) return checked;

  const index = lastUserIndex(checked.request);
  const text = lastUserText(checked.request);
  if (index < 0 || text === '') return checked;
  const verdict = await guardrails.check(guardrail, 'INPUT', text);
  const ruleId = guardrailRuleId(guardrail.id);
  if (verdict.action === 'block') throw new PolicyViolationError(ruleId, 'The request was blocked by a guardrail.');
  if (verdict.action === 'none') return checked;
  const messages = [...checked.request.messages];
  const original = messages[index]!;
  if (original.role === 'user') {
    messages[index] = {
      ...original,
      content: [{ type: 'text', text: verdict.text }, ...original.content.filter((part) => part.type !== 'text')],
    };
  }
  return {
    request: { ...checked.request, messages },
    decision: combine(checked.decision, { action: 'redact', ruleIds: [ruleId] }),
  };
}
