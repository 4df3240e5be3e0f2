export {
  ApiKeyAuthenticator,
  createAuthenticator,
  type ApiKeyAuthenticatorDeps,
  type AuthenticatedCaller,
} from './authenticator';
export { ApiKeyRefusedError, AUTH_REFUSAL_REASONS, type AuthRefusalReason } from './errors';
export { API_KEY_PREFIX, generateApiKey, generateKeyId, hashApiKey, keyIdOf, matchesHash } from './format';
export { ApiKeyRepository } from './repository';
export { apiKeyRecordSchema, type ApiKeyRecord } from './schema';
