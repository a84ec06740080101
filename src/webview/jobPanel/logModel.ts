// The job panel's log, without the DOM: the lines received so far (with a cap, oldest dropped), the search
// over them (kept up to date incrementally as lines arrive), and the windowing arithmetic of the virtualised
// list. Pure TypeScript: unit-tested in plain Node.

export interface LogBatchLike {
  generation: number;
  reset: boolean;
  lines: readonly string[];
  partial: string;
  skippedBytes?: number;
}

export interface Match {
  /** Absolute line number (0 = the first line ever held in this generation, dropped lines included). */
  line: number;
  start: number;
  end: number;
}

/** Lines held in memory; older ones are dropped beyond `maxLines` (the page says how many). */
export class LogStore {
  private lines: string[] = [];
  /** Absolute number of the first held line (lines dropped from the front so far). */
  private base = 0;
  partial = '';
  generation = 0;
  skippedBytes = 0;

  constructor(readonly maxLines = 500_000) {}

  /**
   * Applies a batch; returns how many lines were dropped from the front (0 usually). A batch of an older
   * generation (a late message from before the file was read again) is ignored.
   */
  apply(b: LogBatchLike): { reset: boolean; added: number; dropped: number; ignored?: boolean } {
    if (b.generation < this.generation) return { reset: false, added: 0, dropped: 0, ignored: true };
    let reset = false;
    if (b.reset || b.generation !== this.generation) {
      this.lines = [];
      this.base = 0;
      this.generation = b.generation;
      this.skippedBytes = b.skippedBytes ?? 0;
      reset = true;
    }
    for (const l of b.lines) this.lines.push(l);
    this.partial = b.partial;
    let dropped = 0;
    if (this.lines.length > this.maxLines) {
      dropped = this.lines.length - this.maxLines;
      this.lines.splice(0, dropped);
      this.base += dropped;
    }
    return { reset, added: b.lines.length, dropped };
  }

  /** Complete lines held. */
  get size(): number {
    return this.lines.length;
  }

  /** Rows to show: the held lines plus the partial last line, if any. */
  get rowCount(): number {
    return this.lines.length + (this.partial ? 1 : 0);
  }

  /** Lines dropped from the front (over maxLines). */
  get droppedLines(): number {
    return this.base;
  }

  /** Text of row `i` (0-based among the rows shown). */
  row(i: number): string {
    return i < this.lines.length ? this.lines[i] : i === this.lines.length ? this.partial : '';
  }

  /** Absolute line number of row i (for display: 1-based adds one). */
  absolute(i: number): number {
    return this.base + i;
  }

  /** Row index of an absolute line number, or -1 when it was dropped. */
  rowOf(absLine: number): number {
    const i = absLine - this.base;
    return i >= 0 && i < this.rowCount ? i : -1;
  }

  /** Text of rows [from, to] inclusive, joined with newlines. */
  text(from = 0, to = this.rowCount - 1): string {
    const out: string[] = [];
    for (let i = Math.max(0, from); i <= Math.min(to, this.rowCount - 1); i++) out.push(this.row(i));
    return out.join('\n');
  }
}

/** Finds every occurrence of `query` in `text` (non-overlapping). */
export function findInLine(text: string, query: string, caseSensitive: boolean): { start: number; end: number }[] {
  if (!query) return [];
  const hay = caseSensitive ? text : text.toLowerCase();
  const needle = caseSensitive ? query : query.toLowerCase();
  const out: { start: number; end: number }[] = [];
  let i = hay.indexOf(needle);
  while (i >= 0) {
    out.push({ start: i, end: i + needle.length });
    i = hay.indexOf(needle, i + Math.max(1, needle.length));
  }
  return out;
}

/**
 * The search over the log: every match (line, start, end) in order, the current one, next/previous with
 * wrap-around. `extend` scans only lines added since the last call; the partial last line is rescanned each
 * time (it grows). Matches on dropped lines are discarded.
 */
export class LogSearch {
  query = '';
  caseSensitive = false;
  matches: Match[] = [];
  current = -1;
  /** Absolute line up to which complete lines were scanned (exclusive). */
  private scanned = 0;
  private generation = -1;
  /** Matches on the partial line (absolute line = store's size + base). */
  private partialMatches = 0;

  set(store: LogStore, query: string, caseSensitive: boolean): void {
    const keepLine = this.current >= 0 ? this.matches[this.current]?.line : undefined;
    this.query = query;
    this.caseSensitive = caseSensitive;
    this.matches = [];
    this.partialMatches = 0;
    this.scanned = store.droppedLines;
    this.generation = store.generation;
    this.current = -1;
    this.extend(store);
    if (this.matches.length > 0) {
      // Stay near where the user was: the first match at or after the previous current line.
      const from = keepLine ?? 0;
      const idx = this.matches.findIndex((m) => m.line >= from);
      this.current = idx >= 0 ? idx : 0;
    }
  }

  /** Brings the matches up to date with the store (after a batch). */
  extend(store: LogStore): void {
    if (store.generation !== this.generation) {
      this.matches = [];
      this.current = -1;
      this.partialMatches = 0;
      this.scanned = store.droppedLines;
      this.generation = store.generation;
    }
    if (!this.query) return;
    // Drop the partial line's matches: it is scanned again below (as a line, once it is complete).
    if (this.partialMatches > 0) {
      this.matches.length -= this.partialMatches;
      this.partialMatches = 0;
      if (this.current >= this.matches.length) this.current = this.matches.length - 1;
    }
    // Discard matches on lines dropped from the front.
    const firstHeld = store.droppedLines;
    if (this.matches.length > 0 && this.matches[0].line < firstHeld) {
      const keep = this.matches.findIndex((m) => m.line >= firstHeld);
      const cut = keep < 0 ? this.matches.length : keep;
      this.matches.splice(0, cut);
      this.current = this.current < 0 ? -1 : Math.max(0, this.current - cut);
      if (this.matches.length === 0) this.current = -1;
    }
    const endAbs = store.droppedLines + store.size;
    for (let abs = Math.max(this.scanned, firstHeld); abs < endAbs; abs++) {
      const text = store.row(abs - firstHeld);
      for (const m of findInLine(text, this.query, this.caseSensitive)) this.matches.push({ line: abs, ...m });
    }
    this.scanned = endAbs;
    if (store.partial) {
      const found = findInLine(store.partial, this.query, this.caseSensitive);
      for (const m of found) this.matches.push({ line: endAbs, ...m });
      this.partialMatches = found.length;
    }
    if (this.current < 0 && this.matches.length > 0) this.current = 0;
  }

  /** Moves to the next (+1) or previous (−1) match, wrapping; returns the current match. */
  step(dir: 1 | -1): Match | undefined {
    if (this.matches.length === 0) return undefined;
    this.current = (this.current + dir + this.matches.length) % this.matches.length;
    return this.matches[this.current];
  }

  get currentMatch(): Match | undefined {
    return this.current >= 0 ? this.matches[this.current] : undefined;
  }

  /** Matches on one absolute line (for highlighting a rendered row), with their indices. */
  onLine(absLine: number): { index: number; match: Match }[] {
    // Binary search for the first match on the line.
    let lo = 0;
    let hi = this.matches.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.matches[mid].line < absLine) lo = mid + 1;
      else hi = mid;
    }
    const out: { index: number; match: Match }[] = [];
    for (let i = lo; i < this.matches.length && this.matches[i].line === absLine; i++) out.push({ index: i, match: this.matches[i] });
    return out;
  }
}

export interface WindowInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  rowCount: number;
  /** Extra rows rendered above and below the viewport. */
  overscan?: number;
}

/** Rows to render for a scroll position: [first, last] inclusive (last < first when there are none). */
export function visibleRange(w: WindowInput): { first: number; last: number } {
  if (w.rowCount <= 0 || w.rowHeight <= 0) return { first: 0, last: -1 };
  const over = w.overscan ?? 10;
  const top = Math.max(0, w.scrollTop);
  const first = Math.max(0, Math.floor(top / w.rowHeight) - over);
  const last = Math.min(w.rowCount - 1, Math.ceil((top + Math.max(0, w.viewportHeight)) / w.rowHeight) + over);
  return { first: Math.min(first, w.rowCount - 1), last };
}

/** The scrollTop that shows `row` (unchanged when it is visible already; else it is brought to ~1/3 from the top). */
export function scrollToShow(row: number, scrollTop: number, viewportHeight: number, rowHeight: number): number {
  const top = row * rowHeight;
  const bottom = top + rowHeight;
  if (top >= scrollTop && bottom <= scrollTop + viewportHeight) return scrollTop;
  return Math.max(0, top - Math.floor(viewportHeight / 3));
}

/** Whether the list is scrolled to (within `slack` px of) the bottom: following the tail. */
export function atBottom(scrollTop: number, viewportHeight: number, scrollHeight: number, slack = 4): boolean {
  return scrollTop + viewportHeight >= scrollHeight - slack;
}

/** How a log line is coloured: errors, warnings, the run's milestones, or plain. */
export function lineKind(text: string): 'error' | 'warn' | 'milestone' | 'plain' {
  if (/\b(FAILED|ERROR|Error:|stderr:)/.test(text)) return 'error';
  if (/\b(WARN|WARNING|CANCELLED)\b/.test(text)) return 'warn';
  if (/\b(STARTED|EPOCH|FINISHED|DRY RUN)\b/.test(text)) return 'milestone';
  return 'plain';
}
