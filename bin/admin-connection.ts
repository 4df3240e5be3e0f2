/**
 * Which gateway the admin CLI talks to, and with which credential. The rules, in order:
 * an explicit URL (`--url`, `GATEWAY_URL`) wins, else the `npm start` running in this folder
 * (`.local/gateway.json`, whatever its `PORT`); an explicit admin token wins, else a local URL
 * takes the recorded server's token when it is that server, else a deployed URL is signed with
 * AWS credentials. Every dead end names what is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  isLocalUrl,
  isProcessAlive,
  LOCAL_STATE_DIR,
  LOCAL_STATE_FILES,
  readLocalServer,
  sameLocalServer,
  type LocalServer,
} from './local-state';

/** What the admin asked for: flags first, then the environment. */
export interface ConnectionRequest {
  url?: string | undefined;
  adminToken?: string | undefined;
  /** A single sign-on token (with the stack's ConsoleUrl). */
  token?: string | undefined;
  region?: string | undefined;
}

/** Where and how to send the admin API's requests. */
export interface Connection {
  url: string;
  /** The local runtime's admin token; absent (and no `token`) means SigV4 with AWS credentials. */
  adminToken?: string | undefined;
  /** A signed-in user's token, sent as `Authorization: Bearer`; their roles decide what they may do. */
  token?: string | undefined;
  region?: string | undefined;
}

/** What connection resolution reads from its surroundings (injected by tests). */
export interface ConnectionSurroundings {
  env: NodeJS.ProcessEnv;
  /** The repository folder, where `npm start` records itself. */
  cwd: string;
  isAlive?: (pid: number) => boolean;
}

/** How the errors name the record, relative to the repository as a person would type it. */
const RECORD = `${LOCAL_STATE_DIR}/${LOCAL_STATE_FILES.server}`;

/** The running recorded server, or why there is none (a sentence fragment for an error). */
function runningServer(surroundings: ConnectionSurroundings): { server: LocalServer } | { problem: string } {
  const server = readLocalServer(surroundings.cwd);
  if (!server) return { problem: `no \`npm start\` is running in ${surroundings.cwd} (no ${RECORD})` };
  if (!(surroundings.isAlive ?? isProcessAlive)(server.pid)) {
    return { problem: `the \`npm start\` recorded in ${RECORD} (pid ${server.pid}, ${server.url}) is not running` };
  }
  return { server };
}

function tokenOf(server: LocalServer): string {
  if (!existsSync(server.admin_token_file)) {
    throw new Error(
      `the local gateway's admin token file ${server.admin_token_file} is missing: restart \`npm start\``,
    );
  }
  return readFileSync(server.admin_token_file, 'utf8').trim();
}

/**
 * The connection for one CLI run, or an error saying exactly what is missing (a URL, a running
 * `npm start`, a local admin token); AWS credentials and region are checked when signing.
 *
 * @example
 * resolveConnection({ url: 'http://localhost:9000' }, { env: process.env, cwd: repoRoot })
 * // { url: 'http://localhost:9000', adminToken: 'gwadmin_...' } when `PORT=9000 npm start` runs there
 */
export function resolveConnection(request: ConnectionRequest, surroundings: ConnectionSurroundings): Connection {
  const { env } = surroundings;
  const region = request.region ?? env.AWS_REGION;
  const adminToken = request.adminToken ?? env.GATEWAY_ADMIN_TOKEN;
  const explicitUrl = request.url ?? env.GATEWAY_URL;
  if (explicitUrl && !/^https?:$/.test(URL.parse(explicitUrl)?.protocol ?? '')) {
    throw new Error(`not a URL: '${explicitUrl}' (expected e.g. https://abc.execute-api.eu-west-1.amazonaws.com/)`);
  }
  const token = request.token ?? env.GATEWAY_TOKEN;
  if (token) {
    // A signed-in user needs no admin token nor AWS credentials: the token is the credential.
    const running = explicitUrl ? undefined : runningServer(surroundings);
    if (running && 'problem' in running) {
      throw new Error(`no API URL: ${running.problem}. Pass --url (the stack output ConsoleUrl) or set GATEWAY_URL`);
    }
    return { url: explicitUrl ?? running!.server.url, token, region };
  }

  if (!explicitUrl) {
    const running = runningServer(surroundings);
    if ('problem' in running) {
      throw new Error(
        `no API URL: ${running.problem}. Run \`npm start\` here, or pass --url (the stack output ApiUrl) or set GATEWAY_URL`,
      );
    }
    return { url: running.server.url, adminToken: adminToken ?? tokenOf(running.server), region };
  }
  if (adminToken) return { url: explicitUrl, adminToken, region };
  if (!isLocalUrl(explicitUrl)) return { url: explicitUrl, region };

  const running = runningServer(surroundings);
  if ('server' in running && sameLocalServer(explicitUrl, running.server.url)) {
    return { url: explicitUrl, adminToken: tokenOf(running.server), region };
  }
  const where =
    'problem' in running
      ? running.problem
      : sameLocalServer(explicitUrl, running.server.stream_url)
        ? `that is the streaming door of the \`npm start\` running here; its admin routes are on ${running.server.url}`
        : `the \`npm start\` running here listens on ${running.server.url}`;
  throw new Error(
    `no admin token for the local gateway at ${new URL(explicitUrl).origin}: ${where}. ` +
      'Pass --admin-token (or set GATEWAY_ADMIN_TOKEN) with the token that gateway printed',
  );
}
