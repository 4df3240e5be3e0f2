/** Response headers the gateway adds to describe what it did, defined once. */
export const GATEWAY_HEADERS = {
  /** Same id as the `gateway.request_id` field, the ledger and the logs. */
  requestId: 'x-request-id',
  team: 'x-gateway-team',
  keyId: 'x-gateway-key-id',
  /** The catalog model that served the request (a fallback when one was used). */
  model: 'x-gateway-model',
  provider: 'x-gateway-provider',
  upstreamModel: 'x-gateway-upstream-model',
  /** Provider calls made, retries and fallbacks included. */
  attempts: 'x-gateway-attempts',
  /** The experiment variant the request was assigned to (absent outside experiments). */
  variant: 'x-gateway-variant',
  costUsd: 'x-gateway-cost-usd',
  /**
   * The policy decision (allow, alert, redact; a block is a 400) and its rule ids, comma
   * separated. On a stream these describe the request; the answer's checks end up in the final
   * usage chunk's `gateway.policy`.
   */
  policy: 'x-gateway-policy',
  policyRules: 'x-gateway-policy-rules',
  /** Where a count_tokens answer comes from: `provider` (its own count) or `estimate` (the gateway's). */
  tokenCount: 'x-gateway-token-count',
  /** `anthropic-beta` values the serving provider was not sent (its connection does not allow them), comma separated. */
  droppedBetas: 'x-gateway-dropped-betas',
  /**
   * What the response cache did for a team that has one: `hit`, `stale` (served after every
   * deployment failed), `miss` or `bypass`. Also the request header through which a caller asks
   * for `bypass` or `refresh`.
   */
  cache: 'x-gateway-cache',
  /** Tells OpenAI's SDKs not to retry (they retry 429 and 5xx otherwise). */
  shouldRetry: 'x-should-retry',
} as const;

/** Request headers the gateway reads besides authentication, defined once. */
export const GATEWAY_REQUEST_HEADERS = {
  /** A session id: keeps the session's requests in one experiment variant (else the end user decides). */
  session: 'x-gateway-session',
  /** The held tool call the request asks to receive, once approved (`apr_…`). */
  approval: 'x-gateway-approval',
  /** The team a signed-in user with roles in several teams acts for (a key's team is the key's). */
  team: 'x-gateway-team',
} as const;

/** OpenAI's rate-limit headers. */
export const RATE_LIMIT_HEADERS = {
  limitRequests: 'x-ratelimit-limit-requests',
  remainingRequests: 'x-ratelimit-remaining-requests',
  resetRequests: 'x-ratelimit-reset-requests',
  limitTokens: 'x-ratelimit-limit-tokens',
  remainingTokens: 'x-ratelimit-remaining-tokens',
  resetTokens: 'x-ratelimit-reset-tokens',
  retryAfter: 'retry-after',
} as const;
