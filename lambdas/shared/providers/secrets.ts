import { ProviderError } from './errors';

/**
 * Where adapters get provider API keys. In AWS the keys live in Secrets Manager (never in
 * environment variables or the template) and are read through {@link createSecretsManagerResolver};
 * the local runtime and tests use a fixed map.
 */
export interface SecretResolver {
  /** The secret's value; throws {@link SecretUnavailableError} when it cannot be read. */
  get(name: string): Promise<string>;
}

/** Raised when a configured secret is missing or unreadable; the call fails as misconfigured. */
export class SecretUnavailableError extends Error {
  constructor(
    readonly secretName: string,
    options?: { cause?: unknown },
  ) {
    super(`secret ${secretName} is not available`, options);
    this.name = 'SecretUnavailableError';
  }
}

/**
 * A resolver over a fixed map (local runtime, tests).
 *
 * @example
 * const secrets = staticSecrets({ 'llm-gateway/openai': process.env.OPENAI_API_KEY ?? '' });
 */
export function staticSecrets(values: Record<string, string>): SecretResolver {
  return {
    async get(name) {
      const value = values[name];
      if (!value) throw new SecretUnavailableError(name);
      return value;
    },
  };
}

/**
 * A connection's API key, or a `misconfigured` provider error (the call cannot succeed, but the
 * next candidate may) when its secret cannot be read.
 *
 * @example
 * const key = await readApiKey('OpenAI', connection.apiKeySecret, options.secrets);
 */
export async function readApiKey(provider: string, secretName: string, secrets: SecretResolver): Promise<string> {
  try {
    return await secrets.get(secretName);
  } catch (error) {
    if (error instanceof SecretUnavailableError) {
      throw new ProviderError('misconfigured', `${provider}: API key secret unavailable`, { cause: error });
    }
    throw error;
  }
}

/** A resolver that has no secrets, for deployments whose providers need none. */
export const NO_SECRETS: SecretResolver = staticSecrets({});
