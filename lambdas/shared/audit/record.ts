import type { TokenUsage } from '../chat/types';
import type { DecisionAction } from '../policy/engine';

/**
 * One request in the audit trail: who, which model and provider, what the policy decided and
 * why (rule ids only), what it cost, and short excerpts of the prompt (and, if configured, the
 * answer) with every detector's findings replaced by placeholders. Never raw secrets or PII.
 */
export interface AuditRecord {
  requestId: string;
  teamId: string;
  keyId: string;
  requestedModel: string;
  /** The caller's end user, when it named one (OpenAI's `user`, Anthropic's `metadata.user_id`). */
  endUser?: string;
  /** The experiment the request took part in, and the variant it was assigned to (both or neither). */
  experiment?: string;
  variant?: string;
  /** The catalog model that served (or last tried); absent when blocked before routing. */
  model?: string;
  provider?: string;
  decision: DecisionAction;
  ruleIds: string[];
  /** ok: served; error: a provider or the gateway failed; blocked: refused by the policy. */
  status: 'ok' | 'error' | 'blocked';
  httpStatus: number;
  streamed: boolean;
  usage?: TokenUsage;
  /** Exact cost in pico-dollars (see `cost/money.ts`). */
  costPicos: bigint;
  latencyMs: number;
  promptExcerpt?: string;
  responseExcerpt?: string;
  createdAt: string;
}
