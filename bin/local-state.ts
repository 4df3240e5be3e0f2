/**
 * What a running `npm start` leaves in `.local/` so the admin CLI (and a person) can find it: the
 * demo key, the admin token, and `gateway.json` saying where the server listens and which process
 * it is. `npm start` writes them; the CLI only reads them. One module states the file names and
 * the format, so writer and reader cannot drift apart.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as z from 'zod';

/** The folder, relative to the repository, where the local runtime keeps its state (git-ignored). */
export const LOCAL_STATE_DIR = '.local';

/** Names of the files in {@link LOCAL_STATE_DIR}. */
export const LOCAL_STATE_FILES = {
  /** Where the server runs; present only while it runs. */
  server: 'gateway.json',
  adminToken: 'admin-token',
  demoKey: 'demo-key',
} as const;

/**
 * `.local/gateway.json`: where the running local gateway listens. snake_case, like every JSON the
 * gateway's clients read. The token stays in its own 0600 file; this names the file.
 */
const localServerSchema = z.object({
  url: z.url(),
  stream_url: z.url(),
  admin_token_file: z.string().min(1),
  pid: z.number().int().positive(),
  started_at: z.string(),
});

/** The recorded local gateway, as read from `.local/gateway.json`. */
export type LocalServer = z.infer<typeof localServerSchema>;

/** Where the state files of the repository at `root` are. */
export function localStatePaths(root: string) {
  const dir = path.join(root, LOCAL_STATE_DIR);
  return {
    dir,
    server: path.join(dir, LOCAL_STATE_FILES.server),
    adminToken: path.join(dir, LOCAL_STATE_FILES.adminToken),
    demoKey: path.join(dir, LOCAL_STATE_FILES.demoKey),
  };
}

/**
 * Records a started local gateway: its demo key, its admin token and where it listens. Secrets are
 * written readable by this user only.
 *
 * @example
 * recordLocalGateway(repoRoot, gateway, process.pid);
 */
export function recordLocalGateway(
  root: string,
  gateway: { url: string; streamUrl: string; adminToken: string; demoKey: string },
  pid: number,
  now: Date = new Date(),
): LocalServer {
  const paths = localStatePaths(root);
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.demoKey, `${gateway.demoKey}\n`, { mode: 0o600 });
  writeFileSync(paths.adminToken, `${gateway.adminToken}\n`, { mode: 0o600 });
  const server: LocalServer = {
    url: gateway.url,
    stream_url: gateway.streamUrl,
    admin_token_file: paths.adminToken,
    pid,
    started_at: now.toISOString(),
  };
  writeFileSync(paths.server, `${JSON.stringify(server, null, 2)}\n`, { mode: 0o600 });
  return server;
}

/**
 * Removes the record of a stopping local gateway, unless another `npm start` has since replaced
 * it with its own (then that one is still the server to find).
 *
 * @example
 * forgetLocalGateway(repoRoot, process.pid);
 */
export function forgetLocalGateway(root: string, pid: number): void {
  let recorded: LocalServer | undefined;
  try {
    recorded = readLocalServer(root);
  } catch {
    return; // not a record this process wrote: not ours to delete
  }
  if (recorded?.pid === pid) rmSync(localStatePaths(root).server, { force: true });
}

/**
 * The recorded local gateway, or undefined when none is recorded. A file that is not a record
 * (hand-edited, from another version) is an error naming it, not a silent fallback.
 */
export function readLocalServer(root: string): LocalServer | undefined {
  const file = localStatePaths(root).server;
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    json = undefined;
  }
  const parsed = localServerSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${file} is not a local gateway record: delete it and run \`npm start\``);
  return parsed.data;
}

/**
 * Whether a process with this id runs. Signal 0 checks without signalling; EPERM means it runs
 * as another user (still alive).
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a URL points at this machine (where only the local runtime, never AWS, can answer). */
export function isLocalUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host === '0.0.0.0' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Whether two local URLs reach the same server: same scheme and port, with every loopback name
 * counting as the same host (`npm start` prints 127.0.0.1, people type localhost).
 */
export function sameLocalServer(a: string, b: string): boolean {
  const origin = (url: string) => {
    const parsed = new URL(url);
    return `${parsed.protocol}//${isLocalUrl(url) ? 'loopback' : parsed.hostname}:${parsed.port}`;
  };
  return origin(a) === origin(b);
}
