import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The CDK app may read constants from the runtime code (table names, metric names, the catalog,
 * environment variable names) but must not load runtime modules with side effects to do so:
 * Powertools builds a logger and reads the environment when imported, an SDK client module pulls
 * in credentials providers and hundreds of modules. A quick static scan of the value imports
 * (`import type` is erased) reachable from `lib/` is enough to keep it that way.
 */

const ROOT = path.resolve(__dirname, '..', '..');
/** Packages that load Powertools or an AWS SDK client (or its runtime) at import time. */
const FORBIDDEN = [/^@aws-lambda-powertools\//, /^@aws-sdk\//];

/**
 * The modules a file imports for their values: `import ... from`, `export ... from`, bare
 * `import '...'`, `require(...)` and `import(...)`. Type-only imports and exports are skipped, as
 * are statements whose every named binding is `type X` (TypeScript erases those as well).
 */
function valueImports(source: string): string[] {
  const found: string[] = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const match of source.matchAll(statement)) {
    const [, , typeOnly, clause, specifier] = match;
    if (typeOnly) continue;
    const named = /^\{([^}]*)\}$/.exec(clause!.trim());
    const bindings = named
      ? named[1]!
          .split(',')
          .map((b) => b.trim())
          .filter(Boolean)
      : [];
    if (named && bindings.length > 0 && bindings.every((b) => b.startsWith('type '))) continue;
    found.push(specifier!);
  }
  for (const match of source.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) found.push(match[1]!);
  for (const match of source.matchAll(/\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1]!);
  return found;
}

/** The file a relative specifier names (`./x` is `./x.ts` or `./x/index.ts`), or undefined for a package. */
function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`cannot resolve ${specifier} from ${path.relative(ROOT, from)}`);
}

/** Every forbidden package reachable from `entries`, each with the import chain that reaches it. */
function forbiddenReachedFrom(entries: readonly string[]): string[] {
  const chains = new Map<string, string[]>(entries.map((entry) => [entry, [path.relative(ROOT, entry)]]));
  const queue = [...entries];
  const reached: string[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    const chain = chains.get(file)!;
    for (const specifier of valueImports(fs.readFileSync(file, 'utf8'))) {
      const target = resolveRelative(file, specifier);
      if (target === undefined) {
        if (FORBIDDEN.some((pattern) => pattern.test(specifier))) reached.push([...chain, specifier].join(' -> '));
        continue;
      }
      if (chains.has(target)) continue;
      chains.set(target, [...chain, path.relative(ROOT, target)]);
      queue.push(target);
    }
  }
  return reached;
}

function typescriptFiles(folder: string): string[] {
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? typescriptFiles(path.join(folder, entry.name))
        : entry.name.endsWith('.ts')
          ? [path.join(folder, entry.name)]
          : [],
    );
}

describe('what the CDK app imports from the runtime code', () => {
  it('reaches neither Powertools nor an AWS SDK client from the CDK app or any file under lib/', () => {
    const entries = [path.join(ROOT, 'bin', 'gateway.ts'), ...typescriptFiles(path.join(ROOT, 'lib'))];
    expect(entries.length).toBeGreaterThan(5);
    expect(forbiddenReachedFrom(entries)).toEqual([]);
  });

  it('follows value imports and skips the ones TypeScript erases', () => {
    const source = [
      "import { Logger } from '@aws-lambda-powertools/logger';",
      "import type { Metrics } from '@aws-lambda-powertools/metrics';",
      "import { type DynamoDBClient } from '@aws-sdk/client-dynamodb';",
      "import { type A, B } from './mixed';",
      'import {',
      '  C,',
      '  type D,',
      "} from './multi-line';",
      "export { E } from './re-exported';",
      "export type { F } from './type-only';",
      "import './side-effect';",
      "const lazy = () => import('./lazy');",
    ].join('\n');
    expect(valueImports(source).sort()).toEqual(
      ['@aws-lambda-powertools/logger', './lazy', './mixed', './multi-line', './re-exported', './side-effect'].sort(),
    );
  });

  it('finds a forbidden package reached through a chain of relative imports', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-imports-'));
    try {
      fs.writeFileSync(path.join(folder, 'stack.ts'), "import { NAME } from './names';\n");
      fs.writeFileSync(path.join(folder, 'names.ts'), "export { NAME } from './runtime';\n");
      fs.writeFileSync(path.join(folder, 'runtime.ts'), "import { Logger } from '@aws-lambda-powertools/logger';\n");
      const [chain] = forbiddenReachedFrom([path.join(folder, 'stack.ts')]);
      expect(chain).toMatch(/stack\.ts -> .*names\.ts -> .*runtime\.ts -> @aws-lambda-powertools\/logger$/);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
