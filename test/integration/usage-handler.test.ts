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

  it('requires a key', async () => {
    expect((await gw.call('GET', '/v1/usage')).status).toBe(401);
  });
});
