import { ALLOW, combine, type CompiledPolicy, type PolicyDecision } from '../policy/engine';
import type { GuardrailChecker } from '../policy/guardrail';
import type { Redactor } from '../policy/redactor';
import { StreamTextFilter } from '../policy/stream-filter';
import { guardrailRuleId } from './request-policy';
import { gateNotice, type GatedCall, type ToolGate } from '../approvals/gate';
import type { ChatCompletion, ChatStreamEvent, ThinkingBlock, ToolCall } from '../chat/types';

/** A streamed answer is released to an output guardrail in segments of at least this many characters. */
const GUARDRAIL_SEGMENT_CHARS = 500;

/**
 * Applies a profile to the model's answer, non-streamed or streamed: deny rules and detectors
 * of the output direction, then the profile's guardrail. A redaction replaces findings with the
 * request's placeholders; a block ends the answer with finish reason `content_filter` (what
 * OpenAI does), the text withheld. Keeps the decision and a redacted excerpt for the audit.
 */
export class AnswerPolicy {
  /** What the answer checks decided so far. */
  decision: PolicyDecision = ALLOW;
  private excerpt = '';

  constructor(
    private readonly policy: CompiledPolicy,
    private readonly redactor: Redactor,
    private readonly guardrails: GuardrailChecker | undefined,
    /** The profile's tool rules and approvals; absent or without rules: tool calls pass. */
    private readonly gate?: ToolGate,
  ) {}

  private get gating(): boolean {
    return this.gate?.rules.active === true;
  }

  /**
   * Takes the calls the tool rules block or hold out of an answer (holding those that need
   * approval), and says so in a notice for the answer's text. A call needing approval with no
   * way to hold it is blocked.
   */
  private async gateCalls(calls: readonly ToolCall[]): Promise<{ allowed: ToolCall[]; notice: string }> {
    const allowed: ToolCall[] = [];
    const blocked: GatedCall[] = [];
    const held: GatedCall[] = [];
    for (const call of calls) {
      const verdict = this.gate!.rules.judge(call);
      if (verdict.action === 'allow') allowed.push(call);
      else if (verdict.action === 'require_approval' && this.gate!.hold) held.push({ call, ruleId: verdict.ruleId! });
      else blocked.push({ call, ruleId: verdict.ruleId! });
    }
    const taken = [...blocked, ...held];
    if (taken.length === 0) return { allowed, notice: '' };
    this.decision = combine(this.decision, { action: 'redact', ruleIds: [...new Set(taken.map((c) => c.ruleId))] });
    const ids = held.length > 0 ? await this.gate!.hold!(held) : [];
    return {
      allowed,
      notice: gateNotice(
        blocked,
        held.map((h, i) => ({ ...h, approvalId: ids[i]! })),
      ),
    };
  }

  private get guardrail() {
    const guardrail = this.policy.profile.guardrail;
    return guardrail && guardrail.direction !== 'input' && this.guardrails ? guardrail : undefined;
  }

  /** Whether the answer needs checking at all (otherwise it streams through untouched). */
  get active(): boolean {
    return this.policy.checksOutput || this.guardrail !== undefined || this.gating;
  }

  /** The answer's start, redacted of every detector's findings, for the audit trail. */
  responseExcerpt(): string | undefined {
    const chars = this.policy.profile.audit.responseExcerptChars;
    return chars > 0 ? this.policy.redactAll(this.excerpt, this.redactor).slice(0, chars) : undefined;
  }

  private remember(text: string): void {
    const chars = this.policy.profile.audit.responseExcerptChars;
    if (this.excerpt.length < chars * 2) this.excerpt += text;
  }

  /**
   * Checks a non-streamed completion.
   *
   * @example
   * const safe = await answers.checkCompletion(completion);
   */
  async checkCompletion(completion: ChatCompletion): Promise<ChatCompletion> {
    this.remember(completion.text);
    if (!this.active) return completion;
    const text = this.policy.checkText(completion.text, 'output', this.redactor);
    this.decision = combine(this.decision, text.decision);
    if (text.blockedBy) return this.filtered(completion);
    // Reasoning shown to the caller is checked like the answer. A redaction changes the text its
    // signature covers, so the provider refuses that block if it is passed back: the policy's
    // protection of the caller comes first.
    const thinking: ThinkingBlock[] = [];
    for (const block of completion.thinking ?? []) {
      if (block.type !== 'thinking') {
        thinking.push(block);
        continue;
      }
      const checked = this.policy.checkText(block.thinking, 'output', this.redactor);
      this.decision = combine(this.decision, checked.decision);
      if (checked.blockedBy) return this.filtered(completion);
      thinking.push({ ...block, thinking: checked.text });
    }
    const toolCalls = [];
    for (const call of completion.toolCalls) {
      const args = this.policy.checkText(call.arguments, 'output', this.redactor);
      this.decision = combine(this.decision, args.decision);
      if (args.blockedBy) return this.filtered(completion);
      toolCalls.push({ ...call, arguments: args.text });
    }
    let answer = text.text;
    if (this.guardrail && answer !== '') {
      const verdict = await this.guardrails!.check(this.guardrail, 'OUTPUT', answer);
      const ruleId = guardrailRuleId(this.guardrail.id);
      if (verdict.action === 'block') {
        this.decision = combine(this.decision, { action: 'block', ruleIds: [ruleId] });
        return this.filtered(completion);
      }
      if (verdict.action === 'anonymize') {
        this.decision = combine(this.decision, { action: 'redact', ruleIds: [ruleId] });
        answer = verdict.text;
      }
    }
    const checked = { ...completion, text: answer, toolCalls, ...(completion.thinking ? { thinking } : {}) };
    return this.gating ? this.gatedCompletion(checked) : checked;
  }

  /** A checked completion without the calls the tool rules took out, its text saying so. */
  private async gatedCompletion(completion: ChatCompletion): Promise<ChatCompletion> {
    const { allowed, notice } = await this.gateCalls(completion.toolCalls);
    if (!notice) return completion;
    return {
      ...completion,
      text: completion.text ? `${completion.text}\n\n${notice}` : notice,
      toolCalls: allowed,
      finishReason: allowed.length === 0 && completion.finishReason === 'tool_calls' ? 'stop' : completion.finishReason,
    };
  }

  /**
   * The end of a gated stream: the allowed calls, whole (their start and arguments), the notice of
   * those taken out as text, then the finish, `stop` if no call is left of a tool-calls answer.
   */
  private async releaseGated(
    pending: ReadonlyMap<number, ToolCall>,
    finish: Extract<ChatStreamEvent, { type: 'finish' }>,
  ): Promise<ChatStreamEvent[]> {
    const indexed = [...pending];
    const { allowed, notice } = await this.gateCalls(indexed.map(([, call]) => call));
    const events: ChatStreamEvent[] = [];
    if (notice) events.push({ type: 'text', text: `\n\n${notice}` });
    for (const [index, call] of indexed) {
      if (!allowed.includes(call)) continue;
      events.push({ type: 'tool_call_start', index, id: call.id, name: call.name });
      if (call.arguments) events.push({ type: 'tool_call_delta', index, arguments: call.arguments });
    }
    const emptied = allowed.length === 0 && finish.finishReason === 'tool_calls';
    events.push(emptied ? { ...finish, finishReason: 'stop' } : finish);
    return events;
  }

  private filtered(completion: ChatCompletion): ChatCompletion {
    if (this.decision.action !== 'block') this.decision = { ...this.decision, action: 'block' };
    return { ...completion, text: '', toolCalls: [], thinking: undefined, finishReason: 'content_filter' };
  }

  /**
   * Checks a streamed answer as it flows: text and each tool call's arguments through their own
   * {@link StreamTextFilter}; released text through the guardrail in segments. On a block it
   * emits `finish: content_filter` and stops (the caller stops the upstream).
   *
   * @example
   * for await (const event of answers.filterStream(upstreamEvents)) send(event);
   */
  // Long on purpose: one state machine over the stream (text, tool calls, finish, guardrail
  // segments) is easier to check for leaks than the same states spread over several generators.
  async *filterStream(events: AsyncIterable<ChatStreamEvent>): AsyncGenerator<ChatStreamEvent> {
    if (!this.active) {
      for await (const event of events) {
        if (event.type === 'text') this.remember(event.text);
        yield event;
      }
      return;
    }
    const text = new StreamTextFilter(this.policy, this.redactor);
    const tools = new Map<number, StreamTextFilter>();
    // Tool calls held back while the tool rules wait for their whole arguments, by stream index.
    const pending = new Map<number, ToolCall>();
    // One filter per reasoning block (a block ends with its signature).
    const reasoning: StreamTextFilter[] = [];
    let thinking: StreamTextFilter | undefined;
    const filters = () => [text, ...tools.values(), ...reasoning];
    /** Releases the rest of the open reasoning block, checked; undefined if that blocks the answer. */
    const closeThinking = (): ChatStreamEvent[] | undefined => {
      if (!thinking) return [];
      const rest = thinking.end();
      const blocked = thinking.blockedBy !== undefined;
      thinking = undefined;
      if (blocked) return undefined;
      return rest ? [{ type: 'thinking', text: rest }] : [];
    };
    let segment = '';
    const guarded = async (released: string, final: boolean): Promise<string | undefined> => {
      if (!this.guardrail) return released;
      segment += released;
      if (segment === '' || (!final && segment.length < GUARDRAIL_SEGMENT_CHARS)) return '';
      const verdict = await this.guardrails!.check(this.guardrail, 'OUTPUT', segment);
      const ruleId = guardrailRuleId(this.guardrail.id);
      const out = verdict.action === 'anonymize' ? verdict.text : segment;
      segment = '';
      if (verdict.action === 'block') {
        this.decision = combine(this.decision, { action: 'block', ruleIds: [ruleId] });
        return undefined;
      }
      if (verdict.action === 'anonymize')
        this.decision = combine(this.decision, { action: 'redact', ruleIds: [ruleId] });
      return out;
    };
    const blockedFinish = (): ChatStreamEvent => {
      this.decision = combine(this.decision, {
        action: 'block',
        ruleIds: filters().flatMap((f) => (f.blockedBy ? [f.blockedBy.ruleId] : [])),
      });
      return { type: 'finish', finishReason: 'content_filter' };
    };
    const flushText = async (final: boolean): Promise<ChatStreamEvent[] | undefined> => {
      const released = await guarded(final ? text.end() : '', final);
      if (released === undefined || text.blockedBy) return undefined;
      return released ? [{ type: 'text', text: released }] : [];
    };

    for await (const event of events) {
      if (event.type === 'text') {
        this.remember(event.text);
        const released = text.blockedBy ? '' : text.push(event.text);
        if (text.blockedBy) {
          yield blockedFinish();
          return;
        }
        const out = await guarded(released, false);
        if (out === undefined) {
          yield blockedFinish();
          return;
        }
        if (out) yield { type: 'text', text: out };
      } else if (event.type === 'thinking') {
        if (!thinking) reasoning.push((thinking = new StreamTextFilter(this.policy, this.redactor)));
        const released = thinking.push(event.text);
        if (thinking.blockedBy) {
          yield blockedFinish();
          return;
        }
        if (released) yield { type: 'thinking', text: released };
      } else if (event.type === 'thinking_signature') {
        const rest = closeThinking();
        if (rest === undefined) {
          yield blockedFinish();
          return;
        }
        yield* rest;
        yield event;
      } else if (event.type === 'tool_call_start') {
        tools.set(event.index, new StreamTextFilter(this.policy, this.redactor));
        // Gated calls are held until complete: a rule may match on arguments not yet streamed.
        if (this.gating) pending.set(event.index, { id: event.id, name: event.name, arguments: '' });
        else yield event;
      } else if (event.type === 'tool_call_delta') {
        const filter = tools.get(event.index) ?? new StreamTextFilter(this.policy, this.redactor);
        tools.set(event.index, filter);
        const released = filter.push(event.arguments);
        if (filter.blockedBy) {
          yield blockedFinish();
          return;
        }
        const call = pending.get(event.index);
        if (call) call.arguments += released;
        else if (released) yield { ...event, arguments: released };
      } else if (event.type === 'finish') {
        const reasoningRest = closeThinking();
        if (reasoningRest === undefined) {
          yield blockedFinish();
          return;
        }
        yield* reasoningRest;
        const rest = await flushText(true);
        if (rest === undefined) {
          yield blockedFinish();
          return;
        }
        yield* rest;
        for (const [index, filter] of tools) {
          const released = filter.end();
          if (filter.blockedBy) {
            yield blockedFinish();
            return;
          }
          const call = pending.get(index);
          if (call) call.arguments += released;
          else if (released) yield { type: 'tool_call_delta', index, arguments: released };
        }
        this.decision = filters().reduce((decision, f) => combine(decision, f.decision), this.decision);
        if (this.gating) {
          const gated = await this.releaseGated(pending, event);
          yield* gated;
          continue;
        }
        yield event;
      } else {
        yield event;
      }
    }
    // A stream that ended without a finish event: release what is held, checked.
    const reasoningRest = closeThinking();
    if (reasoningRest === undefined) {
      yield blockedFinish();
      return;
    }
    yield* reasoningRest;
    const rest = await flushText(true);
    if (rest === undefined) {
      yield blockedFinish();
      return;
    }
    yield* rest;
    this.decision = filters().reduce((decision, f) => combine(decision, f.decision), this.decision);
  }
}
