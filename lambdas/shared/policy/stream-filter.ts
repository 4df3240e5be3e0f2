import { ALLOW, combine, type CompiledPolicy, type PolicyDecision } from './engine';
import type { Redactor } from './redactor';

/** A text without whitespace longer than this is released even if no whitespace follows. */
const MAX_HOLD = 8_192;

/**
 * How much of what was already released the filter keeps as context for the detectors: the
 * longest look-back of a built-in detector (an access key id up to 300 characters before its
 * secret) with room to spare.
 */
const CONTEXT = 512;

/** A complete PEM END line. */
const END_LINE = /-----END [A-Z0-9 ]+-----/;

/**
 * Scans a streamed answer (one text channel: the content, or one tool call's arguments) without
 * letting anything through that a rule would catch once the rest arrived. Text is released only
 * up to a whitespace that lies at least the policy's holdback before the end of what has
 * arrived, never inside a finding or a deny-rule match, never after an unfinished
 * `-----BEGIN` block; the released part is checked (redacted, or the stream blocked) before it
 * goes out. At the end the rest is checked and released.
 */
export class StreamTextFilter {
  private buffer = '';
  /** The end of what was released (original text), for detectors that look before a value. */
  private released = '';
  /** What the filter decided so far. */
  decision: PolicyDecision = ALLOW;
  /** Set once a rule blocked: nothing more is released. */
  blockedBy: { ruleId: string; message: string } | undefined;

  constructor(
    private readonly policy: CompiledPolicy,
    private readonly redactor: Redactor,
  ) {}

  /**
   * Adds a chunk; returns what may be sent now (possibly nothing).
   *
   * @example
   * for await (const delta of upstream) send(filter.push(delta));
   * send(filter.end());
   */
  push(chunk: string): string {
    if (this.blockedBy) return '';
    this.buffer += chunk;
    return this.release(this.safeCut());
  }

  /** Checks and returns what is left at the end of the stream. */
  end(): string {
    if (this.blockedBy) return '';
    return this.release(this.buffer.length);
  }

  private safeCut(): number {
    const limit = this.buffer.length - this.policy.answerHoldback;
    if (limit <= 0) return 0;
    let cut = 0;
    for (let i = limit - 1; i >= 0; i--) {
      if (/\s/.test(this.buffer[i]!)) {
        cut = i + 1;
        break;
      }
    }
    if (cut === 0 && this.buffer.length > MAX_HOLD) cut = limit;
    // An unfinished block is held until its END line is complete (a partial "-----END PRI" is
    // not an end: the detector needs the whole line to see the block).
    const begin = this.buffer.lastIndexOf('-----BEGIN');
    if (begin >= 0 && !END_LINE.test(this.buffer.slice(begin)) && this.buffer.length - begin <= MAX_HOLD * 2) {
      cut = Math.min(cut, begin);
    }
    return cut;
  }

  private release(proposed: number): string {
    let cut = proposed;
    if (cut > 0 && cut < this.buffer.length) {
      const spans = this.policy.answerSpans(this.buffer, this.released);
      // Moving the cut before one span may put it inside another: repeat until none straddles it.
      for (let moved = true; moved;) {
        moved = false;
        for (const span of spans) {
          if (span.start < cut && span.end > cut) {
            cut = span.start;
            moved = true;
          }
        }
      }
    }
    if (cut <= 0) return '';
    const prefix = this.buffer.slice(0, cut);
    this.buffer = this.buffer.slice(cut);
    const check = this.policy.checkText(prefix, 'output', this.redactor, this.released);
    this.released = (this.released + prefix).slice(-CONTEXT);
    this.decision = combine(this.decision, check.decision);
    if (check.blockedBy) {
      this.blockedBy = check.blockedBy;
      this.buffer = '';
      return '';
    }
    return check.text;
  }
}
