// The manifest viewer page: a job's manifest.json or the study's training_manifest.json as a readable
// document (status, configuration grouped, data provenance, runtime with the execution provider, timing, the
// training plan, the result with metrics, artifacts), or as the raw JSON tree. The host re-sends the file
// whenever it changes; the page keeps the raw/document choice with setState.
import { createClient, type Client } from '../client';
import { errorMessage } from '../shared/endpoint';
import { h } from '../components/dom';
import { jsonTree } from '../components/jsonTree';
import type { ManifestDoc, ManifestProtocol, ManifestViewState } from '../protocol';
import { manifestDocument, type Cell, type Field, type ManifestDocument, type Section, type Table } from './model';
import { enableTableCsv } from '../components/tableCsv';

interface PersistedState {
  kind?: 'job' | 'study';
  jobId?: string;
  folderName?: string;
  raw?: boolean;
}

const client: Client<ManifestProtocol, PersistedState> = createClient<ManifestProtocol, PersistedState>('manifest');
const state: PersistedState = { ...client.getState() };
const app = document.getElementById('app')!;
// Every data table gets a CSV… button (saved through the host's save dialog).
enableTableCsv(app, (suggestedName, text) => client.request('saveCsv', { suggestedName, text }), (t) => `${'manifest'}_${t.id || 'table'}`);
let current: ManifestDoc | undefined;
let doc: ManifestDocument | undefined;

function persist(): void {
  client.setState(state);
}

function cls(kind: string | undefined): string | undefined {
  return kind ? `mf-${kind}` : undefined;
}

function fieldRow(f: Field): HTMLElement {
  const value = f.kind === 'code' || f.kind === 'path' || f.kind === 'hash' ? h('code', {}, f.value) : f.kind === 'status' ? h('span', { class: `jp-state state-${f.value}` }, f.value) : f.value;
  return h('div', { class: `jp-row${f.kind ? ` ${cls(f.kind)}` : ''}`, ...(f.id ? { id: f.id } : {}) },
    h('dt', {}, f.label), h('dd', { ...(f.title ? { title: f.title } : {}) }, value));
}

function cell(c: Cell, header = false): HTMLElement {
  const content = c.kind === 'code' || c.kind === 'path' || c.kind === 'hash' ? h('code', {}, c.text) : c.text;
  return h(header ? 'th' : 'td', { class: cls(c.kind), ...(c.title ? { title: c.title } : {}), ...(header ? { scope: 'row' } : {}) }, content);
}

function table(t: Table): HTMLElement {
  const head = h('tr', {}, ...t.columns.map((c) => h('th', { scope: 'col' }, c)));
  const rows = t.rows.map((r, i) => {
    const id = t.rowJobIds?.[i];
    // A job row's first cell opens that job's panel.
    const first = id
      ? h('th', { scope: 'row' }, h('button', { type: 'button', class: 'member-link', title: `Open the job panel of ${id}`, onclick: () => void action('openJobPanel', id) }, r[0].text))
      : cell(r[0], true);
    return h('tr', {}, first, ...r.slice(1).map((c) => cell(c)));
  });
  return h('div', { class: 'mf-table' }, t.caption ? h('h4', {}, t.caption) : undefined,
    h('div', { class: 'table-x' }, h('table', { class: 'data-table mf-data', id: t.id }, h('thead', {}, head), h('tbody', {}, ...rows))));
}

function section(s: Section): HTMLElement {
  const body: (HTMLElement | undefined)[] = [h('h2', {}, s.title)];
  if (s.note) body.push(h('p', { class: 'hint' }, s.note));
  for (const g of s.groups) {
    if (g.fields.length === 0) continue;
    body.push(h('div', { class: 'mf-group' }, g.title ? h('h3', {}, g.title) : undefined, h('dl', { class: 'jp-dl' }, ...g.fields.map(fieldRow))));
  }
  for (const t of s.tables) body.push(table(t));
  if (s.extra) body.push(jsonTree(s.extra));
  return h('section', { class: 'np-card mf-section', id: `section-${s.id}`, 'aria-label': s.title }, ...body);
}

async function action(a: 'openFile' | 'openJobPanel', jobId?: string): Promise<void> {
  try {
    await client.request('action', { action: a, ...(jobId ? { jobId } : {}) });
  } catch (err) {
    const el = document.getElementById('mf-error');
    if (el) {
      el.textContent = errorMessage(err);
      el.hidden = false;
    }
  }
}

function render(): void {
  const d = current;
  app.removeAttribute('aria-busy');
  if (!d) return;
  const raw = state.raw ?? false;
  const rawBox = h('input', { type: 'checkbox', id: 'mf-raw', checked: raw, onchange: () => setRaw(rawBox.checked) });
  const when = d.mtimeMs ? new Date(d.mtimeMs).toLocaleString() : undefined;
  doc = d.manifest !== undefined ? manifestDocument(d.manifest, d.kind) : undefined;
  const title = doc?.title ?? (d.kind === 'study' ? 'Study training manifest' : `Manifest of ${d.jobId ?? 'a job'}`);
  document.title = title;
  const status = doc?.status;
  const header = h('header', { class: 'jp-header', id: 'mf-header' },
    h('div', { class: 'jp-title' }, h('h1', { id: 'mf-title' }, title), status ? h('span', { class: `jp-state state-${status}`, id: 'mf-status' }, status) : undefined),
    h('div', { class: 'jp-actions' },
      h('label', { class: 'iv-check', for: 'mf-raw', title: 'Show the file as a JSON tree' }, rawBox, 'Raw JSON'),
      d.kind === 'job' && d.jobId ? h('button', { type: 'button', id: 'mf-open-job', onclick: () => void action('openJobPanel', d.jobId) }, 'Open Job Panel') : undefined,
      h('button', { type: 'button', id: 'mf-open-file', disabled: !d.exists, onclick: () => void action('openFile') }, 'Open as Text')));
  const meta = h('div', { class: 'np-path', id: 'mf-path' },
    h('code', {}, d.displayPath), d.exists ? ` · ${d.bytes?.toLocaleString('en-US')} bytes${when ? ` · modified ${when}` : ''}` : '',
    h('span', { class: 'muted', id: 'mf-loads' }, d.loads > 1 ? ` · reloaded ${d.loads - 1}× (follows the file)` : ' · follows the file'));
  const err = h('div', { class: 'error-box', id: 'mf-error', role: 'alert', hidden: true });
  const parts: (HTMLElement | undefined)[] = [header, meta, err];
  if (!d.exists) {
    parts.push(h('div', { class: 'np-card', id: 'mf-missing' }, h('p', {}, d.kind === 'study'
      ? 'There is no training_manifest.json yet: it is written at the artifact root when a job is trained.'
      : 'There is no manifest.json for this job yet: a dry run or a training run writes it.'), h('p', { class: 'muted' }, 'This view shows it as soon as it appears.')));
  } else if (d.error) {
    err.textContent = d.error;
    err.hidden = false;
  } else if (raw) {
    parts.push(h('section', { class: 'np-card', id: 'mf-raw-view', 'aria-label': 'Raw JSON' }, jsonTree(d.manifest)));
  } else if (doc) {
    if (doc.reason && (status === 'failed' || status === 'cancelled')) {
      parts.push(h('div', { class: `jp-reason ${status === 'failed' ? 'error' : 'warn'}`, id: 'mf-reason' }, doc.reason));
    }
    for (const w of doc.warnings) parts.push(h('div', { class: 'jp-reason warn mf-warning' }, w));
    const toc = h('nav', { class: 'mf-toc', 'aria-label': 'Sections' }, ...doc.sections.map((s) => h('a', { href: `#section-${s.id}` }, s.title)));
    parts.push(toc, h('div', { class: 'mf-sections' }, ...doc.sections.map(section)));
  }
  app.replaceChildren(...parts.filter((x): x is HTMLElement => x !== undefined));
}

function setRaw(raw: boolean): void {
  state.raw = raw;
  persist();
  const y = window.scrollY;
  render();
  window.scrollTo(0, y);
}

function viewState(): ManifestViewState {
  const ep = document.querySelector('#field-executionProviderUsed dd')?.textContent ?? undefined;
  return {
    kind: current?.kind,
    status: doc?.status,
    sections: [...document.querySelectorAll('.mf-section')].map((s) => s.id.replace(/^section-/, '')),
    raw: state.raw ?? false,
    ...(ep !== undefined ? { executionProviderUsed: ep } : {}),
    fallbackShown: Boolean(document.querySelector('#field-fallbackReason')) || [...document.querySelectorAll('.mf-warning')].some((w) => /fallback/i.test(w.textContent ?? '')),
    loads: current?.loads ?? 0,
    ...(current?.error ? { error: current.error } : {}),
    title: document.getElementById('mf-title')?.textContent ?? '',
  };
}

client.on('manifest', (d) => {
  current = d;
  state.kind = d.kind;
  if (d.jobId) state.jobId = d.jobId;
  persist();
  const y = window.scrollY;
  render();
  window.scrollTo(0, y);
  if (d.loads === 1) {
    void client.emit('rendered', {
      what: `manifest ${d.jobId ?? d.kind}`, scriptStartMs: client.timing.scriptStartMs, readyMs: client.timing.readyMs, drawnMs: performance.now(), requestMs: 0, drawMs: 0, first: true,
    }).catch(() => undefined);
  }
});
client.onRequest('getViewState', () => viewState());
client.onRequest('setRaw', (p) => {
  setRaw(p.raw);
  return viewState();
});
client.serveRelay();
client.ready();
