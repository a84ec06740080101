// CSV (RFC 4180) for every export of the workbench: the study report, the panels' tables, the metrics command.
// One owner, so quoting and the formula guard are the same everywhere.

/**
 * One field: quoted when it holds a comma, a quote or a line break. A text cell a spreadsheet would run as a formula
 * (`=…`, `+…`, `-…`, `@…`, or a leading tab/CR) gets a leading apostrophe; numbers (−0.5, +1e3) are left alone.
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let t = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(t) && !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t.trim())) t = `'${t}`;
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** Rows (the first is the header) as a CSV document, `\n` line ends and a final newline. */
export function csvDocument(rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}
