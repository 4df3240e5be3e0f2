import { isModelAllowed, matchesModelPattern } from '../../lambdas/shared/policy/model-access';

describe('model allow-lists', () => {
  it('matches exact ids and * wildcards, nothing more', () => {
    expect(matchesModelPattern('claude-sonnet-4', 'claude-sonnet-4')).toBe(true);
    expect(matchesModelPattern('claude-sonnet-4', 'claude-*')).toBe(true);
    expect(matchesModelPattern('claude-sonnet-4', '*')).toBe(true);
    expect(matchesModelPattern('claude-sonnet-4', '*-sonnet-*')).toBe(true);
    expect(matchesModelPattern('claude-sonnet-4', 'claude')).toBe(false);
    expect(matchesModelPattern('xclaude-sonnet', 'claude-*')).toBe(false);
    // Regex metacharacters in ids are literal.
    expect(matchesModelPattern('gpt-4.1', 'gpt-4.1')).toBe(true);
    expect(matchesModelPattern('gpt-401', 'gpt-4.1')).toBe(false);
  });

  it('lets a key narrow its team list but never widen it', () => {
    expect(isModelAllowed('nova-lite', ['*'])).toBe(true);
    expect(isModelAllowed('nova-lite', ['*'], ['claude-*'])).toBe(false);
    expect(isModelAllowed('claude-3-5-haiku', ['*'], ['claude-*'])).toBe(true);
    expect(isModelAllowed('nova-lite', ['claude-*'], ['*'])).toBe(false);
  });
});
