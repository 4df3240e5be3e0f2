/**
 * Phone numbers outside the North American format: international numbers written with the `00`
 * prefix and national numbers of the countries whose users we serve (the EU, the UK, India, Japan,
 * Brazil, Australia...). Which digit strings are phone numbers is decided by libphonenumber-js, the
 * maintained port of Google's numbering-plan data; the shape rules here decide when a digit string
 * is written like a phone number at all (most digit strings in text are not: order ids, dates,
 * lottery draws).
 *
 * Bundle size and cold start: the parser and the `min` metadata (`phone-numbering.ts`) add about
 * 110 KB to a minified bundle; they are required at first use (the detectors are synchronous, so a
 * dynamic `import()` will not do), only for a candidate the cheap shape rules could not settle, i.e.
 * only when a profile enables the phone detector and a text holds such a candidate. The `min`
 * metadata checks each country's number lengths and leading digits, which with the shape rules
 * below is what both corpora need; the `max` metadata (digit patterns per number type) would add
 * about 65 KB for nothing measured here.
 */
import type { CountryCode } from 'libphonenumber-js/core';
import type { parsePhone } from './phone-numbering';

let parse: typeof parsePhone | undefined;

/** libphonenumber-js, loaded at first use (see above). */
function parser(): typeof parsePhone {
  if (!parse) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the numbering metadata loads only when a phone detector first needs it
    parse = (require('./phone-numbering') as typeof import('./phone-numbering')).parsePhone;
  }
  return parse;
}

/**
 * Countries whose national format (trunk prefix `0`, or none) is recognised without a `+`/`00`
 * prefix: the EU members, the UK, Switzerland, Norway, India, Japan, Brazil and Australia.
 */
export const NATIONAL_PHONE_COUNTRIES: readonly CountryCode[] = [
  'DE',
  'FR',
  'IT',
  'ES',
  'NL',
  'BE',
  'AT',
  'PL',
  'PT',
  'IE',
  'SE',
  'DK',
  'FI',
  'CZ',
  'GR',
  'HU',
  'RO',
  'GB',
  'CH',
  'NO',
  'IN',
  'JP',
  'BR',
  'AU',
];

/**
 * Words that say "this is a phone number" in the languages of those countries, looked for just
 * before a number that has neither a `+`/`00` prefix nor a trunk `0` (`Móvil: 677 533 746`).
 */
const PHONE_CONTEXT =
  /(?:phone|tel\b|tel\.|tél|telefon|teléfono|telefono|telefone|telefoon|fone|mobile?|mob\b|mobil|móvil|movil|mobiel|cell|celular|handy|fax|\bcall|\bring\b|sms|whatsapp|contact|kontakt|kom\.|joindre|ligue|llame|chiama|appel|rufen|bel |電話|携帯|tel:)/i;

/** Whether a phone word occurs in the `window` characters before `start`. */
export function phoneContextBefore(text: string, start: number, window = 48): boolean {
  return PHONE_CONTEXT.test(text.slice(Math.max(0, start - window), start));
}

/** Dates (`05.01.2024`, `01/15/2024`, `2024-01-15`) are written in groups too. */
const DATE = /^(?:\d{1,2}[./-]\d{1,2}[./-](?:\d{2}|\d{4})|\d{4}[./-]\d{1,2}[./-]\d{1,2})$/;

/**
 * Verdicts of the library by digit string. A streamed answer is re-scanned as it grows and a
 * conversation repeats its numbers, so the same digits come back often; bounded, cleared when full.
 */
const verdicts = new Map<string, boolean>();

function memo(key: string, decide: () => boolean): boolean {
  let verdict = verdicts.get(key);
  if (verdict === undefined) {
    if (verdicts.size >= 1024) verdicts.clear();
    verdict = decide();
    verdicts.set(key, verdict);
  }
  return verdict;
}

/** Whether a digit string (after its `+`) is a valid international number. */
function validInternational(digits: string): boolean {
  return memo(`+${digits}`, () => parser()(`+${digits}`)?.isValid() === true);
}

/** Whether a national number (with its trunk `0`, if any) is valid in one of the supported countries. */
function validNational(digits: string): boolean {
  return memo(digits, () => {
    const parsePhone = parser();
    return NATIONAL_PHONE_COUNTRIES.some((country) => parsePhone(digits, country)?.isValid() === true);
  });
}

/**
 * Whether a candidate (digits with spaces, dots, dashes, slashes or a parenthesised area code)
 * written without `+` is a phone number:
 * - `00` and a country code: valid as an international number;
 * - a trunk `0` (`030 98675206`, `(02) 8633 7263`, `07025960733`): valid national number of a
 *   supported country; unbroken numbers of fewer than 11 digits and numbers written as two-digit
 *   pairs (`03 17 22 35 41`: a lottery draw as often as a French number) also need a phone word
 *   before them; groups of four throughout (`0123 4567 8901`) are never phones;
 * - no prefix (`677 533 746`, `(11) 2558-6097`): written in groups, valid national number, and a
 *   phone word before it (without one, nine digits in groups are an order number as often as not).
 *
 * @example
 * nationalPhone('0049 179 47352534', 'Mobil: 0049 179 47352534', 7) // true
 * nationalPhone('1234 5678 9012', 'FedEx tracking 1234 5678 9012', 15) // false
 */
export function nationalPhone(value: string, text: string, start: number): boolean {
  const digits = value.replace(/\D/g, '');
  if (digits.length < 8 || digits.length > 15 || DATE.test(value)) return false;
  const groups = value.split(/[^\d]+/).filter((g) => g !== '');
  const pairs = groups.length >= 4 && groups.every((g) => g.length === 2);
  const unbroken = groups.length === 1;
  // Fours throughout (`0123 4567 8901`) is how tracking, card and account numbers are written;
  // no numbering plan writes phone numbers that way.
  if (groups.length >= 3 && groups.every((g) => g.length === 4)) return false;
  if (digits.startsWith('00')) {
    if (pairs && !phoneContextBefore(text, start)) return false;
    return validInternational(digits.slice(2));
  }
  if (digits.startsWith('0')) {
    if ((pairs || (unbroken && digits.length < 11)) && !phoneContextBefore(text, start)) return false;
    return validNational(digits);
  }
  if (unbroken || !phoneContextBefore(text, start)) return false;
  return validNational(digits);
}

/**
 * An unbroken international number written without `+` after a link that only takes one
 * (`https://wa.me/4915112345678`, `tel:`): valid as an international number.
 */
export function linkedPhone(digits: string): boolean {
  return digits.length >= 10 && digits.length <= 15 && validInternational(digits);
}
