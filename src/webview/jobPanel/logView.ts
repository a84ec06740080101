// The job panel's live log: a windowed list (only the rows in view, plus a few, are in the DOM, so a
// 100,000-line log scrolls as fast as a short one), batches of lines appended at most once per frame, a
// follow-tail toggle that turns itself off when the user scrolls up and on again at the bottom, search with
// highlighted matches and next/previous, and copying (the lines selected by clicking their numbers, the text
// selected with the mouse, or the whole file).
import { h } from '../components/dom';
import { LogSearch, LogStore, atBottom, lineKind, scrollToShow, visibleRange, type LogBatchLike } from './logModel';

export interface LogViewOptions {
  /** Copies text through the host (clipboard). */
  copyText: (text: string) => Promise<void>;
  /** Copies the whole file through the host. */
  copyAll: () => Promise<string>;
  openInEditor: () => void;
  /** Persisted settings changed. */
  onSettings: (s: LogViewSettings) => void;
  settings: Partial<LogViewSettings>;
}

export interface LogViewSettings {
  follow: boolean;
  query: string;
  caseSensitive: boolean;
}

export interface LogStats {
  batches: number;
  linesReceived: number;
  handleMs: number;
  maxHandleMs: number;
  renders: number;
  maxRenderMs: number;
}

export class LogView {
  readonly root: HTMLElement;
  readonly store = new LogStore();
  readonly search = new LogSearch();
  readonly stats: LogStats = { batches: 0, linesReceived: 0, handleMs: 0, maxHandleMs: 0, renders: 0, maxRenderMs: 0 };
  /** The log's file name (train.log; recon.log for a Phase F job). */
  logName = 'train.log';
  follow: boolean;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly rowsEl: HTMLElement;
  private readonly status: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly searchInput: HTMLInputElement;
  private readonly caseBox: HTMLInputElement;
  private readonly followBox: HTMLInputElement;
  private readonly countEl: HTMLElement;
  private readonly copySelBtn: HTMLButtonElement;
  private rowHeight = 18;
  private frame = 0;
  private programmaticTop = -1;
  /** Line selection (row indices, inclusive), made by clicking line numbers. */
  private selAnchor = -1;
  private selFocus = -1;
  private missing = false;
  private searchTimer = 0;
  private readonly opts: LogViewOptions;

  constructor(parent: HTMLElement, opts: LogViewOptions) {
    this.opts = opts;
    this.follow = opts.settings.follow ?? true;
    this.searchInput = h('input', {
      type: 'search', id: 'log-search', class: 'log-search', placeholder: 'Search the log', 'aria-label': 'Search the log (Enter: next, Shift+Enter: previous)',
      value: opts.settings.query ?? '', spellcheck: 'false',
    });
    this.caseBox = h('input', { type: 'checkbox', id: 'log-case', checked: opts.settings.caseSensitive ?? false });
    this.countEl = h('span', { class: 'log-count', id: 'log-count', 'aria-live': 'polite' });
    const prev = h('button', { type: 'button', id: 'log-prev', title: 'Previous match (Shift+Enter)', 'aria-label': 'Previous match' }, '↑');
    const next = h('button', { type: 'button', id: 'log-next', title: 'Next match (Enter)', 'aria-label': 'Next match' }, '↓');
    this.followBox = h('input', { type: 'checkbox', id: 'log-follow', checked: this.follow });
    this.copySelBtn = h('button', { type: 'button', id: 'log-copy', title: 'Copy the selected lines (click a line number to select it, Shift+click to extend)', disabled: true }, 'Copy lines');
    const copyAll = h('button', { type: 'button', id: 'log-copy-all', title: 'Copy the whole log to the clipboard' }, 'Copy all');
    const open = h('button', { type: 'button', id: 'log-open', title: 'Open the log in an editor' }, 'Open in editor');
    this.status = h('span', { class: 'log-status muted', id: 'log-status' });
    this.notice = h('div', { class: 'hint log-notice', id: 'log-notice', hidden: true });
    this.rowsEl = h('div', { class: 'log-rows', id: 'log-rows' });
    this.empty = h('div', { class: 'log-empty', id: 'log-empty', hidden: true });
    this.spacer = h('div', { class: 'log-spacer' });
    this.viewport = h('div', {
      class: 'log-viewport', id: 'log-viewport', tabindex: 0, role: 'log', 'aria-label': 'the job log (newest at the bottom)', 'aria-live': 'off',
    }, this.spacer, this.rowsEl, this.empty);
    const toolbar = h('div', { class: 'log-toolbar', role: 'toolbar', 'aria-label': 'Log' },
      h('div', { class: 'log-find' }, this.searchInput, prev, next, this.countEl,
        h('label', { class: 'iv-check', for: 'log-case', title: 'Match case' }, this.caseBox, 'Aa')),
      h('div', { class: 'log-tools' },
        h('label', { class: 'iv-check', for: 'log-follow', title: 'Keep the newest line in view (scrolling up turns it off)' }, this.followBox, 'Follow'),
        this.copySelBtn, copyAll, open));
    this.root = h('section', { class: 'np-card jp-log', id: 'log-section', 'aria-label': 'Training log' },
      h('div', { class: 'jp-card-head' }, h('h2', {}, 'Log'), this.status), toolbar, this.notice, this.viewport);
    parent.append(this.root);
    this.measure();

    this.viewport.addEventListener('scroll', () => this.onScroll(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.viewport);
    this.searchInput.addEventListener('input', () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => this.runSearch(), 120);
    });
    this.searchInput.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        clearTimeout(this.searchTimer);
        if (this.search.query !== this.searchInput.value || this.search.caseSensitive !== this.caseBox.checked) this.runSearch();
        else this.stepSearch(ev.shiftKey ? -1 : 1);
      } else if (ev.key === 'Escape' && this.searchInput.value) {
        ev.preventDefault();
        this.searchInput.value = '';
        this.runSearch();
      }
    });
    this.caseBox.addEventListener('change', () => this.runSearch());
    prev.addEventListener('click', () => this.stepSearch(-1));
    next.addEventListener('click', () => this.stepSearch(1));
    this.followBox.addEventListener('change', () => this.setFollow(this.followBox.checked));
    this.copySelBtn.addEventListener('click', () => void this.copySelection());
    copyAll.addEventListener('click', () => {
      void this.opts.copyAll().then((m) => this.flash(m), (e: Error) => this.flash(`Could not copy: ${e.message}`));
    });
    open.addEventListener('click', () => this.opts.openInEditor());
    this.rowsEl.addEventListener('click', (ev) => {
      const gutter = (ev.target as HTMLElement).closest('.log-ln') as HTMLElement | null;
      if (!gutter) return;
      const row = Number(gutter.dataset.row);
      if (!Number.isFinite(row)) return;
      if (ev.shiftKey && this.selAnchor >= 0) this.selFocus = row;
      else if (this.selAnchor === row && this.selFocus === row) this.selAnchor = this.selFocus = -1;
      else this.selAnchor = this.selFocus = row;
      this.copySelBtn.disabled = this.selAnchor < 0;
      this.schedule();
    });
    this.viewport.addEventListener('keydown', (ev) => {
      const mod = ev.ctrlKey || ev.metaKey;
      if (mod && ev.key.toLowerCase() === 'a') {
        ev.preventDefault();
        this.selAnchor = 0;
        this.selFocus = this.store.rowCount - 1;
        this.copySelBtn.disabled = this.store.rowCount === 0;
        this.schedule();
      } else if (mod && ev.key.toLowerCase() === 'c') {
        const native = window.getSelection()?.toString() ?? '';
        if (native) return; // the browser copies the selected text
        if (this.selAnchor >= 0) {
          ev.preventDefault();
          void this.copySelection();
        }
      } else if (ev.key === 'End' && mod) {
        this.setFollow(true);
      } else if (ev.key === 'Home' && mod) {
        this.setFollow(false);
        this.viewport.scrollTop = 0;
      }
    });
    // Copying text selected with the mouse goes through the host (the webview's clipboard may be refused).
    this.viewport.addEventListener('copy', (ev) => {
      const native = window.getSelection()?.toString() ?? '';
      if (!native) return;
      ev.preventDefault();
      void this.opts.copyText(native).then(() => this.flash(`Copied ${native.split('\n').length} line(s).`));
    });
    if (this.searchInput.value) this.search.set(this.store, this.searchInput.value, this.caseBox.checked);
    this.updateStatus();
  }

  /** Focuses the search box (Ctrl+F in the panel). */
  focusSearch(): void {
    this.searchInput.focus();
    this.searchInput.select();
  }

  /** Applies a batch of lines (rendering happens on the next frame). */
  apply(b: LogBatchLike & { missing?: boolean; more?: boolean }): void {
    const t0 = performance.now();
    const r = this.store.apply(b);
    if (r.ignored) return;
    this.missing = Boolean(b.missing);
    if (r.reset) {
      this.selAnchor = this.selFocus = -1;
      this.copySelBtn.disabled = true;
    } else if (r.dropped > 0 && this.selAnchor >= 0) {
      this.selAnchor = Math.max(0, this.selAnchor - r.dropped);
      this.selFocus = Math.max(0, this.selFocus - r.dropped);
    }
    this.search.extend(this.store);
    const ms = performance.now() - t0;
    this.stats.batches++;
    this.stats.linesReceived += b.lines.length;
    this.stats.handleMs += ms;
    this.stats.maxHandleMs = Math.max(this.stats.maxHandleMs, ms);
    this.updateNotice();
    this.updateCount();
    this.schedule();
  }

  /** Runs a search as the search box would (tests); returns the result. */
  setSearch(query: string, caseSensitive = false, step?: 1 | -1): void {
    this.searchInput.value = query;
    this.caseBox.checked = caseSensitive;
    this.runSearch();
    if (step) this.stepSearch(step);
  }

  get renderedRows(): number {
    return this.rowsEl.childElementCount;
  }

  private measure(): void {
    const probe = h('div', { class: 'log-row' }, h('span', { class: 'log-ln' }, '1'), h('span', { class: 'log-tx' }, 'Mg'));
    this.rowsEl.append(probe);
    const hgt = probe.getBoundingClientRect().height;
    probe.remove();
    if (hgt > 4) this.rowHeight = hgt;
  }

  private settings(): LogViewSettings {
    return { follow: this.follow, query: this.searchInput.value, caseSensitive: this.caseBox.checked };
  }

  private setFollow(on: boolean): void {
    if (this.follow === on) return;
    this.follow = on;
    this.followBox.checked = on;
    if (on) this.scrollToEnd();
    this.opts.onSettings(this.settings());
  }

  private onScroll(): void {
    const top = this.viewport.scrollTop;
    if (this.programmaticTop >= 0 && Math.abs(top - this.programmaticTop) < 2) {
      this.programmaticTop = -1;
    } else {
      this.programmaticTop = -1;
      const bottom = atBottom(top, this.viewport.clientHeight, this.viewport.scrollHeight, this.rowHeight / 2);
      if (this.follow && !bottom) this.setFollow(false);
      else if (!this.follow && bottom && this.store.rowCount > 0) this.setFollow(true);
    }
    this.schedule();
  }

  private scrollToEnd(): void {
    const top = Math.max(0, this.store.rowCount * this.rowHeight - this.viewport.clientHeight);
    this.programmaticTop = top;
    this.viewport.scrollTop = top;
    this.schedule();
  }

  private runSearch(): void {
    this.search.set(this.store, this.searchInput.value, this.caseBox.checked);
    this.opts.onSettings(this.settings());
    this.reveal();
    this.updateCount();
    this.schedule();
  }

  private stepSearch(dir: 1 | -1): void {
    if (this.search.query !== this.searchInput.value) this.search.set(this.store, this.searchInput.value, this.caseBox.checked);
    this.search.step(dir);
    this.reveal();
    this.updateCount();
    this.schedule();
  }

  /** Scrolls the current match into view (following stops: the user is reading). */
  private reveal(): void {
    const m = this.search.currentMatch;
    if (!m) return;
    const row = this.store.rowOf(m.line);
    if (row < 0) return;
    const top = scrollToShow(row, this.viewport.scrollTop, this.viewport.clientHeight, this.rowHeight);
    if (top !== this.viewport.scrollTop) {
      if (this.follow && !atBottom(top, this.viewport.clientHeight, this.store.rowCount * this.rowHeight)) this.setFollow(false);
      this.programmaticTop = top;
      this.viewport.scrollTop = top;
    }
  }

  private updateCount(): void {
    const s = this.search;
    if (!s.query) this.countEl.textContent = '';
    else if (s.matches.length === 0) this.countEl.textContent = 'no matches';
    else this.countEl.textContent = `${s.current + 1} of ${s.matches.length.toLocaleString('en-US')}`;
    this.countEl.classList.toggle('none', Boolean(s.query) && s.matches.length === 0);
  }

  private updateNotice(): void {
    const parts: string[] = [];
    if (this.store.skippedBytes > 0) parts.push(`The first ${(this.store.skippedBytes / 2 ** 20).toFixed(1)} MiB of this long log are not shown.`);
    if (this.store.droppedLines > 0) parts.push(`${this.store.droppedLines.toLocaleString('en-US')} earlier lines were dropped to keep the panel fast.`);
    if (parts.length > 0) parts.push('Open in editor shows the whole file.');
    this.notice.textContent = parts.join(' ');
    this.notice.hidden = parts.length === 0;
  }

  private updateStatus(): void {
    const n = this.store.rowCount;
    this.status.textContent = this.missing ? `no ${this.logName} yet` : `${n.toLocaleString('en-US')} line${n === 1 ? '' : 's'}${this.follow ? ' · following' : ''}`;
  }

  private flash(message: string): void {
    this.status.textContent = message;
    window.setTimeout(() => this.updateStatus(), 2500);
  }

  private async copySelection(): Promise<void> {
    if (this.selAnchor < 0) return;
    const a = Math.min(this.selAnchor, this.selFocus);
    const b = Math.max(this.selAnchor, this.selFocus);
    try {
      await this.opts.copyText(this.store.text(a, b));
      this.flash(`Copied ${b - a + 1} line${b === a ? '' : 's'}.`);
    } catch (err) {
      this.flash(`Could not copy: ${(err as Error).message}`);
    }
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Draws the rows in view (called once per frame at most). */
  render(): void {
    const t0 = performance.now();
    const rows = this.store.rowCount;
    const totalHeight = rows * this.rowHeight;
    this.spacer.style.height = `${totalHeight}px`;
    if (this.follow) {
      const top = Math.max(0, totalHeight - this.viewport.clientHeight);
      if (Math.abs(this.viewport.scrollTop - top) > 1) {
        this.programmaticTop = top;
        this.viewport.scrollTop = top;
      }
    }
    const { first, last } = visibleRange({
      scrollTop: this.viewport.scrollTop, viewportHeight: this.viewport.clientHeight, rowHeight: this.rowHeight, rowCount: rows, overscan: 8,
    });
    this.rowsEl.style.transform = `translateY(${first * this.rowHeight}px)`;
    const want = Math.max(0, last - first + 1);
    while (this.rowsEl.childElementCount > want) this.rowsEl.lastElementChild!.remove();
    while (this.rowsEl.childElementCount < want) {
      this.rowsEl.append(h('div', { class: 'log-row' }, h('span', { class: 'log-ln' }), h('span', { class: 'log-tx' })));
    }
    const selA = Math.min(this.selAnchor, this.selFocus);
    const selB = Math.max(this.selAnchor, this.selFocus);
    const current = this.search.currentMatch;
    const width = String(this.store.absolute(Math.max(0, rows - 1)) + 1).length;
    this.rowsEl.style.setProperty('--ln-width', `${Math.max(3, width)}ch`);
    for (let k = 0; k < want; k++) {
      const i = first + k;
      const el = this.rowsEl.children[k] as HTMLElement;
      const ln = el.firstElementChild as HTMLElement;
      const tx = el.lastElementChild as HTMLElement;
      const text = this.store.row(i);
      const abs = this.store.absolute(i);
      ln.textContent = String(abs + 1);
      ln.dataset.row = String(i);
      const partial = i === this.store.size && this.store.partial !== '';
      el.className = `log-row ${lineKind(text)}${this.selAnchor >= 0 && i >= selA && i <= selB ? ' selected' : ''}${partial ? ' partial' : ''}`;
      const hits = this.search.query ? this.search.onLine(abs) : [];
      if (hits.length === 0) {
        if (tx.childElementCount > 0 || tx.textContent !== text) tx.textContent = text;
      } else {
        const parts: (string | HTMLElement)[] = [];
        let at = 0;
        for (const { index, match } of hits) {
          if (match.start > at) parts.push(text.slice(at, match.start));
          const isCurrent = current !== undefined && this.search.current === index;
          parts.push(h('mark', { class: isCurrent ? 'log-match current' : 'log-match', ...(isCurrent ? { id: 'log-current-match' } : {}) }, text.slice(match.start, match.end)));
          at = match.end;
        }
        if (at < text.length) parts.push(text.slice(at));
        tx.replaceChildren(...parts);
      }
    }
    this.empty.hidden = rows > 0;
    if (rows === 0) this.empty.textContent = this.missing ? (this.logName === 'train.log' ? 'No train.log yet: Dry Run or Train writes it, and it shows here as it grows.' : `No ${this.logName} yet: Reconstruct writes it, and it shows here as it grows.`) : `${this.logName} is empty.`;
    this.updateStatus();
    const ms = performance.now() - t0;
    this.stats.renders++;
    this.stats.maxRenderMs = Math.max(this.stats.maxRenderMs, ms);
  }
}
