import type { Finding } from './detectors';

/**
 * Replaces findings with typed placeholders (`[EMAIL_1]`, `[EMAIL_2]`, ...). One redactor serves
 * one request: the same value always gets the same placeholder, in the prompt and in the
 * response, so the model can still refer to "[EMAIL_1]" consistently.
 */
export class Redactor {
  private readonly placeholders = new Map<string, string>();
  private readonly counters = new Map<string, number>();

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
   * The text with the given findings (non-overlapping, in order) replaced by placeholders.
   *
   * @example
   * redactor.apply('mail bob@example.com', findings) // 'mail [EMAIL_1]'
   */
  apply(text: string, findings: readonly Finding[]): string {
    if (findings.length === 0) return text;
    let out = '';
    let cursor = 0;
    for (const finding of findings) {
      out += text.slice(cursor, finding.start) + this.placeholder(finding.detector, finding.value);
      cursor = finding.end;
    }
    return out + text.slice(cursor);
  }
}
