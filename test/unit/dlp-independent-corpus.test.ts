/**
 * The independent DLP corpus is only worth its scores if its labels are right. These tests check the
 * corpus itself (not the detectors): every label is an exact, checkable substring of its text, card
 * and IBAN labels pass their check digits, and the classes the issue asks for are all there.
 */
import { INDEPENDENT_CORPUS } from '../dlp/independent-corpus';

/** Luhn, written again here so a bug in the corpus generator cannot vouch for itself. */
function passesLuhn(digits: string): boolean {
  let sum = 0;
  [...digits].reverse().forEach((ch, i) => {
    const n = Number(ch) * (i % 2 === 1 ? 2 : 1);
    sum += n > 9 ? n - 9 : n;
  });
  return sum % 10 === 0;
}

/** ISO 7064 MOD 97-10 as the IBAN standard defines it. */
function ibanRemainder(iban: string): number {
  const compact = iban.replace(/ /g, '');
  const numeric = [...(compact.slice(4) + compact.slice(0, 4))]
    .map((ch) => (/[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch))
    .join('');
  return Number(BigInt(numeric) % 97n);
}

const occurrences = (text: string, value: string): number => text.split(value).length - 1;
const labelsOf = (detector: string) =>
  INDEPENDENT_CORPUS.flatMap((c) => c.expected.filter((l) => l.detector === detector).map((l) => l.value));

describe('the independent DLP corpus', () => {
  it('has at least 600 cases, each with a class note', () => {
    expect(INDEPENDENT_CORPUS.length).toBeGreaterThanOrEqual(600);
    for (const c of INDEPENDENT_CORPUS) expect(c.note).toMatch(/^[a-z0-9-]+\/\S/);
  });

  it('never repeats a text', () => {
    const texts = INDEPENDENT_CORPUS.map((c) => c.text);
    expect(new Set(texts).size).toBe(texts.length);
  });

  it('labels every occurrence of a value exactly once, so a perfect detector scores 1.0', () => {
    for (const c of INDEPENDENT_CORPUS) {
      const counts = new Map<string, number>();
      for (const label of c.expected) {
        expect(label.value.length).toBeGreaterThan(0);
        counts.set(label.value, (counts.get(label.value) ?? 0) + 1);
      }
      for (const [value, count] of counts)
        expect({ value, found: occurrences(c.text, value) }).toEqual({ value, found: count });
    }
  });

  it('labels only card numbers that pass Luhn and have a card length', () => {
    const cards = labelsOf('credit_card');
    expect(cards.length).toBeGreaterThanOrEqual(30);
    for (const value of cards) {
      expect(value).toMatch(/^\d[\d -]*\d$/);
      const digits = value.replace(/[ -]/g, '');
      expect(digits.length).toBeGreaterThanOrEqual(14);
      expect(digits.length).toBeLessThanOrEqual(19);
      expect({ value, luhn: passesLuhn(digits) }).toEqual({ value, luhn: true });
    }
  });

  it('labels only IBANs whose check digits pass mod-97', () => {
    const ibans = labelsOf('iban');
    expect(ibans.length).toBeGreaterThanOrEqual(20);
    for (const value of ibans) {
      expect(value).toMatch(/^[A-Z]{2}\d{2}[A-Z0-9 ]+$/);
      expect({ value, remainder: ibanRemainder(value) }).toEqual({ value, remainder: 1 });
    }
  });

  it('labels only SSNs inside the SSA ranges', () => {
    for (const value of labelsOf('us_ssn')) {
      const m = /^(\d{3})-?(\d{2})-?(\d{4})$/.exec(value);
      expect(m).not.toBeNull();
      const [, area, group, serial] = m!;
      expect(area).not.toMatch(/^(000|666|9\d\d)$/);
      expect(group).not.toBe('00');
      expect(serial).not.toBe('0000');
    }
  });

  it('labels private keys from the BEGIN line to the END line, or to the end of the text', () => {
    for (const c of INDEPENDENT_CORPUS) {
      for (const { value } of c.expected.filter((l) => l.detector === 'private_key')) {
        expect(value).toMatch(/^-----BEGIN [A-Z ]*PRIVATE KEY-----/);
        if (!/-----END [A-Z ]*PRIVATE KEY-----$/.test(value)) expect(c.text.endsWith(value)).toBe(true);
      }
    }
  });

  it('contains at least 150 clean code snippets and leaves placeholders and hard negatives unlabelled', () => {
    const code = INDEPENDENT_CORPUS.filter((c) => c.note!.startsWith('code-negative/'));
    expect(code.length).toBeGreaterThanOrEqual(150);
    const unlabelled = INDEPENDENT_CORPUS.filter((c) => /^(code-negative|placeholder)\/|hard-negative/.test(c.note!));
    for (const c of unlabelled) expect(c.expected).toEqual([]);
  });

  it('covers every detector and every class the issue names', () => {
    const detectors = new Set(INDEPENDENT_CORPUS.flatMap((c) => c.expected.map((l) => l.detector)));
    expect([...detectors].sort()).toEqual(
      [
        'api_key',
        'aws_access_key_id',
        'aws_secret_access_key',
        'credit_card',
        'email',
        'iban',
        'ipv4',
        'jwt',
        'phone',
        'private_key',
        'us_ssn',
      ].sort(),
    );
    const notes = INDEPENDENT_CORPUS.map((c) => c.note!);
    for (const cls of [
      'phone/13-digit-mobile',
      'jwt/unsigned',
      'ssn/no-separator-with-context',
      'placeholder/aws-docs',
      'placeholder/pem-prose',
      'card/hard-negative',
      'ipv4/hard-negative',
      'email/hard-negative',
      'phone/hard-negative',
    ]) {
      expect(notes.some((n) => n.startsWith(cls))).toBe(true);
    }
    for (const cc of ['DE', 'FR', 'ES', 'IT', 'NL', 'PL', 'UK', 'IN', 'JP', 'BR', 'AU', 'US']) {
      expect(notes.filter((n) => n === `phone/${cc}`).length).toBeGreaterThanOrEqual(4);
    }
    expect(INDEPENDENT_CORPUS.some((c) => c.note!.includes('no-end-line'))).toBe(true);
  });

  it('is generated identically every time it is loaded', () => {
    let again: typeof INDEPENDENT_CORPUS = [];
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy of the module, to check the corpus is built deterministically
      again = (require('../dlp/independent-corpus') as { INDEPENDENT_CORPUS: typeof INDEPENDENT_CORPUS })
        .INDEPENDENT_CORPUS;
    });
    expect(again).not.toBe(INDEPENDENT_CORPUS);
    expect(again).toEqual(INDEPENDENT_CORPUS);
  });
});
