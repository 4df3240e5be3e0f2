import type { ChatMessage, ChatRequest } from '../chat/types';
import { customDetector, DETECTORS, scan, type Detector, type Finding } from './detectors';
import { Redactor } from './redactor';
import { compileToolRules, type ToolRules } from './tool-rules';
import type { Direction, PoliciesConfig, PolicyAction, PolicyProfile } from './schema';

/** What the policy decided about a request or an answer, most severe first. */
export type DecisionAction = 'block' | 'redact' | 'alert' | 'allow';

/** A decision and the rules behind it (ids only: never what they matched). */
export interface PolicyDecision {
  action: DecisionAction;
  ruleIds: string[];
}

/** Nothing found. */
export const ALLOW: PolicyDecision = Object.freeze({ action: 'allow', ruleIds: [] }) as PolicyDecision;

const SEVERITY: Record<DecisionAction, number> = { allow: 0, alert: 1, redact: 2, block: 3 };

/**
 * Two decisions as one: the more severe action, every rule id once.
 *
 * @example
 * combine({ action: 'alert', ruleIds: ['dlp:email'] }, { action: 'redact', ruleIds: ['dlp:api_key'] })
 * // { action: 'redact', ruleIds: ['dlp:email', 'dlp:api_key'] }
 */
export function combine(a: PolicyDecision, b: PolicyDecision): PolicyDecision {
  return {
    action: SEVERITY[a.action] >= SEVERITY[b.action] ? a.action : b.action,
    ruleIds: [...new Set([...a.ruleIds, ...b.ruleIds])],
  };
}

/** The rule id of a detector's findings. */
export const detectorRuleId = (detector: string) => `dlp:${detector}`;

/** A deny rule ready to run. */
interface CompiledDenyRule {
  id: string;
  message: string;
  direction: Direction;
  pattern: RegExp;
}

/** A detector switched on for one direction, with its action. */
interface ActiveDetector {
  detector: Detector;
  action: PolicyAction;
}

/** The outcome of checking one text. */
export interface TextCheck {
  text: string;
  decision: PolicyDecision;
  /** Set when a rule blocks: its id and the message the caller may see. */
  blockedBy?: { ruleId: string; message: string };
}

const appliesTo = (direction: Direction, wanted: 'input' | 'output') => direction === 'both' || direction === wanted;

/**
 * Findings in `text` when `before` came right before it (already checked and sent: the start of a
 * streamed answer). Some detectors need the words before a value (a key name before an AWS secret,
 * "SSN" before nine digits, "Tel." before a national number), so the scan sees both, and keeps
 * what lies in `text` (a finding reaching back into `before` keeps only its part in `text`).
 */
function findingsAfter(text: string, detectors: readonly Detector[], before: string): Finding[] {
  if (before === '') return scan(text, detectors);
  const offset = before.length;
  return scan(before + text, detectors)
    .filter((f) => f.end > offset)
    .map((f) => {
      const start = Math.max(0, f.start - offset);
      const end = f.end - offset;
      return { ...f, start, end, value: text.slice(start, end) };
    });
}

function keywordPattern(keywords: readonly string[], caseSensitive: boolean): RegExp {
  const escaped = keywords.map((k) => k.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&').replace(/\s+/g, '\\s+'));
  return new RegExp(`(?<![\\p{L}\\p{N}_])(?:${escaped.join('|')})(?![\\p{L}\\p{N}_])`, caseSensitive ? 'u' : 'iu');
}

/**
 * A policy profile compiled for the request path: its deny rules and the detectors of each
 * direction, and the checks that turn a text into a decision, redacting as the profile says.
 */
export class CompiledPolicy {
  private readonly denyRules: CompiledDenyRule[];
  private readonly inputDetectors: ActiveDetector[];
  private readonly outputDetectors: ActiveDetector[];
  /** The profile's rules about the tool calls a model makes. */
  readonly toolRules: ToolRules;

  constructor(
    readonly name: string,
    readonly profile: PolicyProfile,
    private readonly detectors: ReadonlyMap<string, Detector>,
    private readonly labels: ReadonlyMap<string, string>,
  ) {
    this.toolRules = compileToolRules(profile);
    this.denyRules = profile.denyRules.map((rule) => ({
      id: rule.id,
      message: rule.message,
      direction: rule.direction,
      pattern: rule.keywords?.length
        ? rule.pattern
          ? new RegExp(
              `${keywordPattern(rule.keywords, rule.caseSensitive).source}|${rule.pattern}`,
              rule.caseSensitive ? 'u' : 'iu',
            )
          : keywordPattern(rule.keywords, rule.caseSensitive)
        : new RegExp(rule.pattern!, rule.caseSensitive ? '' : 'i'),
    }));
    const active = (wanted: 'input' | 'output') =>
      profile.detectors
        .filter((rule) => appliesTo(rule.direction, wanted))
        .map((rule) => ({ detector: detectors.get(rule.detector)!, action: rule.action }))
        // Keep the engine's priority order so overlapping findings resolve the same way everywhere.
        .sort((a, b) => this.order(a.detector) - this.order(b.detector));
    this.inputDetectors = active('input');
    this.outputDetectors = active('output');
  }

  private order(detector: Detector): number {
    return [...this.detectors.keys()].indexOf(detector.name);
  }

  /** A redactor for one request, shared by its prompt, its answer and its audit excerpts. */
  newRedactor(): Redactor {
    return new Redactor(this.labels);
  }

  /**
   * Whether a key gets `redact_reversible` values back in its answers.
   *
   * @example
   * policy.restoresFor('kabcdefgh2345') // true with the default `restoreFor: ['*']`
   */
  restoresFor(keyId: string): boolean {
    const allowed = this.profile.restoreFor;
    return allowed.includes('*') || allowed.includes(keyId);
  }

  /** Whether any rule looks at answers (if not, answers pass through untouched). */
  get checksOutput(): boolean {
    return this.outputDetectors.length > 0 || this.denyRules.some((rule) => appliesTo(rule.direction, 'output'));
  }

  /**
   * Checks one text of one direction: deny rules first (on the original text), then the
   * direction's detectors, redacting what their action says to redact.
   *
   * `before` is the text that came right before this one (a streamed answer's part already sent):
   * detectors look at it for context, only `text` is checked and returned.
   *
   * @example
   * const { text, decision } = policy.checkText(prompt, 'input', redactor);
   */
  checkText(text: string, direction: 'input' | 'output', redactor: Redactor, before = ''): TextCheck {
    for (const rule of this.denyRules) {
      if (appliesTo(rule.direction, direction) && rule.pattern.test(text)) {
        return {
          text,
          decision: { action: 'block', ruleIds: [rule.id] },
          blockedBy: { ruleId: rule.id, message: rule.message },
        };
      }
    }
    const active = direction === 'input' ? this.inputDetectors : this.outputDetectors;
    if (active.length === 0) return { text, decision: ALLOW };
    const findings = findingsAfter(
      text,
      active.map((a) => a.detector),
      before,
    );
    return this.decide(text, findings, active, redactor);
  }

  /** Decision and redacted text for a set of findings. */
  private decide(
    text: string,
    findings: readonly Finding[],
    active: readonly ActiveDetector[],
    redactor: Redactor,
  ): TextCheck {
    let decision = ALLOW;
    const toRedact: Finding[] = [];
    const reversible = new Set<string>();
    for (const finding of findings) {
      const action = active.find((a) => a.detector.name === finding.detector)!.action;
      const ruleId = detectorRuleId(finding.detector);
      if (action === 'block') {
        return {
          text,
          decision: { action: 'block', ruleIds: [ruleId] },
          blockedBy: {
            ruleId,
            message: `The text contains data of type ${finding.detector}, which this policy does not allow.`,
          },
        };
      }
      if (action === 'redact' || action === 'redact_reversible') toRedact.push(finding);
      if (action === 'redact_reversible') reversible.add(finding.detector);
      decision = combine(decision, { action: action === 'redact_reversible' ? 'redact' : action, ruleIds: [ruleId] });
    }
    return { text: redactor.apply(text, toRedact, reversible), decision };
  }

  /**
   * Where in a text something the answer rules look at was found (detector findings and deny
   * rule matches): a streamed answer is never cut inside one of these. `before` as in `checkText`.
   */
  answerSpans(text: string, before = ''): { start: number; end: number }[] {
    const spans: { start: number; end: number }[] = findingsAfter(
      text,
      this.outputDetectors.map((a) => a.detector),
      before,
    );
    for (const rule of this.denyRules) {
      if (!appliesTo(rule.direction, 'output')) continue;
      const global = new RegExp(rule.pattern.source, `${rule.pattern.flags}g`);
      for (let match = global.exec(text); match !== null; match = global.exec(text)) {
        if (match[0] === '') global.lastIndex += 1;
        else spans.push({ start: match.index, end: match.index + match[0].length });
      }
    }
    return spans;
  }

  /**
   * How much of a streamed answer to hold back, so that a finding or deny phrase that contains
   * whitespace (a spaced card number, "project falcon") cannot be split between what is sent and
   * what has not arrived yet. Findings without whitespace are never split anyway: the stream is
   * only ever cut at whitespace.
   */
  get answerHoldback(): number {
    if (this.holdback !== undefined) return this.holdback;
    const keywords = this.profile.denyRules
      .filter((rule) => appliesTo(rule.direction, 'output'))
      .flatMap((rule) => [...(rule.keywords ?? []), ...(rule.pattern ? ['x'.repeat(256)] : [])]);
    this.holdback = Math.max(64, ...keywords.map((k) => k.length + 16));
    return this.holdback;
  }
  private holdback: number | undefined;

  /**
   * Checks every text a request sends upstream (system, user, assistant turns, tool calls and
   * results) and returns the request as it may be sent, redacted, with the combined decision;
   * stops at the first blocking rule.
   *
   * @example
   * const { request: safe, decision, blockedBy } = policy.checkRequest(request, redactor);
   */
  checkRequest(
    request: ChatRequest,
    redactor: Redactor,
  ): { request: ChatRequest; decision: PolicyDecision; blockedBy?: TextCheck['blockedBy'] } {
    let decision = ALLOW;
    let blockedBy: TextCheck['blockedBy'];
    const check = (text: string): string => {
      if (blockedBy || text === '') return text;
      const result = this.checkText(text, 'input', redactor);
      decision = combine(decision, result.decision);
      blockedBy ??= result.blockedBy;
      return result.text;
    };
    const messages = request.messages.map((message): ChatMessage => {
      switch (message.role) {
        case 'system':
          return { ...message, content: check(message.content) };
        case 'user':
          return {
            ...message,
            content: message.content.map((part) => {
              if (part.type === 'text') return { ...part, text: check(part.text) };
              // A plain-text document is prompt text like any other (a PDF, like an image, is not read).
              if (part.type === 'document' && part.source.kind === 'text') {
                return { ...part, source: { ...part.source, text: check(part.source.text) } };
              }
              return part;
            }),
          };
        case 'assistant':
          return {
            ...message,
            content: check(message.content),
            toolCalls: message.toolCalls.map((call) => ({ ...call, arguments: check(call.arguments) })),
          };
        case 'tool':
          return { ...message, content: check(message.content) };
      }
    });
    return { request: { ...request, messages }, decision, blockedBy };
  }

  /**
   * A text with every detector's findings (whatever the profile's actions) replaced: what the
   * audit trail may keep.
   *
   * @example
   * policy.redactAll('ssn 123-45-6789', redactor) // 'ssn [US_SSN_1]'
   */
  redactAll(text: string, redactor: Redactor): string {
    return redactor.apply(text, scan(text, [...this.detectors.values()]));
  }
}

/**
 * All policy profiles of a deployment, compiled once at start-up; each team's requests use its
 * profile, or the default one.
 */
export class PolicyEngine {
  private readonly profiles: Map<string, CompiledPolicy>;

  constructor(readonly config: PoliciesConfig) {
    const detectors = new Map<string, Detector>(Object.entries(DETECTORS));
    for (const [name, definition] of Object.entries(config.customDetectors))
      detectors.set(name, customDetector(name, definition));
    const labels = new Map([...detectors.values()].map((d) => [d.name, d.label]));
    this.profiles = new Map(
      Object.entries(config.profiles).map(([name, profile]) => [
        name,
        new CompiledPolicy(name, profile, detectors, labels),
      ]),
    );
  }

  /**
   * A team's profile (the default one when the team names none, or one that no longer exists).
   *
   * @example
   * const policy = engine.profileFor(team.policyProfile);
   */
  profileFor(name: string | undefined): CompiledPolicy {
    return this.profiles.get(name ?? this.config.defaultProfile) ?? this.profiles.get(this.config.defaultProfile)!;
  }

  /** Whether a profile of this name exists (the admin API refuses unknown ones). */
  hasProfile(name: string): boolean {
    return this.profiles.has(name);
  }
}
