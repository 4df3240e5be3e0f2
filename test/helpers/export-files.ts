/**
 * Reading the compliance export back, as a consumer of its files would: JSON Lines line by line,
 * CSV by RFC 4180 (quoted cells with `""`, CRLF line ends) with its leading-quote marks undone.
 */

/** One exported record, as its JSON line has it. */
export type ExportedRow = Record<string, unknown> & { record_type: string; id: string; at: string };

/** The records of a JSON Lines text (empty lines ignored). */
export function parseJsonLines(text: string): ExportedRow[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as ExportedRow);
}

/** The rows of a CSV text, each a list of cells as written (quotes removed, `""` undone). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        cell += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else {
      cell += char;
    }
  }
  if (cell !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
  return rows;
}

/**
 * A CSV cell's stored text: the export marks text a spreadsheet would run as a formula, and text
 * that starts with a quote, with one leading `'`.
 */
export function unmarkCell(cell: string): string {
  return cell.startsWith("'") ? cell.slice(1) : cell;
}

/**
 * What the CSV cell of a JSON line's value holds once unmarked: empty for null, rule ids
 * space-separated, objects as JSON.
 */
export function cellOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join(' ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
