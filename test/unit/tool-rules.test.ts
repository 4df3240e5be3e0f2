import { compileToolRules } from '../../lambdas/shared/policy/tool-rules';

describe('tool rules', () => {
  const rules = compileToolRules({
    toolRules: [
      { id: 'prod', tools: ['*'], argumentsPattern: '\\bprod(uction)?\\b', action: 'require_approval' },
      { id: 'destructive', tools: ['drop_*', 'delete_*', 'terminate_instances'], action: 'require_approval' },
      { id: 'no-iam', tools: ['put_*_policy', 'attach_role_policy'], action: 'block' },
      { id: 'reads', tools: ['get_*', 'list_*'], action: 'allow' },
    ],
  });

  it.each([
    [
      { name: 'drop_table', arguments: '{"table":"users"}' },
      { action: 'require_approval', ruleId: 'tool:destructive' },
    ],
    [
      { name: 'terminate_instances', arguments: '{}' },
      { action: 'require_approval', ruleId: 'tool:destructive' },
    ],
    [
      { name: 'put_user_policy', arguments: '{}' },
      { action: 'block', ruleId: 'tool:no-iam' },
    ],
    [
      { name: 'list_tables', arguments: '{"env":"PROD"}' },
      { action: 'require_approval', ruleId: 'tool:prod' },
    ],
    [
      { name: 'list_tables', arguments: '{"env":"staging"}' },
      { action: 'allow', ruleId: 'tool:reads' },
    ],
    [{ name: 'run_query', arguments: '{"sql":"select 1"}' }, { action: 'allow' }],
    [{ name: 'terminate_instances_dry', arguments: '{}' }, { action: 'allow' }],
  ])('judges %o as %o: the first matching rule decides, names match whole', (call, verdict) => {
    expect(rules.judge(call)).toEqual(verdict);
  });

  it('is inactive without rules, so answers stream through untouched', () => {
    expect(compileToolRules({ toolRules: [] }).active).toBe(false);
    expect(rules.active).toBe(true);
  });
});
