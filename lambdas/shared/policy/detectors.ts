import { isValidIBAN } from 'ibantools';

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

function validCard(text: string): boolean {
  // One kind of separator only: "4111 1111-1111 1111" is not how anyone writes a card.
  if (text.includes(' ') && text.includes('-')) return false;
  const digits = text.replace(/[ -]/g, '');
  return digits.length >= 13 && digits.length <= 19 && knownCardIssuer(digits) && luhnValid(digits);
}

function validSsn(_value: string, match: RegExpExecArray): boolean {
  const area = Number(match[1]);
  return area !== 0 && area !== 666 && area < 900 && match[3] !== '00' && match[4] !== '0000';
}

function validIban(value: string): boolean {
  return isValidIBAN(value.replace(/ /g, ''));
}

/** A mix of upper case, lower case and a digit or `/`/`+`: what AWS secret keys look like and hex hashes do not. */
function validAwsSecret(value: string): boolean {
  return /[a-z]/.test(value) && /[A-Z]/.test(value) && /[0-9/+]/.test(value);
}

function validJwt(value: string): boolean {
  try {
    const header = JSON.parse(Buffer.from(value.split('.')[0]!, 'base64url').toString('utf8')) as unknown;
    return typeof header === 'object' && header !== null && !Array.isArray(header);
  } catch {
    return false;
  }
}

function validPhone(value: string): boolean {
  const digits = value.replace(/\D/g, '');
  return digits.length >= 8 && digits.length <= 15;
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
    pattern:
      /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?)PRIVATE KEY( BLOCK)?-----[\s\S]{1,16384}?-----END \1PRIVATE KEY\2-----/g,
  },
  jwt: {
    name: 'jwt',
    label: 'JWT',
    pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{10,}(?![A-Za-z0-9_-])/g,
    validate: validJwt,
  },
  api_key: {
    name: 'api_key',
    label: 'API_KEY',
    pattern: new RegExp(
      '(?<![A-Za-z0-9_-])(?:' +
        [
          'sk-[A-Za-z0-9_-]{20,}', // OpenAI (sk-, sk-proj-, ...) and Anthropic (sk-ant-api03-...)
          'gh[pousr]_[A-Za-z0-9]{36}', // GitHub tokens
          'github_pat_[A-Za-z0-9_]{82}', // GitHub fine-grained tokens
          'xox[abprs]-(?=[A-Za-z-]*\\d)[A-Za-z0-9-]{10,}', // Slack tokens (always hold digits; `xoxb-your-token` is a placeholder)
          'gwk_[a-z2-7]{12}_[0-9A-Za-z]{46}', // this gateway's own keys
        ].join('|') +
        ')(?![A-Za-z0-9_-])',
      'g',
    ),
  },
  aws_access_key_id: {
    name: 'aws_access_key_id',
    label: 'AWS_ACCESS_KEY_ID',
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
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
    pattern: /(?<![\d-])\d(?:[ -]?\d){12,22}(?![\d-])/g,
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
    pattern: /(?<![\d-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\d-])/g,
    validate: validSsn,
  },
  email: {
    name: 'email',
    label: 'EMAIL',
    pattern:
      /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])/g,
  },
  ipv4: {
    name: 'ipv4',
    label: 'IPV4',
    pattern: new RegExp(`(?<![\\w.-])(?:${OCTET}\\.){3}${OCTET}(?![\\w-]|\\.\\d)`, 'g'),
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
        ')(?![\\w-]|\\.\\d)',
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
      if (value === undefined) continue;
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
