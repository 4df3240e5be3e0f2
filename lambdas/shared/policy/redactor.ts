import type { Finding } from './detectors';

/**
 * Replaces findings with typed placeholders (`[EMAIL_1]`, `[EMAIL_2]`, ...). One redactor serves
 * one request: the same value always gets the same placeholder, in the prompt and in the
 * response, so the model can still refer to "[EMAIL_1]" consistently.
 */
export class Redactor {
  private readonly placeholders = new Map<string, string>();
  private readonly counters = new Map<string, number>();
  /**
   * Placeholder → original, for values a `redact_reversible` rule replaced. Held in this one
   * request's memory only: never stored, logged or audited.
   */
  private readonly originals = new Map<string, string>();

  constructor(private readonly labels: ReadonlyMap<string, string>) {}

  /** The placeholder of a value found by a detector. */
  placeholder(detector: string, value: string): string {
    const key = `${detector}\u0000${value}`;
    let placeholder = this.placeholders.get(key);
    if (!placeholder) {
      const label = this.labels.get(detector) ?? detector.toUpperCase();
      const next = (this.counters.get(label) ?? 0) + 1;
      this.counters.set(label, next);
      placeholder = `[${label}_${next}]`;
      this.placeholders.set(key, placeholder);
    }
    return placeholder;
  }

  /**
   * The text with the given findings (non-overlapping, in order) replaced by placeholders; those
   * of the `reversible` detectors are remembered, for {@link restore}.
   *
   * @example
   * redactor.apply('mail bob@example.com', findings) // 'mail [EMAIL_1]'
   */
  apply(text: string, findings: readonly Finding[], reversible?: ReadonlySet<string>): string {
    if (findings.length === 0) return text;
    let out = '';
    let cursor = 0;
    for (const finding of findings) {
      const placeholder = this.placeholder(finding.detector, finding.value);
      if (reversible?.has(finding.detector)) this.originals.set(placeholder, finding.value);
      out += text.slice(cursor, finding.start) + placeholder;
      cursor = finding.end;
    }
    return out + text.slice(cursor);
  }

  /** Whether this request replaced any value reversibly (if not, answers need no restoring). */
  get restores(): boolean {
    return this.originals.size > 0;
  }

  /**
   * The text with every placeholder of a reversibly redacted value put back; a placeholder the
   * model invented or mangled (`[EMAIL_9]`, `[EMAIL 1]`) is left as it is.
   *
   * @example
   * redactor.restore('Write to [EMAIL_1].') // 'Write to bob@example.com.'
   */
  restore(text: string): string {
    if (this.originals.size === 0 || !text.includes('[')) return text;
    return text.replace(PLACEHOLDER, (placeholder) => this.originals.get(placeholder) ?? placeholder);
  }
}

/** A placeholder as {@link Redactor.placeholder} writes them: `[LABEL_N]`. */
const PLACEHOLDER = /\[[A-Z0-9_]{1,64}_\d{1,6}\]/g;

/** The longest placeholder: a longer unclosed `[…` at the end of a stream cannot become one. */
export const MAX_PLACEHOLDER_CHARS = 1 + 64 + 1 + 6 + 1;

/**
 * Restores placeholders in one streamed text channel (the answer, or one tool call's arguments):
 * text is released as it comes, except an unclosed `[…` at the end short enough to be the start
 * of a placeholder, which waits for the next delta, so a placeholder split across deltas is still
 * put back whole.
 *
 * @example
 * const channel = new RestoringChannel(redactor);
 * channel.push('Write to [EMA') // 'Write to '
 * channel.push('IL_1] now') // 'bob@example.com now'
 */
export class RestoringChannel {
  private held = '';

  constructor(private readonly redactor: Redactor) {}

  push(delta: string): string {
    const text = this.held + delta;
    const open = text.lastIndexOf('[');
    const cut =
      open >= 0 && !text.includes(']', open) && text.length - open < MAX_PLACEHOLDER_CHARS ? open : text.length;
    this.held = text.slice(cut);
    return this.redactor.restore(text.slice(0, cut));
  }

  /** What is held back, at the end of the stream. */
  end(): string {
    const rest = this.held;
    this.held = '';
    return this.redactor.restore(rest);
  }
}
