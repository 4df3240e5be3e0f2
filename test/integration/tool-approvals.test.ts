import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { GatewayConfigInput } from '../../lambdas/shared/catalog/schema';
import { runCli, type CliIo } from '../../bin/gateway-admin';
import { InMemoryApprovalNotifier } from '../../lambdas/shared/approvals/notifier';
import type { LocalGateway } from '../../local/local-gateway';
import { createTestGateway } from '../helpers/test-gateway';
import { testConfig } from '../helpers/config';
import { adminFetch, teamWithKey } from '../helpers/local-admin';
import { startTestLocalGateway } from '../helpers/local-gateway';

/**
 * Human approval of risky tool calls, end to end with the official clients and the mock model
 * (which calls the tool a user names): a held call never reaches the client, streamed or not, on
 * either face; an approver approves or rejects it through the admin API (recorded with who and
 * when); the client resends with the approval id and receives the call, once; rejected, expired,
 * pending or another key's calls are never released; a blocked call is removed and the answer says so.
 */

const config: GatewayConfigInput = {
  ...testConfig,
  policies: {
    profiles: {
      default: {
        toolRules: [
          { id: 'destructive', tools: ['drop_*', 'delete_*'], action: 'require_approval' },
          { id: 'no-iam', tools: ['*'], argumentsPattern: '\\biam\\b', action: 'block' },
        ],
        approvals: { ttlSeconds: 600 },
      },
      // The same rules with calls that expire in 2 s, for the expiry test only.
      brief: {
        toolRules: [{ id: 'destructive', tools: ['drop_*', 'delete_*'], action: 'require_approval' }],
        approvals: { ttlSeconds: 2 },
      },
      // Only a named approver role may decide this profile's calls.
      strict: {
        toolRules: [{ id: 'destructive', tools: ['drop_*'], action: 'require_approval' }],
        approvals: { approvers: ['arn:aws:iam::123456789012:role/Approver'] },
      },
    },
  },
};

const TOOLS = ['drop_table', 'put_policy', 'list_tables'].map((name) => ({
  type: 'function' as const,
  function: { name, parameters: { type: 'object', properties: { input: { type: 'string' } } } },
}));

describe('tool-call approvals through the local gateway', () => {
  let gateway: LocalGateway;
  let client: OpenAI;

  beforeAll(async () => {
    gateway = await startTestLocalGateway('approvals', {
      config,
    });
    client = clientFor(gateway.demoKey);
  });
  afterAll(() => gateway.stop());

  const clientFor = (key: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });

  const ask = (content: string, approval?: string, sdk = client) =>
    sdk.chat.completions
      .create(
        { model: 'mock-small', messages: [{ role: 'user', content }], tools: TOOLS },
        approval ? { headers: { 'x-gateway-approval': approval } } : {},
      )
      .withResponse();
  const approvalIn = (text: string | null | undefined) => /held for approval (apr_[a-z0-9]{20})/.exec(text ?? '')?.[1];
  const admin = async (method: string, path: string) => {
    const response = await adminFetch(gateway, method, path);
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };
  const decide = (id: string, decision: 'approve' | 'reject') =>
    admin('POST', `/v1/admin/teams/${gateway.demoTeamId}/approvals/${id}/${decision}`);

  it('holds a matching call, and releases it once, after approval, to the key that asked', async () => {
    const held = await ask('please drop_table orders');
    const choice = held.data.choices[0]!;
    expect(choice.message.tool_calls ?? []).toEqual([]);
    expect(choice.finish_reason).toBe('stop');
    const id = approvalIn(choice.message.content)!;
    expect(id).toBeDefined();
    expect(choice.message.content).toContain('rule tool:destructive');

    // Not approved yet: not released.
    await expect(ask('please drop_table orders', id)).rejects.toMatchObject({
      status: 403,
      code: 'approval_not_granted',
    });
    const listed = await admin('GET', `/v1/admin/teams/${gateway.demoTeamId}/approvals`);
    expect(listed.body['data']).toContainEqual(
      expect.objectContaining({
        approval_id: id,
        tool: 'drop_table',
        status: 'pending',
        arguments: expect.any(String),
      }),
    );

    const approved = await decide(id, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.body['approval']).toMatchObject({ status: 'approved', decided_by: expect.any(String) });

    // Another key of the same team cannot take it.
    const issued = await adminFetch(gateway, 'POST', `/v1/admin/teams/${gateway.demoTeamId}/keys`, { name: 'other' });
    const other = clientFor(((await issued.json()) as { key: string }).key);
    await expect(ask('please drop_table orders', id, other)).rejects.toMatchObject({ status: 404 });

    const released = await ask('please drop_table orders', id);
    expect(released.data.choices[0]!.finish_reason).toBe('tool_calls');
    expect(released.data.choices[0]!.message.tool_calls).toEqual([
      expect.objectContaining({
        type: 'function',
        function: { name: 'drop_table', arguments: JSON.stringify({ input: 'please drop_table orders' }) },
      }),
    ]);
    // Once only.
    await expect(ask('please drop_table orders', id)).rejects.toMatchObject({ status: 403 });

    // The decision is in the admin audit trail with who and when; the release in the request audit.
    const changes = await admin('GET', '/v1/admin/changes');
    expect(changes.body['data']).toContainEqual(
      expect.objectContaining({ action: 'approval.approve', team: gateway.demoTeamId }),
    );
    const audit = (await fetch(`${gateway.url}/v1/audit?limit=50`, {
      headers: { authorization: `Bearer ${gateway.demoKey}` },
    }).then((r) => r.json())) as { data: { rule_ids: string[] }[] };
    expect(audit.data.some((entry) => entry.rule_ids.includes(`approval:${id}`))).toBe(true);
  });

  it.each([
    ['buffered', () => gateway.url],
    ['streaming', () => gateway.streamUrl],
  ] as const)('never streams any part of a held call (%s door, both faces)', async (_, base) => {
    const stream = await new OpenAI({
      baseURL: `${base()}/v1`,
      apiKey: gateway.demoKey,
      maxRetries: 0,
    }).chat.completions.create({
      model: 'mock-small',
      stream: true,
      messages: [{ role: 'user', content: 'please drop_table users' }],
      tools: TOOLS,
    });
    const chunks: string[] = [];
    for await (const chunk of stream) chunks.push(JSON.stringify(chunk));
    // No chunk carries a tool call; the text carries the notice.
    expect(chunks.join('')).not.toContain('"tool_calls"');
    expect(approvalIn(chunks.join(''))).toBeDefined();
    const held = await new Anthropic({ baseURL: base(), apiKey: gateway.demoKey, maxRetries: 0 }).messages
      .stream({
        model: 'mock-small',
        max_tokens: 200,
        messages: [{ role: 'user', content: 'please drop_table users' }],
        tools: [{ name: 'drop_table', input_schema: { type: 'object', properties: {} } }],
      })
      .finalMessage();
    expect(held.content.some((block) => block.type === 'tool_use')).toBe(false);
    expect(held.stop_reason).toBe('end_turn');
    const text = held.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    expect(approvalIn(text)).toBeDefined();
  });

  it('never releases a rejected or expired call', async () => {
    const rejectedId = approvalIn((await ask('drop_table a')).data.choices[0]!.message.content)!;
    expect((await decide(rejectedId, 'reject')).body['approval']).toMatchObject({ status: 'rejected' });
    await expect(ask('drop_table a', rejectedId)).rejects.toMatchObject({ status: 403 });
    expect((await decide(rejectedId, 'approve')).status).toBe(409);

    const brief = clientFor(await teamWithKey(gateway, { id: 'brief', policy_profile: 'brief' }));
    const expiringId = approvalIn((await ask('drop_table b', undefined, brief)).data.choices[0]!.message.content)!;
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await admin('POST', `/v1/admin/teams/brief/approvals/${expiringId}/approve`)).status).toBe(409);
    await expect(ask('drop_table b', expiringId, brief)).rejects.toMatchObject({ status: 403 });
    const listed = await admin('GET', '/v1/admin/teams/brief/approvals');
    expect(listed.body['data']).toContainEqual(expect.objectContaining({ approval_id: expiringId, status: 'expired' }));
  });

  it('removes a blocked call and says so; lets other calls through', async () => {
    const blocked = await ask('put_policy for iam admins');
    expect(blocked.data.choices[0]!.message.tool_calls ?? []).toEqual([]);
    expect(blocked.data.choices[0]!.message.content).toContain(
      '`put_policy` was blocked by the policy (rule tool:no-iam)',
    );
    const allowed = await ask('list_tables please');
    expect(allowed.data.choices[0]!.message.tool_calls?.[0]).toMatchObject({ function: { name: 'list_tables' } });
    expect(allowed.data.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('lets an approver list and approve held calls with the admin CLI', async () => {
    const id = approvalIn((await ask('drop_table via cli')).data.choices[0]!.message.content)!;
    const out: string[] = [];
    const io: CliIo = { stdout: (t) => out.push(t), stderr: () => undefined, env: {}, cwd: '/nonexistent' };
    const cli = (...args: string[]) => runCli(['--url', gateway.url, '--admin-token', gateway.adminToken, ...args], io);
    expect(await cli('approvals', 'list', gateway.demoTeamId)).toBe(0);
    expect(out.join('')).toContain(id);
    expect(await cli('approvals', 'approve', gateway.demoTeamId, id)).toBe(0);
    const released = await ask('drop_table via cli', id);
    expect(released.data.choices[0]!.message.tool_calls).toHaveLength(1);
  });

  it("refuses an admin who is not one of the profile's named approvers", async () => {
    const strict = clientFor(await teamWithKey(gateway, { id: 'strict', policy_profile: 'strict' }));
    const id = approvalIn((await ask('drop_table t', undefined, strict)).data.choices[0]!.message.content)!;
    const refused = await admin('POST', `/v1/admin/teams/strict/approvals/${id}/approve`);
    expect(refused.status).toBe(403);
    await expect(ask('drop_table t', id, strict)).rejects.toMatchObject({ status: 403 });
  });

  it('refuses a malformed approval header with a 400 naming it', async () => {
    await expect(ask('hi', 'not-an-id')).rejects.toMatchObject({ status: 400, param: 'x-gateway-approval' });
  });
});

describe('approver notification', () => {
  it('tells approvers a call waits, with ids and names but never the arguments', async () => {
    const notifier = new InMemoryApprovalNotifier();
    const gw = await createTestGateway({ config, approvalNotifier: notifier });
    try {
      const team = await gw.createTeam();
      const { plaintext } = await gw.issueKey(team.teamId);
      const response = await gw.call('POST', '/v1/chat/completions', {
        key: plaintext,
        body: {
          model: 'mock-small',
          messages: [{ role: 'user', content: 'drop_table secret_customers' }],
          tools: TOOLS,
        },
      });
      expect(response.status).toBe(200);
      expect(notifier.events).toEqual([
        expect.objectContaining({
          teamId: team.teamId,
          tool: 'drop_table',
          ruleId: 'tool:destructive',
          model: 'mock-small',
        }),
      ]);
      expect(response.body.choices[0].message.content).toContain(notifier.events[0]!.approvalId);
      expect(JSON.stringify(notifier.events)).not.toContain('secret_customers');
    } finally {
      gw.destroy();
    }
  });
});
