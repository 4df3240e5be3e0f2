/**
 * An evaluation corpus for the DLP detectors written independently of them: its author never read the
 * detectors nor the regression corpus, and wrote every case from public format documentation (card
 * issuer ranges and the Luhn check, the IBAN registry and ISO 7064 mod-97, the SSA's SSN rules,
 * national numbering plans, the providers' documented token prefixes, RFC 7519 for JWTs, RFC 7468 for
 * PEM) and from how people actually paste code, configs and messages into an LLM.
 *
 * Why a second corpus: a corpus grown alongside the detectors ends up testing what they already do.
 * This one measures them against the world (issue 19), so it is kept apart and scored apart.
 *
 * Labelling rule: a label is what a careful security reviewer would call real PII or a real secret,
 * with `value` the exact substring a perfect detector reports. Documented example values, masked values
 * and placeholders are not labelled. Every case carries a `note` naming its class (`<class>/<detail>`).
 *
 * Everything is generated from fixed seeds, so the corpus is identical on every run.
 */
import { createHash } from 'node:crypto';
import type { CorpusCase, DetectorName } from './corpus';

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const ALNUM = UPPER + LOWER + DIGITS;
const BASE32 = UPPER + '234567';
const BASE64 = ALNUM + '+/';
const BASE64URL = ALNUM + '-_';
const HEX = '0123456789abcdef';

/** mulberry32: small, fast and good enough to vary test data; the seed fixes the whole sequence. */
class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  float(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  chars(alphabet: string, n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[this.int(0, alphabet.length - 1)];
    return out;
  }

  digits(n: number): string {
    return this.chars(DIGITS, n);
  }

  /** Digits of a subscriber number: real numbering plans do not start a subscriber number with 0 or 1. */
  sub(n: number): string {
    return String(this.int(2, 9)) + this.digits(n - 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Case collection
// ---------------------------------------------------------------------------------------------

type Labels = [DetectorName, string][];

const cases: CorpusCase[] = [];
const seenTexts = new Set<string>();

/** Adds a case; a text generated twice is kept once (the generators may collide on short templates). */
function add(note: string, text: string, labels: Labels = []): void {
  if (seenTexts.has(text)) return;
  seenTexts.add(text);
  cases.push({ text, expected: labels.map(([detector, value]) => ({ detector, value })), note });
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');
const sha512b64 = (s: string): string => createHash('sha512').update(s).digest('base64');
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');

function uuid(r: Rng): string {
  const h = r.chars(HEX, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${r.pick(['8', '9', 'a', 'b'])}${h.slice(17, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------------------------------------
// Format helpers written from the public specifications
// ---------------------------------------------------------------------------------------------

/** Luhn (ISO/IEC 7812-1 annex B). */
function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let n = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
  }
  return sum % 10 === 0;
}

function withLuhnDigit(partial: string): string {
  for (let d = 0; d < 10; d++) if (luhnValid(partial + d)) return partial + d;
  throw new Error('unreachable: one check digit always completes a Luhn number');
}

/** ISO 7064 MOD 97-10 over an IBAN: letters count as 10..35, the first four characters move to the end. */
function ibanMod97(iban: string): number {
  const compact = iban.replace(/ /g, '');
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let rest = 0;
  for (const ch of rearranged) {
    const v = /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of v) rest = (rest * 10 + Number(d)) % 97;
  }
  return rest;
}

function ibanFrom(cc: string, bban: string): string {
  const check = 98 - ibanMod97(`${cc}00${bban}`);
  return `${cc}${String(check).padStart(2, '0')}${bban}`;
}

const groupsOf4 = (s: string): string => s.replace(/(.{4})(?=.)/g, '$1 ');

/** Card issuers: IIN ranges and lengths as published by the schemes. */
const ISSUERS: { name: string; prefix: (r: Rng) => string; length: (r: Rng) => number }[] = [
  { name: 'Visa', prefix: () => '4', length: () => 16 },
  {
    name: 'Mastercard',
    prefix: (r) => (r.chance(0.7) ? String(r.int(51, 55)) : String(r.int(2221, 2720))),
    length: () => 16,
  },
  { name: 'American Express', prefix: (r) => r.pick(['34', '37']), length: () => 15 },
  { name: 'Discover', prefix: (r) => r.pick(['6011', String(r.int(644, 649)), '65']), length: () => 16 },
  { name: 'JCB', prefix: (r) => String(r.int(3528, 3589)), length: () => 16 },
  { name: 'Diners Club', prefix: (r) => r.pick(['36', '38', String(r.int(300, 305))]), length: () => 14 },
  { name: 'UnionPay', prefix: () => '62', length: (r) => r.pick([16, 16, 19]) },
];

function cardDigits(r: Rng, issuer = r.pick(ISSUERS)): string {
  const prefix = issuer.prefix(r);
  return withLuhnDigit(prefix + r.digits(issuer.length(r) - prefix.length - 1));
}

/** Groups digits the way the schemes print them: 4-4-4-4, Amex 4-6-5, Diners 4-6-4, 19 digits 4-4-4-4-3. */
function formatCard(d: string, sep: string): string {
  const groups =
    d.length === 15 ? [4, 6, 5] : d.length === 14 ? [4, 6, 4] : d.length === 19 ? [4, 4, 4, 4, 3] : [4, 4, 4, 4];
  const parts: string[] = [];
  let at = 0;
  for (const g of groups) {
    parts.push(d.slice(at, at + g));
    at += g;
  }
  return parts.join(sep);
}

/** SSA rules since 2011: area 001-899 except 666, group 01-99, serial 0001-9999. */
function ssn(r: Rng): [string, string, string] {
  let area = r.int(1, 899);
  if (area === 666) area = 667;
  return [
    String(area).padStart(3, '0'),
    String(r.int(1, 99)).padStart(2, '0'),
    String(r.int(1, 9999)).padStart(4, '0'),
  ];
}

const weighted = (digits: string, weights: readonly number[]): number =>
  [...digits].reduce((sum, d, i) => sum + Number(d) * weights[i % weights.length]!, 0);

/** A BBAN whose national check digits also hold (a real account number passes both checks). */
function nationalBban(make: () => string, valid: (bban: string) => boolean): string {
  for (;;) {
    const bban = make();
    if (valid(bban)) return bban;
  }
}

/** Spanish "dígitos de control": weights 1,2,4,8,5,10,9,7,3,6 mod 11, 10 reads as 1 and 11 as 0. */
function esDigit(ten: string): string {
  const d = 11 - (weighted(ten, [1, 2, 4, 8, 5, 10, 9, 7, 3, 6]) % 11);
  return String(d === 11 ? 0 : d === 10 ? 1 : d);
}

/** Italian CIN: odd positions through the conversion table, even ones as is, mod 26 as a letter. */
function itCin(rest: string): string {
  const odd = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];
  const sum = [...rest].reduce((acc, d, i) => acc + (i % 2 === 0 ? odd[Number(d)]! : Number(d)), 0);
  return UPPER[sum % 26]!;
}

/**
 * Country and BBAN, per the SWIFT IBAN registry (lengths) and the national rules for the countries
 * whose BBAN carries its own check digits (FR RIB key, ES DC, IT CIN, BE, PL, PT, NO, CZ, HU).
 */
const IBAN_COUNTRIES: [string, (r: Rng) => string][] = [
  ['DE', (r) => r.digits(18)],
  [
    'FR',
    (r) => {
      const bank = r.digits(5);
      const branch = r.digits(5);
      const account = r.digits(11);
      const key = 97 - Number((89n * BigInt(bank) + 15n * BigInt(branch) + 3n * BigInt(account)) % 97n);
      return bank + branch + account + String(key).padStart(2, '0');
    },
  ],
  ['GB', (r) => r.pick(['NWBK', 'BARC', 'LOYD', 'HBUK', 'MIDL']) + r.digits(14)],
  [
    'ES',
    (r) => {
      const bankBranch = r.digits(8);
      const account = r.digits(10);
      return bankBranch + esDigit(`00${bankBranch}`) + esDigit(account) + account;
    },
  ],
  [
    'IT',
    (r) => {
      const rest = r.digits(22);
      return itCin(rest) + rest;
    },
  ],
  ['NL', (r) => r.pick(['ABNA', 'INGB', 'RABO', 'KNAB', 'TRIO']) + r.digits(10)],
  [
    'BE',
    (r) => {
      const ten = r.digits(10);
      const check = Number(BigInt(ten) % 97n) || 97;
      return ten + String(check).padStart(2, '0');
    },
  ],
  ['AT', (r) => r.digits(16)],
  ['CH', (r) => r.digits(17)],
  [
    'PL',
    (r) => {
      const seven = r.digits(7);
      return seven + String((10 - (weighted(seven, [3, 9, 7, 1, 3, 9, 7]) % 10)) % 10) + r.digits(16);
    },
  ],
  [
    'PT',
    (r) => {
      const nineteen = r.digits(19);
      return nineteen + String(98 - Number(BigInt(`${nineteen}00`) % 97n)).padStart(2, '0');
    },
  ],
  ['IE', (r) => r.pick(['AIBK', 'BOFI', 'IPBS']) + r.digits(14)],
  ['SE', (r) => r.digits(20)],
  ['DK', (r) => r.digits(14)],
  ['FI', (r) => r.digits(14)],
  [
    'NO',
    (r) =>
      nationalBban(
        () => r.digits(11),
        (b) => weighted(b, [5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1]) % 11 === 0,
      ),
  ],
  ['LU', (r) => r.digits(16)],
  [
    'CZ',
    (r) =>
      nationalBban(
        () => r.pick(['0100', '0300', '0800', '2010']) + '000000' + r.digits(10),
        (b) => weighted(b.slice(10), [6, 3, 7, 9, 10, 5, 8, 4, 2, 1]) % 11 === 0,
      ),
  ],
  [
    'HU',
    (r) =>
      nationalBban(
        () => r.digits(24),
        (b) => weighted(b.slice(0, 8), [9, 7, 3, 1]) % 10 === 0 && weighted(b.slice(8), [9, 7, 3, 1]) % 10 === 0,
      ),
  ],
  ['GR', (r) => r.digits(23)],
];

// ---------------------------------------------------------------------------------------------
// Secret formats from the providers' public documentation
// ---------------------------------------------------------------------------------------------

interface Token {
  value: string;
  env: string;
  kind: string;
}

const TOKEN_KINDS = [
  'openai',
  'openai-proj',
  'openai-svcacct',
  'anthropic',
  'anthropic-admin',
  'github',
  'github-pat',
  'slack-bot',
  'slack-user',
  'slack-workspace',
  'slack-rotating',
  'gateway',
] as const;
type TokenKind = (typeof TOKEN_KINDS)[number];

function token(r: Rng, kind: TokenKind): Token {
  switch (kind) {
    case 'openai':
      return { kind, env: 'OPENAI_API_KEY', value: `sk-${r.chars(ALNUM, 20)}T3BlbkFJ${r.chars(ALNUM, 20)}` };
    case 'openai-proj':
      return {
        kind,
        env: 'OPENAI_API_KEY',
        value: `sk-proj-${r.chars(BASE64URL, 74)}T3BlbkFJ${r.chars(BASE64URL, 74)}`,
      };
    case 'openai-svcacct':
      return {
        kind,
        env: 'OPENAI_API_KEY',
        value: `sk-svcacct-${r.chars(BASE64URL, 74)}T3BlbkFJ${r.chars(BASE64URL, 74)}`,
      };
    case 'anthropic':
      return { kind, env: 'ANTHROPIC_API_KEY', value: `sk-ant-api03-${r.chars(BASE64URL, 93)}AA` };
    case 'anthropic-admin':
      return { kind, env: 'ANTHROPIC_ADMIN_KEY', value: `sk-ant-admin01-${r.chars(BASE64URL, 93)}AA` };
    case 'github':
      return {
        kind,
        env: 'GITHUB_TOKEN',
        value: `${r.pick(['ghp', 'gho', 'ghu', 'ghs', 'ghr'])}_${r.chars(ALNUM, 36)}`,
      };
    case 'github-pat':
      return {
        kind,
        env: 'GH_TOKEN',
        value: `github_pat_11${r.chars(UPPER + DIGITS, 20)}_${r.chars(ALNUM, 59)}`,
      };
    case 'slack-bot':
      return { kind, env: 'SLACK_BOT_TOKEN', value: `xoxb-${r.sub(12)}-${r.sub(13)}-${r.chars(ALNUM, 24)}` };
    case 'slack-user':
      return {
        kind,
        env: 'SLACK_USER_TOKEN',
        value: `xoxp-${r.sub(12)}-${r.sub(12)}-${r.sub(13)}-${r.chars(HEX, 32)}`,
      };
    case 'slack-workspace':
      return {
        kind,
        env: 'SLACK_TOKEN',
        value: `xoxa-2-${r.sub(12)}-${r.sub(12)}-${r.sub(13)}-${r.chars(HEX, 64)}`,
      };
    case 'slack-rotating':
      return {
        kind,
        env: 'SLACK_BOT_TOKEN',
        value: `xoxe.${r.pick(['xoxb', 'xoxp'])}-1-${r.chars(ALNUM, 146)}`,
      };
    case 'gateway':
      return {
        kind,
        env: 'LLM_GATEWAY_API_KEY',
        value: `gwk_${r.chars('abcdefghijklmnopqrstuvwxyz234567', 12)}_${r.chars(ALNUM, 46)}`,
      };
  }
}

const awsKeyId = (r: Rng, prefix: 'AKIA' | 'ASIA' = 'AKIA'): string => prefix + r.chars(BASE32, 16);
const awsSecret = (r: Rng): string => {
  // A real secret access key mixes all four classes; insist on it so no sample reads like a word.
  for (;;) {
    const s = r.chars(BASE64, 40);
    if (/[a-z]/.test(s) && /[A-Z]/.test(s) && /[0-9]/.test(s)) return s;
  }
};

const PEM_KINDS = [
  { label: 'RSA PRIVATE KEY', lead: 'MIIEowIBAAKCAQEA', lines: 25 },
  { label: 'RSA PRIVATE KEY', lead: 'MIIEpAIBAAKCAQEA', lines: 25 },
  { label: 'EC PRIVATE KEY', lead: 'MHcCAQEEI', lines: 3 },
  { label: 'PRIVATE KEY', lead: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ', lines: 26 },
  { label: 'PRIVATE KEY', lead: 'MC4CAQAwBQYDK2VwBCIEI', lines: 1 },
  {
    label: 'OPENSSH PRIVATE KEY',
    lead: 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
    lines: 5,
  },
  { label: 'ENCRYPTED PRIVATE KEY', lead: 'MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI', lines: 28 },
] as const;

/**
 * A PEM block (RFC 7468): 64-character base64 lines, the last one shorter; OpenSSH's own format wraps
 * at 70. A one-line key (Ed25519 in PKCS#8) is exactly 64 characters.
 */
function pemLines(r: Rng, kind: (typeof PEM_KINDS)[number]): { begin: string; body: string[]; end: string } {
  const width = kind.label === 'OPENSSH PRIVATE KEY' ? 70 : 64;
  const total = kind.lines === 1 ? 64 : kind.lines * width - r.int(8, 40);
  const raw = kind.lead + r.chars(BASE64, total - kind.lead.length - 2) + r.pick(['==', 'AA', 'Q=', 'g=']);
  const body: string[] = [];
  for (let i = 0; i < raw.length; i += width) body.push(raw.slice(i, i + width));
  return { begin: `-----BEGIN ${kind.label}-----`, body, end: `-----END ${kind.label}-----` };
}

// ---------------------------------------------------------------------------------------------
// Word lists for realistic context
// ---------------------------------------------------------------------------------------------

const FIRST = [
  'anna',
  'lukas',
  'marie',
  'jonas',
  'chloe',
  'hugo',
  'lucia',
  'mateo',
  'giulia',
  'marco',
  'sanne',
  'daan',
  'zofia',
  'jakub',
  'oliver',
  'amelia',
  'priya',
  'arjun',
  'yuki',
  'haruto',
  'beatriz',
  'rafael',
  'charlotte',
  'jack',
  'emily',
  'james',
  'sofia',
  'noah',
  'fatima',
  'omar',
];
const LAST = [
  'schmidt',
  'mueller',
  'dubois',
  'martin',
  'garcia',
  'lopez',
  'rossi',
  'bianchi',
  'devries',
  'jansen',
  'nowak',
  'kowalski',
  'smith',
  'jones',
  'sharma',
  'patel',
  'tanaka',
  'sato',
  'silva',
  'santos',
  'wilson',
  'nguyen',
  'okafor',
  'haddad',
  'oconnor',
  'lindqvist',
];
const DOMAINS = [
  'gmail.com',
  'outlook.com',
  'yahoo.co.jp',
  'gmx.de',
  'web.de',
  'orange.fr',
  'libero.it',
  'fastmail.fm',
  'proton.me',
  'icloud.com',
  'northwind-logistics.com',
  'acme-corp.de',
  'brightpath.io',
  'kestrel-analytics.co.uk',
  'uni-heidelberg.de',
  'tum.de',
  'infosys.com',
  'hospital-sanluis.es',
  'studio-nakamura.jp',
  'agencia-vento.com.br',
  'wp.pl',
  'ziggo.nl',
  'bigpond.com.au',
  'mail.ru',
  'hey.com',
  'contoso-health.org',
  'finance.brightpath.io',
  'eu.kestrel-analytics.co.uk',
];
const cap = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

function email(r: Rng): string {
  const f = r.pick(FIRST);
  const l = r.pick(LAST);
  const local = r.pick([
    `${f}.${l}`,
    `${f}${l[0]}`,
    `${f[0]}.${l}`,
    `${f}_${l}${r.int(1, 99)}`,
    `${f}.${l}+${r.pick(['invoices', 'github', 'news', 'shop'])}`,
    `${cap(f)}.${cap(l)}`,
    `${l}-${f}`,
    `${f}${r.int(1970, 2005)}`,
  ]);
  return `${local}@${r.pick(DOMAINS)}`;
}

const WORDS = [
  'get',
  'set',
  'create',
  'update',
  'delete',
  'handle',
  'resolve',
  'build',
  'validate',
  'parse',
  'serialize',
  'normalize',
  'compute',
  'fetch',
  'load',
  'register',
  'dispatch',
  'schedule',
  'retry',
  'refresh',
  'user',
  'tenant',
  'account',
  'request',
  'response',
  'token',
  'session',
  'permission',
  'policy',
  'quota',
  'budget',
  'usage',
  'invoice',
  'billing',
  'provider',
  'model',
  'stream',
  'chunk',
  'event',
  'handler',
  'middleware',
  'config',
  'options',
  'context',
  'repository',
  'service',
  'factory',
  'adapter',
  'mapper',
  'cache',
  'registry',
  'record',
  'metric',
  'dimension',
  'window',
  'limit',
  'reservation',
  'settlement',
  'authorization',
  'subscription',
  'notification',
  'preference',
  'transaction',
  'identifier',
  'attribute',
  'expression',
  'condition',
  'strategy',
  'builder',
  'manager',
  'controller',
  'interceptor',
  'listener',
  'processor',
  'transformer',
  'validator',
  'resolver',
  'default',
  'pending',
  'expired',
  'active',
  'for',
  'from',
  'with',
  'by',
  'all',
  'batch',
  'async',
  'lazy',
];

const VERBS = WORDS.slice(0, WORDS.indexOf('user'));

/** A camelCase (or PascalCase) identifier of exactly `length` characters made of real words. */
function identifier(r: Rng, length: number, pascal = false): string {
  for (;;) {
    const parts: string[] = [];
    let len = 0;
    while (len < length) {
      const w = r.pick(WORDS);
      parts.push(w);
      len += w.length;
    }
    // Functions and fields read as verb phrases (getUserBy...), types as noun phrases.
    if (len !== length || (!pascal && !VERBS.includes(parts[0]!)) || (pascal && VERBS.includes(parts[0]!))) continue;
    const name = parts.map((w, i) => (i === 0 && !pascal ? w : cap(w))).join('');
    return name;
  }
}

// =============================================================================================
// 1. Emails
// =============================================================================================
{
  const r = new Rng(101);
  const templates: ((e: string) => string)[] = [
    (e) => `Hi, please send the signed contract to ${e} by Friday.`,
    (e) =>
      `From: ${cap(r.pick(FIRST))} ${cap(r.pick(LAST))} <${e}>\nSubject: Re: invoice 2024-118\n\nThanks, received.`,
    (e) => `{"id": 4821, "name": "${cap(r.pick(FIRST))} ${cap(r.pick(LAST))}", "email": "${e}", "plan": "pro"}`,
    (e) => `Can you summarise this thread? Last reply was from ${e} asking about the refund.`,
    (e) => `<a href="mailto:${e}">Contact support</a>`,
    (e) => `user_id,email,created_at\n10482,${e},2024-03-11T09:15:22Z`,
    (e) => `Bitte kontaktieren Sie mich unter ${e}.`,
    (e) => `INSERT INTO customers (name, email) VALUES ('${cap(r.pick(LAST))}', '${e}');`,
    (e) => `2024-06-10T14:32:05Z WARN password reset requested for ${e}`,
    (e) => `Cc: ${e}`,
    (e) => `maintainers:\n  - name: ${cap(r.pick(FIRST))} ${cap(r.pick(LAST))}\n    email: ${e}`,
    (e) => `Pour toute question, écrivez à ${e} — merci !`,
  ];
  for (let i = 0; i < 26; i++) {
    const e = email(r);
    const t = templates[i % templates.length]!(e);
    add('email/positive', t, [['email', e]]);
  }
  // Two addresses in one text.
  for (let i = 0; i < 6; i++) {
    const a = email(r);
    const b = email(r);
    if (a === b) continue;
    add('email/positive', `To: ${a}\nCc: ${b}\n\nPlease review the attached draft.`, [
      ['email', a],
      ['email', b],
    ]);
  }

  // Hard negatives: SSH/git targets, decorators, npm scopes, package@version, retina assets, handles.
  const orgs = ['acme', 'kestrel-labs', 'northwind', 'brightpath-io', 'infra-team'];
  const repos = ['api', 'gateway', 'terraform-modules', 'web-app', 'dotfiles', 'data-pipeline'];
  for (let i = 0; i < 6; i++) {
    const o = r.pick(orgs);
    const p = r.pick(repos);
    add('email/hard-negative', `git clone git@github.com:${o}/${p}.git && cd ${p} && npm ci`);
    add(
      'email/hard-negative',
      `[remote "origin"]\n\turl = git@gitlab.com:${o}/${p}.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*`,
    );
  }
  for (const host of [
    'build-03.ci.internal',
    'db-replica.prod.acme.io',
    'bastion.eu-west-1.northwind.net',
    'staging.brightpath.io',
  ]) {
    add('email/hard-negative', `scp ./dump.sql.gz deploy@${host}:/var/backups/`);
    add('email/hard-negative', `rsync -avz dist/ ubuntu@${host}:/srv/www/`);
  }
  add('email/hard-negative', `git remote add upstream git@bitbucket.org:northwind/web-app.git`);
  add(
    'email/hard-negative',
    `@Component({\n  selector: 'app-user-card',\n  templateUrl: './user-card.component.html',\n})\nexport class UserCardComponent {\n  @Input() user!: User;\n}`,
  );
  add(
    'email/hard-negative',
    `@pytest.mark.parametrize("value", [1, 2, 3])\ndef test_square(value):\n    assert square(value) == value * value`,
  );
  add(
    'email/hard-negative',
    `class Account:\n    @property\n    def balance(self) -> int:\n        return self._balance\n\n    @staticmethod\n    def open() -> "Account":\n        return Account()`,
  );
  add(
    'email/hard-negative',
    `import { z } from 'zod';\nimport { Logger } from '@aws-lambda-powertools/logger';\nimport middy from '@middy/core';`,
  );
  add(
    'email/hard-negative',
    `"devDependencies": {\n  "@types/node": "^20.19.43",\n  "@anthropic-ai/sdk": "^1.12.0",\n  "@smithy/types": "^4.20.0"\n}`,
  );
  add('email/hard-negative', `npm install lodash@4.17.21 express@4.19.2 @nestjs/core@10.3.8`);
  add('email/hard-negative', `lodash@^4.17.21:\n  version "4.17.21"`);
  add('email/hard-negative', `<img src="/assets/logo@2x.png" srcset="/assets/logo@3x.png 3x" alt="logo">`);
  add('email/hard-negative', `go install golang.org/x/tools/gopls@v0.15.3`);
  add('email/hard-negative', `@media (max-width: 640px) {\n  .nav { display: none; }\n}\n@import url('theme.css');`);
  add('email/hard-negative', `Thanks @jdoe and @m.rossi for the review! Merging now.`);
  add('email/hard-negative', `@Override\npublic String toString() {\n  return "Order{" + id + "}";\n}`);
  add('email/hard-negative', `pip install "mylib @ git+https://github.com/acme/mylib.git@v1.2.0"`);
  add('email/hard-negative', `image: docker.io/library/node@sha256:${sha256('node-20-alpine')}`);
}

// =============================================================================================
// 2. Phone numbers
// =============================================================================================
{
  const r = new Rng(202);
  type Maker = () => string;
  const fmt2 = (d: string): string => d.replace(/(\d{2})(?=\d)/g, '$1 ');
  const countries: Record<string, { contexts: ((p: string) => string)[]; numbers: Maker[] }> = {
    DE: {
      contexts: [
        (p) => `Mobil: ${p}`,
        (p) => `Bitte rufen Sie mich unter ${p} zurück.`,
        (p) => `Tel.: ${p}\nFax: keine`,
        (p) => `Ansprechpartner: Herr ${cap(r.pick(LAST))}, ${p}`,
      ],
      numbers: [
        () => `0${r.pick(['151', '152', '157', '159', '170', '171', '172', '176', '178'])} ${r.sub(8)}`,
        () => `0${r.pick(['151', '160', '175'])}/${r.sub(7)}`,
        () => `0${r.pick(['152', '173', '177'])}-${r.sub(8)}`,
        () => `030 ${r.sub(8)}`,
        () => `(0${r.pick(['89', '40'])}) ${r.sub(7)}`,
        () => `0221 ${r.sub(3)} ${r.digits(4)}`,
        () => `+49 ${r.pick(['151', '171', '176'])} ${r.sub(8)}`,
        () => `+49 30 ${r.sub(8)}`,
        () => `0049 ${r.pick(['152', '179'])} ${r.sub(8)}`,
        () => `0049 89 ${r.sub(7)}`,
      ],
    },
    FR: {
      contexts: [(p) => `Vous pouvez me joindre au ${p}.`, (p) => `Tél : ${p}`, (p) => `Portable : ${p} (après 18h)`],
      numbers: [
        () => `0${r.pick(['6', '7'])} ${fmt2(String(r.int(10, 98)) + r.digits(6))}`,
        () => `0${r.pick(['1', '4', '5'])}.${fmt2(String(r.int(20, 98)) + r.digits(6)).replace(/ /g, '.')}`,
        () => `+33 ${r.pick(['6', '7'])} ${fmt2(String(r.int(10, 98)) + r.digits(6))}`,
        () => `+33 1 ${fmt2(String(r.int(40, 58)) + r.digits(6))}`,
        () => `0033 ${r.pick(['6', '7'])} ${fmt2(String(r.int(10, 98)) + r.digits(6))}`,
      ],
    },
    ES: {
      contexts: [(p) => `Móvil: ${p}`, (p) => `Llámame al ${p} cuando puedas.`, (p) => `Teléfono de contacto: ${p}`],
      numbers: [
        () => `6${r.digits(2)} ${r.digits(3)} ${r.digits(3)}`,
        () => `+34 6${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`,
        () => `91 ${r.sub(3)} ${r.digits(2)} ${r.digits(2)}`,
        () => `0034 6${r.digits(2)} ${r.digits(3)} ${r.digits(3)}`,
        () => `+34 93 ${r.sub(3)} ${r.digits(2)} ${r.digits(2)}`,
      ],
    },
    IT: {
      contexts: [(p) => `Cell. ${p}`, (p) => `Per informazioni chiamare il ${p}.`, (p) => `Tel: ${p}`],
      numbers: [
        () => `3${r.pick(['20', '28', '33', '35', '38', '40', '47', '49', '88', '92'])} ${r.sub(3)} ${r.digits(4)}`,
        () => `06 ${r.sub(4)} ${r.digits(4)}`,
        () => `02 ${r.sub(4)} ${r.digits(4)}`,
        () => `+39 3${r.pick(['33', '47', '49'])} ${r.sub(3)} ${r.digits(4)}`,
        () => `+39 06 ${r.sub(4)} ${r.digits(4)}`,
        () => `0039 3${r.pick(['28', '40'])} ${r.sub(7)}`,
      ],
    },
    NL: {
      contexts: [(p) => `Bel me op ${p}.`, (p) => `Telefoon: ${p}`, (p) => `Mobiel: ${p}`],
      numbers: [
        () => `06 ${r.sub(8)}`,
        () => `06-${r.sub(8)}`,
        () => `020 ${r.sub(3)} ${r.digits(4)}`,
        () => `+31 6 ${r.sub(8)}`,
        () => `+31 20 ${r.sub(3)} ${r.digits(4)}`,
        () => `0031 6 ${r.sub(8)}`,
      ],
    },
    PL: {
      contexts: [(p) => `Tel. kom. ${p}`, (p) => `Proszę o kontakt pod numerem ${p}.`],
      numbers: [
        () =>
          `${r.pick(['50', '51', '53', '60', '66', '69', '72', '79', '88'])}${r.digits(1)} ${r.digits(3)} ${r.digits(3)}`,
        () => `+48 ${r.pick(['50', '60', '79'])}${r.digits(1)} ${r.digits(3)} ${r.digits(3)}`,
        () => `22 ${r.sub(3)} ${r.digits(2)} ${r.digits(2)}`,
        () => `0048 ${r.pick(['51', '69'])}${r.digits(1)} ${r.digits(3)} ${r.digits(3)}`,
      ],
    },
    UK: {
      contexts: [
        (p) => `Call me on ${p} after 6pm.`,
        (p) => `Mob: ${p}`,
        (p) => `Best regards,\n${cap(r.pick(FIRST))} ${cap(r.pick(LAST))}\nAccount Manager\nT: ${p}`,
      ],
      numbers: [
        () => `07${r.pick(['4', '5', '8', '9'])}${r.digits(2)} ${r.sub(6)}`,
        () => `020 ${r.pick(['7', '3', '8'])}${r.sub(3)} ${r.digits(4)}`,
        () => `0161 ${r.int(2, 8)}${r.digits(2)} ${r.digits(4)}`,
        () => `+44 7${r.pick(['4', '5', '8', '9'])}${r.digits(2)} ${r.sub(6)}`,
        () => `+44 20 ${r.pick(['7', '3'])}${r.sub(3)} ${r.digits(4)}`,
        () => `0044 7${r.pick(['8', '9'])}${r.digits(2)} ${r.sub(6)}`,
        () => `+447${r.pick(['4', '9'])}${r.digits(2)}${r.sub(6)}`,
      ],
    },
    IN: {
      contexts: [
        (p) => `Please call on ${p}`,
        (p) => `Mobile No.: ${p}`,
        (p) => `Contact: ${cap(r.pick(['priya', 'arjun', 'rahul']))} (${p})`,
      ],
      numbers: [
        () => `${r.pick(['98', '97', '99', '88', '70', '63'])}${r.digits(3)} ${r.digits(5)}`,
        () => `+91 ${r.pick(['98', '91', '80'])}${r.digits(3)} ${r.digits(5)}`,
        () => `+91-${r.pick(['9', '8', '7'])}${r.digits(9)}`,
        () => `0${r.pick(['98', '99', '70'])}${r.digits(8)}`,
        () => `0091 ${r.pick(['98', '96'])}${r.digits(3)} ${r.digits(5)}`,
        () => `022 2${r.digits(3)} ${r.digits(4)}`,
        () => `+91 11 2${r.digits(3)} ${r.digits(4)}`,
      ],
    },
    JP: {
      contexts: [(p) => `携帯: ${p}`, (p) => `お問い合わせ: ${p}`, (p) => `TEL ${p}`],
      numbers: [
        () => `0${r.pick(['90', '80', '70'])}-${r.sub(4)}-${r.digits(4)}`,
        () => `03-${r.sub(4)}-${r.digits(4)}`,
        () => `06-${r.sub(4)}-${r.digits(4)}`,
        () => `+81 ${r.pick(['90', '80'])}-${r.sub(4)}-${r.digits(4)}`,
        () => `+81 ${r.pick(['90', '70'])} ${r.sub(4)} ${r.digits(4)}`,
        () => `+81 3-${r.sub(4)}-${r.digits(4)}`,
        () => `0081 90 ${r.sub(4)} ${r.digits(4)}`,
      ],
    },
    BR: {
      contexts: [(p) => `Ligue para ${p} (horário comercial).`, (p) => `WhatsApp: ${p}`, (p) => `Celular: ${p}`],
      numbers: [
        () => `(${r.pick(['11', '21', '31', '41', '51', '61', '71', '81'])}) 9${r.sub(4)}-${r.digits(4)}`,
        () => `(${r.pick(['11', '21', '19'])}) ${r.int(2, 5)}${r.digits(3)}-${r.digits(4)}`,
        () => `+55 ${r.pick(['11', '21', '31'])} 9${r.sub(4)}-${r.digits(4)}`,
        () => `+55 (${r.pick(['11', '85', '48'])}) 9${r.sub(4)}-${r.digits(4)}`,
        () => `0055 11 9${r.sub(4)}-${r.digits(4)}`,
      ],
    },
    AU: {
      contexts: [(p) => `Mobile: ${p}`, (p) => `Give us a ring on ${p}`, (p) => `Ph: ${p}`],
      numbers: [
        () =>
          `04${r.pick(['00', '01', '03', '07', '08', '12', '13', '14', '17', '19', '22', '23', '27', '30', '38'])} ${r.sub(3)} ${r.digits(3)}`,
        () => `(02) ${r.pick(['8', '9'])}${r.digits(3)} ${r.digits(4)}`,
        () => `03 9${r.digits(3)} ${r.digits(4)}`,
        () => `+61 4${r.pick(['00', '12', '13', '22', '38'])} ${r.sub(3)} ${r.digits(3)}`,
        () => `+61 2 ${r.pick(['8', '9'])}${r.digits(3)} ${r.digits(4)}`,
        () => `0061 4${r.pick(['07', '19'])} ${r.sub(3)} ${r.digits(3)}`,
      ],
    },
    US: {
      contexts: [
        (p) => `Call me at ${p}.`,
        (p) => `Phone: ${p}`,
        (p) => `cell ${p} — text is fine`,
        (p) => `{"customer": {"phone": "${p}"}}`,
      ],
      numbers: (() => {
        const area = (): string =>
          r.pick([
            '212',
            '213',
            '206',
            '303',
            '305',
            '312',
            '404',
            '415',
            '469',
            '503',
            '512',
            '617',
            '646',
            '702',
            '713',
            '718',
            '773',
            '818',
            '917',
            '972',
            '416',
            '604',
            '514',
          ]);
        const exch = (): string => {
          for (;;) {
            const e = String(r.int(2, 9)) + r.digits(2);
            if (e !== '555' && !e.endsWith('11')) return e;
          }
        };
        return [
          () => `(${area()}) ${exch()}-${r.digits(4)}`,
          () => `${area()}-${exch()}-${r.digits(4)}`,
          () => `${area()}.${exch()}.${r.digits(4)}`,
          () => `+1 ${area()} ${exch()} ${r.digits(4)}`,
          () => `+1 (${area()}) ${exch()}-${r.digits(4)}`,
          () => `+1-${area()}-${exch()}-${r.digits(4)}`,
          () => `1-${area()}-${exch()}-${r.digits(4)}`,
          () => `+1${area()}${exch()}${r.digits(4)}`,
        ];
      })(),
    },
  };
  const generic: ((p: string) => string)[] = [
    (p) => `{"name": "${cap(r.pick(FIRST))} ${cap(r.pick(LAST))}", "phone": "${p}", "consent": true}`,
    (p) => `SMS delivery to ${p} failed: carrier rejected the message`,
    (p) => `name,phone,city\n${cap(r.pick(LAST))},${p},${r.pick(['Berlin', 'Lyon', 'Osaka', 'Leeds', 'Pune'])}`,
  ];
  for (const [cc, spec] of Object.entries(countries)) {
    spec.numbers.forEach((make, i) => {
      const p = make();
      const ctx = spec.contexts[i % spec.contexts.length]!;
      add(`phone/${cc}`, ctx(p), [['phone', p]]);
      if (i % 3 !== 1) return;
      const p2 = make();
      add(`phone/${cc}`, r.pick(generic)(p2), [['phone', p2]]);
    });
  }
  // Office and mobile in one signature.
  for (let i = 0; i < 4; i++) {
    const [a, b] = [r.pick(countries.DE!.numbers)(), r.pick(countries.UK!.numbers)()];
    add('phone/multiple', `${cap(r.pick(FIRST))} ${cap(r.pick(LAST))}\nOffice: ${a}\nMobile: ${b}`, [
      ['phone', a],
      ['phone', b],
    ]);
  }

  // 13-digit mobiles with a country code (+49 1xx, +55 xx 9, +86 1xx, +62 8xx), about half of them
  // Luhn-valid on purpose: a phone, not a card.
  const thirteen: (() => string)[] = [
    () => '49' + r.pick(['151', '152', '157', '170', '171', '176', '178', '179']) + r.sub(8),
    () => '55' + r.pick(['11', '21', '31']) + '9' + r.sub(8),
    () => '86' + r.pick(['138', '139', '186', '135']) + r.digits(8),
    () => '62' + r.pick(['812', '813', '857']) + r.sub(8),
  ];
  for (let i = 0; i < 16; i++) {
    let d = thirteen[i % thirteen.length]!();
    if (i % 2 === 0) d = withLuhnDigit(d.slice(0, -1));
    const shape = i % 6;
    const p = shape === 3 ? d : shape === 4 ? `00${d}` : `+${d}`;
    const text =
      shape === 0
        ? `Meine Nummer: ${p}`
        : shape === 1
          ? `<a href="tel:${p}">Call us</a>`
          : shape === 2
            ? `{"msisdn": "${p}", "verified": true}`
            : shape === 3
              ? `Chat with us on WhatsApp: https://wa.me/${p}`
              : shape === 4
                ? `Tel. ${p}`
                : `Forwarding calls to ${p} until Monday.`;
    add('phone/13-digit-mobile', text, [['phone', p]]);
  }

  // Hard negatives: order numbers, timestamps, versions, ISBNs, lottery lists, invoice ids, etc.
  const isbn13 = (): string => {
    const core = '978' + r.pick(['3', '0', '1', '2', '4']) + r.digits(8);
    let sum = 0;
    for (let i = 0; i < 12; i++) sum += Number(core[i]) * (i % 2 === 0 ? 1 : 3);
    const check = (10 - (sum % 10)) % 10;
    return core + check;
  };
  for (let i = 0; i < 2; i++) {
    add('phone/hard-negative', `Your Amazon order #${r.sub(3)}-${r.digits(7)}-${r.digits(7)} has shipped.`);
    add(
      'phone/hard-negative',
      `{"event": "checkout", "createdAt": ${r.int(1700000000000, 1760000000000)}, "items": 3}`,
    );
    add(
      'phone/hard-negative',
      `ts=${r.int(1700000000, 1760000000)} level=info msg="cache warmed" keys=${r.int(100, 9999)}`,
    );
    const i13 = isbn13();
    add('phone/hard-negative', `ISBN ${i13.slice(0, 3)}-${i13[3]}-${i13.slice(4, 7)}-${i13.slice(7, 12)}-${i13[12]}`);
    add('phone/hard-negative', `ISBN-13: ${isbn13()} (paperback, 2nd edition)`);
    const lotto = Array.from({ length: 6 }, () => String(r.int(1, 49)).padStart(2, '0')).join(' ');
    add('phone/hard-negative', `Lottozahlen vom Samstag: ${lotto}, Superzahl ${r.int(0, 9)}`);
    add('phone/hard-negative', `Invoice INV-${r.int(2021, 2025)}-${r.digits(6)} is overdue by ${r.int(3, 40)} days.`);
    add(
      'phone/hard-negative',
      `Rechnung Nr. ${r.int(2021, 2025)}/${String(r.int(1, 12)).padStart(2, '0')}/${r.digits(6)} vom ${String(r.int(1, 28)).padStart(2, '0')}.${String(r.int(1, 12)).padStart(2, '0')}.2024`,
    );
    add(
      'phone/hard-negative',
      `Upgraded kernel from ${r.int(5, 6)}.${r.int(1, 19)}.${r.int(0, 120)} to ${r.int(6, 6)}.${r.int(1, 12)}.${r.int(0, 80)}-${r.int(10, 200)}-generic`,
    );
    add(
      'phone/hard-negative',
      `2024-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')} ${String(r.int(0, 23)).padStart(2, '0')}:${String(r.int(0, 59)).padStart(2, '0')}:${String(r.int(0, 59)).padStart(2, '0')}.${r.digits(3)} INFO  request completed in ${r.int(2, 900)} ms`,
    );
  }
  const euro = (): string => Array.from({ length: 5 }, () => String(r.int(1, 50)).padStart(2, '0')).join(' ');
  add('phone/hard-negative', `EuroMillions draw: ${euro()} — Lucky Stars ${r.int(1, 12)} ${r.int(1, 12)}`);
  add('phone/hard-negative', `Winning numbers: ${Array.from({ length: 7 }, () => String(r.int(10, 49))).join(' ')}`);
  add(
    'phone/hard-negative',
    `Content-Length: ${r.int(1000000, 99999999)}\nX-RateLimit-Reset: ${r.int(1700000000, 1760000000)}`,
  );
  add('phone/hard-negative', `Tracking number: 1Z${r.chars(UPPER + DIGITS, 6)}${r.digits(10)}`);
  add('phone/hard-negative', `FedEx tracking ${r.digits(4)} ${r.digits(4)} ${r.digits(4)}`);
  add(
    'phone/hard-negative',
    `Windows 11 build ${r.int(22000, 26100)}.${r.int(1000, 4000)}, BIOS version ${r.int(1, 3)}.${r.int(10, 30)}.${r.int(0, 9)}`,
  );
  add('phone/hard-negative', `Coordinates: ${r.int(35, 60)}.${r.digits(6)}, ${r.int(1, 30)}.${r.digits(6)}`);
  add('phone/hard-negative', `Total: 1.234.${r.digits(3)},${r.digits(2)} EUR (inkl. 19 % MwSt.)`);
  add('phone/hard-negative', `Case #${r.digits(8)} has been escalated to tier 2.`);
  add('phone/hard-negative', `Resolution 1920x1080, bitrate ${r.int(2000, 9000)} kbps, ${r.int(24, 60)} fps`);
  add('phone/hard-negative', `PID ${r.int(1000, 99999)} exited with status 137 after ${r.int(100, 99999)} ms`);
  add('phone/hard-negative', `rows affected: ${r.int(1000000, 9999999)} (took ${r.digits(2)}.${r.digits(3)} s)`);
  add('phone/hard-negative', `Kundennummer ${r.digits(10)} · Vertragsnummer ${r.digits(8)}`);
  add('phone/hard-negative', `Serial No. ${r.chars(UPPER, 2)}${r.digits(2)}-${r.digits(4)}-${r.digits(5)}`);
  add('phone/hard-negative', `expect(sum([0.1, 0.2])).toBe(0.30000000000000004);`);
  add('phone/hard-negative', `Page ${r.int(10, 400)} of ${r.int(400, 900)} — figures 12 14 16 18 20 on the next page`);
}

// =============================================================================================
// 3. Payment cards
// =============================================================================================
{
  const r = new Rng(303);
  const contexts: ((c: string, issuer: string) => string)[] = [
    (c) => `Please charge my card ${c}, exp 0${r.int(1, 9)}/${r.int(26, 31)}.`,
    (c, n) => `${n} ending... actually here is the full number: ${c}`,
    (c) => `{"payment": {"card_number": "${c}", "exp_month": ${r.int(1, 12)}, "exp_year": ${r.int(2026, 2031)}}}`,
    (c) => `Kartennummer: ${c}\nGültig bis: ${String(r.int(1, 12)).padStart(2, '0')}/${r.int(26, 30)}`,
    (c) => `customer,card\n${cap(r.pick(LAST))},${c}`,
    (c) => `Why was ${c} declined? The bank says the card is fine.`,
    (c) => `card=${c}&amount=4999&currency=EUR`,
    (c, n) => `Saved payment method: ${n} ${c} (default)`,
  ];
  for (let i = 0; i < 42; i++) {
    const issuer = ISSUERS[i % ISSUERS.length]!;
    const d = cardDigits(r, issuer);
    const style = i % 3;
    const c = style === 0 ? formatCard(d, ' ') : style === 1 ? formatCard(d, '-') : d;
    add(`card/${issuer.name.toLowerCase().replace(/ /g, '-')}`, contexts[i % contexts.length]!(c, issuer.name), [
      ['credit_card', c],
    ]);
  }

  // Luhn-failing numbers with real issuer prefixes.
  for (let i = 0; i < 12; i++) {
    const d = cardDigits(r);
    const bad = d.slice(0, -1) + String((Number(d.slice(-1)) + r.int(1, 9)) % 10);
    const c = i % 2 === 0 ? formatCard(bad, ' ') : bad;
    add('card/hard-negative', r.pick(contexts)(c, 'Card'));
  }
  // Luhn-valid numbers whose prefix belongs to no card scheme (loyalty, gift and account numbers).
  for (let i = 0; i < 8; i++) {
    const d = withLuhnDigit(r.pick(['0', '7', '8', '9']) + r.digits(14));
    const c = i % 2 === 0 ? formatCard(d, ' ') : formatCard(d, '-');
    add(
      'card/hard-negative',
      r.pick([`Loyalty member no. ${c}`, `Gift card ${c} balance: 25.00`, `Contract reference ${c}`, `Meter ID ${c}`]),
    );
  }
  // Valid card numbers buried inside longer digit runs.
  for (let i = 0; i < 8; i++) {
    const d = cardDigits(r);
    const run = r.digits(r.int(3, 8)) + d + r.digits(r.int(2, 6));
    add(
      'card/hard-negative',
      r.pick([`reference=${run}`, `barcode ${run}`, `"trace_no": "${run}"`, `SEPA end-to-end id ${run}`]),
    );
  }
  // Space-separated two-digit numbers that happen to pass Luhn with an issuer-like start.
  for (let i = 0; i < 8; i++) {
    let nums: string[];
    for (;;) {
      nums = [String(r.int(40, 55)), ...Array.from({ length: 7 }, () => String(r.int(1, 49)).padStart(2, '0'))];
      if (luhnValid(nums.join(''))) break;
    }
    add(
      'card/hard-negative',
      r.pick([
        `Numbers drawn tonight: ${nums.join(' ')}`,
        `Keno picks: ${nums.join(' ')}`,
        `bingo card row: ${nums.join(' ')}`,
        `Seats ${nums.join(' ')} are still free.`,
      ]),
    );
  }
}

// =============================================================================================
// 4. US Social Security numbers
// =============================================================================================
{
  const r = new Rng(404);
  const dashed: ((s: string) => string)[] = [
    (s) => `SSN: ${s}`,
    (s) => `Social Security Number: ${s}`,
    (s) =>
      `Employee: ${cap(r.pick(FIRST))} ${cap(r.pick(LAST))} | DOB: 0${r.int(1, 9)}/1${r.int(0, 9)}/19${r.int(60, 99)} | SSN ${s}`,
    (s) => `{"applicant": {"last_name": "${cap(r.pick(LAST))}", "ssn": "${s}"}}`,
    (s) =>
      `a Employee's social security number\n${s}\nb Employer identification number (EIN)\n${r.digits(2)}-${r.digits(7)}`,
    (s) => `${cap(r.pick(LAST))}, ${cap(r.pick(FIRST))}    ${s}    Payroll group B`,
    (s) => `Can you fill in this form for me? My social is ${s} and I was born in 1987.`,
  ];
  for (let i = 0; i < 20; i++) {
    const [a, g, s] = ssn(r);
    const v = `${a}-${g}-${s}`;
    add('ssn/dashed', dashed[i % dashed.length]!(v), [['us_ssn', v]]);
  }
  const bare: ((s: string) => string)[] = [
    (s) => `SSN ${s}`,
    (s) => `ssn=${s}&dob=1979-04-02`,
    (s) => `Social security number: ${s}`,
    (s) => `"ssn": "${s}"`,
    (s) => `SSN#${s} on file, please verify identity`,
    (s) => `My SSN is ${s}, can you check the form?`,
  ];
  for (let i = 0; i < 12; i++) {
    const v = ssn(r).join('');
    add('ssn/no-separator-with-context', bare[i % bare.length]!(v), [['us_ssn', v]]);
  }
  // Nine digits without any SSN context.
  for (let i = 0; i < 8; i++) {
    const v = ssn(r).join('');
    add(
      'ssn/hard-negative',
      r.pick([
        `Order ${v} has shipped.`,
        `ticket_id=${v}`,
        `Your verification code is ${v.slice(0, 6)}; ref ${v}`,
        `Batch ${v} processed in 42 ms`,
        `Routing no. ${v}`,
        `"postal_item": "${v}"`,
      ]),
    );
  }
  // Invalid SSA ranges, even right next to "SSN".
  const invalid = (): string => {
    const kind = r.int(0, 4);
    const [a, g, s] = ssn(r);
    if (kind === 0) return `000-${g}-${s}`;
    if (kind === 1) return `666-${g}-${s}`;
    if (kind === 2) return `9${r.digits(2)}-${g}-${s}`;
    if (kind === 3) return `${a}-00-${s}`;
    return `${a}-${g}-0000`;
  };
  for (let i = 0; i < 12; i++) add('ssn/hard-negative', r.pick(dashed.slice(0, 4))(invalid()));
  for (let i = 0; i < 5; i++) add('ssn/hard-negative', `SSN ${invalid().replace(/-/g, '')}`);
  add('ssn/hard-negative', `SSN: XXX-XX-${r.digits(4)}`);
  add('ssn/hard-negative', `Social Security Number: ***-**-${r.digits(4)}`);
  add('ssn/hard-negative', `SSN on file ending in ${r.digits(4)}`);
}

// =============================================================================================
// 5. IBANs
// =============================================================================================
{
  const r = new Rng(505);
  const contexts: ((i: string) => string)[] = [
    (i) => `IBAN: ${i}`,
    (i) => `Bitte überweisen Sie den Betrag auf IBAN ${i} (Verwendungszweck: RE-${r.digits(5)}).`,
    (i) =>
      `{"beneficiary": "${cap(r.pick(LAST))} GmbH", "iban": "${i}", "bic": "${r.chars(UPPER, 6)}${r.chars(UPPER + DIGITS, 2)}"}`,
    (i) => `<CdtrAcct><Id><IBAN>${i}</IBAN></Id></CdtrAcct>`,
    (i) => `Mes coordonnées bancaires : ${i}`,
    (i) => `Please pay into ${i} by the end of the month.`,
  ];
  let n = 0;
  for (const [cc, bban] of IBAN_COUNTRIES) {
    for (let k = 0; k < (n < 20 ? 2 : 1); k++) {
      const iban = ibanFrom(cc, bban(r));
      const value = n % 2 === 0 ? iban : groupsOf4(iban);
      // The XML element never carries spaces.
      const ctx = contexts[n % contexts.length]!;
      const v = ctx === contexts[3] ? iban : value;
      add(`iban/${cc}`, ctx(v), [['iban', v]]);
      n++;
    }
  }
  // Negatives: wrong check digits, wrong length for the country, unknown country.
  for (let i = 0; i < 8; i++) {
    const [cc, bban] = r.pick(IBAN_COUNTRIES);
    const iban = ibanFrom(cc, bban(r));
    const check = Number(iban.slice(2, 4));
    const bad = iban.slice(0, 2) + String(((check + r.int(1, 40)) % 97) + 2).padStart(2, '0') + iban.slice(4);
    if (ibanMod97(bad) === 1) continue;
    add('iban/hard-negative', r.pick(contexts)(i % 2 ? groupsOf4(bad) : bad));
  }
  for (let i = 0; i < 4; i++) {
    const [cc, bban] = r.pick(IBAN_COUNTRIES);
    const b = bban(r);
    const wrong = ibanFrom(cc, b + r.digits(r.int(1, 2)));
    add('iban/hard-negative', `IBAN ${wrong}`);
  }
  add('iban/hard-negative', `IBAN ${ibanFrom('XK', r.digits(16)).replace('XK', 'ZZ')}`);
  add('iban/hard-negative', `Account: DE${r.digits(2)} XXXX XXXX XXXX XXXX ${r.digits(2)}`);
}

// =============================================================================================
// 6. IPv4 addresses
// =============================================================================================
{
  const r = new Rng(606);
  const publicIp = (): string =>
    `${r.pick([23, 34, 35, 44, 52, 54, 62, 77, 78, 81, 82, 85, 88, 91, 93, 95, 104, 109, 128, 141, 146, 151, 157, 159, 176, 178, 185, 188, 193, 195, 212, 213, 217])}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
  const privateIp = (): string =>
    r.pick([
      `10.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`,
      `172.${r.int(16, 31)}.${r.int(0, 255)}.${r.int(1, 254)}`,
      `192.168.${r.int(0, 255)}.${r.int(1, 254)}`,
    ]);
  const contexts: ((ip: string) => string)[] = [
    (ip) =>
      `${ip} - - [10/Jun/2024:14:32:05 +0000] "GET /api/v1/health HTTP/1.1" 200 17 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"`,
    (ip) =>
      `Jun 10 14:32:05 web-1 sshd[${r.int(1000, 60000)}]: Failed password for invalid user admin from ${ip} port ${r.int(30000, 65000)} ssh2`,
    (ip) => `iptables -A INPUT -s ${ip} -j DROP`,
    (ip) => `{"level":"warn","msg":"rate limited","client_ip":"${ip}","path":"/v1/chat/completions"}`,
    (ip) => `server:\n  host: ${ip}\n  port: 8443`,
    (ip) => `PING ${ip}: 56 data bytes\n64 bytes from ${ip}: icmp_seq=0 ttl=117 time=14.2 ms`,
    (ip) => `Why can't I reach my database at ${ip} from the Lambda?`,
    (ip) => `allow ${ip};\ndeny all;`,
    (ip) => `DB_HOST=${ip}\nDB_PORT=5432`,
  ];
  for (let i = 0; i < 26; i++) {
    const ip = i % 3 === 2 ? privateIp() : publicIp();
    const ctx = contexts[i % contexts.length]!;
    const text = ctx(ip);
    const count = text.split(ip).length - 1;
    add(
      'ipv4/positive',
      text,
      Array.from({ length: count }, (): [DetectorName, string] => ['ipv4', ip]),
    );
  }
  for (let i = 0; i < 5; i++) {
    const a = publicIp();
    const b = privateIp();
    add('ipv4/positive', `X-Forwarded-For: ${a}, ${b}`, [
      ['ipv4', a],
      ['ipv4', b],
    ]);
  }

  // Hard negatives: four-part versions in a version context, section numbers, OIDs, out-of-range octets.
  const v4 = (): string => `${r.int(1, 20)}.${r.int(0, 20)}.${r.int(0, 30)}.${r.int(0, 200)}`;
  const versionContexts: ((v: string) => string)[] = [
    (v) => `Installed version ${v} of the agent.`,
    (v) => `Release v${v} fixes the memory leak.`,
    (v) => `pip install pywin32-ctypes==${v}`,
    (v) => `[assembly: AssemblyVersion("${v}")]`,
    (v) => `<PackageReference Include="Newtonsoft.Json" Version="${v}" />`,
    (v) => `See section ${v} of the specification for the handshake.`,
    (v) => `§ ${v} Datenverarbeitung im Auftrag`,
    (v) => `Firmware ${v} is available for download.`,
    (v) => `ProductVersion: ${v}`,
    (v) => `implementation 'com.google.android.material:material:${v}'`,
  ];
  for (let i = 0; i < 16; i++) add('ipv4/hard-negative', versionContexts[i % versionContexts.length]!(v4()));
  add(
    'ipv4/hard-negative',
    `User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36`,
  );
  add('ipv4/hard-negative', `signatureAlgorithm: 1.2.840.113549.1.1.11 (sha256WithRSAEncryption)`);
  add('ipv4/hard-negative', `snmpget -v2c -c public router 1.3.6.1.2.1.1.3.0`);
  add('ipv4/hard-negative', `OID 2.16.840.1.101.3.4.2.1 identifies SHA-256.`);
  for (let i = 0; i < 5; i++) {
    add(
      'ipv4/hard-negative',
      `invalid address ${r.int(256, 999)}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(0, 255)} rejected by validator`,
    );
    add(
      'ipv4/hard-negative',
      `host ${r.int(1, 200)}.${r.int(256, 400)}.${r.int(0, 255)}.${r.int(300, 999)} is not an address`,
    );
  }
}

// =============================================================================================
// 7. Provider and gateway tokens in code and config pastes
// =============================================================================================
{
  const r = new Rng(707);
  const constName = (t: Token): string => t.env.replace('LLM_', '');
  const tpl: { name: string; kinds: readonly TokenKind[]; make: (t: Token) => string }[] = [
    {
      name: 'env',
      kinds: TOKEN_KINDS,
      make: (t) => `NODE_ENV=production\nPORT=3000\n${t.env}=${t.value}\nLOG_LEVEL=info`,
    },
    {
      name: 'shell-history',
      kinds: TOKEN_KINDS,
      make: (t) =>
        `  ${r.int(400, 900)}  cd ~/src/app\n  ${r.int(901, 950)}  export ${t.env}=${t.value}\n  ${r.int(951, 999)}  npm run dev`,
    },
    {
      name: 'yaml',
      kinds: ['openai', 'openai-proj', 'anthropic', 'gateway'],
      make: (t) =>
        `llm:\n  provider: ${t.kind.startsWith('openai') ? 'openai' : t.kind === 'gateway' ? 'gateway' : 'anthropic'}\n  api_key: ${t.value}\n  model: small-fast\n  timeout_seconds: 30`,
    },
    {
      name: 'json-mcp',
      kinds: ['github', 'github-pat'],
      make: (t) =>
        `{\n  "mcpServers": {\n    "github": {\n      "command": "npx",\n      "args": ["-y", "@modelcontextprotocol/server-github"],\n      "env": { "GITHUB_PERSONAL_ACCESS_TOKEN": "${t.value}" }\n    }\n  }\n}`,
    },
    {
      name: 'json',
      kinds: TOKEN_KINDS,
      make: (t) =>
        `{\n  "service": "summarizer",\n  "credentials": {\n    "apiKey": "${t.value}"\n  },\n  "retries": 3\n}`,
    },
    {
      name: 'python',
      kinds: ['openai', 'openai-proj', 'openai-svcacct', 'gateway'],
      make: (t) =>
        `from openai import OpenAI\n\nclient = OpenAI(api_key="${t.value}")\nresp = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])`,
    },
    {
      name: 'python',
      kinds: ['anthropic', 'anthropic-admin'],
      make: (t) =>
        `import anthropic\n\nclient = anthropic.Anthropic(\n    api_key="${t.value}",\n)\nmessage = client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=[])`,
    },
    {
      name: 'python',
      kinds: ['slack-bot', 'slack-user', 'slack-rotating'],
      make: (t) =>
        `from slack_sdk import WebClient\n\nclient = WebClient(token="${t.value}")\nclient.chat_postMessage(channel="#deploys", text="done")`,
    },
    {
      name: 'typescript',
      kinds: ['anthropic', 'anthropic-admin'],
      make: (t) =>
        `import Anthropic from '@anthropic-ai/sdk';\n\nconst client = new Anthropic({ apiKey: '${t.value}' });`,
    },
    {
      name: 'typescript',
      kinds: ['openai', 'openai-proj', 'gateway'],
      make: (t) =>
        `import OpenAI from 'openai';\n\nexport const openai = new OpenAI({\n  apiKey: '${t.value}',\n  maxRetries: 2,\n});`,
    },
    {
      name: 'typescript',
      kinds: ['github', 'github-pat'],
      make: (t) =>
        `import { Octokit } from '@octokit/rest';\n\nconst octokit = new Octokit({ auth: '${t.value}' });\nconst { data } = await octokit.repos.listForOrg({ org: 'acme' });`,
    },
    {
      name: 'typescript',
      kinds: ['slack-bot', 'slack-user', 'slack-workspace'],
      make: (t) => `const { WebClient } = require('@slack/web-api');\nconst web = new WebClient('${t.value}');`,
    },
    {
      name: 'go',
      kinds: TOKEN_KINDS,
      make: (t) =>
        `req, _ := http.NewRequest("POST", url, body)\nreq.Header.Set("Authorization", "Bearer ${t.value}")\nreq.Header.Set("Content-Type", "application/json")`,
    },
    {
      name: 'go',
      kinds: ['github', 'github-pat'],
      make: (t) => `client := github.NewClient(nil).WithAuthToken("${t.value}")`,
    },
    {
      name: 'java',
      kinds: TOKEN_KINDS,
      make: (t) => `public final class Config {\n    private static final String ${constName(t)} = "${t.value}";\n}`,
    },
    {
      name: 'curl',
      kinds: ['openai', 'openai-proj', 'gateway'],
      make: (t) =>
        `curl https://api.openai.com/v1/chat/completions \\\n  -H "Content-Type: application/json" \\\n  -H "Authorization: Bearer ${t.value}" \\\n  -d '{"model": "gpt-4o-mini", "messages": []}'`,
    },
    {
      name: 'curl',
      kinds: ['anthropic', 'anthropic-admin'],
      make: (t) =>
        `curl https://api.anthropic.com/v1/messages \\\n  -H "x-api-key: ${t.value}" \\\n  -H "anthropic-version: 2023-06-01"`,
    },
    {
      name: 'docker-compose',
      kinds: TOKEN_KINDS,
      make: (t) =>
        `services:\n  api:\n    image: ghcr.io/acme/api:1.4.2\n    environment:\n      - ${t.env}=${t.value}\n      - LOG_LEVEL=debug\n    ports:\n      - "8080:8080"`,
    },
    {
      name: 'terraform',
      kinds: TOKEN_KINDS,
      make: (t) =>
        `resource "aws_secretsmanager_secret_version" "${t.kind.replace(/-/g, '_')}" {\n  secret_id     = aws_secretsmanager_secret.${t.kind.replace(/-/g, '_')}.id\n  secret_string = "${t.value}"\n}`,
    },
    {
      name: 'github-actions',
      kinds: TOKEN_KINDS,
      make: (t) =>
        `jobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n      ${t.env}: ${t.value}\n    steps:\n      - run: npm test`,
    },
    {
      name: 'kubernetes',
      kinds: TOKEN_KINDS,
      make: (t) =>
        `apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-secrets\ntype: Opaque\nstringData:\n  ${t.env.toLowerCase().replace(/_/g, '-')}: "${t.value}"`,
    },
    {
      name: 'powershell',
      kinds: TOKEN_KINDS,
      make: (t) => `PS C:\\src\\app> $env:${t.env} = "${t.value}"\nPS C:\\src\\app> npm start`,
    },
    {
      name: 'toml',
      kinds: TOKEN_KINDS,
      make: (t) => `[providers.${t.kind.split('-')[0]}]\napi_key = "${t.value}"\nbase_url = "https://llm.internal/v1"`,
    },
    {
      name: 'rust',
      kinds: ['openai', 'anthropic', 'gateway'],
      make: (t) =>
        `let client = Client::new()\n    .with_api_key("${t.value}")\n    .with_timeout(Duration::from_secs(30));`,
    },
    {
      name: 'csharp',
      kinds: ['openai', 'openai-proj', 'gateway'],
      make: (t) => `var client = new OpenAIClient(new ApiKeyCredential("${t.value}"));`,
    },
    {
      name: 'ruby',
      kinds: ['openai', 'gateway'],
      make: (t) => `client = OpenAI::Client.new(access_token: "${t.value}", log_errors: true)`,
    },
    {
      name: 'php',
      kinds: ['openai', 'anthropic'],
      make: (t) =>
        `$client = OpenAI::client('${t.value}');\n$result = $client->chat()->create(['model' => 'gpt-4o-mini']);`,
    },
    {
      name: 'prose',
      kinds: TOKEN_KINDS,
      make: (t) => `I keep getting 401s. My key is ${t.value} — is it expired or am I sending it wrong?`,
    },
    {
      name: 'git-remote',
      kinds: ['github', 'github-pat'],
      make: (t) => `git remote set-url origin https://x-access-token:${t.value}@github.com/acme/infra.git`,
    },
    {
      name: 'npmrc',
      kinds: ['github'],
      make: (t) => `@acme:registry=https://npm.pkg.github.com\n//npm.pkg.github.com/:_authToken=${t.value}`,
    },
    {
      name: 'jupyter',
      kinds: ['openai-proj', 'anthropic'],
      make: (t) => `In [3]: import os\n   ...: os.environ["${t.env}"] = "${t.value}"`,
    },
  ];
  for (const t of tpl) {
    const reps = t.kinds.length >= 6 ? 3 : 2;
    for (let i = 0; i < reps; i++) {
      const tok = token(r, t.kinds[(i + r.int(0, t.kinds.length - 1)) % t.kinds.length]!);
      add(`secret-in-code/${t.name}/${tok.kind}`, t.make(tok), [['api_key', tok.value]]);
    }
  }
  // Two different providers in one .env.
  for (let i = 0; i < 6; i++) {
    const a = token(r, r.pick(['openai', 'openai-proj'] as const));
    const b = token(r, r.pick(['anthropic', 'github', 'slack-bot', 'gateway'] as const));
    add('secret-in-code/env/multiple', `# local overrides\n${a.env}=${a.value}\n${b.env}=${b.value}\nDEBUG=false`, [
      ['api_key', a.value],
      ['api_key', b.value],
    ]);
  }
}

// =============================================================================================
// 8. AWS access keys in code and config pastes
// =============================================================================================
{
  const r = new Rng(808);
  const both: { name: string; make: (id: string, secret: string) => string }[] = [
    {
      name: 'credentials-file',
      make: (id, s) => `[default]\naws_access_key_id = ${id}\naws_secret_access_key = ${s}\nregion = eu-central-1`,
    },
    {
      name: 'shell-history',
      make: (id, s) => `export AWS_ACCESS_KEY_ID=${id}\nexport AWS_SECRET_ACCESS_KEY=${s}\naws s3 ls`,
    },
    {
      name: 'terraform',
      make: (id, s) => `provider "aws" {\n  region     = "eu-west-1"\n  access_key = "${id}"\n  secret_key = "${s}"\n}`,
    },
    {
      name: 'python',
      make: (id, s) =>
        `import boto3\n\ns3 = boto3.client(\n    "s3",\n    aws_access_key_id="${id}",\n    aws_secret_access_key="${s}",\n)`,
    },
    {
      name: 'java',
      make: (id, s) =>
        `BasicAWSCredentials creds = new BasicAWSCredentials("${id}", "${s}");\nAmazonS3 s3 = AmazonS3ClientBuilder.standard().withCredentials(new AWSStaticCredentialsProvider(creds)).build();`,
    },
    {
      name: 'go',
      make: (id, s) =>
        `cfg, err := config.LoadDefaultConfig(ctx,\n\tconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("${id}", "${s}", "")),\n)`,
    },
    {
      name: 'aws-configure',
      make: (id, s) =>
        `$ aws configure\nAWS Access Key ID [None]: ${id}\nAWS Secret Access Key [None]: ${s}\nDefault region name [None]: us-east-1\nDefault output format [None]: json`,
    },
    { name: 'csv', make: (id, s) => `Access key ID,Secret access key\n${id},${s}` },
    {
      name: 'iam-json',
      make: (id, s) =>
        `{\n    "AccessKey": {\n        "UserName": "ci-deployer",\n        "AccessKeyId": "${id}",\n        "Status": "Active",\n        "SecretAccessKey": "${s}",\n        "CreateDate": "2024-06-10T14:32:05+00:00"\n    }\n}`,
    },
    {
      name: 'docker-compose',
      make: (id, s) =>
        `    environment:\n      AWS_ACCESS_KEY_ID: ${id}\n      AWS_SECRET_ACCESS_KEY: ${s}\n      AWS_REGION: eu-west-1`,
    },
    {
      name: 'typescript',
      make: (id, s) =>
        `const client = new S3Client({\n  region: 'eu-west-1',\n  credentials: { accessKeyId: '${id}', secretAccessKey: '${s}' },\n});`,
    },
    {
      name: 'github-actions',
      make: (id, s) =>
        `      - uses: aws-actions/configure-aws-credentials@v4\n        with:\n          aws-access-key-id: ${id}\n          aws-secret-access-key: ${s}\n          aws-region: eu-west-1`,
    },
    {
      name: 'env',
      make: (id, s) => `AWS_ACCESS_KEY_ID=${id}\nAWS_SECRET_ACCESS_KEY=${s}\nS3_BUCKET=acme-uploads-prod`,
    },
    {
      name: 's3cmd',
      make: (id, s) =>
        `[default]\naccess_key = ${id}\nsecret_key = ${s}\nhost_base = s3.amazonaws.com\nuse_https = True`,
    },
    {
      name: 'python-dict',
      make: (id, s) => `AWS = {\n    "key": "${id}",\n    "secret": "${s}",\n    "bucket": "reports-archive",\n}`,
    },
    {
      name: 'kubernetes',
      make: (id, s) => `stringData:\n  AWS_ACCESS_KEY_ID: "${id}"\n  AWS_SECRET_ACCESS_KEY: "${s}"`,
    },
    {
      name: 'serverless',
      make: (id, s) => `provider:\n  name: aws\n  environment:\n    ACCESS_KEY: ${id}\n    SECRET_KEY: ${s}`,
    },
    {
      name: 'prose',
      make: (id, s) =>
        `here are the creds for the staging bucket: key ${id} secret ${s} — please rotate after the demo`,
    },
  ];
  both.forEach((t, n) => {
    for (let i = 0; i < 2; i++) {
      // Temporary (STS) key ids start with ASIA; one sample in four uses one.
      const id = awsKeyId(r, (2 * n + i) % 4 === 3 ? 'ASIA' : 'AKIA');
      const s = awsSecret(r);
      add(`secret-in-code/aws/${t.name}`, t.make(id, s), [
        ['aws_access_key_id', id],
        ['aws_secret_access_key', s],
      ]);
    }
  });
  // Only the key id (error messages, audit logs): the id alone is still labelled.
  for (let i = 0; i < 8; i++) {
    const id = awsKeyId(r, i % 2 ? 'ASIA' : 'AKIA');
    add(
      'secret-in-code/aws/key-id-only',
      r.pick([
        `An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid. Key: ${id}`,
        `"userIdentity": {"type": "IAMUser", "accessKeyId": "${id}", "userName": "ci-deployer"}`,
        `aws iam update-access-key --access-key-id ${id} --status Inactive --user-name ci-deployer`,
        `Which user owns ${id}? It showed up in CloudTrail.`,
      ]),
      [['aws_access_key_id', id]],
    );
  }
  // Only the secret, with its key name.
  for (let i = 0; i < 6; i++) {
    const s = awsSecret(r);
    add(
      'secret-in-code/aws/secret-only',
      r.pick([
        `aws_secret_access_key = ${s}`,
        `AWS_SECRET_ACCESS_KEY="${s}"`,
        `secretAccessKey: '${s}',`,
        `"SecretAccessKey": "${s}"`,
      ]),
      [['aws_secret_access_key', s]],
    );
  }
}

// =============================================================================================
// 9. PEM private keys
// =============================================================================================
{
  const r = new Rng(909);
  for (let i = 0; i < 35; i++) {
    const kind = PEM_KINDS[i % PEM_KINDS.length]!;
    const { begin, body, end } = pemLines(r, kind);
    const shape = Math.floor(i / PEM_KINDS.length) % 6;
    if (shape === 0) {
      const v = [begin, ...body, end].join('\n');
      add(
        `private-key/${kind.label}/file`,
        `$ cat ~/.ssh/${r.pick(['id_rsa', 'deploy_key', 'server.key'])}\n${v}\n$ `,
        [['private_key', v]],
      );
    } else if (shape === 1) {
      const v = [begin, ...body, end].join('\n    ');
      add(
        `private-key/${kind.label}/yaml`,
        `tls:\n  cert_file: /etc/ssl/certs/api.pem\n  key: |\n    ${v}\n  min_version: "1.2"`,
        [['private_key', v]],
      );
    } else if (shape === 2) {
      const v = [begin, ...body, end].join('\\n');
      add(
        `private-key/${kind.label}/json-escaped`,
        `{\n  "type": "service_account",\n  "project_id": "analytics-prod-4821",\n  "private_key_id": "${sha1(String(i))}",\n  "private_key": "${v}\\n",\n  "token_uri": "https://oauth2.googleapis.com/token"\n}`,
        [['private_key', v]],
      );
    } else if (shape === 3) {
      // Pasted without the END line: the finding runs to the end of the text.
      const kept = body.slice(0, Math.max(1, body.length - r.int(0, 3)));
      const v = [begin, ...kept].join('\n');
      add(`private-key/${kind.label}/no-end-line`, `the key file seems corrupted, here it is:\n${v}`, [
        ['private_key', v],
      ]);
    } else if (shape === 4) {
      const v = [begin, ...body, end].join('\n');
      add(
        `private-key/${kind.label}/python`,
        `PRIVATE_KEY = """${v}"""\n\nsigner = load_pem_private_key(PRIVATE_KEY.encode(), password=None)`,
        [['private_key', v]],
      );
    } else {
      const v = [begin, ...body.slice(0, Math.max(1, body.length - 1))].join('\n');
      add(`private-key/${kind.label}/no-end-line`, `Why does openssl say "bad decrypt" for this?\n\n${v}`, [
        ['private_key', v],
      ]);
    }
  }
}

// =============================================================================================
// 10. JWTs (RFC 7519), signed and unsigned
// =============================================================================================
{
  const r = new Rng(1010);
  const payload = (): string =>
    JSON.stringify({
      sub: r.pick([`usr_${r.chars(LOWER + DIGITS, 10)}`, uuid(r), String(r.int(10000, 99999))]),
      iss: r.pick(['https://auth.acme.io/', 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12Cd34E', 'api']),
      iat: r.int(1700000000, 1760000000),
      exp: r.int(1760000000, 1790000000),
      ...(r.chance(0.5) ? { scope: r.pick(['read write', 'openid profile', 'admin']) } : {}),
      ...(r.chance(0.3) ? { tenant: `t-${r.chars(LOWER + DIGITS, 6)}` } : {}),
    });
  const signed = (): string => {
    const alg = r.pick(['HS256', 'RS256', 'ES256', 'HS512']);
    const header = b64url(
      JSON.stringify(r.chance(0.5) ? { alg, typ: 'JWT' } : { alg, typ: 'JWT', kid: r.chars(ALNUM, 20) }),
    );
    const sigLen = alg === 'RS256' ? 342 : alg === 'ES256' ? 86 : alg === 'HS512' ? 86 : 43;
    return `${header}.${b64url(payload())}.${r.chars(BASE64URL, sigLen)}`;
  };
  const unsigned = (): string =>
    `${b64url(JSON.stringify(r.chance(0.5) ? { alg: 'none', typ: 'JWT' } : { alg: 'none' }))}.${b64url(payload())}.`;
  const contexts: ((j: string) => string)[] = [
    (j) => `Authorization: Bearer ${j}`,
    (j) => `localStorage.setItem('access_token', '${j}');`,
    (j) => `Cookie: theme=dark; session=${j}; lang=en`,
    (j) => `curl -H "Authorization: Bearer ${j}" https://api.acme.io/v2/me`,
    (j) => `{"access_token":"${j}","token_type":"Bearer","expires_in":3600}`,
    (j) => `why does the API reject this token? ${j}`,
    (j) => `const token =\n  '${j}';`,
  ];
  for (let i = 0; i < 22; i++) {
    const j = signed();
    add('jwt/signed', contexts[i % contexts.length]!(j), [['jwt', j]]);
  }
  for (let i = 0; i < 10; i++) {
    const j = unsigned();
    add('jwt/unsigned', contexts[i % contexts.length]!(j), [['jwt', j]]);
  }
}

// =============================================================================================
// 11. Documented examples and placeholders: never labelled
// =============================================================================================
{
  const r = new Rng(1111);
  const xs = (n: number): string => 'x'.repeat(n);
  const placeholders: [string, string][] = [
    [
      'aws-docs',
      `export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nexport AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nexport AWS_DEFAULT_REGION=us-west-2`,
    ],
    [
      'aws-docs',
      `[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`,
    ],
    [
      'aws-docs',
      `[user1]\naws_access_key_id=AKIAI44QH8DHBEXAMPLE\naws_secret_access_key=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY`,
    ],
    [
      'aws-docs',
      `$ aws configure\nAWS Access Key ID [None]: AKIAIOSFODNN7EXAMPLE\nAWS Secret Access Key [None]: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nDefault region name [None]: us-west-2`,
    ],
    [
      'aws-docs',
      `provider "aws" {\n  access_key = "AKIAIOSFODNN7EXAMPLE"\n  secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n}`,
    ],
    [
      'aws-docs',
      `credentials: { accessKeyId: 'ASIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }`,
    ],
    ['runs-of-x', `OPENAI_API_KEY=sk-${xs(48)}`],
    ['runs-of-x', `OPENAI_API_KEY=sk-proj-${xs(64)}`],
    ['runs-of-x', `ANTHROPIC_API_KEY=sk-ant-api03-${xs(95)}`],
    ['runs-of-x', `GITHUB_TOKEN=ghp_${'X'.repeat(36)}`],
    ['runs-of-x', `SLACK_BOT_TOKEN=xoxb-${'X'.repeat(12)}-${'X'.repeat(13)}-${'X'.repeat(24)}`],
    ['runs-of-x', `AWS_ACCESS_KEY_ID=AKIA${'X'.repeat(16)}\nAWS_SECRET_ACCESS_KEY=${'x'.repeat(40)}`],
    ['runs-of-x', `LLM_GATEWAY_API_KEY=gwk_${xs(12)}_${xs(46)}`],
    ['runs-of-x', `client = OpenAI(api_key="sk-${'X'.repeat(32)}")`],
    ['your-key-here', `OPENAI_API_KEY=your-api-key-here`],
    ['your-key-here', `api_key: "YOUR_API_KEY"`],
    ['your-key-here', `const anthropic = new Anthropic({ apiKey: 'your-anthropic-key-here' });`],
    ['your-key-here', `export GITHUB_TOKEN=ghp_yourtokenhere`],
    ['your-key-here', `aws_secret_access_key = <your-secret-access-key>`],
    ['your-key-here', `curl -H "Authorization: Bearer <YOUR_TOKEN>" https://api.example.test/v1/me`],
    ['your-key-here', `Authorization: Bearer {{token}}`],
    ['your-key-here', `"apiKey": "<insert key>"`],
    ['your-key-here', `SLACK_BOT_TOKEN=xoxb-your-bot-token`],
    ['your-key-here', `client = anthropic.Anthropic(api_key="sk-ant-YOUR-KEY")`],
    ['replace-me', `api_key: REPLACE_ME`],
    ['replace-me', `OPENAI_API_KEY=changeme\nANTHROPIC_API_KEY=changeme`],
    ['replace-me', `secret_key = "TODO"`],
    ['replace-me', `LLM_GATEWAY_API_KEY=gwk_REPLACE_ME`],
    ['ellipsis', `OPENAI_API_KEY=sk-...`],
    ['ellipsis', `Your key looks like sk-ant-api03-... and is shown only once.`],
    ['ellipsis', `Set it with: export ANTHROPIC_API_KEY='sk-ant-...'`],
    ['ellipsis', `Bearer eyJhbGciOi...`],
    ['ellipsis', `token: "github_pat_..."`],
    ['masked', `"apiKey": "****"`],
    ['masked', `Key sk-...${r.chars(ALNUM, 4)} was last used 3 days ago.`],
    ['masked', `OPENAI_API_KEY=sk-proj-****************************${r.chars(ALNUM, 4)}`],
    ['masked', `aws_secret_access_key = ****************************************`],
    ['masked', `Access key ID: AKIA************${r.chars(BASE32, 4)}`],
    [
      'env-reference',
      `env:\n  OPENAI_API_KEY: \${{ secrets.OPENAI_API_KEY }}\n  AWS_SECRET_ACCESS_KEY: \${{ secrets.AWS_SECRET_ACCESS_KEY }}`,
    ],
    ['env-reference', `const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });`],
    ['env-reference', `client = anthropic.Anthropic(api_key=os.environ["ANTHROPIC_API_KEY"])`],
    ['env-reference', `secret_key = var.aws_secret_access_key`],
    ['env-reference', `api_key = "\${OPENAI_API_KEY}"`],
    ['env-reference', `token := os.Getenv("GITHUB_TOKEN")`],
    [
      'pem-prose',
      `If the file starts with -----BEGIN RSA PRIVATE KEY----- it is PKCS#1; if it starts with -----BEGIN PRIVATE KEY----- it is PKCS#8.`,
    ],
    [
      'pem-prose',
      `Convert it with \`ssh-keygen -p -m PEM\`; the header should then read -----BEGIN RSA PRIVATE KEY----- instead of -----BEGIN OPENSSH PRIVATE KEY-----.`,
    ],
    ['pem-prose', `if (pem.startsWith('-----BEGIN EC PRIVATE KEY-----')) {\n  return parseSec1(pem);\n}`],
    [
      'pem-prose',
      `const PKCS8_HEADER = '-----BEGIN PRIVATE KEY-----';\nconst PKCS8_FOOTER = '-----END PRIVATE KEY-----';`,
    ],
    ['pem-prose', `The error "expected -----BEGIN ENCRYPTED PRIVATE KEY-----" means the key is not encrypted.`],
    ['pem-placeholder', `-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----`],
    [
      'pem-placeholder',
      `ssh_private_key: |\n  -----BEGIN RSA PRIVATE KEY-----\n  <paste your key here>\n  -----END RSA PRIVATE KEY-----`,
    ],
    [
      'pem-placeholder',
      `"private_key": "-----BEGIN PRIVATE KEY-----\\nYOUR_PRIVATE_KEY\\n-----END PRIVATE KEY-----\\n"`,
    ],
  ];
  for (const [detail, text] of placeholders) add(`placeholder/${detail}`, text);

  // Public material next to the word "key": certificates, public keys, ssh public keys.
  for (let i = 0; i < 4; i++) {
    const body: string[] = [];
    const raw = 'MIID' + r.chars(BASE64, 64 * 18 - 6) + '==';
    for (let k = 0; k < raw.length; k += 64) body.push(raw.slice(k, k + 64));
    add(
      'private-key/hard-negative/public-material',
      `-----BEGIN CERTIFICATE-----\n${body.join('\n')}\n-----END CERTIFICATE-----`,
    );
    add(
      'private-key/hard-negative/public-material',
      `-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${r.chars(BASE64, 20)}\n${body.slice(1, 6).join('\n')}\n-----END PUBLIC KEY-----`,
    );
  }
  for (let i = 0; i < 3; i++) {
    add(
      'private-key/hard-negative/public-material',
      `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${r.chars(BASE64, 43)} deploy-key-${i}`,
    );
    add(
      'private-key/hard-negative/public-material',
      `ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ${r.chars(BASE64, 300)} ci-runner`,
    );
  }
}

// =============================================================================================
// 12. Ordinary source code: must not fire at all
// =============================================================================================
{
  const r = new Rng(1212);
  const pkg = (): string =>
    r.pick([
      'lodash',
      'zod',
      'express',
      'react-dom',
      'chalk',
      'commander',
      'semver',
      'uuid',
      'debug',
      'ms',
      'tslib',
      'undici',
      'ws',
      'yaml',
      'picomatch',
      'fast-glob',
      'esbuild',
      'rollup',
      'vite',
      'prettier',
      'typescript',
      '@smithy/types',
      '@aws-sdk/client-s3',
      '@babel/core',
      '@types/node',
      '@jest/core',
      '@middy/core',
    ]);
  const ver = (): string => `${r.int(0, 9)}.${r.int(0, 30)}.${r.int(0, 40)}`;
  const code: ((i: number) => string)[] = [
    // 40-character camelCase identifiers and long PascalCase class names.
    () =>
      `export function ${identifier(r, 40)}(input: unknown): boolean {\n  return typeof input === 'object' && input !== null;\n}`,
    () => `const ${identifier(r, 40)} = await ${identifier(r, 24)}(event.requestContext);`,
    () =>
      `public class ${identifier(r, 40, true)} implements ${identifier(r, 18, true)} {\n    private final ${identifier(r, 14, true)} delegate;\n}`,
    () => `def ${identifier(r, 22)}(self):\n    return self.${identifier(r, 40)}()`,
    () => `type ${identifier(r, 40, true)} = Readonly<Record<string, ${identifier(r, 12, true)}>>;`,
    () => `  it('${identifier(r, 40)}', async () => {\n    expect(await run()).toEqual({ ok: true });\n  });`,
    () => `this.${identifier(r, 40)} = this.${identifier(r, 40)}.bind(this);`,
    // Import paths whose segments form long mixed-case runs.
    () => `import { ${identifier(r, 20, true)} } from '../../shared/persistence/${identifier(r, 24, true)}';`,
    () =>
      `import ${identifier(r, 22, true)} from 'src/components/${identifier(r, 12, true)}/${identifier(r, 26, true)}';`,
    () =>
      `const { ${identifier(r, 18, true)}Command } = require('@aws-sdk/client-secrets-manager/dist-cjs/commands/${identifier(r, 18, true)}Command');`,
    () => `import org.springframework.security.oauth2.server.resource.authentication.${identifier(r, 32, true)};`,
    () =>
      `import (\n\t"context"\n\n\t"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"\n\t"github.com/acme/gateway/internal/policy/${identifier(r, 16).toLowerCase()}"\n)`,
    () => `from app.services.billing.${identifier(r, 20).toLowerCase()} import ${identifier(r, 34, true)}`,
    // Hashes and ids.
    () => `git cherry-pick ${sha1(`c${r.float()}`)}`,
    () =>
      `commit ${sha1(`d${r.float()}`)}\nMerge: ${sha1(`e${r.float()}`).slice(0, 7)} ${sha1(`f${r.float()}`).slice(0, 7)}\nDate:   Mon Jun 10 14:32:05 2024 +0200\n\n    fix(policy): handle empty chunks`,
    () => `      - uses: actions/checkout@${sha1(`g${r.float()}`)} # v4.1.7`,
    () => `expect(sha256('${r.pick(WORDS)}')).toBe('${sha256(r.pick(WORDS) + r.float())}');`,
    () => `const requestId = '${uuid(r)}';\nlogger.appendKeys({ requestId });`,
    () =>
      `{"level":"INFO","message":"request done","requestId":"${uuid(r)}","durationMs":${r.int(5, 900)},"xray_trace_id":"1-${r.chars(HEX, 8)}-${r.chars(HEX, 24)}"}`,
    () => `traceparent: 00-${r.chars(HEX, 32)}-${r.chars(HEX, 16)}-01`,
    () => `{"event":"page_view","session_id":"${r.chars(HEX, 32)}","anonymous_id":"${uuid(r)}"}`,
    () =>
      `ETag: "${r.chars(HEX, 32)}"\nx-amz-request-id: ${r.chars(UPPER + DIGITS, 16)}\nx-amz-id-2: ${b64(sha256(String(r.float())).slice(0, 57))}`,
    () => `"etag": "\\"${sha1(String(r.float()))}\\""`,
    () =>
      `INSERT INTO schema_migrations (version, checksum) VALUES ('${r.int(20200101, 20241231)}${r.digits(6)}', '${sha256(String(r.float()))}');`,
    // Lockfiles and integrity strings.
    () => {
      const p = pkg();
      const v = ver();
      const base = p.split('/').pop();
      return `"node_modules/${p}": {\n  "version": "${v}",\n  "resolved": "https://registry.npmjs.org/${p}/-/${base}-${v}.tgz",\n  "integrity": "sha512-${sha512b64(p + v)}",\n  "dev": true\n}`;
    },
    () => {
      const p = pkg();
      const v = ver();
      return `"${p}@^${v}":\n  version "${v}"\n  resolved "https://registry.yarnpkg.com/${p}/-/${p.split('/').pop()}-${v}.tgz#${sha1(p + v)}"\n  integrity sha512-${sha512b64(v + p)}`;
    },
    () =>
      `  /${pkg()}@${ver()}:\n    resolution: {integrity: sha512-${sha512b64(String(r.float()))}}\n    engines: {node: '>=14'}`,
    () =>
      `github.com/${r.pick(['aws/aws-sdk-go-v2', 'stretchr/testify', 'google/uuid', 'spf13/cobra', 'golang-jwt/jwt/v5'])} v${ver()} h1:${createHash('sha256').update(String(r.float())).digest('base64')}`,
    () =>
      `[[package]]\nname = "${r.pick(['serde', 'tokio', 'reqwest', 'anyhow', 'clap'])}"\nversion = "${ver()}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "${sha256(String(r.float()))}"`,
    () =>
      `${r.pick(['requests', 'urllib3', 'certifi', 'boto3', 'pydantic'])}==${ver()} \\\n    --hash=sha256:${sha256(String(r.float()))} \\\n    --hash=sha256:${sha256(String(r.float()))}`,
    () =>
      `FROM node:20-alpine@sha256:${sha256(String(r.float()))}\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci --omit=dev`,
    () =>
      `<script src="https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/js/bootstrap.bundle.min.js" integrity="sha384-${createHash('sha384').update(String(r.float())).digest('base64')}" crossorigin="anonymous"></script>`,
    () => `"persistedQuery":{"version":1,"sha256Hash":"${sha256(String(r.float()))}"}`,
    // Base64 in tests and fixtures (of readable content).
    () => {
      const s = JSON.stringify({ id: r.int(1, 9999), name: cap(r.pick(WORDS)), tags: [r.pick(WORDS), r.pick(WORDS)] });
      return `const fixture = Buffer.from('${b64(s)}', 'base64').toString('utf8');`;
    },
    () => {
      const s = `${r.pick(WORDS)} ${r.pick(WORDS)} ${r.pick(WORDS)} ${r.pick(WORDS)} ${r.pick(WORDS)} ${r.pick(WORDS)}`;
      return `test('encodes text', () => {\n  expect(encode('${s}')).toBe('${b64(s)}');\n});`;
    },
    () =>
      `const PIXEL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk${r.chars(BASE64, 12)}AAAAABJRU5ErkJggg==';`,
    () =>
      `payload = base64.b64decode("${b64(`{"action": "${r.pick(WORDS)}", "items": [${r.int(1, 99)}, ${r.int(1, 99)}]}`)}")`,
    () =>
      `    "body": "${b64(`<html><body><h1>${cap(r.pick(WORDS))} ${r.pick(WORDS)}</h1></body></html>`)}",\n    "isBase64Encoded": true`,
    // Minified and generated code.
    () =>
      `!function(e,t){"object"==typeof exports&&"undefined"!=typeof module?module.exports=t():"function"==typeof define&&define.amd?define(t):(e="undefined"!=typeof globalThis?globalThis:e||self).${identifier(r, 12, true)}=t()}(this,(function(){"use strict";var e=${r.int(1, 99)},t=function(n){return n*e};return t}));`,
    () =>
      `(self.webpackChunk_N_E=self.webpackChunk_N_E||[]).push([[${r.int(100, 999)}],{${r.int(1000, 99999)}:function(e,t,n){"use strict";n.d(t,{Z:function(){return o}});var r=n(${r.int(1000, 9999)}),o=function(e){return(0,r.jsx)("div",{className:"${r.chars(LOWER, 6)}",children:e.children})}}}]);`,
    () =>
      `{"version":3,"file":"index.js","sources":["../src/index.ts"],"names":["${identifier(r, 14)}","${identifier(r, 20)}"],"mappings":"${Array.from({ length: 14 }, () => r.chars(BASE64.slice(0, 62), r.int(4, 8))).join(',')};;${Array.from({ length: 6 }, () => r.chars(UPPER, 4)).join(',')}"}`,
    () =>
      `<link rel="stylesheet" href="/_next/static/css/${r.chars(HEX, 16)}.css"><script src="/_next/static/chunks/main-${r.chars(HEX, 16)}.js" defer></script>`,
    () =>
      `var ${r.chars(LOWER, 1)}=${r.chars(LOWER, 1)}.${identifier(r, 40)}||function(){return ${identifier(r, 16)}.call(this)};`,
    // Cloud resource identifiers.
    () =>
      `arn:aws:lambda:${r.pick(['eu-west-1', 'us-east-1', 'ap-northeast-1'])}:${r.sub(12)}:function:${identifier(r, 20, true)}`,
    () =>
      `ApiHandlerServiceRole${r.chars(UPPER + DIGITS, 8)}: Type: AWS::IAM::Role\n  LogicalId: ${identifier(r, 30, true)}${r.chars(UPPER + DIGITS, 8)}`,
    () =>
      `PhysicalResourceId: GatewayStack-${identifier(r, 20, true)}${r.chars(UPPER + DIGITS, 8)}-${r.chars(UPPER + DIGITS, 12)}`,
    () => `aws ec2 describe-instances --instance-ids i-0${r.chars(HEX, 16)} --query 'Reservations[].Instances[].State'`,
    () =>
      `NAME                                  READY   STATUS    RESTARTS   AGE\napi-${r.chars(HEX, 10)}-${r.chars(LOWER + DIGITS, 5)}             1/1     Running   0          ${r.int(2, 59)}m`,
    () => `module.vpc.aws_subnet.private["eu-west-1a"]: Refreshing state... [id=subnet-0${r.chars(HEX, 16)}]`,
    // Stack traces, paths, test output.
    () =>
      `    at ${identifier(r, 24, true)}.${identifier(r, 28)} (/var/task/node_modules/@aws-sdk/client-dynamodb/dist-cjs/commands/${identifier(r, 22, true)}Command.js:${r.int(10, 400)}:${r.int(5, 40)})`,
    () =>
      `\tat com.acme.gateway.policy.${identifier(r, 20, true)}.lambda$${identifier(r, 26)}$0(${identifier(r, 20, true)}.java:${r.int(10, 400)})`,
    () =>
      `ok  \tgithub.com/acme/gateway/internal/${identifier(r, 10).toLowerCase()}\t0.${r.digits(3)}s\tcoverage: ${r.int(40, 99)}.${r.int(0, 9)}% of statements`,
    () =>
      `/Users/dev/Projects/gateway/node_modules/@aws-sdk/client-dynamodb/dist-types/commands/${identifier(r, 28, true)}Command.d.ts`,
    () =>
      `Migrations for 'accounts':\n  accounts/migrations/00${r.int(10, 99)}_alter_${identifier(r, 16).toLowerCase()}_${identifier(r, 20).toLowerCase()}.py`,
    () =>
      `.${r.chars(LOWER, 3)}-${r.chars(LOWER + DIGITS, 6)} { display: flex; } /* generated by css-modules: ${identifier(r, 18, true)}_${r.chars(ALNUM, 5)} */`,
    () =>
      `<div class="flex items-center justify-between rounded-lg border border-gray-200 bg-white px-4 py-3 shadow-sm" data-testid="${identifier(r, 24)}">`,
    () => `private static final long serialVersionUID = ${r.sub(18)}L;`,
    () =>
      `SELECT ${identifier(r, 20).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}, created_at FROM ${identifier(r, 16).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} WHERE tenant_id = $1 LIMIT 100;`,
  ];
  for (let i = 0; i < 158; i++) {
    const make = code[i % code.length]!;
    add('code-negative/source', make(i));
  }
}

// =============================================================================================
// 13. Mixed texts: several kinds of PII in one paste
// =============================================================================================
{
  const r = new Rng(1313);
  for (let i = 0; i < 8; i++) {
    const e = email(r);
    const p = `+44 7${r.pick(['4', '9'])}${r.digits(2)} ${r.sub(6)}`;
    const d = cardDigits(r, ISSUERS[i % 3]!);
    const c = formatCard(d, ' ');
    add(
      'mixed/support-ticket',
      `Customer ${cap(r.pick(FIRST))} ${cap(r.pick(LAST))} (${e}, ${p}) says card ${c} was charged twice. Please refund.`,
      [
        ['email', e],
        ['phone', p],
        ['credit_card', c],
      ],
    );
  }
  for (let i = 0; i < 6; i++) {
    const e = email(r);
    const [a, g, s] = ssn(r);
    const v = `${a}-${g}-${s}`;
    const iban = groupsOf4(ibanFrom('DE', r.digits(18)));
    add(
      'mixed/hr-record',
      `name: ${cap(r.pick(FIRST))} ${cap(r.pick(LAST))}\nemail: ${e}\nssn: ${v}\nsalary_account: ${iban}`,
      [
        ['email', e],
        ['us_ssn', v],
        ['iban', iban],
      ],
    );
  }
}

/**
 * The independent corpus (see the file comment for how it was written and labelled). Scored by
 * `npm run dlp:eval` next to the regression corpus, never merged into it.
 */
export const INDEPENDENT_CORPUS: CorpusCase[] = cases;
