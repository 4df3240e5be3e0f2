import {
  buildChargeback,
  chargebackCsv,
  chargebackView,
  monthDays,
  teamLines,
} from '../../lambdas/shared/usage/chargeback';
import type { TeamUsageReport } from '../../lambdas/shared/usage/reader';
import { addTotals, emptyTotals } from '../../lambdas/shared/usage/record';

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
    expect(report.lines.map((l) => `${l.teamId}/${'model' in l ? l.model : ''}`)).toEqual([
      'a/m1',
      'a/m2',
      'b/m1',
      'c/m1',
    ]);
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

  describe('per end user', () => {
    /** A team's month with these users (null: requests naming none), each on one model. */
    const byUsers = (teamId: string, rows: [string | null, number, bigint][]): TeamUsageReport => {
      const totalsOf = ([, requests, costPicos]: [string | null, number, bigint]) => ({
        ...emptyTotals(),
        requests,
        costPicos,
      });
      const byUser = rows.flatMap((row) => (row[0] === null ? [] : [{ endUser: row[0], ...totalsOf(row) }]));
      const withoutUser = rows
        .filter((row) => row[0] === null)
        .reduce((sum, row) => addTotals(sum, totalsOf(row)), emptyTotals());
      const totals = rows.reduce((sum, row) => addTotals(sum, totalsOf(row)), emptyTotals());
      return {
        teamId,
        from: '2026-11-01',
        to: '2026-11-30',
        totals,
        byModel: [{ model: 'm', ...totals }],
        byDay: [],
        byVariant: [],
        byUser,
        withoutUser,
      };
    };
    const teams = [
      { teamId: 'a', name: 'A', costCenter: 'cc1' },
      { teamId: 'b', name: 'B', costCenter: 'cc1' },
    ];
    const usageByTeam = new Map([
      [
        'a',
        byUsers('a', [
          ['zoe', 1, 3n],
          ['=cmd|x', 2, 1_000_000_000_007n],
          [null, 4, 5n],
        ]),
      ],
      ['b', byUsers('b', [['bob#admin', 1, 11n]])],
    ]);

    it('lists a team’s users by id, then its requests without one; lines sum to the team exactly', () => {
      expect(teamLines(usageByTeam.get('a')!, 'user').map((line) => ('endUser' in line ? line.endUser : '?'))).toEqual([
        '=cmd|x',
        'zoe',
        null,
      ]);
      // No line without a user when every request named one.
      expect(teamLines(usageByTeam.get('b')!, 'user')).toHaveLength(1);
      const report = buildChargeback('2026-11', teams, usageByTeam, 'user');
      for (const team of report.teams) {
        const lines = report.lines.filter((line) => line.teamId === team.teamId);
        const { teamId: _id, teamName: _name, costCenter: _center, ...totals } = team;
        expect(lines.reduce((sum, line) => addTotals(sum, line), emptyTotals())).toEqual(totals);
      }
      expect(report.totals.costPicos).toBe(1_000_000_000_026n);
      // The per-user report totals the same as the per-model one.
      const perModel = buildChargeback('2026-11', teams, usageByTeam);
      expect(report.teams).toEqual(perModel.teams);
      expect(report.totals).toEqual(perModel.totals);
    });

    it('names the user in JSON (null for none) and in a CSV `user` column (empty for none)', () => {
      const report = buildChargeback('2026-11', teams, usageByTeam, 'user');
      const view = chargebackView(report);
      expect(view.group_by).toBe('user');
      expect(view.lines.map((line) => ('user' in line ? line.user : '?'))).toEqual([
        '=cmd|x',
        'zoe',
        null,
        'bob#admin',
      ]);
      expect(view.lines[2]).toMatchObject({ team: 'a', requests: 4, cost_picos: '5', cost_usd: '0.000000000005' });
      const csv = chargebackCsv(report).split('\r\n');
      expect(csv[0]).toBe(
        'month,row_type,cost_center,team,team_name,user,requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_picos,cost_usd,cache_hits,saved_picos,saved_usd',
      );
      expect(csv.slice(1, 5)).toEqual([
        `2026-11,line,cc1,a,A,'=cmd|x,2,0,0,0,0,0,1000000000007,1.000000000007,0,0,0.000000`,
        '2026-11,line,cc1,a,A,zoe,1,0,0,0,0,0,3,0.000000000003,0,0,0.000000',
        '2026-11,line,cc1,a,A,,4,0,0,0,0,0,5,0.000000000005,0,0,0.000000',
        '2026-11,line,cc1,b,B,bob#admin,1,0,0,0,0,0,11,0.000000000011,0,0,0.000000',
      ]);
      expect(csv).toContain('2026-11,team_total,cc1,a,A,,7,0,0,0,0,0,1000000000015,1.000000000015,0,0,0.000000');
    });
  });
});
