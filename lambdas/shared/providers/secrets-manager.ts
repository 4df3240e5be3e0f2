import { SecretUnavailableError, type SecretResolver } from './secrets';

/**
 * Powertools' secrets module (and with it the Secrets Manager client), loaded on the first
 * secret read rather than at cold start: keys are cached for minutes, so most invocations never
 * read one, and instances serving only Bedrock or local stand-ins never do. `import()`, not
 * require(): the module is bundled, and its ES build shares Powertools' common code with the
 * logger, where require() would bundle a second, CommonJS copy (about 10 KB).
 */
const loadSecrets = () => import('@aws-lambda-powertools/parameters/secrets');

/** How long a Lambda instance reuses a secret it has read; rotations reach it within this. */
export const SECRET_CACHE_SECONDS = 300;

/**
 * Reads provider API keys from AWS Secrets Manager through Powertools, which caches each value
 * for {@link SECRET_CACHE_SECONDS} so the request path almost never waits for it.
 *
 * @example
 * const secrets = createSecretsManagerResolver();
 */
export function createSecretsManagerResolver(): SecretResolver {
  return {
    async get(name) {
      let value: unknown;
      try {
        value = await (await loadSecrets()).getSecret(name, { maxAge: SECRET_CACHE_SECONDS });
      } catch (error) {
        throw new SecretUnavailableError(name, { cause: error });
      }
      if (typeof value !== 'string' || value === '') throw new SecretUnavailableError(name);
      return value;
    },
  };
}

/**
 * The resolver a Lambda uses: Secrets Manager, unless the local runtime has put its stand-in
 * (keys from the developer's environment) in `globalThis.__GATEWAY_LOCAL_SECRETS__`, the same
 * way it stands in for the config that esbuild inlines in AWS.
 *
 * @example
 * const secrets = loadSecretResolver();
 */
export function loadSecretResolver(): SecretResolver {
  const local = (globalThis as { __GATEWAY_LOCAL_SECRETS__?: SecretResolver }).__GATEWAY_LOCAL_SECRETS__;
  return local ?? createSecretsManagerResolver();
}
