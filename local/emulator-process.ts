import type { ChildProcess } from 'node:child_process';

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
