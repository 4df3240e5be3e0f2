/**
 * UTC days and months, the gateway's accounting periods: ledger partitions and aggregates are
 * per UTC day and month, budgets per UTC calendar month. Every module names a period through
 * these helpers instead of slicing ISO strings by hand.
 */

/**
 * The UTC day (`YYYY-MM-DD`) of an ISO timestamp.
 *
 * @example
 * dayOf('2026-11-29T23:59:59.999Z') // '2026-11-29'
 */
export function dayOf(isoTimestamp: string): string {
  return isoTimestamp.slice(0, 10);
}

/**
 * The UTC month (`YYYY-MM`) of an ISO timestamp or day.
 *
 * @example
 * monthOf('2026-11-29') // '2026-11'
 */
export function monthOf(isoTimestampOrDay: string): string {
  return isoTimestampOrDay.slice(0, 7);
}

/**
 * The UTC day of an instant (epoch ms).
 *
 * @example
 * dayAt(Date.UTC(2026, 10, 29, 12)) // '2026-11-29'
 */
export function dayAt(epochMs: number): string {
  return dayOf(new Date(epochMs).toISOString());
}

/**
 * The UTC month of an instant (epoch ms).
 *
 * @example
 * monthAt(Date.UTC(2026, 10, 29, 12)) // '2026-11'
 */
export function monthAt(epochMs: number): string {
  return monthOf(new Date(epochMs).toISOString());
}

/**
 * The first day of the month after `month` (`YYYY-MM`): when a monthly budget resets.
 *
 * @example
 * nextMonthStart('2026-12') // '2027-01-01'
 */
export function nextMonthStart(month: string): string {
  const [year, mon] = month.split('-').map(Number) as [number, number];
  return dayAt(Date.UTC(year, mon, 1));
}

/**
 * The UTC months (`YYYY-MM`) from the month of `from` to the month of `to`, oldest first.
 *
 * @example
 * monthsBetween('2026-11-15T00:00:00Z', '2027-01-02') // ['2026-11', '2026-12', '2027-01']
 */
export function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  for (let month = monthOf(from); month <= monthOf(to); month = monthOf(nextMonthStart(month))) months.push(month);
  return months;
}
