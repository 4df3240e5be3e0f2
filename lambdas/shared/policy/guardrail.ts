import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { bedrockRuntime } from '../providers/bedrock/runtime';
import type { PolicyProfile } from './schema';

/** The guardrail settings of a profile. */
export type GuardrailSettings = NonNullable<PolicyProfile['guardrail']>;

/** What a guardrail said about a text, in the gateway's decision model. */
export type GuardrailVerdict =
  | { action: 'none' }
  /** The guardrail masked parts of the text (sensitive information filters). */
  | { action: 'anonymize'; text: string }
  | { action: 'block' };

/** Applies a guardrail to a text (a stand-in in tests). */
export interface GuardrailChecker {
  check(
    guardrail: GuardrailSettings,
    source: 'INPUT' | 'OUTPUT',
    text: string,
    signal?: AbortSignal,
  ): Promise<GuardrailVerdict>;
}

/** Every `action` field anywhere in a guardrail's assessments. */
function actions(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => actions(v, found));
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'action' && typeof inner === 'string') found.add(inner);
      else actions(inner, found);
    }
  }
  return found;
}

/**
 * Amazon Bedrock Guardrails through the ApplyGuardrail API, usable on any provider's traffic.
 * An intervention with any BLOCKED assessment blocks; one that only anonymized returns the
 * masked text, which the gateway then uses as a redaction.
 *
 * @example
 * const verdict = await checker.check({ id: 'gr-123', version: '1', direction: 'both' }, 'INPUT', prompt);
 */
export class BedrockGuardrailChecker implements GuardrailChecker {
  private readonly clients = new Map<string, BedrockRuntimeClient>();

  private client(guardrail: GuardrailSettings): BedrockRuntimeClient {
    const key = `${guardrail.region ?? ''}|${guardrail.endpoint ?? ''}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new (bedrockRuntime().BedrockRuntimeClient)({
        // the schema lets region be '', which must fall back to the Lambda's own region
        ...(guardrail.region ? { region: guardrail.region } : {}),
        endpoint: guardrail.endpoint,
      });
      this.clients.set(key, client);
    }
    return client;
  }

  async check(
    guardrail: GuardrailSettings,
    source: 'INPUT' | 'OUTPUT',
    text: string,
    signal?: AbortSignal,
  ): Promise<GuardrailVerdict> {
    const response = await this.client(guardrail).send(
      new (bedrockRuntime().ApplyGuardrailCommand)({
        guardrailIdentifier: guardrail.id,
        guardrailVersion: guardrail.version,
        source,
        content: [{ text: { text } }],
      }),
      signal ? { abortSignal: signal } : {},
    );
    if (response.action !== 'GUARDRAIL_INTERVENED') return { action: 'none' };
    const assessed = actions(response.assessments);
    if (assessed.has('BLOCKED') || !assessed.has('ANONYMIZED')) return { action: 'block' };
    return { action: 'anonymize', text: (response.outputs ?? []).map((output) => output.text ?? '').join('') };
  }
}
