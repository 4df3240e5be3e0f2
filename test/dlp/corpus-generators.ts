/**
 * Small deterministic generators for the DLP test corpus (test/dlp/corpus.ts).
 *
 * Everything is driven by a seeded PRNG (mulberry32), never Math.random, so the corpus is the same
 * on every run and on every machine. The generators produce both sides of each detector's boundary:
 * valid payment cards (Luhn + issuer prefix) and near-misses, valid IBANs (checked with ibantools)
 * and near-misses, valid and invalid US SSNs, cloud and provider credentials, JWTs and PEM blocks.
 *
 * Generators also refuse values that would accidentally look like something else (a grouped IBAN
 * containing a Luhn-valid card number, a provider key containing a standalone 40-character
 * AWS-secret-shaped run, ...), so that each generated value has exactly one correct label.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { composeIBAN, friendlyFormatIBAN, isValidBBAN, isValidIBAN } from 'ibantools';

// ---------------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------------

/** mulberry32: a tiny, fast 32-bit seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const DIGITS = '0123456789';
export const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const LOWER = 'abcdefghijklmnopqrstuvwxyz';
export const ALNUM = UPPER + LOWER + DIGITS;
export const UPPER_ALNUM = UPPER + DIGITS;
export const BASE64_CHARS = ALNUM + '+/';
export const BASE64URL_CHARS = ALNUM + '-_';
export const HEX_LOWER = '0123456789abcdef';

/** A seeded random source with the few helpers the corpus needs. */
export class Rng {
  private readonly source: () => number;

  constructor(seed: number) {
    this.source = mulberry32(seed);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.source();
  }

  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.source() * (max - min + 1));
  }

  bool(probability = 0.5): boolean {
    return this.source() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  string(length: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(0, alphabet.length - 1)];
    return out;
  }

  digits(length: number): string {
    return this.string(length, DIGITS);
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Shared "does this accidentally look like X" helpers
// ---------------------------------------------------------------------------------------------

/**
 * True when the string holds a maximal run of exactly 40 characters of [A-Za-z0-9/+]: the shape of
 * an AWS secret access key standing alone. Generated values must not contain one by accident.
 */
export function hasStandalone40Run(text: string): boolean {
  for (const run of text.match(/[A-Za-z0-9/+]+/g) ?? []) if (run.length === 40) return true;
  return false;
}

/** True when the string holds an AWS access key id shape (AKIA/ASIA/ABIA/ACCA + 16). */
export function hasAwsKeyIdShape(text: string): boolean {
  return /(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}/.test(text);
}

// ---------------------------------------------------------------------------------------------
// Payment cards
// ---------------------------------------------------------------------------------------------

export type CardIssuer = 'visa' | 'mastercard' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unionpay';

export const CARD_ISSUERS: readonly CardIssuer[] = [
  'visa',
  'mastercard',
  'amex',
  'discover',
  'jcb',
  'diners',
  'unionpay',
];

interface IssuerSpec {
  /** Draws one prefix of this issuer. */
  prefix: (rng: Rng) => string;
  lengths: readonly number[];
}

const ISSUER_SPECS: Record<CardIssuer, IssuerSpec> = {
  visa: { prefix: () => '4', lengths: [16, 16, 16, 13, 19] },
  mastercard: {
    prefix: (rng) => (rng.bool(0.7) ? String(rng.int(51, 55)) : String(rng.int(2221, 2720))),
    lengths: [16],
  },
  amex: { prefix: (rng) => rng.pick(['34', '37']), lengths: [15] },
  discover: {
    prefix: (rng) => rng.pick(['6011', '65', String(rng.int(644, 649))]),
    lengths: [16],
  },
  jcb: { prefix: (rng) => String(rng.int(3528, 3589)), lengths: [16] },
  diners: {
    prefix: (rng) => rng.pick([String(rng.int(300, 305)), '36', '38']),
    lengths: [14],
  },
  unionpay: { prefix: () => '62', lengths: [16, 16, 17, 18, 19] },
};

/** The Luhn check digit for a payload (all digits except the last). */
export function luhnCheckDigit(payload: string): string {
  let sum = 0;
  // Walking from the right, the digit next to the check digit is doubled.
  for (let i = 0; i < payload.length; i++) {
    let d = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export function isLuhnValid(digits: string): boolean {
  if (!/^\d{2,}$/.test(digits)) return false;
  return luhnCheckDigit(digits.slice(0, -1)) === digits.slice(-1);
}

/** Issuer of a digit string by prefix only (any length). */
export function issuerByPrefix(digits: string): CardIssuer | undefined {
  const n2 = Number(digits.slice(0, 2));
  const n3 = Number(digits.slice(0, 3));
  const n4 = Number(digits.slice(0, 4));
  if (digits.startsWith('4')) return 'visa';
  if ((n2 >= 51 && n2 <= 55) || (n4 >= 2221 && n4 <= 2720)) return 'mastercard';
  if (n2 === 34 || n2 === 37) return 'amex';
  if (digits.startsWith('6011') || n2 === 65 || (n3 >= 644 && n3 <= 649)) return 'discover';
  if (n4 >= 3528 && n4 <= 3589) return 'jcb';
  if ((n3 >= 300 && n3 <= 305) || n2 === 36 || n2 === 38) return 'diners';
  if (n2 === 62) return 'unionpay';
  return undefined;
}

/** A Luhn-valid card number of the issuer (digits only). */
export function generateCard(rng: Rng, issuer: CardIssuer, length?: number): string {
  const spec = ISSUER_SPECS[issuer];
  const len = length ?? rng.pick(spec.lengths);
  const prefix = spec.prefix(rng);
  const payload = prefix + rng.digits(len - 1 - prefix.length);
  return payload + luhnCheckDigit(payload);
}

/** The same number with one digit (after the 6-digit issuer range) changed: Luhn then fails. */
export function breakLuhn(rng: Rng, digits: string): string {
  const pos = rng.int(6, digits.length - 1);
  const old = Number(digits[pos]);
  const replacement = (old + rng.int(1, 9)) % 10;
  const out = digits.slice(0, pos) + String(replacement) + digits.slice(pos + 1);
  if (isLuhnValid(out)) throw new Error('a single substitution always breaks Luhn');
  return out;
}

/** A Luhn-valid number whose first digit belongs to no card issuer (9 or 1). */
export function generateLuhnValidWithoutIssuer(rng: Rng, first: '1' | '9', length = 16): string {
  const payload = first + rng.digits(length - 2);
  return payload + luhnCheckDigit(payload);
}

export type CardFormat = 'plain' | 'spaces' | 'dashes';

/** Groups as printed on the card: Amex 4-6-5, Diners 4-6-4, others blocks of 4. */
export function cardGroups(length: number): number[] {
  if (length === 15) return [4, 6, 5];
  if (length === 14) return [4, 6, 4];
  const groups: number[] = [];
  let left = length;
  while (left > 0) {
    const g = left >= 8 || left === 4 ? 4 : left;
    groups.push(g);
    left -= g;
  }
  return groups;
}

export function formatCard(digits: string, format: CardFormat): string {
  if (format === 'plain') return digits;
  const sep = format === 'spaces' ? ' ' : '-';
  const parts: string[] = [];
  let at = 0;
  for (const g of cardGroups(digits.length)) {
    parts.push(digits.slice(at, at + g));
    at += g;
  }
  return parts.join(sep);
}

/**
 * Every 13-19 digit sequence in the text that passes Luhn and has an issuer prefix, considering
 * digit groups joined by single spaces or dashes (any contiguous run of groups). Generous on
 * purpose: generators use it to reject values that would smuggle in an unlabelled card number.
 */
export function findCardLikeNumbers(text: string): string[] {
  const found: string[] = [];
  for (const run of text.match(/\d+(?:[ -]\d+)*/g) ?? []) {
    const groups = run.split(/[ -]/);
    for (let i = 0; i < groups.length; i++) {
      let joined = '';
      for (let j = i; j < groups.length; j++) {
        joined += groups[j];
        if (joined.length > 19) break;
        if (joined.length >= 13 && isLuhnValid(joined) && issuerByPrefix(joined)) found.push(joined);
      }
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// IBAN
// ---------------------------------------------------------------------------------------------

export const IBAN_COUNTRIES = ['DE', 'GB', 'FR', 'NL', 'ES', 'IT', 'CH', 'BE'] as const;
export type IbanCountry = (typeof IBAN_COUNTRIES)[number];

const GB_BANKS = ['NWBK', 'BARC', 'LOYD', 'HBUK', 'MIDL', 'NAIA'];
const NL_BANKS = ['ABNA', 'RABO', 'INGB', 'TRIO', 'KNAB', 'SNSB'];
// Swiss bank clearing numbers outside 30000-31999 (that range marks QR-IBANs).
const CH_BANKS = ['00762', '00230', '00700', '08390', '09000', '04835'];

function randomBban(rng: Rng, country: IbanCountry): string {
  switch (country) {
    case 'DE':
      return rng.digits(18);
    case 'GB':
      return rng.pick(GB_BANKS) + rng.digits(14);
    case 'FR':
      return (
        rng.digits(10) + rng.digits(rng.int(8, 11)).padEnd(11, rng.pick(['A', 'B', 'C', 'M', 'X'])) + rng.digits(2)
      );
    case 'NL':
      return rng.pick(NL_BANKS) + rng.digits(10);
    case 'ES':
      return rng.digits(20);
    case 'IT':
      return rng.pick(UPPER.split('')) + rng.digits(10) + rng.digits(12);
    case 'CH':
      return rng.pick(CH_BANKS) + rng.digits(12);
    case 'BE':
      return rng.digits(12);
  }
}

/** Numeric value of the IBAN mod 97 (1 for a valid IBAN), computed without ibantools. */
export function ibanMod97(iban: string): number {
  const compact = iban.replace(/[ -]/g, '').toUpperCase();
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const code = ch >= 'A' && ch <= 'Z' ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of code) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem;
}

/** Check digits that make `country + cd + bban` pass mod-97, whatever the length. */
export function mod97CheckDigits(country: string, bban: string): string {
  const rem = ibanMod97(`${country}00${bban}`);
  return String(98 - rem).padStart(2, '0');
}

/**
 * A valid IBAN (electronic format) for the country: right length, mod-97 correct and, for
 * countries with a national check (FR, ES, BE), a correct national check too, so ibantools and a
 * plain mod-97 detector agree. Rejects IBANs whose digits would also read as a card number.
 */
export function generateIban(rng: Rng, country: IbanCountry): string {
  for (let attempt = 0; attempt < 100_000; attempt++) {
    const bban = randomBban(rng, country);
    if (!isValidBBAN(bban, country)) continue;
    const iban = composeIBAN({ countryCode: country, bban });
    if (!iban || !isValidIBAN(iban)) continue;
    const grouped = friendlyFormatIBAN(iban) ?? iban;
    if (findCardLikeNumbers(iban).length > 0 || findCardLikeNumbers(grouped).length > 0) continue;
    return iban;
  }
  throw new Error(`could not generate an IBAN for ${country}`);
}

/** The IBAN in groups of four separated by single spaces (as printed on statements). */
export function groupIban(iban: string, separator = ' '): string {
  const grouped = friendlyFormatIBAN(iban, separator);
  if (!grouped) throw new Error(`not an IBAN: ${iban}`);
  return grouped;
}

/** The same IBAN with different (wrong) check digits. */
export function withWrongCheckDigits(rng: Rng, iban: string): string {
  const current = Number(iban.slice(2, 4));
  for (;;) {
    const cd = rng.int(2, 96);
    if (cd === current || cd === current - 97 || cd === current + 97) continue;
    const out = iban.slice(0, 2) + String(cd).padStart(2, '0') + iban.slice(4);
    if (ibanMod97(out) !== 1 && !isValidIBAN(out)) return out;
  }
}

/**
 * The IBAN with one BBAN character dropped or one digit added, and check digits recomputed: mod-97
 * is correct, but the length is wrong for the country, so it is not an IBAN.
 */
export function withWrongLength(rng: Rng, iban: string): string {
  const country = iban.slice(0, 2);
  let bban = iban.slice(4);
  if (rng.bool()) {
    const pos = rng.int(4, bban.length - 1);
    bban = bban.slice(0, pos) + bban.slice(pos + 1);
  } else {
    bban = bban + rng.digits(1);
  }
  const out = country + mod97CheckDigits(country, bban) + bban;
  if (ibanMod97(out) !== 1 || isValidIBAN(out)) throw new Error('expected mod-97 valid, wrong length');
  return out;
}

// ---------------------------------------------------------------------------------------------
// US Social Security numbers
// ---------------------------------------------------------------------------------------------

export type SsnSeparator = '-' | ' ';

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** A valid SSN: area 001-899 except 666, group 01-99, serial 0001-9999. */
export function generateSsn(rng: Rng, separator: SsnSeparator): string {
  let area = rng.int(1, 899);
  if (area === 666) area = 665;
  const group = rng.int(1, 99);
  const serial = rng.int(1, 9999);
  return [pad(area, 3), pad(group, 2), pad(serial, 4)].join(separator);
}

export type InvalidSsnKind = 'area-000' | 'area-666' | 'area-9xx' | 'group-00' | 'serial-0000';
export const INVALID_SSN_KINDS: readonly InvalidSsnKind[] = [
  'area-000',
  'area-666',
  'area-9xx',
  'group-00',
  'serial-0000',
];

/** An SSN-shaped string that breaks exactly one SSA rule. */
export function generateInvalidSsn(rng: Rng, kind: InvalidSsnKind, separator: SsnSeparator): string {
  const valid = generateSsn(rng, '-').split('-');
  let [area, group, serial] = valid as [string, string, string];
  if (kind === 'area-000') area = '000';
  if (kind === 'area-666') area = '666';
  if (kind === 'area-9xx') area = String(rng.int(900, 999));
  if (kind === 'group-00') group = '00';
  if (kind === 'serial-0000') serial = '0000';
  return [area, group, serial].join(separator);
}

/** The SSN rules of the corpus: AAA-GG-SSSS or AAA GG SSSS, no 000/666/9xx area, 00 group, 0000 serial. */
export function isValidSsn(value: string): boolean {
  const m = /^(\d{3})([- ])(\d{2})\2(\d{4})$/.exec(value);
  if (!m) return false;
  const [, area, , group, serial] = m;
  if (area === '000' || area === '666' || (area ?? '').startsWith('9')) return false;
  return group !== '00' && serial !== '0000';
}

// ---------------------------------------------------------------------------------------------
// AWS credentials
// ---------------------------------------------------------------------------------------------

export type AwsKeyPrefix = 'AKIA' | 'ASIA' | 'ABIA' | 'ACCA';

export function generateAwsAccessKeyId(rng: Rng, prefix: AwsKeyPrefix): string {
  return prefix + rng.string(16, UPPER_ALNUM);
}

/** 40 characters of [A-Za-z0-9/+] mixing upper case, lower case and a digit, `/` or `+`. */
export function generateAwsSecretAccessKey(rng: Rng): string {
  for (;;) {
    const s = rng.string(40, BASE64_CHARS);
    if (/[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9/+]/.test(s) && !hasAwsKeyIdShape(s)) return s;
  }
}

/** A 40-character hex SHA-1 of a seed text (git commit ids look like this). */
export function sha1Hex(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

export function sha256Hex(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** Base64 of `bytes` random bytes (32 bytes -> 44 characters with `=`, 64 -> 88). */
export function randomBase64(rng: Rng, bytes: number): string {
  return rng.bytes(bytes).toString('base64');
}

// ---------------------------------------------------------------------------------------------
// JWT
// ---------------------------------------------------------------------------------------------

export function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

/**
 * A real JWT: base64url(JSON header) . base64url(JSON payload) . base64url(random signature).
 * Adds a `jti` claim if a segment would otherwise contain a standalone 40-character run.
 */
export function buildJwt(
  rng: Rng,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signatureBytes = 32,
): string {
  let claims: Record<string, unknown> = payload;
  for (let attempt = 0; attempt < 50; attempt++) {
    const token = [
      base64url(JSON.stringify(header)),
      base64url(JSON.stringify(claims)),
      base64url(rng.bytes(signatureBytes)),
    ].join('.');
    if (!hasStandalone40Run(token) && !hasAwsKeyIdShape(token)) return token;
    claims = { ...payload, jti: rng.string(8 + attempt, HEX_LOWER) };
  }
  throw new Error('could not build a JWT without a 40-character run');
}

// ---------------------------------------------------------------------------------------------
// PEM blocks
// ---------------------------------------------------------------------------------------------

export type PrivateKeyKind =
  'PRIVATE KEY' | 'RSA PRIVATE KEY' | 'EC PRIVATE KEY' | 'OPENSSH PRIVATE KEY' | 'ENCRYPTED PRIVATE KEY';

export const PRIVATE_KEY_KINDS: readonly PrivateKeyKind[] = [
  'PRIVATE KEY',
  'RSA PRIVATE KEY',
  'EC PRIVATE KEY',
  'OPENSSH PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
];

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

/** DER/OpenSSH headers so the bodies begin like real keys (MII..., MHcC..., b3BlbnNzaC1rZXkt...). */
const BODY_PREFIX: Record<string, Buffer> = {
  'PRIVATE KEY': hex('308204be020100300d06092a864886f70d0101010500048204a8308204a40201000282010100'),
  'EC PKCS8': hex('308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420'),
  'RSA PRIVATE KEY': hex('308204a40201000282010100'),
  'EC PRIVATE KEY': hex('30770201010420'),
  'OPENSSH PRIVATE KEY': Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    hex('000000046e6f6e65000000046e6f6e650000000000000001000000330000000b7373682d65643235353139'),
  ]),
  'ENCRYPTED PRIVATE KEY': hex('3082052d305706092a864886f70d01050d304a302906092a864886f70d01050c301c0408'),
  'PUBLIC KEY': hex('3059301306072a8648ce3d020106082a8648ce3d03010703420004'),
  CERTIFICATE: hex('308201d33082017aa003020102021449'),
};

function wrap(body: string, lineLength: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < body.length; i += lineLength) lines.push(body.slice(i, i + lineLength));
  return lines;
}

/**
 * A PEM block `-----BEGIN <label>-----` ... `-----END <label>-----` with a plausible base64 body.
 * The body length is nudged so that no line is a standalone 40-character run.
 */
export function buildPemBlock(
  rng: Rng,
  label: string,
  bodyBytes: number,
  options: { prefix?: Buffer; headers?: readonly string[]; lineLength?: number } = {},
): string {
  const lineLength = options.lineLength ?? 64;
  const prefix = options.prefix ?? Buffer.alloc(0);
  for (let extra = 0; extra < 10; extra++) {
    const der = Buffer.concat([prefix, rng.bytes(Math.max(0, bodyBytes + extra - prefix.length))]);
    const lines = wrap(der.toString('base64'), lineLength);
    const text = lines.join('\n');
    if (hasStandalone40Run(text) || hasAwsKeyIdShape(text)) continue;
    const headers = options.headers && options.headers.length > 0 ? [...options.headers, ''] : [];
    return [`-----BEGIN ${label}-----`, ...headers, ...lines, `-----END ${label}-----`].join('\n');
  }
  throw new Error('could not build a PEM block');
}

/** A private key block of the given kind. */
export function buildPrivateKey(
  rng: Rng,
  kind: PrivateKeyKind,
  options: { bodyBytes?: number; headers?: readonly string[]; ecPkcs8?: boolean } = {},
): string {
  const prefix =
    kind === 'PRIVATE KEY' && options.ecPkcs8 ? BODY_PREFIX['EC PKCS8'] : (BODY_PREFIX[kind] ?? Buffer.alloc(0));
  const defaultBytes: Record<PrivateKeyKind, number> = {
    'PRIVATE KEY': options.ecPkcs8 ? 138 : 610,
    'RSA PRIVATE KEY': 600,
    'EC PRIVATE KEY': 121,
    'OPENSSH PRIVATE KEY': 390,
    'ENCRYPTED PRIVATE KEY': 420,
  };
  return buildPemBlock(rng, kind, options.bodyBytes ?? defaultBytes[kind], {
    prefix,
    lineLength: kind === 'OPENSSH PRIVATE KEY' ? 70 : 64,
    ...(options.headers ? { headers: options.headers } : {}),
  });
}

export function buildPublicKey(rng: Rng): string {
  return buildPemBlock(rng, 'PUBLIC KEY', 91, { prefix: BODY_PREFIX['PUBLIC KEY'] });
}

export function buildCertificate(rng: Rng): string {
  return buildPemBlock(rng, 'CERTIFICATE', 470, { prefix: BODY_PREFIX['CERTIFICATE'] });
}

// ---------------------------------------------------------------------------------------------
// Provider API keys
// ---------------------------------------------------------------------------------------------

/** Draws until the value holds no accidental AWS-secret run, AWS key id or card number. */
function clean(make: () => string): string {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const value = make();
    if (!hasStandalone40Run(value) && !hasAwsKeyIdShape(value) && findCardLikeNumbers(value).length === 0) {
      return value;
    }
  }
  throw new Error('could not generate a clean value');
}

/** OpenAI secret keys: legacy `sk-` + 48 (with the T3BlbkFJ marker) or `sk-proj-...`. */
export function generateOpenAiKey(rng: Rng, kind: 'legacy' | 'project'): string {
  if (kind === 'legacy') return clean(() => `sk-${rng.string(20, ALNUM)}T3BlbkFJ${rng.string(20, ALNUM)}`);
  return clean(() => `sk-proj-${rng.string(64, BASE64URL_CHARS)}T3BlbkFJ${rng.string(64, BASE64URL_CHARS)}`);
}

/** Anthropic: `sk-ant-api03-` + 93 base64url characters + `AA` (108 characters in all). */
export function generateAnthropicKey(rng: Rng): string {
  return clean(() => `sk-ant-api03-${rng.string(93, BASE64URL_CHARS)}AA`);
}

export type GithubTokenPrefix = 'ghp_' | 'gho_' | 'ghu_' | 'ghs_' | 'ghr_';

export function generateGithubToken(rng: Rng, prefix: GithubTokenPrefix): string {
  return clean(() => prefix + rng.string(36, ALNUM));
}

/** Fine-grained PAT: `github_pat_` + 22 + `_` + 59 = 82 characters of [A-Za-z0-9_]. */
export function generateGithubFineGrainedPat(rng: Rng): string {
  return clean(() => `github_pat_11${rng.string(20, UPPER_ALNUM)}_${rng.string(59, ALNUM)}`);
}

export type SlackTokenPrefix = 'xoxb' | 'xoxp' | 'xoxa' | 'xoxr' | 'xoxs';

export function generateSlackToken(rng: Rng, prefix: SlackTokenPrefix): string {
  const id = (n: number): string => String(rng.int(1, 9)) + rng.digits(n - 1);
  return clean(() => {
    switch (prefix) {
      case 'xoxb':
        return `xoxb-${id(12)}-${id(13)}-${rng.string(24, ALNUM)}`;
      case 'xoxp':
        return `xoxp-${id(12)}-${id(12)}-${id(13)}-${rng.string(32, HEX_LOWER)}`;
      case 'xoxa':
        return `xoxa-2-${id(12)}-${id(13)}-${rng.string(64, HEX_LOWER)}`;
      case 'xoxr':
        return `xoxr-${id(12)}-${id(13)}-${rng.string(24, ALNUM)}`;
      case 'xoxs':
        return `xoxs-${id(12)}-${id(12)}-${id(13)}-${rng.string(64, HEX_LOWER)}`;
    }
  });
}

const GATEWAY_KEY_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const BASE62 = DIGITS + UPPER + LOWER;

function base62(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/**
 * This gateway's own key format, `gwk_<12 of [a-z2-7]>_<40 base62 secret><6 base62 CRC32>`, with a
 * correct checksum (same construction as lambdas/shared/keys/format.ts).
 */
export function generateGatewayKey(rng: Rng): string {
  return clean(() => {
    const body = `gwk_${rng.string(12, GATEWAY_KEY_ID_ALPHABET)}_${rng.string(40, BASE62)}`;
    return body + base62(crc32(body) >>> 0, 6);
  });
}

// ---------------------------------------------------------------------------------------------
// Emails, phones, IPv4
// ---------------------------------------------------------------------------------------------

const FIRST_NAMES = ['anna', 'ben', 'carla', 'dmitri', 'elena', 'farid', 'grace', 'hiro', 'ines', 'jonas', 'kemi'];
const LAST_NAMES = ['schmidt', 'okafor', 'lindqvist', 'moreau', 'tanaka', 'rossi', 'nguyen', 'patel', 'garcia'];
const EMAIL_DOMAINS = [
  'example.com',
  'example.org',
  'mail.example.net',
  'acme-corp.io',
  'northwind-traders.com',
  'contoso.co.uk',
  'globex.com.au',
  'eu.initech.example',
];

export function generateEmail(rng: Rng): string {
  const first = rng.pick(FIRST_NAMES);
  const last = rng.pick(LAST_NAMES);
  const domain = rng.pick(EMAIL_DOMAINS);
  const style = rng.int(0, 5);
  if (style === 0) return `${first}.${last}@${domain}`;
  if (style === 1) return `${first[0]}${last}@${domain}`;
  if (style === 2) return `${first}+${rng.pick(['billing', 'test', 'news', 'ci'])}@${domain}`;
  if (style === 3) return `${first}_${last}${rng.int(1, 99)}@${domain}`;
  if (style === 4) return `${first}.${last}@${domain}`.toUpperCase();
  return `${first}-${last}@${domain}`;
}

const US_AREA_CODES = ['415', '212', '646', '312', '206', '617', '303', '512', '702', '919', '503', '213'];

export type UsPhoneFormat = 'parens' | 'dashes' | 'dots' | 'e164' | 'plus1-spaces' | 'plus1-dashes';
export const US_PHONE_FORMATS: readonly UsPhoneFormat[] = [
  'parens',
  'dashes',
  'dots',
  'e164',
  'plus1-spaces',
  'plus1-dashes',
];

/** A US number in the fictional 555-01xx range, in one of the usual written formats. */
export function generateUsPhone(rng: Rng, format: UsPhoneFormat): string {
  const area = rng.pick(US_AREA_CODES);
  const line = `01${rng.digits(2)}`;
  switch (format) {
    case 'parens':
      return `(${area}) 555-${line}`;
    case 'dashes':
      return `${area}-555-${line}`;
    case 'dots':
      return `${area}.555.${line}`;
    case 'e164':
      return `+1${area}555${line}`;
    case 'plus1-spaces':
      return `+1 ${area} 555 ${line}`;
    case 'plus1-dashes':
      return `+1-${area}-555-${line}`;
  }
}

/** An IPv4 address from private, documentation or public resolver ranges. */
export function generateIpv4(rng: Rng): string {
  const kind = rng.int(0, 5);
  if (kind === 0) return `10.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  if (kind === 1) return `172.${rng.int(16, 31)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  if (kind === 2) return `192.168.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  if (kind === 3) return `192.0.2.${rng.int(1, 254)}`;
  if (kind === 4) return `198.51.100.${rng.int(1, 254)}`;
  return `203.0.113.${rng.int(1, 254)}`;
}
