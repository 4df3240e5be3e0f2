import { ERROR_CODES, GatewayError } from '../http/errors';

/**
 * 429 for a spent requests-per-minute or tokens-per-minute window. OpenAI's SDKs honour
 * `retry-after`, so clients back off for exactly as long as the window needs.
 */
export class RateLimitExceededError extends GatewayError {
  constructor(message: string, kind: 'requests' | 'tokens', headers: Record<string, string>) {
    super(429, kind, message, { code: ERROR_CODES.rateLimitExceeded, headers });
    this.name = 'RateLimitExceededError';
  }
}
