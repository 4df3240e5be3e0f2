import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API keys look like `gwk_<key id>_<secret><checksum>`:
 * - `gwk_` makes them recognisable to people and to secret scanners;
 * - the 12-character key id is public: it names the key in logs, the ledger and support tickets;
 * - the 40-character base62 secret carries ~238 bits of entropy;
 * - the 6-character checksum (CRC32 of everything before it) lets the gateway refuse a typo or
 *   a truncated paste without a database read.
 * Only a SHA-256 hash of the whole key is stored. High-entropy secrets need no slow hash, and
 * because the gateway hashes what it is given, presenting the stored hash does not work.
 */
export const API_KEY_PREFIX = 'gwk_';

const KEY_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_ID_LENGTH = 12;
const SECRET_LENGTH = 40;
const CHECKSUM_LENGTH = 6;
const API_KEY_PATTERN = new RegExp(
  `^${API_KEY_PREFIX}([${KEY_ID_ALPHABET}]{${KEY_ID_LENGTH}})_[0-9A-Za-z]{${SECRET_LENGTH}}([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`,
);

/** Unbiased random string over an alphabet (rejection sampling, so no character is favoured). */
function randomString(alphabet: string, length: number): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

function base62(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = BASE62_ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

function checksum(body: string): string {
  return base62(crc32(body) >>> 0, CHECKSUM_LENGTH);
}

/** Key ids as {@link generateKeyId} makes them. */
const KEY_ID_PATTERN = new RegExp(`^[${KEY_ID_ALPHABET}]{${KEY_ID_LENGTH}}$`);

/**
 * Whether a string can be a key id (anything else cannot exist, so needs no database read).
 *
 * @example
 * isKeyId('abcdefghijkl') // true
 */
export function isKeyId(value: string): boolean {
  return KEY_ID_PATTERN.test(value);
}

/** A new public key id. */
export function generateKeyId(): string {
  return randomString(KEY_ID_ALPHABET, KEY_ID_LENGTH);
}

/**
 * A key id derived from a seed: the same seed, the same id, in the key ids' alphabet and length
 * (a signed-in user's id, from their issuer and subject, where a key's would be).
 *
 * @example
 * derivedKeyId('https://idp.example.com\nuser-1') // 12 characters of a-z and 2-7
 */
export function derivedKeyId(seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  return Array.from(digest.subarray(0, KEY_ID_LENGTH), (byte) => KEY_ID_ALPHABET[byte % KEY_ID_ALPHABET.length]).join(
    '',
  );
}

/**
 * A new API key for a key id (a new key, or a rotation of an existing one).
 *
 * @example
 * const plaintext = generateApiKey(generateKeyId()); // shown once, then only its hash is kept
 */
export function generateApiKey(keyId: string): string {
  const body = `${API_KEY_PREFIX}${keyId}_${randomString(BASE62_ALPHABET, SECRET_LENGTH)}`;
  return body + checksum(body);
}

/**
 * The key id of a well-formed key with a correct checksum, or undefined. Nothing else about the
 * key is trusted until its hash matches.
 *
 * @example
 * keyIdOf('gwk_abcdefghijkl_…') // 'abcdefghijkl'
 */
export function keyIdOf(presented: string): string | undefined {
  const match = API_KEY_PATTERN.exec(presented);
  if (!match) return undefined;
  const body = presented.slice(0, presented.length - CHECKSUM_LENGTH);
  return checksum(body) === match[2] ? match[1] : undefined;
}

/** The stored form of a key: hex SHA-256 of the whole key. */
export function hashApiKey(plaintext: string): string {
  return createHash('sha256').update(plaintext, 'utf8').digest('hex');
}

/** Compares a presented key with a stored hash in constant time. */
export function matchesHash(plaintext: string, storedHash: string): boolean {
  const presented = Buffer.from(hashApiKey(plaintext), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}
