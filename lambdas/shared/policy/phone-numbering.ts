/**
 * The part of libphonenumber-js the phone detector uses: parsing with the `min` metadata (country
 * number lengths and leading digits, about 80 KB). Imported through the `core` entry point so a
 * bundler keeps only the parser (not the as-you-type formatter or the number finder), and kept in
 * its own module so `phone.ts` can require it at first use: nothing of it is loaded until a profile
 * with the phone detector meets a candidate the shape rules could not settle.
 */
import {
  parsePhoneNumberFromString,
  type CountryCode,
  type MetadataJson,
  type PhoneNumber,
} from 'libphonenumber-js/core';
import minMetadata from 'libphonenumber-js/min/metadata';

// The JSON file's inferred type is narrower than the library's declared one (same data).
const metadata = minMetadata as unknown as MetadataJson;

/**
 * A phone number as the numbering plans read it, or `undefined` if it is none.
 *
 * @example
 * parsePhone('030 98675206', 'DE')?.isValid() // true
 */
export function parsePhone(text: string, country?: CountryCode): PhoneNumber | undefined {
  return country ? parsePhoneNumberFromString(text, country, metadata) : parsePhoneNumberFromString(text, metadata);
}
