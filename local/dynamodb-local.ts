import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort, superviseEmulator, waitUntilReady } from './emulator-process';

const run = promisify(execFile);

/**
 * Amazon DynamoDB Local ships inside this npm package (folder `emulator/`). Only that folder is
 * fetched, with `npm pack` from the npm registry, and checked against the pinned integrity, so
 * the ~280 dependencies of the package itself are never installed.
 */
export const DYNAMODB_LOCAL_SOURCE = {
  name: 'amplify-dynamodb-simulator',
  version: '2.9.30',
  integrity: 'sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ==',
} as const;

/** Where the emulator is unpacked (git-ignored, reused across runs). */
export const DEFAULT_CACHE_DIR = path.join(__dirname, '..', '.cache', 'dynamodb-local');

/**
 * Makes sure DynamoDB Local is unpacked in the cache and returns its folder.
 *
 * @example
 * const emulatorDir = await ensureDynamoDbLocal();
 */
export async function ensureDynamoDbLocal(cacheDir = DEFAULT_CACHE_DIR): Promise<string> {
  const emulatorDir = path.join(cacheDir, 'emulator');
  if (existsSync(path.join(emulatorDir, 'DynamoDBLocal.jar'))) return emulatorDir;
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(path.join(tmpdir(), 'dynamodb-local-'));
  try {
    const spec = `${DYNAMODB_LOCAL_SOURCE.name}@${DYNAMODB_LOCAL_SOURCE.version}`;
    process.stderr.write(`Fetching Amazon DynamoDB Local (${spec}, ~57 MB, once)...\n`);
    const { stdout } = await run('npm', ['pack', spec, '--json', '--pack-destination', work], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const [packed] = JSON.parse(stdout) as { filename: string; integrity: string }[];
    if (!packed || packed.integrity !== DYNAMODB_LOCAL_SOURCE.integrity) {
      throw new Error(`integrity mismatch for ${spec}: got ${packed?.integrity ?? 'nothing'}`);
    }
    await run('tar', ['-xzf', path.join(work, path.basename(packed.filename)), '-C', work, 'package/emulator']);
    rmSync(emulatorDir, { recursive: true, force: true });
    renameSync(path.join(work, 'package', 'emulator'), emulatorDir);
    return emulatorDir;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  endpoint: string;
  stop(): Promise<void>;
}

/** Waits until DynamoDB Local answers ListTables. */
async function waitUntilAnswering(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  try {
    await waitUntilReady('DynamoDB Local', child, () => client.send(new ListTablesCommand({})), {
      timeoutMs,
      intervalMs: 200,
    });
  } finally {
    client.destroy();
  }
}

/**
 * Starts DynamoDB Local in memory on a free port (or `port`) and waits until it answers.
 * It needs Java 17 or later on the PATH.
 *
 * @example
 * const ddb = await startDynamoDbLocal();
 * // ... use ddb.endpoint ...
 * await ddb.stop();
 */
export async function startDynamoDbLocal(options: { port?: number; cacheDir?: string } = {}): Promise<DynamoDbLocal> {
  const emulatorDir = await ensureDynamoDbLocal(options.cacheDir);
  try {
    await run('java', ['-version']);
  } catch {
    throw new Error(
      'DynamoDB Local needs Java 17 or later on the PATH (e.g. `apt-get install openjdk-17-jre-headless`).',
    );
  }
  const port = options.port ?? (await freePort());
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${path.join(emulatorDir, 'DynamoDBLocal_lib')}`,
      '-jar',
      path.join(emulatorDir, 'DynamoDBLocal.jar'),
      '-inMemory',
      // One database whatever credentials and region a client signs with (e.g. the AWS CLI).
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    // DynamoDB Local writes a metadata file into its working directory: keep it in the cache.
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: path.dirname(emulatorDir) },
  );
  const emulator = superviseEmulator(child);
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilAnswering(endpoint, child, 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${emulator.stderr()}`, { cause: error });
  }
  return {
    endpoint,
    stop: () => emulator.stop(5_000),
  };
}
