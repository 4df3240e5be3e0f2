import type { Strategy } from './types';

/**
 * The model of the rule with the highest `minPromptTokens` the prompt estimate reaches, when it is
 * a candidate (e.g. prompts of 100k tokens and more to a long-context model); otherwise config order.
 */
export const contextRules: Strategy<'context'> = (config, { candidates, demand }) => {
  const rule = config.rules
    .filter((r) => demand.promptTokens >= r.minPromptTokens)
    .reduce<(typeof config.rules)[number] | undefined>(
      (highest, r) => (highest === undefined || r.minPromptTokens > highest.minPromptTokens ? r : highest),
      undefined,
    );
  if (rule === undefined) return 0;
  return Math.max(
    candidates.findIndex((candidate) => candidate.model.id === rule.model),
    0,
  );
};
