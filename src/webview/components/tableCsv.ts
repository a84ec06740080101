// "CSV…" on every data table of a panel: the table as shown (header rows merged, cell text) saved through the host's
// save dialog. One call per page (enableTableCsv); tables rendered later get their button too.
import { csvDocument } from '../../core/text/csv';
import { h } from './dom';

/** The table's cells as rows of text: one header row (grouped header rows joined per column), then the body. */
export function tableRows(table: HTMLTableElement): string[][] {
  const cellText = (c: HTMLTableCellElement): string => (c.dataset.csv ?? c.textContent ?? '').replace(/\s*★\s*/g, ' ').replace(/\s+/g, ' ').trim();
  const expand = (row: HTMLTableRowElement): string[] => {
    const out: string[] = [];
    for (const c of Array.from(row.cells)) for (let k = 0; k < Math.max(1, c.colSpan); k++) out.push(cellText(c));
    return out;
  };
  const headRows = table.tHead ? Array.from(table.tHead.rows).map(expand) : [];
  const width = Math.max(0, ...headRows.map((r) => r.length));
  const header = Array.from({ length: width }, (_, i) => {
    const parts: string[] = [];
    for (const r of headRows) if (r[i] && parts[parts.length - 1] !== r[i]) parts.push(r[i]);
    return parts.join(' ');
  });
  const body: string[][] = [];
  for (const tb of Array.from(table.tBodies)) for (const row of Array.from(tb.rows)) body.push(expand(row));
  return header.length ? [header, ...body] : body;
}

/** The table as a CSV document. */
export function tableCsv(table: HTMLTableElement): string {
  return csvDocument(tableRows(table));
}

/**
 * Adds a "CSV…" button before every `table.data-table` under `root` (not those marked `data-no-csv`) (now and whenever the page re-renders); it saves
 * the table through `save(suggestedName, text)` (the host's saveCsv request). `name(table)` gives the file's name.
 */
export function enableTableCsv(root: HTMLElement, save: (suggestedName: string, text: string) => Promise<unknown>, name: (table: HTMLTableElement) => string): void {
  const decorate = (): void => {
    for (const table of Array.from(root.querySelectorAll<HTMLTableElement>('table.data-table'))) {
      if (table.dataset.csvButton || table.dataset.noCsv !== undefined) continue;
      table.dataset.csvButton = '1';
      const anchor = table.parentElement?.classList.contains('table-x') || table.parentElement?.classList.contains('table-scroll') ? table.parentElement : table;
      const button = h('button', {
        type: 'button', class: 'table-csv', title: 'Save this table as CSV', 'aria-label': `Save the table ${table.id || ''} as CSV`.replace(/\s+/g, ' '),
        onclick: () => void save(`${name(table)}.csv`, tableCsv(table)),
      }, 'CSV…');
      // A table re-rendered in place keeps one button (the old one goes).
      if (anchor.previousElementSibling?.classList.contains('table-csv')) anchor.previousElementSibling.remove();
      anchor.before(button);
    }
  };
  decorate();
  new MutationObserver(decorate).observe(root, { childList: true, subtree: true });
}
