import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { FUNCTION_TABLES, type GatewayFunctionName } from '../../lambdas/shared/config/function-tables';
import { TABLES, type TableId } from '../../lambdas/shared/store/schema';
import { GatewayStack } from '../../lib/gateway-stack';

// Template JSON is untyped.
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

const ROOT = path.resolve(__dirname, '..', '..');

/** The file whose `loadEnvironment` call reads each function's tables at cold start. */
const LOADED_IN: Record<GatewayFunctionName, string> = {
  gateway: 'lambdas/gateway/wiring.ts',
  stream: 'lambdas/gateway/wiring.ts',
  auth: 'lambdas/auth/index.ts',
  usage: 'lambdas/usage/index.ts',
  replay: 'lambdas/replay/index.ts',
  maintenance: 'lambdas/maintenance/index.ts',
};

/** The arguments of every `loadEnvironment(...)` call in a file. */
function loadEnvironmentArguments(file: string): string[] {
  const source = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...source.matchAll(/\bloadEnvironment\(([^)]*)\)/g)].map((match) => match[1]!.trim());
}

describe('the tables each function gets, stated once in FUNCTION_TABLES', () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new GatewayStack(app, 'TabledGateway', { env: { account: '123456789012', region: 'eu-west-1' } });
  const resources = Template.fromStack(stack).toJSON().Resources as Resources;
  const tableEnvVars = new Set<string>(Object.values(TABLES).map((table) => table.envVar));

  it.each(Object.keys(FUNCTION_TABLES) as GatewayFunctionName[])(
    'gives the %s function the names of exactly its tables in its environment',
    (name) => {
      const fn = stack.gateway.functions[name];
      const logicalId = Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnFunction);
      const variables = Object.keys(resources[logicalId]!.Properties.Environment.Variables as object);
      const expected = (FUNCTION_TABLES[name] as readonly TableId[]).map((id) => TABLES[id].envVar);
      expect(variables.filter((variable) => tableEnvVars.has(variable)).sort()).toEqual([...expected].sort());
    },
  );

  it.each(Object.entries(LOADED_IN))('loads the %s function tables from FUNCTION_TABLES in %s', (name, file) => {
    const own = name === 'stream' ? 'gateway' : name;
    expect(loadEnvironmentArguments(file)).toEqual([`FUNCTION_TABLES.${own}`]);
  });

  it('gives both gateway faces the same tables, as they share one wiring', () => {
    expect(FUNCTION_TABLES.stream).toBe(FUNCTION_TABLES.gateway);
  });

  it('lists no table by hand in any loadEnvironment call under lambdas/', () => {
    const files = (function walk(folder: string): string[] {
      return fs
        .readdirSync(folder, { withFileTypes: true })
        .flatMap((entry) =>
          entry.isDirectory()
            ? walk(path.join(folder, entry.name))
            : entry.name.endsWith('.ts')
              ? [path.relative(ROOT, path.join(folder, entry.name))]
              : [],
        );
    })(path.join(ROOT, 'lambdas'));
    const byHand = files.flatMap((file) =>
      loadEnvironmentArguments(file)
        .filter((argument) => argument.startsWith('['))
        .map((argument) => `${file}: loadEnvironment(${argument})`),
    );
    expect(byHand).toEqual([]);
  });
});
