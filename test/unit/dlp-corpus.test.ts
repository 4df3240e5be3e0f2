/**
 * Sanity test of the DLP test corpus itself (not of any detector): sizes, labels that really
 * occur in their texts, generated values that are valid or invalid as labelled, and no valid
 * card / IBAN / SSN / key left unlabelled in a text. The reference checks below are written
 * here on purpose instead of being imported from the generators, so a generator bug shows up.
 */
import { electronicFormatIBAN, isValidIBAN } from 'ibantools';
import { keyIdOf } from '../../lambdas/shared/keys/format';
import {
  DETECTOR_NAMES,
  DLP_CORPUS,
  DLP_CORPUS_FIXTURES,
  buildDlpCorpus,
  type CorpusCase,
  type DetectorName,
} from '../dlp/corpus';

// --- independent reference checks ----------------------------------------------------------

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Issuer by prefix, and whether the length is one the issuer uses. */
function issuer(digits: string): { name: string; lengthOk: boolean } | undefined {
  const p = (n: number): number => Number(digits.slice(0, n));
  const len = digits.length;
  const between = (n: number, lo: number, hi: number): boolean => p(n) >= lo && p(n) <= hi;
  if (digits.startsWith('4')) return { name: 'visa', lengthOk: [13, 16, 19].includes(len) };
  if (between(2, 51, 55) || between(4, 2221, 2720)) return { name: 'mastercard', lengthOk: len === 16 };
  if (p(2) === 34 || p(2) === 37) return { name: 'amex', lengthOk: len === 15 };
  if (digits.startsWith('6011') || p(2) === 65 || between(3, 644, 649)) {
    return { name: 'discover', lengthOk: len >= 16 && len <= 19 };
  }
  if (between(4, 3528, 3589)) return { name: 'jcb', lengthOk: len >= 16 && len <= 19 };
  if (between(3, 300, 305) || p(2) === 36 || p(2) === 38) return { name: 'diners', lengthOk: len >= 14 && len <= 19 };
  if (p(2) === 62) return { name: 'unionpay', lengthOk: len >= 16 && len <= 19 };
  return undefined;
}

function isCard(digits: string): boolean {
  const i = issuer(digits);
  return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) && i !== undefined && i.lengthOk;
}

/** Card-number candidates in a text: any contiguous run of digit groups joined by single spaces or dashes. */
function cardCandidates(text: string): string[] {
  const out: string[] = [];
  for (const run of text.match(/\d+(?:[ -]\d+)*/g) ?? []) {
    const groups = run.split(/[ -]/);
    for (let i = 0; i < groups.length; i++) {
      let joined = '';
      for (let j = i; j < groups.length && joined.length <= 19; j++) {
        joined += groups[j];
        if (isCard(joined)) out.push(joined);
      }
    }
  }
  return out;
}

function ibanMod97(compact: string): number {
  let rem = 0;
  for (const ch of compact.slice(4) + compact.slice(0, 4)) {
    const code = /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of code) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem;
}

function ibanValid(value: string): boolean {
  const compact = electronicFormatIBAN(value) ?? '';
  return isValidIBAN(compact) && ibanMod97(compact) === 1;
}

function ssnValid(value: string): boolean {
  const m = /^(\d{3})([- ])(\d{2})\2(\d{4})$/.exec(value);
  if (!m) return false;
  const area = Number(m[1]);
  return area !== 0 && area !== 666 && area < 900 && m[3] !== '00' && m[4] !== '0000';
}

function occurrences(text: string, value: string): number {
  return text.split(value).length - 1;
}

function decodeJsonSegment(segment: string): unknown {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

const API_KEY_PATTERNS: RegExp[] = [
  /^sk-[A-Za-z0-9]{32,}$/, // OpenAI legacy
  /^sk-proj-[A-Za-z0-9_-]{32,}$/, // OpenAI project
  /^sk-ant-api03-[A-Za-z0-9_-]{90,}$/, // Anthropic
  /^gh[pousr]_[A-Za-z0-9]{36}$/, // GitHub classic
  /^github_pat_[A-Za-z0-9_]{82}$/, // GitHub fine-grained
  /^xox[bpars]-[0-9A-Za-z-]{20,}$/, // Slack
  /^gwk_[a-z2-7]{12}_[0-9A-Za-z]{46}$/, // this gateway
];

// --- helpers over the corpus ---------------------------------------------------------------

const positives = DLP_CORPUS.filter((c) => c.expected.length > 0);
const negatives = DLP_CORPUS.filter((c) => c.expected.length === 0);

function labels(detector: DetectorName): { value: string; c: CorpusCase }[] {
  return DLP_CORPUS.flatMap((c) =>
    c.expected.filter((e) => e.detector === detector).map((e) => ({ value: e.value, c })),
  );
}

function labelledAs(c: CorpusCase, detector: DetectorName, needle: string, normalise = (s: string) => s): boolean {
  return c.expected.some((e) => e.detector === detector && normalise(e.value).includes(normalise(needle)));
}

const digitsOnly = (s: string): string => s.replace(/\D/g, '');

// --- tests ---------------------------------------------------------------------------------

describe('DLP corpus: size and shape', () => {
  it('has at least 350 cases, of which at least 120 are clean', () => {
    expect(DLP_CORPUS.length).toBeGreaterThanOrEqual(350);
    expect(negatives.length).toBeGreaterThanOrEqual(120);
    expect(positives.length + negatives.length).toBe(DLP_CORPUS.length);
  });

  it.each(DETECTOR_NAMES.map((d) => [d]))('has at least 20 labelled values for %s', (detector) => {
    expect(labels(detector).length).toBeGreaterThanOrEqual(20);
  });

  it('uses only known detector names, and explains every case', () => {
    for (const c of DLP_CORPUS) {
      expect(c.note ?? '').not.toBe('');
      for (const e of c.expected) expect(DETECTOR_NAMES).toContain(e.detector);
    }
  });

  it('has no duplicate texts', () => {
    const seen = new Set<string>();
    const duplicates = DLP_CORPUS.map((c) => c.text).filter((text) => seen.size === seen.add(text).size);
    expect(duplicates).toEqual([]);
  });

  it('finds every labelled value in its text, exactly as often as it is labelled', () => {
    for (const c of DLP_CORPUS) {
      for (const e of c.expected) {
        expect(e.value.length).toBeGreaterThan(0);
        expect(e.value).toBe(e.value.trim());
        const labelledTimes = c.expected.filter((x) => x.value === e.value).length;
        if (occurrences(c.text, e.value) !== labelledTimes) {
          throw new Error(`"${e.value}" occurs ${occurrences(c.text, e.value)}x but is labelled ${labelledTimes}x`);
        }
      }
    }
  });

  it('is deterministic', () => {
    const again = buildDlpCorpus();
    expect(again.cases).toEqual(DLP_CORPUS);
    expect(again.fixtures).toEqual(DLP_CORPUS_FIXTURES);
  });
});

describe('DLP corpus: credit_card', () => {
  it('labels only Luhn-valid numbers with an issuer prefix, written plain or in groups', () => {
    for (const { value } of labels('credit_card')) {
      expect(value).toMatch(/^\d+(?:([ -])\d+(?:\1\d+)*)?$/);
      const digits = digitsOnly(value);
      expect(luhnValid(digits)).toBe(true);
      expect(isCard(digits)).toBe(true);
    }
  });

  it('embeds its card-like hard negatives, fails them, and never labels them', () => {
    expect(DLP_CORPUS_FIXTURES.invalidCards.length).toBeGreaterThanOrEqual(20);
    for (const value of DLP_CORPUS_FIXTURES.invalidCards) {
      expect(isCard(digitsOnly(value))).toBe(false);
      const holders = DLP_CORPUS.filter((c) => c.text.includes(value));
      expect(holders.length).toBeGreaterThan(0);
      for (const c of holders) expect(labelledAs(c, 'credit_card', value, digitsOnly)).toBe(false);
    }
  });

  it('includes Luhn failures that keep a real issuer prefix and Luhn-valid numbers without one', () => {
    const invalid = DLP_CORPUS_FIXTURES.invalidCards.map(digitsOnly);
    expect(invalid.filter((d) => issuer(d) && !luhnValid(d)).length).toBeGreaterThanOrEqual(10);
    expect(invalid.filter((d) => !issuer(d) && luhnValid(d) && d.length === 16).length).toBeGreaterThanOrEqual(5);
  });

  it('leaves no valid card number unlabelled in any text', () => {
    for (const c of DLP_CORPUS) {
      for (const found of cardCandidates(c.text)) {
        if (!labelledAs(c, 'credit_card', found, digitsOnly)) throw new Error(`unlabelled card ${found} in: ${c.text}`);
      }
    }
  });
});

describe('DLP corpus: iban', () => {
  const countries = new Set(['DE', 'GB', 'FR', 'NL', 'ES', 'IT', 'CH', 'BE']);

  it('labels only IBANs that ibantools and mod-97 accept, compact or in groups of four', () => {
    const seenCountries = new Set<string>();
    for (const { value } of labels('iban')) {
      expect(value).toMatch(/^[A-Z]{2}\d{2}(?:[A-Z0-9]+|(?: [A-Z0-9]{4})*(?: [A-Z0-9]{1,4})?)$/);
      expect(ibanValid(value)).toBe(true);
      expect(countries.has(value.slice(0, 2))).toBe(true);
      seenCountries.add(value.slice(0, 2));
    }
    expect([...seenCountries].sort()).toEqual([...countries].sort());
  });

  it('embeds its IBAN-like hard negatives, fails them, and never labels them', () => {
    expect(DLP_CORPUS_FIXTURES.invalidIbans.length).toBeGreaterThanOrEqual(12);
    for (const value of DLP_CORPUS_FIXTURES.invalidIbans) {
      expect(isValidIBAN(electronicFormatIBAN(value) ?? '')).toBe(false);
      const holders = DLP_CORPUS.filter((c) => c.text.includes(value));
      expect(holders.length).toBeGreaterThan(0);
      for (const c of holders) expect(c.expected.some((e) => e.detector === 'iban')).toBe(false);
    }
  });

  it('includes wrong-length IBANs whose mod-97 check still passes', () => {
    const wrongLength = DLP_CORPUS_FIXTURES.invalidIbans.filter((v) => /^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(v));
    expect(wrongLength.filter((v) => ibanMod97(v) === 1).length).toBeGreaterThanOrEqual(4);
  });

  it('leaves no valid IBAN unlabelled in any text', () => {
    for (const c of DLP_CORPUS) {
      for (const m of c.text.matchAll(/[A-Z]{2}\d{2}[A-Z0-9 ]{8,40}/g)) {
        for (let end = 12; end <= m[0].length; end++) {
          const candidate = m[0].slice(0, end).trim();
          if (isValidIBAN(candidate.replace(/ /g, '')) && !labelledAs(c, 'iban', candidate)) {
            throw new Error(`unlabelled IBAN ${candidate} in: ${c.text}`);
          }
        }
      }
    }
  });
});

describe('DLP corpus: us_ssn', () => {
  it('labels only SSNs that respect the SSA rules', () => {
    for (const { value } of labels('us_ssn')) {
      // Issue 19: nine unbroken digits are labelled under an explicit SSN key; check them dashed.
      expect(
        ssnValid(/^\d{9}$/.test(value) ? `${value.slice(0, 3)}-${value.slice(3, 5)}-${value.slice(5)}` : value),
      ).toBe(true);
    }
    const separators = new Set(labels('us_ssn').map(({ value }) => value[3]));
    expect([...separators].filter((sep) => !/\d/.test(sep!)).sort()).toEqual([' ', '-']);
  });

  it('embeds SSN-shaped strings breaking each rule, and never labels them', () => {
    const invalid = DLP_CORPUS_FIXTURES.invalidSsns;
    expect(invalid.length).toBeGreaterThanOrEqual(10);
    for (const value of invalid) {
      expect(value).toMatch(/^\d{3}([- ])\d{2}\1\d{4}$/);
      expect(ssnValid(value)).toBe(false);
      const holders = DLP_CORPUS.filter((c) => c.text.includes(value));
      expect(holders.length).toBeGreaterThan(0);
      for (const c of holders) expect(c.expected.some((e) => e.detector === 'us_ssn')).toBe(false);
    }
    expect(invalid.some((v) => v.startsWith('000'))).toBe(true);
    expect(invalid.some((v) => v.startsWith('666'))).toBe(true);
    expect(invalid.some((v) => v.startsWith('9'))).toBe(true);
    expect(invalid.some((v) => v.slice(4, 6) === '00')).toBe(true);
    expect(invalid.some((v) => v.endsWith('0000'))).toBe(true);
  });

  it('leaves no valid SSN unlabelled in any text', () => {
    for (const c of DLP_CORPUS) {
      for (const m of c.text.matchAll(/(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])/g)) {
        if (ssnValid(m[0]) && !labelledAs(c, 'us_ssn', m[0])) throw new Error(`unlabelled SSN ${m[0]} in: ${c.text}`);
      }
    }
  });
});

describe('DLP corpus: ipv4', () => {
  const ipv4 = /(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)/g;

  it('labels only dotted quads with every part in 0-255', () => {
    for (const { value } of labels('ipv4')) {
      const parts = value.split('.');
      expect(parts).toHaveLength(4);
      for (const p of parts) {
        expect(p).toMatch(/^(0|[1-9]\d{0,2})$/);
        expect(Number(p)).toBeLessThanOrEqual(255);
      }
    }
  });

  it('leaves no valid address unlabelled in any text', () => {
    for (const c of DLP_CORPUS) {
      for (const m of c.text.matchAll(ipv4)) {
        const valid = m.slice(1, 5).every((p) => Number(p) <= 255);
        if (valid && !labelledAs(c, 'ipv4', m[0])) throw new Error(`unlabelled IPv4 ${m[0]} in: ${c.text}`);
      }
    }
  });
});

describe('DLP corpus: AWS credentials', () => {
  it('labels access key ids of the right prefix and length, and leaves none unlabelled', () => {
    for (const { value } of labels('aws_access_key_id')) expect(value).toMatch(/^(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}$/);
    for (const c of DLP_CORPUS) {
      for (const m of c.text.matchAll(/(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g)) {
        // AWS's documented example keys (`...EXAMPLE`) are placeholders, never labelled (issue 19).
        expect(labelledAs(c, 'aws_access_key_id', m[0])).toBe(!m[0].includes('EXAMPLE'));
      }
    }
  });

  const mixes = (s: string): boolean => /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9/+]/.test(s);

  it('labels standalone 40-character mixed secrets only', () => {
    for (const { value, c } of labels('aws_secret_access_key')) {
      expect(value).toMatch(/^[A-Za-z0-9/+]{40}$/);
      expect(mixes(value)).toBe(true);
      const at = c.text.indexOf(value);
      expect(c.text.slice(Math.max(0, at - 1), at)).not.toMatch(/[A-Za-z0-9/+]/);
      expect(c.text.slice(at + 40, at + 41)).not.toMatch(/[A-Za-z0-9/+]/);
    }
  });

  it('leaves no standalone 40-character mixed run unlabelled (PEM bodies, JWTs and keys avoid them)', () => {
    for (const c of DLP_CORPUS) {
      for (const run of c.text.match(/[A-Za-z0-9/+]+/g) ?? []) {
        const example = run.includes('EXAMPLE'); // documented placeholder (issue 19)
        if (run.length === 40 && mixes(run) && !example && !labelledAs(c, 'aws_secret_access_key', run)) {
          throw new Error(`unlabelled secret-shaped run ${run} in: ${c.text}`);
        }
      }
    }
  });
});

describe('DLP corpus: private_key', () => {
  const kinds = ['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'OPENSSH PRIVATE KEY', 'ENCRYPTED PRIVATE KEY'];

  it('labels whole blocks from BEGIN to the matching END line, with a base64 body', () => {
    const seenKinds = new Set<string>();
    for (const { value } of labels('private_key')) {
      const m = /^-----BEGIN ([A-Z ]+)-----([\s\S]+)-----END ([A-Z ]+)-----$/.exec(value);
      expect(m).not.toBeNull();
      if (!m) continue;
      expect(kinds).toContain(m[1]);
      expect(m[3]).toBe(m[1]);
      seenKinds.add(m[1] ?? '');
      const body = (m[2] ?? '')
        .split(/\\n|\n/)
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.includes(':'));
      expect(body.length).toBeGreaterThan(0);
      for (const line of body) expect(line).toMatch(/^[A-Za-z0-9+/]+=*$/);
    }
    expect([...seenKinds].sort()).toEqual([...kinds].sort());
  });

  it('leaves no private key block unlabelled', () => {
    for (const c of DLP_CORPUS) {
      for (const m of c.text.matchAll(/-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/g)) {
        expect(labelledAs(c, 'private_key', m[0])).toBe(true);
      }
    }
  });
});

describe('DLP corpus: jwt', () => {
  it('labels three-segment tokens whose header and payload are JSON objects', () => {
    for (const { value } of labels('jwt')) {
      const segments = value.split('.');
      expect(segments).toHaveLength(3);
      const [header, payload, signature] = segments as [string, string, string];
      expect(header.startsWith('eyJ') && payload.startsWith('eyJ')).toBe(true);
      for (const s of segments) expect(s).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(typeof decodeJsonSegment(header)).toBe('object');
      expect(typeof decodeJsonSegment(payload)).toBe('object');
      // Issue 19: an unsigned token (empty signature) is labelled when its header says alg none.
      if (signature === '') expect(decodeJsonSegment(header)).toMatchObject({ alg: 'none' });
      else expect(signature.length).toBeGreaterThanOrEqual(10);
    }
  });

  it('leaves no JWT unlabelled', () => {
    for (const c of DLP_CORPUS) {
      for (const m of c.text.matchAll(/eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{10,}/g)) {
        expect(labelledAs(c, 'jwt', m[0])).toBe(true);
      }
    }
  });
});

describe('DLP corpus: api_key', () => {
  it('labels only provider key formats', () => {
    for (const { value } of labels('api_key')) {
      if (!API_KEY_PATTERNS.some((p) => p.test(value))) throw new Error(`not a provider key format: ${value}`);
    }
  });

  it('covers every provider family', () => {
    const values = labels('api_key').map(({ value }) => value);
    for (const prefix of ['sk-', 'sk-proj-', 'sk-ant-api03-', 'ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_']) {
      expect(values.some((v) => v.startsWith(prefix))).toBe(true);
    }
    for (const prefix of ['xoxb-', 'xoxp-', 'xoxa-', 'xoxr-', 'xoxs-', 'gwk_']) {
      expect(values.some((v) => v.startsWith(prefix))).toBe(true);
    }
  });

  it('uses gateway keys with a correct checksum (the gateway itself would accept their shape)', () => {
    const gateway = labels('api_key').filter(({ value }) => value.startsWith('gwk_'));
    expect(gateway.length).toBeGreaterThanOrEqual(3);
    for (const { value } of gateway) expect(keyIdOf(value)).toBe(value.slice(4, 16));
  });
});

describe('DLP corpus: email and phone', () => {
  it('labels addresses with a dotted domain', () => {
    for (const { value } of labels('email'))
      expect(value).toMatch(/^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/);
  });

  it('labels phone numbers as written, with 10 to 15 digits', () => {
    for (const { value } of labels('phone')) {
      expect(value).toMatch(/^\+?[\d(][\d ().-]*\d$/);
      const digits = digitsOnly(value).length;
      expect(digits).toBeGreaterThanOrEqual(10);
      expect(digits).toBeLessThanOrEqual(15);
    }
  });

  it('never labels an SSN or a card number as a phone', () => {
    for (const { value } of labels('phone')) {
      expect(ssnValid(value)).toBe(false);
      expect(isCard(digitsOnly(value))).toBe(false);
    }
  });
});
