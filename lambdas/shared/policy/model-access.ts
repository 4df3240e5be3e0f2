/**
 * Model allow-lists: a team lists the models it may use as exact ids or `*` wildcards
 * (`claude-*`, `*`); a key may narrow its team's list, never widen it.
 */

const patternCache = new Map<string, RegExp>();

function patternToRegExp(pattern: string): RegExp {
  let compiled = patternCache.get(pattern);
  if (!compiled) {
    const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'));
    compiled = new RegExp(`^${escaped.join('.*')}$`);
    patternCache.set(pattern, compiled);
  }
  return compiled;
}

/**
 * Whether a model id matches one allow-list pattern.
 *
 * @example
 * matchesModelPattern('claude-sonnet-4', 'claude-*') // true
 */
export function matchesModelPattern(modelId: string, pattern: string): boolean {
  return pattern.includes('*') ? patternToRegExp(pattern).test(modelId) : pattern === modelId;
}

/**
 * Whether a caller may use a model: the team's list must allow it, and so must the key's list
 * when the key has one.
 *
 * @example
 * isModelAllowed('nova-lite', ['*'], ['claude-*']) // false: the key narrows the team
 */
export function isModelAllowed(
  modelId: string,
  teamPatterns: readonly string[],
  keyPatterns?: readonly string[],
): boolean {
  const allowedBy = (patterns: readonly string[]) => patterns.some((p) => matchesModelPattern(modelId, p));
  return allowedBy(teamPatterns) && (keyPatterns === undefined || allowedBy(keyPatterns));
}
