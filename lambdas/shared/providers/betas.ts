import type { ProviderConnection } from './options';

/**
 * `anthropic-beta` values Bedrock documents for Claude's InvokeModel body (`anthropic_beta`):
 * what a Bedrock connection passes when its config names none. Bedrock rejects a request with a
 * beta it does not know, so the rest are dropped. `context-1m-…` is left out on purpose: prompts
 * over 200K tokens are billed at a higher rate than the catalog's one price per model, so the
 * platform team opts in (and prices it) deliberately.
 */
export const BEDROCK_DEFAULT_BETAS: readonly string[] = [
  'computer-use-2024-10-22',
  'computer-use-2025-01-24',
  'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14',
  'output-128k-2025-02-19',
  'dev-full-thinking-2025-05-14',
  'fine-grained-tool-streaming-2025-05-14',
  'context-management-2025-06-27',
  'tool-search-tool-2025-10-19',
];

/** Betas that change what a call is billed at, beyond the catalog's per-token prices. */
const REPRICING_BETA = /^context-1m-/;

/**
 * The betas a connection passes to its provider, in the caller's order. A connection's `betas`
 * allow-list decides (`*` passes all); without one, Anthropic's API gets every beta that does not
 * reprice the call and Bedrock those it documents; other providers take none.
 *
 * @example
 * acceptedBetas({ adapter: 'bedrock', ... }, ['claude-code-20250219', 'interleaved-thinking-2025-05-14'])
 * // ['interleaved-thinking-2025-05-14']
 */
export function acceptedBetas(connection: ProviderConnection, betas: readonly string[] | undefined): string[] {
  if (!betas || betas.length === 0) return [];
  if (connection.adapter !== 'anthropic' && connection.adapter !== 'bedrock') return [];
  const allowed = connection.betas;
  if (allowed) return betas.filter((beta) => allowed.includes('*') || allowed.includes(beta));
  if (connection.adapter === 'anthropic') return betas.filter((beta) => !REPRICING_BETA.test(beta));
  return betas.filter((beta) => BEDROCK_DEFAULT_BETAS.includes(beta));
}

/**
 * The betas a caller asked for that the serving connection did not pass, for the response header
 * that says so.
 *
 * @example
 * droppedBetas(bedrockConnection, ['claude-code-20250219']) // ['claude-code-20250219']
 */
export function droppedBetas(connection: ProviderConnection, betas: readonly string[] | undefined): string[] {
  const accepted = new Set(acceptedBetas(connection, betas));
  return (betas ?? []).filter((beta) => !accepted.has(beta));
}
