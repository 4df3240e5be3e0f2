import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** An emulator running as a child process of the local runtime (DynamoDB Local, the SQS emulator). */
export interface EmulatorProcess {
  /** The last few KB the emulator wrote to stderr, for a start-up failure's message. */
  stderr(): string;
  /** Stops it: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs: number): Promise<void>;
}

/**
 * Watches an emulator's process: if this process dies without stopping it, the emulator is
 * killed too (no JVM or Node process left behind); its stderr is kept for error messages.
 *
 * @example
 * const emulator = superviseEmulator(spawn('java', [...], { stdio: ['ignore', 'ignore', 'pipe'] }));
 */
export function superviseEmulator(child: ChildProcess): EmulatorProcess {
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  return {
    stderr: () => stderr,
    stop: (graceMs) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
      }),
  };
}

/** A free TCP port on localhost. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Waits until an emulator answers `probe` (which throws while it is not ready), failing at once
 * if its process exits and after `timeoutMs` with the last probe's error as the cause.
 *
 * @example
 * await waitUntilReady('DynamoDB Local', child, () => client.send(new ListTablesCommand({})), { timeoutMs: 60_000, intervalMs: 200 });
 */
export async function waitUntilReady(
  name: string,
  child: ChildProcess,
  probe: () => Promise<unknown>,
  options: { timeoutMs: number; intervalMs: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    try {
      await probe();
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`${name} did not start within ${options.timeoutMs} ms`, { cause: error });
      await sleep(options.intervalMs);
    }
  }
}
