import type { ToolCall } from '../chat/types';
import type { PolicyProfile } from './schema';

/** What a profile's tool rules decide about one tool call. */
export interface ToolVerdict {
  action: 'allow' | 'block' | 'require_approval';
  /** The deciding rule (`tool:<id>`); none when no rule matched. */
  ruleId?: string;
}

/** A profile's tool rules, compiled once. */
export interface ToolRules {
  /** Whether any rule exists (if not, tool calls stream through untouched). */
  readonly active: boolean;
  judge(call: Pick<ToolCall, 'name' | 'arguments'>): ToolVerdict;
}

/** The rule id a tool rule is reported under (audit, headers). */
export const toolRuleId = (id: string) => `tool:${id}`;

function namePattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

/**
 * Compiles a profile's tool rules: the first rule whose tool name pattern and (optional)
 * arguments pattern match a call decides; a call no rule matches is allowed.
 *
 * @example
 * compileToolRules(profile).judge({ name: 'drop_table', arguments: '{"table":"users"}' })
 * // { action: 'require_approval', ruleId: 'tool:destructive' }
 */
export function compileToolRules(profile: Pick<PolicyProfile, 'toolRules'>): ToolRules {
  const rules = profile.toolRules.map((rule) => ({
    id: toolRuleId(rule.id),
    action: rule.action,
    names: rule.tools.map(namePattern),
    args: rule.argumentsPattern ? new RegExp(rule.argumentsPattern, 'i') : undefined,
  }));
  return {
    active: rules.length > 0,
    judge(call) {
      for (const rule of rules) {
        if (!rule.names.some((name) => name.test(call.name))) continue;
        if (rule.args && !rule.args.test(call.arguments)) continue;
        return { action: rule.action, ruleId: rule.id };
      }
      return { action: 'allow' };
    },
  };
}
