import { buildChargeback, chargebackCsv, monthDays } from '../../lambdas/shared/usage/chargeback';
import type { TeamUsageReport } from '../../lambdas/shared/usage/reader';
import { emptyTotals } from '../../lambdas/shared/usage/record';

const usage = (teamId: string, rows: [string, number, bigint][]): TeamUsageReport => {
  const byModel = rows.map(([model, requests, costPicos]) => ({ ...emptyTotals(), model, requests, costPicos }));
  const totals = byModel.reduce(
    (t, r) => ({ ...t, requests: t.requests + r.requests, costPicos: t.costPicos + r.costPicos }),
    emptyTotals(),
  );
  return {
    teamId,
    from: '2026-11-01',
    to: '2026-11-30',
    totals,
    byModel,
    byDay: [],
    byVariant: [],
    byUser: [],
    withoutUser: totals,
  };
};

describe('chargeback', () => {
  it('knows month lengths, leap years included', () => {
    expect(monthDays('2026-11')).toEqual({ from: '2026-11-01', to: '2026-11-30' });
    expect(monthDays('2028-02')).toEqual({ from: '2028-02-01', to: '2028-02-29' });
    expect(monthDays('2026-12')).toEqual({ from: '2026-12-01', to: '2026-12-31' });
  });

  it('totals per team, per cost center and overall from the same integers; idle teams left out', () => {
    const report = buildChargeback(
      '2026-11',
      [
        { teamId: 'b', name: 'B', costCenter: 'cc1' },
        { teamId: 'a', name: 'A', costCenter: 'cc1' },
        { teamId: 'c', name: 'C' },
        { teamId: 'idle', name: 'Idle', costCenter: 'cc2' },
      ],
      new Map([
        [
          'a',
          usage('a', [
            ['m2', 2, 7n],
            ['m1', 1, 3n],
          ]),
        ],
        ['b', usage('b', [['m1', 4, 1_000_001_000_000n]])],
        ['c', usage('c', [['m1', 1, 5n]])],
        ['idle', usage('idle', [])],
      ]),
    );
    expect(report.lines.map((l) => `${l.teamId}/${l.model}`)).toEqual(['a/m1', 'a/m2', 'b/m1', 'c/m1']);
    expect(report.teams.map((t) => [t.teamId, t.costPicos])).toEqual([
      ['a', 10n],
      ['b', 1_000_001_000_000n],
      ['c', 5n],
    ]);
    expect(report.costCenters.map((c) => [c.costCenter, c.costPicos])).toEqual([
      ['(unassigned)', 5n],
      ['cc1', 1_000_001_000_010n],
    ]);
    expect(report.totals.costPicos).toBe(1_000_001_000_015n);
    const csv = chargebackCsv(report);
    expect(csv.split('\r\n')[0]).toBe(
      'month,row_type,cost_center,team,team_name,model,requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_picos,cost_usd,cache_hits,saved_picos,saved_usd',
    );
    // Exact to the pico-dollar, never rounded: five sub-micro-dollar picos still show in the total.
    expect(csv).toContain('2026-11,team_total,cc1,b,B,,4,0,0,0,0,0,1000001000000,1.000001,0,0,0.000000\r\n');
    expect(csv).toContain('2026-11,line,cc1,a,A,m2,2,0,0,0,0,0,7,0.000000000007,0,0,0.000000\r\n');
    expect(csv).toContain('2026-11,total,,,,,8,0,0,0,0,0,1000001000015,1.000001000015,0,0,0.000000\r\n');
  });

  it('quotes CSV cells and defuses spreadsheet formulas in names', () => {
    const report = buildChargeback(
      '2026-11',
      [{ teamId: 'x', name: '=HYPERLINK("http://evil","click"), "quoted"', costCenter: '+cc' }],
      new Map([['x', usage('x', [['m', 1, 1_000_000n]])]]),
    );
    const line = chargebackCsv(report).split('\r\n')[1]!;
    expect(line).toBe(
      `2026-11,line,'+cc,x,"'=HYPERLINK(""http://evil"",""click""), ""quoted""",m,1,0,0,0,0,0,1000000,0.000001,0,0,0.000000`,
    );
  });
});
