import { isValidIBAN } from 'ibantools';
import { linkedPhone, nationalPhone, phoneContextBefore } from './phone';
import { isPlaceholder } from './placeholders';

/** The built-in detectors, defined once: config, engine, corpus and bench all use these names. */
export const BUILTIN_DETECTORS = [
  'private_key',
  'jwt',
  'api_key',
  'aws_access_key_id',
  'aws_secret_access_key',
  'credit_card',
  'iban',
  'us_ssn',
  'email',
  'ipv4',
  'phone',
] as const;

/** A built-in detector's name. */
export type BuiltinDetector = (typeof BUILTIN_DETECTORS)[number];

/** One piece of sensitive data found in a text. */
export interface Finding {
  detector: string;
  start: number;
  end: number;
  value: string;
}

/**
 * A detector: a regular expression that finds candidates (global flag), an optional validator
 * that confirms them (checksums, number ranges), and the label of its placeholders.
 */
export interface Detector {
  name: string;
  pattern: RegExp;
  validate?: (value: string, match: RegExpExecArray) => boolean;
  /**
   * Candidates written in groups (cards, IBANs) may run into a following group that is not part
   * of them ("...0130 00 EUR 12"); when the whole candidate fails validation, shorter prefixes
   * ending at a separator are tried.
   */
  grouped?: boolean;
  /** `[LABEL_1]` placeholders. */
  label: string;
  /**
   * When a candidate fails validation, look for the next one from its second character rather
   * than from its end: for patterns whose failed candidate may contain a real one (a quoted PEM
   * BEGIN line whose lazy match runs to the END line of a real key further on).
   */
  retryInside?: boolean;
}

/** Luhn checksum of a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes and lengths of the card networks worth detecting. */
function knownCardIssuer(digits: string): boolean {
  const length = digits.length;
  const prefix = (n: number) => Number(digits.slice(0, n));
  if (digits.startsWith('4')) return length === 13 || length === 16 || length === 19; // Visa
  if ((prefix(2) >= 51 && prefix(2) <= 55) || (prefix(4) >= 2221 && prefix(4) <= 2720)) return length === 16; // Mastercard
  if (prefix(2) === 34 || prefix(2) === 37) return length === 15; // Amex
  if (digits.startsWith('6011') || prefix(2) === 65 || (prefix(3) >= 644 && prefix(3) <= 649)) {
    return length >= 16 && length <= 19; // Discover
  }
  if (prefix(4) >= 3528 && prefix(4) <= 3589) return length >= 16 && length <= 19; // JCB
  if ((prefix(3) >= 300 && prefix(3) <= 305) || prefix(2) === 36 || prefix(2) === 38)
    return length >= 14 && length <= 19; // Diners
  if (prefix(2) === 62) return length >= 16 && length <= 19; // UnionPay
  return false;
}

/**
 * Digit groups as card numbers are printed and typed: unbroken, or a first group of 4 followed by
 * groups of 4 (`4111 1111 1111 1111`, `6011-0009-9013-9424-123`) or the Amex/Diners 4-6-5 and
 * 4-6-4; the last group may be shorter or longer (up to 7) than 4. Lists of two-digit numbers
 * (`41 31 18 26 40 19 47 34`), IBAN tails and 2-4-4-4-4 groupings are not cards.
 */
function cardGrouping(text: string): boolean {
  const groups = text.split(/[ -]/);
  if (groups.length === 1) return true;
  if (groups[0]!.length !== 4) return false;
  if (groups.length === 3 && groups[1]!.length === 6) return groups[2]!.length === 4 || groups[2]!.length === 5;
  const last = groups[groups.length - 1]!.length;
  return groups.slice(1, -1).every((g) => g.length === 4) && last >= 1 && last <= 7;
}

/** Links and prefixes that only ever carry phone numbers: the phone reading wins over the card one. */
const PHONE_LINK = /(?:\+|\btel:|wa\.me\/|phone=)$/i;

function validCard(text: string, match: RegExpExecArray): boolean {
  // One kind of separator only: "4111 1111-1111 1111" is not how anyone writes a card.
  if (text.includes(' ') && text.includes('-')) return false;
  const digits = text.replace(/[ -]/g, '');
  if (digits.length < 13 || digits.length > 19 || !cardGrouping(text)) return false;
  if (!knownCardIssuer(digits) || !luhnValid(digits)) return false;
  // A 13-digit number with a phone link or a phone word before it is a mobile number with its
  // country code (+49 151..., +55 11 9...), which can pass Luhn with a Visa prefix by chance.
  const before = match.input.slice(Math.max(0, match.index - 16), match.index);
  if (PHONE_LINK.test(before)) return false;
  return digits.length !== 13 || !phoneContextBefore(match.input, match.index, 24);
}

/**
 * SSNs: `123-45-6789` or `123 45 6789` anywhere, or nine unbroken digits right after an explicit
 * "SSN" / "social security (number)" (`SSN#123456789`, `"ssn": "123456789"`): without that word
 * nine digits are an order number as often as an SSN. Ranges the SSA never issues are excluded.
 */
function validSsn(_value: string, match: RegExpExecArray): boolean {
  const [area, group, serial] = [match[1], match[3] ?? match[5], match[4] ?? match[6]];
  const areaNumber = Number(area);
  return areaNumber !== 0 && areaNumber !== 666 && areaNumber < 900 && group !== '00' && serial !== '0000';
}

function validIban(value: string): boolean {
  return isValidIBAN(value.replace(/ /g, ''));
}

/** A key name that says the value next to it is an AWS secret key (or a secret of some kind). */
const AWS_SECRET_EVIDENCE = /secret|credential|aws_?key|access[ _-]?key|\bsk\b/i;
/** An AWS access key id: its secret is written next to it. */
const AWS_KEY_ID = /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/;
/**
 * Whether a 40-character value reads as words (a code identifier, an import path) rather than as
 * random base64: fewer than 16 runs of one character class (upper, lower, digit, other; random
 * base64 of this length has about 25, never fewer than 18 in our corpora) or half of it in
 * lower-case runs of 3 or more letters (random: at most 0.4; `getDefaultCredentialProviderChain...`: 0.8).
 */
export function wordLike(value: string): boolean {
  const runs = value.match(/[A-Z]+|[a-z]+|[0-9]+|[^A-Za-z0-9]+/g)?.length ?? 0;
  const inWords = (value.match(/[a-z]{3,}/g) ?? []).join('').length;
  return runs < 16 || inWords * 2 >= value.length;
}

/** Shannon entropy in bits per character. */
export function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const p = count / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * AWS secret access keys are 40 random base64 characters, a shape that code is full of (40-char
 * identifiers, import paths, base64 of 30 bytes). A candidate counts only with evidence next to it,
 * a key name (`aws_secret_access_key`, `SecretAccessKey`, `secret_key`, "secret") in the 100
 * characters before it or an access key id in the 300 characters before it (evidence is looked for
 * before the value only, so a streamed answer can be checked as it arrives), and only if it also
 * looks random:
 * upper case, lower case and a digit or `/`/`+`, at least 4 bits of entropy per character (random
 * base64 of this length has about 4.8; identifiers about 3.9) and not word-like (`wordLike`).
 * Placeholders are not keys.
 */
function validAwsSecret(value: string, match: RegExpExecArray): boolean {
  if (!/[a-z]/.test(value) || !/[A-Z]/.test(value) || !/[0-9/+]/.test(value)) return false;
  if (wordLike(value) || entropy(value) < 4 || isPlaceholder(value)) return false;
  const text = match.input;
  const start = match.index;
  if (AWS_SECRET_EVIDENCE.test(text.slice(Math.max(0, start - 100), start))) return true;
  return AWS_KEY_ID.test(text.slice(Math.max(0, start - 300), start));
}

/**
 * A JWT's header must decode to a JSON object naming its `alg`. A token without a signature
 * (`header.payload.`) is an unsigned JWT (RFC 7519 section 6) and counts only if its header says
 * `"alg": "none"`: anything else with an empty signature is a truncated string.
 */
function validJwt(value: string): boolean {
  try {
    const [encodedHeader, , signature] = value.split('.');
    const header = JSON.parse(Buffer.from(encodedHeader!, 'base64url').toString('utf8')) as unknown;
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return false;
    const alg = (header as { alg?: unknown }).alg;
    if (typeof alg !== 'string') return false;
    return signature !== '' || alg.toLowerCase() === 'none';
  } catch {
    return false;
  }
}

/** The fixed prefixes of the API keys we know: the placeholder rule looks at what follows them. */
const API_KEY_PREFIX =
  /^(?:sk-(?:ant-(?:api|admin)\d\d-|proj-|svcacct-|admin-)?|gh[pousr]_|github_pat_|(?:xoxe\.)?xox[abeprs]-|gwk_)/;

function validApiKey(value: string): boolean {
  return !isPlaceholder(value, API_KEY_PREFIX.exec(value)?.[0].length ?? 0);
}

/** A PEM header line inside a key block (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: ...`, `Version: ...`). */
const PEM_HEADER_LINE = /^[ \t]*[A-Za-z][\w-]*:.*$/gm;

/**
 * A private key block must hold a key: at least 40 base64 characters between its BEGIN line and its
 * END line (or the end of the pasted body), nothing else but PEM headers, and no placeholder.
 * Prose or code that only quotes the BEGIN/END lines (`const HEADER = '-----BEGIN PRIVATE KEY-----'`)
 * and templates (`<paste your key here>`, `...`) are not keys.
 */
function validPrivateKey(value: string): boolean {
  const begin = value.indexOf('-----', 5) + 5;
  const endAt = value.indexOf('-----END', begin);
  const raw = value.slice(begin, endAt >= 0 ? endAt : value.length);
  if (raw.includes('-----BEGIN')) return false;
  const body = raw
    .replace(/\\r\\n|\\n/g, '\n')
    .replace(PEM_HEADER_LINE, '')
    .replace(/\s/g, '');
  return /^[A-Za-z0-9+/=]{40,}$/.test(body) && !isPlaceholder(body, 0, { runs: false });
}

/**
 * File extensions that look like top-level domains to the email pattern: `logo@2x.png` is a
 * retina image, `icon@3x.svg` too. (Real TLDs that are also extensions, like `.md`, are kept.)
 */
const FILE_EXTENSION_TLD =
  /\.(?:png|jpe?g|gif|svg|webp|avif|ico|bmp|css|scss|less|js|mjs|cjs|jsx|tsx?|json|map|html?|txt|ya?ml|lock|woff2?|ttf|pdf|zip)$/i;

function validEmail(value: string): boolean {
  return !FILE_EXTENSION_TLD.test(value);
}

/**
 * What precedes a version or section number written like an IPv4 address: `v1.2.3.4`,
 * `version 1.2.3.4`, `AssemblyVersion("1.2.3.4")`, `==1.2.3.4` (pip), `^1.2.3.4`, `Chrome/124.0.0.0`
 * (a product token), `group:artifact:1.2.3.4` (Maven/Gradle), `section 18.5.10.44`, `§ 7.1.14.50`.
 */
const VERSION_CONTEXT =
  /(?:(?:\bv|version|\bver\.?|release|build|firmware|\bfw|revision|\brev\.?|section|\bsec\.|chapter|clause|§)\W{0,3}|(?:[=~<>!]=|[\^~])|[A-Za-z][\w.-]*\/|[\w.-]+:[\w.-]+:)$/i;

function validIpv4(_value: string, match: RegExpExecArray): boolean {
  return !VERSION_CONTEXT.test(match.input.slice(Math.max(0, match.index - 32), match.index));
}

/** How a candidate written without `+` is read as a phone number: see `nationalPhone`. */
const NANP = /^(?:1[ .-])?(?:\([2-9]\d\d\)[ ]?|[2-9]\d\d[ .-])[2-9]\d\d[ .-]\d{4}$/;

function validPhone(value: string, match: RegExpExecArray): boolean {
  const digits = value.replace(/\D/g, '');
  if (value.startsWith('+') || NANP.test(value)) return digits.length >= 8 && digits.length <= 15;
  if (
    !/[^\d]/.test(value) &&
    /(?:tel:|wa\.me\/|phone=)$/i.test(match.input.slice(Math.max(0, match.index - 8), match.index))
  ) {
    return linkedPhone(digits);
  }
  return nationalPhone(value, match.input, match.index);
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

/**
 * The built-in detectors, most specific first: when findings overlap, the earlier detector wins
 * (a card number inside a private key block is the key; a JWT is not three phone numbers). Every
 * pattern starts with a lookbehind that only lets a match begin where a token begins, so a long
 * run of text is scanned once, not once per position (no quadratic backtracking).
 */
export const DETECTORS: Record<BuiltinDetector, Detector> = {
  private_key: {
    name: 'private_key',
    label: 'PRIVATE_KEY',
    // The block to its END line, or, pasted without its END line, the base64 lines that follow the
    // BEGIN line (raw or JSON-escaped line breaks). A block that runs across another BEGIN fails
    // validation and the scan resumes inside it (`retryInside`), so the inner key is still found.
    pattern:
      /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?)PRIVATE KEY( BLOCK)?-----(?:[\s\S]{1,16384}?-----END \1PRIVATE KEY\2-----|(?:(?:\r?\n|\\r?\\n)[ \t]*[A-Za-z0-9+/]+={0,2}(?=\r?\n|\\r?\\n|["'`]|$))+)/g,
    validate: validPrivateKey,
    retryInside: true,
  },
  jwt: {
    name: 'jwt',
    label: 'JWT',
    // Signed (header.payload.signature) or unsigned (header.payload., RFC 7519 section 6).
    pattern:
      /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{2,}\.(?:[A-Za-z0-9_-]{10,}(?![A-Za-z0-9_-])|(?![A-Za-z0-9_.-]))/g,
    validate: validJwt,
  },
  api_key: {
    name: 'api_key',
    label: 'API_KEY',
    pattern: new RegExp(
      '(?<![A-Za-z0-9_-])(?:' +
        [
          // OpenAI (sk-, sk-proj-, sk-svcacct-, sk-admin-) and Anthropic (sk-ant-api03-, sk-ant-admin01-)
          'sk-[A-Za-z0-9_-]{20,}',
          'gh[pousr]_[A-Za-z0-9]{36}', // GitHub tokens
          'github_pat_[A-Za-z0-9_]{82}', // GitHub fine-grained tokens
          // Slack tokens, rotating ones (`xoxe.xoxb-...`, `xoxe-...`) included; they always hold digits.
          '(?:xoxe\\.)?xox[abeprs]-(?=[A-Za-z-]*\\d)[A-Za-z0-9-]{10,}',
          'gwk_[a-z2-7]{12}_[0-9A-Za-z]{46}', // this gateway's own keys
        ].join('|') +
        ')(?![A-Za-z0-9_-])',
      'g',
    ),
    validate: validApiKey,
  },
  aws_access_key_id: {
    name: 'aws_access_key_id',
    label: 'AWS_ACCESS_KEY_ID',
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
    validate: (value) => !isPlaceholder(value, 4),
  },
  aws_secret_access_key: {
    name: 'aws_secret_access_key',
    label: 'AWS_SECRET_ACCESS_KEY',
    // `=` may precede (KEY=secret) but not follow: padding would make it a longer base64 value.
    pattern: /(?<![A-Za-z0-9/+_-])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_-])/g,
    validate: validAwsSecret,
  },
  credit_card: {
    name: 'credit_card',
    label: 'CREDIT_CARD',
    // Not after a letter (an IBAN's tail) or `+` (a phone number).
    pattern: /(?<![\w+-])\d(?:[ -]?\d){12,22}(?![\d-])/g,
    validate: validCard,
    grouped: true,
  },
  iban: {
    name: 'iban',
    label: 'IBAN',
    pattern: /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])/g,
    validate: validIban,
    grouped: true,
  },
  us_ssn: {
    name: 'us_ssn',
    label: 'US_SSN',
    pattern:
      /(?<![\d-])(\d{3})(?:([- ])(\d{2})\2(\d{4})|(?<=\b(?:ssn|social[ _-]?security(?:[ _-]?(?:number|no\.?))?)\W{0,4}(?:is\W{1,3})?\d{3})(\d{2})(\d{4}))(?![\d-])/gi,
    validate: validSsn,
  },
  email: {
    name: 'email',
    label: 'EMAIL',
    pattern:
      /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-]|\.[A-Za-z0-9]|:\S)/g,
    validate: validEmail,
  },
  ipv4: {
    name: 'ipv4',
    label: 'IPV4',
    pattern: new RegExp(`(?<![\\w.-])(?:${OCTET}\\.){3}${OCTET}(?![\\w-]|\\.\\d)`, 'g'),
    validate: validIpv4,
  },
  phone: {
    name: 'phone',
    label: 'PHONE',
    pattern: new RegExp(
      '(?<![\\w+.-])(?:' +
        // International: +CC followed by 8-15 digits in groups.
        '\\+\\d(?:[ .-]?(?:\\(\\d{1,4}\\)|\\d)){6,14}' +
        '|' +
        // North American: optional 1, area code (in parentheses or followed by a separator), 3-4 digits.
        '(?:1[ .-])?(?:\\([2-9]\\d\\d\\)[ ]?|[2-9]\\d\\d[ .-])[2-9]\\d\\d[ .-]\\d{4}' +
        '|' +
        // Everything else (`00` prefix, national formats, unbroken digits after `tel:`/`wa.me/`):
        // digits in groups, optionally starting with an area code in parentheses; `validPhone` decides.
        '(?<!\\/)(?:\\(\\d{1,5}\\)[ ]?)?\\d(?:[ ./-]?\\d){6,16}' +
        '|' +
        '(?<=(?:tel:|wa\\.me\\/|phone=))\\d{10,15}' +
        ')(?![\\w-]|[./]\\d)',
      'g',
    ),
    validate: validPhone,
  },
};

/** The part of a candidate the detector accepts: all of it, a shorter grouped prefix, or none. */
function accepted(detector: Detector, match: RegExpExecArray): string | undefined {
  const value = match[0];
  if (!detector.validate || detector.validate(value, match)) return value;
  if (!detector.grouped) return undefined;
  for (let end = value.length - 1; end > 0; end--) {
    if (value[end] !== ' ' && value[end] !== '-') continue;
    const prefix = value.slice(0, end);
    if (detector.validate(prefix, match)) return prefix;
  }
  return undefined;
}

/** Priority of each detector when findings overlap (lower wins). */
function priorityOf(detectors: readonly Detector[]): Map<string, number> {
  return new Map(detectors.map((detector, index) => [detector.name, index]));
}

/**
 * Every finding of the given detectors in a text, without overlaps (the earlier detector wins),
 * in order of position.
 *
 * @example
 * scan('mail bob@example.com', [DETECTORS.email]) // [{ detector: 'email', start: 5, end: 20, value: 'bob@example.com' }]
 */
export function scan(text: string, detectors: readonly Detector[]): Finding[] {
  const candidates: Finding[] = [];
  for (const detector of detectors) {
    const pattern = detector.pattern;
    if (!pattern.global) throw new Error(`detector ${detector.name} needs a global pattern`);
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      if (match[0] === '') {
        pattern.lastIndex += 1; // a custom pattern that can match nothing must still move on
        continue;
      }
      const value = accepted(detector, match);
      if (value === undefined) {
        if (detector.retryInside) pattern.lastIndex = match.index + 1;
        continue;
      }
      candidates.push({ detector: detector.name, start: match.index, end: match.index + value.length, value });
    }
  }
  if (candidates.length <= 1) return candidates;
  const priority = priorityOf(detectors);
  candidates.sort((a, b) => priority.get(a.detector)! - priority.get(b.detector)! || a.start - b.start);
  const kept: Finding[] = [];
  for (const candidate of candidates) {
    if (!kept.some((k) => candidate.start < k.end && k.start < candidate.end)) kept.push(candidate);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/**
 * A detector from the config's `customDetectors` (e.g. employee ids).
 *
 * @example
 * customDetector('employee_id', { pattern: 'EMP-\\d{6}' })
 */
export function customDetector(name: string, definition: { pattern: string; flags?: string }): Detector {
  const flags = [...new Set(`${definition.flags ?? ''}g`.split(''))].join('');
  return {
    name,
    label: name.toUpperCase().replace(/[^A-Z0-9]+/g, '_'),
    pattern: new RegExp(definition.pattern, flags),
  };
}
