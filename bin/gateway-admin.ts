#!/usr/bin/env node
/**
 * The admin CLI: `npm run admin -- <command>` (see `--help`). Works against a deployed stack
 * (requests signed with your AWS credentials) and against `npm start` (the local admin token).
 */
import { closeSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { resolveConnection } from './admin-connection';
import { AdminApiError, AdminClient } from './admin-client';
import { EXPORT_HEADERS } from '../lambdas/shared/audit/export';

/** Where the CLI writes, and what it reads from its surroundings (injected by tests). */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** The repository folder, to find the `npm start` running there (`.local/gateway.json`). */
  cwd: string;
  fetch?: typeof fetch;
  /** Whether a recorded `npm start` process still runs (tests fake a dead one). */
  isAlive?: (pid: number) => boolean;
}

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new InvalidArgumentError('expected a whole number');
  return parsed;
}

function amount(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('expected an amount in USD, e.g. 250.50');
  return parsed;
}

function onOff(value: string): boolean {
  if (value === 'on' || value === 'off') return value === 'on';
  throw new InvalidArgumentError('expected on or off');
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function month(value: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(value)) throw new InvalidArgumentError('expected YYYY-MM');
  return value;
}

function exportFormat(value: string): string {
  if (value !== 'jsonl' && value !== 'csv') throw new InvalidArgumentError('expected jsonl or csv');
  return value;
}

/**
 * Writes every page of an export as it arrives, following the next-page cursor, and never holds
 * more than one page: to `write`, and resolves to the records and pages written.
 */
async function exportPages(
  client: AdminClient,
  query: Record<string, string>,
  write: (text: string) => void,
): Promise<{ records: number; pages: number }> {
  let cursor: string | null = null;
  let records = 0;
  let pages = 0;
  do {
    const search = new URLSearchParams({ ...query, ...(cursor ? { cursor } : {}) });
    const page = await client.requestPage('GET', `/v1/admin/export?${search.toString()}`);
    write(page.text);
    records += Number(page.headers.get(EXPORT_HEADERS.records) ?? 0);
    pages += 1;
    cursor = page.headers.get(EXPORT_HEADERS.nextCursor);
  } while (cursor);
  return { records, pages };
}

/**
 * Writes an export to a file: into `<file>.partial`, renamed once the last page is in, so a file
 * under the name asked for is always a complete export (an interrupted one leaves nothing).
 */
async function exportToFile(
  file: string,
  pages: (write: (text: string) => void) => Promise<{ records: number; pages: number }>,
) {
  const partial = `${file}.partial`;
  const fd = openSync(partial, 'w');
  try {
    const written = await pages((text) => writeSync(fd, text));
    closeSync(fd);
    renameSync(partial, file);
    return written;
  } catch (error) {
    closeSync(fd);
    rmSync(partial, { force: true });
    throw error;
  }
}

/** The parts of the chargeback JSON the table shows. */
interface ChargebackJson {
  month: string;
  /** Per model, or (`group_by=user`) per end user: `user` null for the team's requests naming none. */
  lines: {
    cost_center: string;
    team: string;
    model?: string;
    user?: string | null;
    requests: number;
    cost_usd: string;
  }[];
  teams: { cost_center: string; team: string; requests: number; cost_usd: string }[];
  cost_centers: { cost_center: string; requests: number; cost_usd: string }[];
  totals: { requests: number; cost_usd: string };
}

/** The chargeback as an aligned text table: lines, then team, cost-center and grand totals. */
function chargebackTable(report: ChargebackJson): string {
  const byUser = report.lines.some((l) => 'user' in l);
  const rows: string[][] = [['cost center', 'team', byUser ? 'user' : 'model', 'requests', 'cost (USD)']];
  for (const l of report.lines) {
    const group = byUser ? (l.user ?? '(no user)') : (l.model ?? '');
    rows.push([l.cost_center, l.team, group, String(l.requests), l.cost_usd]);
  }
  for (const t of report.teams) rows.push([t.cost_center, t.team, '(team total)', String(t.requests), t.cost_usd]);
  for (const c of report.cost_centers)
    rows.push([c.cost_center, '', '(cost center total)', String(c.requests), c.cost_usd]);
  rows.push(['', '', '(total)', String(report.totals.requests), report.totals.cost_usd]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const format = (r: string[]) =>
    r.map((cell, i) => (i >= 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  return `Chargeback ${report.month}\n${rows.map(format).join('\n')}\n`;
}

/** Drops unset options so the API sees only what the admin asked to change. */
function defined(values: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}

/**
 * The CLI program. Connection: `--url` or `GATEWAY_URL` (the stack's ApiUrl, requests signed with
 * AWS credentials); with neither, the `npm start` running in this folder, on whatever `PORT`, with
 * its admin token (`.local/gateway.json`). `--admin-token` or `GATEWAY_ADMIN_TOKEN` for any other
 * local runtime.
 *
 * @example
 * await buildProgram(io).parseAsync(['teams', 'list'], { from: 'user' });
 *
 * Long because it declares every command and option of the CLI in one place, the way commander reads.
 */
export function buildProgram(io: CliIo): Command {
  const program = new Command('gateway-admin')
    .description('Administer the LLM gateway: teams, keys, usage and the admin audit trail.')
    .option(
      '--url <url>',
      'API base URL (the stack output ApiUrl); env GATEWAY_URL. Default: the `npm start` running in this folder, on any PORT',
    )
    .option(
      '--admin-token <token>',
      'admin token of a local runtime; env GATEWAY_ADMIN_TOKEN. Default for this folder’s `npm start`: its own',
    )
    .option(
      '--token <token>',
      'a single sign-on token (with --url <ConsoleUrl>); env GATEWAY_TOKEN. Your roles decide what you may do',
    )
    .option('--region <region>', 'AWS region of the API, for signing; default from the URL or AWS_REGION')
    .addHelpText(
      'after',
      [
        '',
        'Connection: with no --url, the CLI talks to the `npm start` running in this folder, on whatever',
        'PORT it was started with (`npm start` records itself in .local/gateway.json), using its admin token.',
        'For a deployed stack, pass --url <ApiUrl> (or set GATEWAY_URL): requests are signed with your AWS credentials.',
        'With single sign-on, pass --url <ConsoleUrl> and --token <your sign-in token> (or set GATEWAY_TOKEN) instead.',
      ].join('\n'),
    )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(add --help for usage)');

  const client = () => {
    const options = program.opts<{ url?: string; adminToken?: string; token?: string; region?: string }>();
    const connection = resolveConnection(options, io);
    return new AdminClient({ ...connection, fetch: io.fetch });
  };
  const print = (value: unknown) => io.stdout(`${JSON.stringify(value, null, 2)}\n`);
  const call = async (method: string, apiPath: string, body?: unknown) =>
    print(await client().request(method, apiPath, body));

  const teams = program.command('teams').description('create, read, list, update, disable teams');
  teams
    .command('list')
    .description('list every team')
    .action(() => call('GET', '/v1/admin/teams'));
  teams
    .command('get')
    .argument('<teamId>')
    .description('show one team')
    .action((teamId: string) => call('GET', `/v1/admin/teams/${encodeURIComponent(teamId)}`));
  const teamOptions = (command: Command) =>
    command
      .option('--name <name>', 'display name')
      .option('--cost-center <code>', 'cost center for chargeback')
      .option('--budget-usd <amount>', 'monthly budget in USD', amount)
      .option('--soft-alert-percent <percent>', 'alert when this share of the budget is spent', integer)
      .option('--rpm <n>', 'requests per minute', integer)
      .option('--tpm <n>', 'tokens per minute', integer)
      .option('--models <list>', 'allowed models, comma-separated; * wildcards (e.g. "claude-*,nova-lite")', list)
      .option('--policy-profile <name>', 'policy profile')
      .option('--cache-ttl-seconds <n>', 'serve repeated requests from the response cache this long (0: off)', integer)
      .option('--cache-nondeterministic <on|off>', 'also cache sampled answers (temperature above 0)', onOff)
      .option('--cache-stale-if-error <on|off>', 'serve a stale cached answer when no provider answers', onOff);
  type TeamFlags = {
    name?: string;
    costCenter?: string;
    budgetUsd?: number;
    softAlertPercent?: number;
    rpm?: number;
    tpm?: number;
    models?: string[];
    policyProfile?: string;
    cacheTtlSeconds?: number;
    cacheNondeterministic?: boolean;
    cacheStaleIfError?: boolean;
  };
  const teamBody = (flags: TeamFlags) =>
    defined({
      name: flags.name,
      cost_center: flags.costCenter,
      monthly_budget_usd: flags.budgetUsd,
      soft_alert_percent: flags.softAlertPercent,
      requests_per_minute: flags.rpm,
      tokens_per_minute: flags.tpm,
      allowed_models: flags.models,
      policy_profile: flags.policyProfile,
      cache_ttl_seconds: flags.cacheTtlSeconds,
      cache_nondeterministic: flags.cacheNondeterministic,
      cache_stale_if_error: flags.cacheStaleIfError,
    });
  teamOptions(
    teams.command('create').description('create a team').requiredOption('--id <teamId>', 'team id (a slug)'),
  ).action((flags: TeamFlags & { id: string }) =>
    call('POST', '/v1/admin/teams', { id: flags.id, ...teamBody(flags) }),
  );
  teamOptions(teams.command('update').argument('<teamId>').description('change a team (only the options given)'))
    .option('--no-budget', 'remove the monthly budget')
    .option('--no-cost-center', 'remove the cost center')
    .action(
      (teamId: string, flags: Omit<TeamFlags, 'costCenter'> & { budget?: boolean; costCenter?: string | false }) =>
        call('PATCH', `/v1/admin/teams/${encodeURIComponent(teamId)}`, {
          ...teamBody({ ...flags, costCenter: flags.costCenter || undefined }),
          // spread, not `undefined`: a later undefined would overwrite what teamBody set
          ...(flags.budget === false ? { monthly_budget_usd: null } : {}),
          ...(flags.costCenter === false ? { cost_center: null } : {}),
        }),
    );
  teams
    .command('disable')
    .argument('<teamId>')
    .description('disable a team: its keys stop working')
    .action((teamId: string) => call('PATCH', `/v1/admin/teams/${encodeURIComponent(teamId)}`, { status: 'disabled' }));
  teams
    .command('enable')
    .argument('<teamId>')
    .description('enable a disabled team again')
    .action((teamId: string) => call('PATCH', `/v1/admin/teams/${encodeURIComponent(teamId)}`, { status: 'active' }));

  const keys = program.command('keys').description('create, list, revoke, rotate API keys');
  keys
    .command('list')
    .argument('<teamId>')
    .description("list a team's keys (never their secrets)")
    .action((teamId: string) => call('GET', `/v1/admin/teams/${encodeURIComponent(teamId)}/keys`));
  keys
    .command('create')
    .argument('<teamId>')
    .description('issue a key; the key is printed once')
    .option('--name <name>', 'what the key is for')
    .option('--expires-at <iso>', 'expiry, ISO 8601')
    .option('--expires-in-days <days>', 'expiry, in days from now', integer)
    .option('--rpm <n>', 'requests per minute, at most the team’s', integer)
    .option('--tpm <n>', 'tokens per minute, at most the team’s', integer)
    .option('--models <list>', 'narrow the team’s allowed models', list)
    .action(
      (
        teamId: string,
        flags: {
          name?: string;
          expiresAt?: string;
          expiresInDays?: number;
          rpm?: number;
          tpm?: number;
          models?: string[];
        },
      ) => {
        const expiresAt =
          flags.expiresAt ??
          (flags.expiresInDays !== undefined
            ? new Date(Date.now() + flags.expiresInDays * 86_400_000).toISOString()
            : undefined);
        return call(
          'POST',
          `/v1/admin/teams/${encodeURIComponent(teamId)}/keys`,
          defined({
            name: flags.name,
            expires_at: expiresAt,
            requests_per_minute: flags.rpm,
            tokens_per_minute: flags.tpm,
            allowed_models: flags.models,
          }),
        );
      },
    );
  keys
    .command('revoke')
    .argument('<keyId>')
    .description('revoke a key')
    .action((keyId: string) => call('POST', `/v1/admin/keys/${encodeURIComponent(keyId)}/revoke`));
  keys
    .command('rotate')
    .argument('<keyId>')
    .description('new secret for a key; the old one works for the grace period')
    .option('--grace-seconds <seconds>', 'how long the old secret keeps working (default 86400)', integer)
    .action((keyId: string, flags: { graceSeconds?: number }) =>
      call(
        'POST',
        `/v1/admin/keys/${encodeURIComponent(keyId)}/rotate`,
        defined({ grace_period_seconds: flags.graceSeconds }),
      ),
    );

  program
    .command('usage')
    .argument('<teamId>')
    .description("a team's usage: totals, by model, by day, budget")
    .option('--days <n>', 'days back, today included (default 30)', integer)
    .action((teamId: string, flags: { days?: number }) =>
      call('GET', `/v1/admin/teams/${encodeURIComponent(teamId)}/usage${flags.days ? `?days=${flags.days}` : ''}`),
    );
  program
    .command('chargeback')
    .description('the monthly chargeback: cost per team × model (or × end user), totals per team and cost center')
    .option('--month <YYYY-MM>', 'month (default this one)', month)
    .option('--by-user', 'a line per team × end user instead of per team × model')
    .option('--out <file>', 'also save it as CSV (the same file GET /v1/admin/chargeback?format=csv returns)')
    .option('--json', 'print the JSON report instead of the table')
    .action(async (flags: { month?: string; byUser?: boolean; out?: string; json?: boolean }) => {
      const query = (format: string) =>
        `/v1/admin/chargeback?format=${format}${flags.month ? `&month=${flags.month}` : ''}${flags.byUser ? '&group_by=user' : ''}`;
      const report = (await client().request('GET', query('json'))) as unknown as ChargebackJson;
      if (flags.json) print(report);
      else io.stdout(chargebackTable(report));
      if (flags.out) {
        writeFileSync(path.resolve(io.cwd, flags.out), await client().requestText('GET', query('csv')));
        io.stdout(`saved ${flags.out}\n`);
      }
    });
  program
    .command('export')
    .description(
      'export the audit trail of a period as JSON Lines or CSV: admin changes, then request records with their policy decisions, redacted as stored',
    )
    .requiredOption('--from <date|instant>', 'start, inclusive: YYYY-MM-DD (from its first instant, UTC) or ISO 8601')
    .requiredOption('--to <date|instant>', 'end, inclusive: YYYY-MM-DD (to its last instant, UTC) or ISO 8601')
    .option('--team <teamId>', 'one team (default: every team)')
    .option('--format <format>', 'jsonl or csv (default jsonl)', exportFormat)
    .option('--page-size <n>', 'records per request (default 500, at most 1000)', integer)
    .option('--out <file>', 'write to this file (default: standard output)')
    .action(
      async (flags: { from: string; to: string; team?: string; format?: string; pageSize?: number; out?: string }) => {
        const query = defined({
          from: flags.from,
          to: flags.to,
          team: flags.team,
          format: flags.format,
          limit: flags.pageSize === undefined ? undefined : String(flags.pageSize),
        }) as Record<string, string>;
        const api = client();
        if (!flags.out) {
          await exportPages(api, query, io.stdout);
          return;
        }
        const { records, pages } = await exportToFile(path.resolve(io.cwd, flags.out), (write) =>
          exportPages(api, query, write),
        );
        io.stdout(`exported ${records} records in ${pages} pages to ${flags.out}\n`);
      },
    );
  const approvals = program.command('approvals').description("list, approve or reject a team's held tool calls");
  const approvalPath = (teamId: string, id?: string) =>
    `/v1/admin/teams/${encodeURIComponent(teamId)}/approvals${id ? `/${encodeURIComponent(id)}` : ''}`;
  approvals
    .command('list')
    .argument('<teamId>')
    .description('held tool calls, newest first, with their arguments and where each stands')
    .action((teamId: string) => call('GET', approvalPath(teamId)));
  for (const decision of ['approve', 'reject'] as const) {
    approvals
      .command(decision)
      .argument('<teamId>')
      .argument('<approvalId>')
      .description(`${decision} a held tool call (recorded in the admin audit trail)`)
      .action((teamId: string, id: string) => call('POST', `${approvalPath(teamId, id)}/${decision}`));
  }
  program
    .command('changes')
    .description('the admin audit trail, newest first')
    .option('--month <YYYY-MM>', 'month (default this one)', month)
    .option('--limit <n>', 'entries (default 50)', integer)
    .option('--cursor <cursor>', 'next_cursor of the previous page')
    .action((flags: { month?: string; limit?: number; cursor?: string }) => {
      const query = new URLSearchParams(defined(flags) as Record<string, string>).toString();
      return call('GET', `/v1/admin/changes${query ? `?${query}` : ''}`);
    });
  return program;
}

/**
 * Runs the CLI and returns its exit code: 0, or 1 with a one-line reason on stderr.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), io);
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof AdminApiError) {
      io.stderr(`error: ${error.message} (HTTP ${error.status}${error.code ? `, ${error.code}` : ''})\n`);
    } else {
      io.stderr(`error: ${(error as Error).message}\n`);
    }
    return 1;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: path.join(__dirname, '..'),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
