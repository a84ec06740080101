// Plain-text tables (the CLI's, a score's summary): upper-case head, columns padded to their widest cell, two spaces apart.

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head.map((h) => h.toUpperCase())), ...rows.map(line)].join('\n');
}
