import { invalidRequest } from '../../http/errors';

/** An `anthropic-version` value: a date, as Anthropic names its API versions. */
const VERSION = /^\d{4}-\d{2}-\d{2}$/;

const BETA = /^[a-z0-9][a-z0-9._-]{0,99}$/;

/**
 * Checks the `anthropic-version` header. Every version since 2023-06-01 keeps the Messages wire
 * format this face speaks (SDKs send newer dates as they are released), so any date is accepted,
 * and its absence too (SDKs always send one); a value that is not a version is a 400. The
 * provider call uses the connection's own version.
 *
 * @example
 * checkAnthropicVersion(request.headers); // throws a 400 for 'anthropic-version: latest'
 */
export function checkAnthropicVersion(headers: Readonly<Record<string, string>>): void {
  const version = headers['anthropic-version']?.trim();
  if (version && !VERSION.test(version)) {
    throw invalidRequest('anthropic-version: expected a version date such as 2023-06-01.', {
      param: 'anthropic-version',
    });
  }
}

/**
 * The `anthropic-beta` values of a request, comma separated in one header as the SDKs send them,
 * without duplicates. A value that is not a beta name is a 400 naming it (never echoing more
 * than the name itself).
 *
 * @example
 * anthropicBetas({ 'anthropic-beta': 'claude-code-20250219, interleaved-thinking-2025-05-14' })
 * // ['claude-code-20250219', 'interleaved-thinking-2025-05-14']
 */
export function anthropicBetas(headers: Readonly<Record<string, string>>): string[] {
  const header = headers['anthropic-beta'];
  if (!header) return [];
  const betas = [
    ...new Set(
      header
        .split(',')
        .map((beta) => beta.trim())
        .filter((beta) => beta !== ''),
    ),
  ];
  if (betas.length > 50) throw invalidRequest('anthropic-beta: at most 50 values.', { param: 'anthropic-beta' });
  for (const beta of betas) {
    if (!BETA.test(beta)) {
      throw invalidRequest('anthropic-beta: values are lower-case beta names, comma separated.', {
        param: 'anthropic-beta',
      });
    }
  }
  return betas;
}
