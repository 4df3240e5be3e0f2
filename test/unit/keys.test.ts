import {
  API_KEY_PREFIX,
  generateApiKey,
  generateKeyId,
  hashApiKey,
  keyIdOf,
  matchesHash,
} from '../../lambdas/shared/keys/format';

describe('API key format', () => {
  it('generates recognisable keys whose id can be read back without a database', () => {
    const keyId = generateKeyId();
    const key = generateApiKey(keyId);
    expect(key.startsWith(`${API_KEY_PREFIX}${keyId}_`)).toBe(true);
    expect(key).toMatch(/^gwk_[a-z2-7]{12}_[0-9A-Za-z]{46}$/);
    expect(keyIdOf(key)).toBe(keyId);
  });

  it('refuses a key with a typo thanks to its checksum', () => {
    const key = generateApiKey(generateKeyId());
    const position = key.length - 10;
    const typo = key.slice(0, position) + (key[position] === 'a' ? 'b' : 'a') + key.slice(position + 1);
    expect(keyIdOf(typo)).toBeUndefined();
    expect(keyIdOf(key.slice(0, -1))).toBeUndefined();
    expect(keyIdOf(`${key} `)).toBeUndefined();
    expect(keyIdOf('sk-not-a-gateway-key')).toBeUndefined();
  });

  it('generates distinct secrets for the same key id (rotation)', () => {
    const keyId = generateKeyId();
    const keys = new Set(Array.from({ length: 100 }, () => generateApiKey(keyId)));
    expect(keys.size).toBe(100);
  });

  it('stores only a hash, and the hash does not work as a credential', () => {
    const key = generateApiKey(generateKeyId());
    const hash = hashApiKey(key);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(key);
    expect(matchesHash(key, hash)).toBe(true);
    expect(matchesHash(hash, hash)).toBe(false);
    expect(matchesHash(generateApiKey(generateKeyId()), hash)).toBe(false);
  });
});
