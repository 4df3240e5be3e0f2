import { createTestGateway, type TestGateway } from '../helpers/test-gateway';

describe('usage Lambda against DynamoDB Local', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await createTestGateway();
  });
  afterAll(() => gw.destroy());

  it("reports the caller's own team only: totals and by model", async () => {
    const a = (await gw.createTeam()).teamId;
    const b = (await gw.createTeam()).teamId;
    const keyA = (await gw.issueKey(a)).plaintext;
    const keyB = (await gw.issueKey(b)).plaintext;
    const costs: bigint[] = [];
    for (const model of ['mock-small', 'mock-small', 'mock-large']) {
      const res = await gw.call('POST', '/v1/chat/completions', {
        key: keyA,
        body: { model, messages: [{ role: 'user', content: 'hi' }] },
      });
      costs.push(BigInt(res.body.gateway.cost_picos));
    }
    await gw.call('POST', '/v1/chat/completions', {
      key: keyB,
      body: { model: 'mock-small', messages: [{ role: 'user', content: 'b' }] },
    });

    const res = await gw.call('GET', '/v1/usage?days=7', { key: keyA });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'usage_report', team: a });
    expect(res.body.totals.requests).toBe(3);
    expect(res.body.totals.cost_picos).toBe(String(costs.reduce((x, y) => x + y, 0n)));
    expect(res.body.by_model.map((m: { model: string; requests: number }) => [m.model, m.requests]).sort()).toEqual([
      ['mock-large', 1],
      ['mock-small', 2],
    ]);
    expect(res.body.by_day).toHaveLength(1);
    const other = await gw.call('GET', '/v1/usage', { key: keyB });
    expect(other.body.totals.requests).toBe(1);
    expect(other.body.team).toBe(b);
  });

  it('ignores any attempt to name another team and validates days', async () => {
    const a = (await gw.createTeam()).teamId;
    const keyA = (await gw.issueKey(a)).plaintext;
    expect((await gw.call('GET', '/v1/usage?team=payments', { key: keyA })).status).toBe(400);
    expect((await gw.call('GET', '/v1/usage?days=0', { key: keyA })).status).toBe(400);
    expect((await gw.call('GET', '/v1/usage?days=abc', { key: keyA })).status).toBe(400);
    const res = await gw.call('GET', '/v1/usage?days=3', { key: keyA });
    expect(res.status).toBe(200);
    const days = (Date.parse(res.body.to) - Date.parse(res.body.from)) / 86_400_000;
    expect(days).toBe(2);
  });

  describe('per end user', () => {
    const hashUser = 'ops#42';
    const longUser = 'ü'.repeat(256);
    /** Chats naming their end user in OpenAI's `user`, messages in Anthropic's `metadata.user_id`, or neither. */
    const calls: { user: string | null; face: 'openai' | 'anthropic'; model: string }[] = [
      { user: 'alice', face: 'openai', model: 'mock-small' },
      { user: 'alice', face: 'anthropic', model: 'mock-large' },
      { user: hashUser, face: 'openai', model: 'mock-large' },
      { user: longUser, face: 'openai', model: 'mock-small' },
      { user: null, face: 'openai', model: 'mock-small' },
      { user: null, face: 'anthropic', model: 'mock-small' },
    ];
    let teamId: string;
    let key: string;
    const costs = new Map<string | null, bigint>();
    const requests = new Map<string | null, number>();
    beforeAll(async () => {
      teamId = (await gw.createTeam()).teamId;
      key = (await gw.issueKey(teamId)).plaintext;
      for (const { user, face, model } of calls) {
        const res =
          face === 'openai'
            ? await gw.call('POST', '/v1/chat/completions', {
                key,
                body: { model, messages: [{ role: 'user', content: 'hi' }], ...(user ? { user } : {}) },
              })
            : await gw.call('POST', '/v1/messages', {
                key,
                body: {
                  model,
                  max_tokens: 64,
                  messages: [{ role: 'user', content: 'hi' }],
                  ...(user ? { metadata: { user_id: user } } : {}),
                },
              });
        expect(res.status).toBe(200);
        const cost = await lastCallCost();
        costs.set(user, (costs.get(user) ?? 0n) + cost);
        requests.set(user, (requests.get(user) ?? 0) + 1);
      }
    });

    /** The team's cost so far minus what the calls before counted: the last call's exact cost. */
    async function lastCallCost(): Promise<bigint> {
      const report = await gw.call('GET', '/v1/usage?days=1', { key });
      const counted = [...costs.values()].reduce((sum, cost) => sum + cost, 0n);
      return BigInt(report.body.totals.cost_picos) - counted;
    }

    it('reports by_user as the other groupings, costliest first, without the requests naming no user', async () => {
      const res = await gw.call('GET', '/v1/usage?days=1', { key });
      expect(res.status).toBe(200);
      const byUser = res.body.by_user as ({ user: string } & Record<string, unknown>)[];
      expect(byUser.map((row) => row.user).sort()).toEqual(['alice', hashUser, longUser].sort());
      for (const row of byUser) {
        expect(Object.keys(row)).toEqual(['user', ...Object.keys(res.body.by_model[0]).filter((k) => k !== 'model')]);
        expect(row).toMatchObject({ requests: requests.get(row.user), cost_picos: String(costs.get(row.user)) });
      }
      const ordered = [...byUser].sort(
        (a, b) => Number(BigInt(String(b.cost_picos)) - BigInt(String(a.cost_picos))) || a.user.localeCompare(b.user),
      );
      expect(byUser).toEqual(ordered);
      const named = byUser.reduce((sum, row) => sum + BigInt(String(row.cost_picos)), 0n);
      expect(BigInt(res.body.totals.cost_picos) - named).toBe(costs.get(null));
      expect(res.body.totals.requests).toBe(calls.length);
    });

    it('charges back per team × user, JSON and CSV, the team total the exact sum of its lines', async () => {
      const json = await gw.call('GET', '/v1/admin/chargeback?group_by=user', { admin: true });
      expect(json.status).toBe(200);
      expect(json.body.group_by).toBe('user');
      const lines = (json.body.lines as ({ team: string; user: string | null } & Record<string, unknown>)[]).filter(
        (line) => line.team === teamId,
      );
      expect(lines.map((line) => line.user)).toEqual([...['alice', hashUser, longUser].sort(), null]);
      for (const line of lines) {
        expect(line).toMatchObject({ requests: requests.get(line.user), cost_picos: String(costs.get(line.user)) });
        expect(line).not.toHaveProperty('model');
      }
      const team = (json.body.teams as { team: string; cost_picos: string; requests: number }[]).find(
        (t) => t.team === teamId,
      )!;
      const exact = [...costs.values()].reduce((sum, cost) => sum + cost, 0n);
      expect(team.cost_picos).toBe(String(exact));
      expect(lines.reduce((sum, line) => sum + BigInt(String(line.cost_picos)), 0n)).toBe(exact);
      expect(lines.reduce((sum, line) => sum + Number(line.requests), 0)).toBe(team.requests);
      // Grouping changes the lines only: every team's total is the per-model report's.
      const perModel = await gw.call('GET', '/v1/admin/chargeback', { admin: true });
      expect(perModel.body.group_by).toBe('team');
      expect(json.body.teams).toEqual(perModel.body.teams);
      expect(json.body.totals).toEqual(perModel.body.totals);

      const csv = await gw.call('GET', '/v1/admin/chargeback?group_by=user&format=csv', { admin: true });
      expect(csv.status).toBe(200);
      const rows = (csv.body as string).split('\r\n').filter(Boolean);
      const header = rows[0]!.split(',');
      expect(header[5]).toBe('user');
      const mine = rows.filter((row) => row.includes(`,${teamId},`));
      const lineRows = mine.filter((row) => row.split(',')[1] === 'line');
      const costColumn = header.indexOf('cost_picos');
      // Quoted cells hold no comma here, so splitting finds every column.
      const cells = lineRows.map((row) => row.split(','));
      expect(cells.map((c) => c[5])).toEqual([...['alice', hashUser, longUser].sort(), '']);
      const csvSum = cells.reduce((sum, c) => sum + BigInt(c[costColumn]!), 0n);
      const total = mine.find((row) => row.split(',')[1] === 'team_total')!.split(',');
      expect(csvSum).toBe(exact);
      expect(BigInt(total[costColumn]!)).toBe(exact);
    });

    it('refuses an unknown group_by', async () => {
      const res = await gw.call('GET', '/v1/admin/chargeback?group_by=model', { admin: true });
      expect(res.status).toBe(400);
    });
  });

  it('requires a key', async () => {
    expect((await gw.call('GET', '/v1/usage')).status).toBe(401);
  });
});
