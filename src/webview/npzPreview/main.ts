// The NPZ preview page: the member table, `_metadata`, and a view of the selected member — images (complex:
// amplitude and phase side by side, zoom/pan linked), stacks with a frame slider (only the shown frame is
// read), the scan positions with the current frame highlighted, line plots and tables. Its state (member,
// frames, display settings) is kept with setState, so hiding the tab loses nothing.
import { createClient, type Client } from '../client';
import { asFloat32, asFloat64 } from '../shared/binary';
import { errorMessage } from '../shared/endpoint';
import { formatBytes, h, shapeText } from '../components/dom';
import { ImageViewer, type ImageInput, type ViewerSettings } from '../components/imageViewer';
import { jsonTree } from '../components/jsonTree';
import { ScatterPlot } from '../components/plots';
import { SeriesPlot } from '../components/seriesPlot';
import { ViewSync } from '../components/viewSync';
import type { MemberInfo, NpzInit, NpzPreviewProtocol, NpzViewState, SliceResult, TableResult } from '../protocol';
import { enableTableCsv } from '../components/tableCsv';

interface PersistedState {
  member?: string;
  frames: Record<string, number>;
  channels: Record<string, number>;
  /** Display settings per `<member>/<viewer>`. */
  viewers: Record<string, Partial<ViewerSettings>>;
  /** Link zoom/pan of the amplitude and phase viewers (default on). */
  linked?: boolean;
}

const client: Client<NpzPreviewProtocol, PersistedState> = createClient<NpzPreviewProtocol, PersistedState>('npzPreview');
const saved = client.getState();
const state: PersistedState = { frames: {}, channels: {}, viewers: {}, ...saved };
let init: NpzInit | undefined;
let view: MemberView | undefined;
let renderedOnce = false;
let errorShown: string | undefined;
const app = document.getElementById('app')!;
// Every data table gets a CSV… button (saved through the host's save dialog).
enableTableCsv(app, (suggestedName, text) => client.request('saveCsv', { suggestedName, text }), (t) => `${'npz'}_${t.id || 'table'}`);

function persist(): void {
  client.setState(state);
}

/** A diffraction-like stack: log scale by default. */
const looksLikeDiffraction = (name: string): boolean => /diff|intens|pattern|count|^x$|^y_i$/i.test(name);

function exportPng(png: ArrayBuffer, suggestedName: string): Promise<string | undefined> {
  return client.request('savePng', { suggestedName, data: png }).then((r) => (r.saved ? r.path : undefined));
}

const exportBase = (): string => (init?.fileName ?? 'array').replace(/\.(npz|npy)$/i, '');

// ---------------------------------------------------------------------------------------------------------
// Member views

interface MemberView {
  readonly member: MemberInfo;
  readonly root: HTMLElement;
  viewers(): ImageViewer[];
  frame?(): number | undefined;
  frames?(): number | undefined;
  setFrame?(f: number): Promise<void>;
  scatterPoints?(): number;
  /** Resolves when the data the view asked for have arrived (or failed). */
  settled(): Promise<void>;
  destroy(): void;
}

function viewerSettings(member: string, id: string, defaults: Partial<ViewerSettings>): Partial<ViewerSettings> {
  return { ...defaults, ...state.viewers[`${member}/${id}`] };
}

function rememberSettings(member: string, id: string): (s: ViewerSettings) => void {
  return (s) => {
    state.viewers[`${member}/${id}`] = s;
    persist();
  };
}

function toImage(r: SliceResult, label: string): ImageInput {
  return {
    width: r.width, height: r.height, complex: r.complex, data: asFloat32(r.data, label), factor: r.factor,
    sourceWidth: r.sourceWidth, sourceHeight: r.sourceHeight, label,
  };
}

function memberTitle(m: MemberInfo): HTMLElement {
  const storage = m.compression === 'deflated' ? `deflated (${formatBytes(m.storedBytes)} stored)` : 'stored';
  return h('header', { class: 'mv-header' },
    h('h2', { id: 'member-title' }, m.name),
    h('span', { class: 'mv-meta' }, `${m.dtypeName} (${m.descr}) · ${shapeText(m.shape)} · ${formatBytes(m.dataBytes)} · ${storage}${m.fortranOrder ? ' · Fortran order' : ''}`));
}

function errorBox(message: string, id = 'member-error'): HTMLElement {
  errorShown = message;
  return h('div', { class: 'error-box', role: 'alert', id }, message);
}

/** Posts `rendered` for the first pixels of each member view (and of later frames, marked not first). */
function reportRendered(what: string, requestMs: number, drawMs: number): void {
  const first = !renderedOnce;
  renderedOnce = true;
  void client.emit('rendered', {
    what, scriptStartMs: client.timing.scriptStartMs, readyMs: client.timing.readyMs, drawnMs: performance.now(), requestMs, drawMs, first,
  }).catch(() => undefined);
}

/** 2-D image members: one viewer, or amplitude and phase side by side for complex data. */
function imageView(m: MemberInfo, parent: HTMLElement): MemberView {
  const root = h('div', { class: 'member-view', id: 'member-view-body' }, memberTitle(m));
  parent.append(root);
  const sync = new ViewSync();
  const phaseSync = new ViewSync();
  const viewers: ImageViewer[] = [];
  let linked = state.linked ?? true;
  const grid = h('div', { class: m.complex ? 'viewer-grid two' : 'viewer-grid' });
  const status = h('div', { class: 'mv-status', id: 'member-status', 'aria-live': 'polite' }, 'Reading…');
  if (m.complex) {
    const link = h('input', { type: 'checkbox', id: 'link-views', checked: linked, onchange: () => {
      linked = link.checked;
      state.linked = linked;
      persist();
      rebuild();
    } });
    root.append(h('div', { class: 'mv-controls' }, h('label', { class: 'iv-check', for: 'link-views' }, link, 'link zoom and pan of the two views')));
  }
  root.append(status, grid);
  let img: ImageInput | undefined;
  const build = (): void => {
    for (const v of viewers.splice(0)) v.destroy();
    const specs: [string, string, Partial<ViewerSettings>][] = m.complex
      ? [['viewer-a', 'amplitude view', { mode: 'amplitude' }], ['viewer-b', 'phase view', { mode: 'phase' }]]
      : [['viewer-a', m.name, { mode: 'value', scale: looksLikeDiffraction(m.name) ? 'log' : 'linear' }]];
    specs.forEach(([id, title, defaults], i) => {
      viewers.push(new ImageViewer(grid, {
        id, label: title, sync: m.complex && !linked && i === 1 ? phaseSync : sync,
        settings: viewerSettings(m.name, id, defaults), onSettingsChange: rememberSettings(m.name, id), exportPng, exportBase: exportBase(),
      }));
    });
    if (img) for (const v of viewers) v.setImage(img);
  };
  const rebuild = (): void => build();
  build();
  const t0 = performance.now();
  const done = client.request('readSlice', { member: m.name }).then((r) => {
    const requestMs = performance.now() - t0;
    img = toImage(r, m.name);
    const d0 = performance.now();
    for (const v of viewers) v.setImage(img);
    status.textContent = `${r.sourceWidth} × ${r.sourceHeight} read in ${r.readMs.toFixed(1)} ms${r.factor > 1 ? ` · decimated ${r.factor}× on the host (over ${init?.maxSide} px per side)` : ''}`;
    reportRendered(m.name, requestMs, performance.now() - d0);
  }, (err) => {
    status.replaceWith(errorBox(`Could not read ${m.name}: ${errorMessage(err)}`));
  });
  return { member: m, root, viewers: () => viewers, settled: () => done, destroy: () => { for (const v of viewers) v.destroy(); root.remove(); } };
}

/** ≥ 3-D members: a frame slider over axis 0 (one frame read per step), the scan positions beside it. */
function stackView(m: MemberInfo, parent: HTMLElement): MemberView {
  const frames = m.shape[0];
  const root = h('div', { class: 'member-view', id: 'member-view-body' }, memberTitle(m));
  parent.append(root);
  let frame = Math.min(frames - 1, Math.max(0, state.frames[m.name] ?? 0));
  let channel = state.channels[m.name] ?? 0;
  const slider = h('input', { type: 'range', id: 'frame-slider', min: 0, max: frames - 1, step: 1, value: frame, 'aria-label': `Frame (0 to ${frames - 1})` });
  const number = h('input', { type: 'number', id: 'frame-number', min: 0, max: frames - 1, step: 1, value: frame, 'aria-label': 'Frame number' });
  const prev = h('button', { type: 'button', class: 'iv-btn', id: 'frame-prev', title: 'Previous frame', 'aria-label': 'Previous frame' }, '‹');
  const next = h('button', { type: 'button', class: 'iv-btn', id: 'frame-next', title: 'Next frame', 'aria-label': 'Next frame' }, '›');
  const controls = h('div', { class: 'mv-controls frame-controls', role: 'group', 'aria-label': 'Frame' },
    h('label', { for: 'frame-slider', class: 'iv-label' }, 'frame'), prev, slider, next, number, h('span', { class: 'frame-of' }, `of ${frames} (0–${frames - 1})`));
  if (m.channelAxis !== undefined) {
    const nc = m.shape[m.channelAxis];
    channel = Math.min(nc - 1, channel);
    const ch = h('select', { id: 'channel-select', 'aria-label': 'Channel' }) as HTMLSelectElement;
    for (let c = 0; c < nc; c++) ch.append(h('option', { value: c }, `channel ${c}`));
    ch.value = String(channel);
    ch.addEventListener('change', () => {
      channel = Number(ch.value);
      state.channels[m.name] = channel;
      persist();
      loaded = -1;
      void load(frame);
    });
    controls.append(h('label', { class: 'iv-label', for: 'channel-select' }, `axis ${m.channelAxis}`), ch);
  }
  const status = h('div', { class: 'mv-status', id: 'member-status', 'aria-live': 'polite' });
  root.append(controls);
  if (m.compression === 'deflated') {
    root.append(h('div', { class: 'hint', id: 'deflated-hint' },
      'This member is deflated (compressed): there is no random access into it, so each frame is read by inflating the member from its start. ' +
      'Late frames are slower; a stored (np.savez) file reads any frame directly.'));
  }
  root.append(status);
  const views = h('div', { class: 'viewer-grid with-scan' });
  root.append(views);
  const viewer = new ImageViewer(views, {
    id: 'viewer-a', sync: new ViewSync(),
    settings: viewerSettings(m.name, 'viewer-a', m.complex ? { mode: 'amplitude' } : { mode: 'value', scale: looksLikeDiffraction(m.name) ? 'log' : 'linear' }),
    onSettingsChange: rememberSettings(m.name, 'viewer-a'), exportPng, exportBase: exportBase(),
  });
  let scatter: ScatterPlot | undefined;
  let scanLoading = false;
  const scan = init?.scan;
  if (scan && scan.count === frames) {
    scatter = new ScatterPlot(views, {
      id: 'scan-plot', title: `scan positions (${scan.x}, ${scan.y})`, xLabel: `${scan.x}`, yLabel: `${scan.y} ↓`,
      onPick: (i) => void setFrame(i),
    });
    scanLoading = true;
  }

  // One request in flight; while it runs, only the latest wanted frame is kept (fast slider drags skip).
  let wanted = frame;
  let loaded = -1;
  let busy = false;
  const load = async (f: number): Promise<void> => {
    wanted = f;
    if (busy) return;
    busy = true;
    try {
      while (loaded !== wanted) {
        const target = wanted;
        const t0 = performance.now();
        try {
          const r = await client.request('readSlice', { member: m.name, frame: target, ...(m.channelAxis !== undefined ? { channel } : {}) });
          const requestMs = performance.now() - t0;
          if (view?.root !== root) return;
          const d0 = performance.now();
          viewer.setImage(toImage(r, `${m.name}[${target}]`));
          loaded = target;
          status.textContent = `frame ${target}: ${r.sourceWidth} × ${r.sourceHeight}, read in ${r.readMs.toFixed(1)} ms (${formatBytes(r.bytesRead)})` +
            `${r.factor > 1 ? ` · decimated ${r.factor}× on the host` : ''}`;
          status.classList.remove('error');
          reportRendered(`${m.name}[${target}]`, requestMs, performance.now() - d0);
        } catch (err) {
          loaded = target;
          status.textContent = `Could not read frame ${target}: ${errorMessage(err)}`;
          status.classList.add('error');
          errorShown = status.textContent;
        }
      }
    } finally {
      busy = false;
    }
  };
  const settled = async (): Promise<void> => {
    while (busy || scanLoading) await new Promise((r) => setTimeout(r, 10));
  };
  const setFrame = async (f: number): Promise<void> => {
    const clamped = Math.min(frames - 1, Math.max(0, Math.round(f)));
    frame = clamped;
    slider.value = String(clamped);
    number.value = String(clamped);
    state.frames[m.name] = clamped;
    persist();
    scatter?.setHighlight(clamped);
    await load(clamped);
  };
  slider.addEventListener('input', () => void setFrame(Number(slider.value)));
  number.addEventListener('change', () => {
    const v = Number(number.value);
    if (Number.isFinite(v)) void setFrame(v);
    else number.value = String(frame);
  });
  prev.addEventListener('click', () => void setFrame(frame - 1));
  next.addEventListener('click', () => void setFrame(frame + 1));
  // The frame first (first pixels), then the scan positions.
  const firstFrame = load(frame);
  if (scatter && scan) {
    const plot = scatter;
    void firstFrame.then(() => loadScan(plot, scan.x, scan.y)).then(() => {
      plot.setHighlight(frame);
      scanLoading = false;
    });
  }
  return {
    member: m, root, viewers: () => [viewer], frame: () => frame, frames: () => frames,
    setFrame: async (f) => {
      await setFrame(f);
      await settled();
    },
    settled,
    scatterPoints: () => scatter?.pointCount ?? 0,
    destroy: () => {
      viewer.destroy();
      root.remove();
    },
  };
}

async function loadScan(plot: ScatterPlot, xName: string, yName: string): Promise<void> {
  try {
    const [x, y] = await Promise.all([
      client.request('readSeries', { member: xName, maxPoints: 200_000 }),
      client.request('readSeries', { member: yName, maxPoints: 200_000 }),
    ]);
    plot.setData(asFloat64(x.data), asFloat64(y.data), x.stride);
  } catch (err) {
    plot.readout.textContent = `Could not read the scan positions: ${errorMessage(err)}`;
  }
}

/** 1-D members: a line plot and the first values; the scan positions when it is one of the coordinates. */
function seriesView(m: MemberInfo, parent: HTMLElement): MemberView {
  const root = h('div', { class: 'member-view', id: 'member-view-body' }, memberTitle(m));
  parent.append(root);
  const grid = h('div', { class: 'viewer-grid two' });
  root.append(grid);
  const scan = init?.scan;
  const pending: Promise<unknown>[] = [];
  let scatter: ScatterPlot | undefined;
  if (scan && (m.name === scan.x || m.name === scan.y)) {
    scatter = new ScatterPlot(grid, { id: 'scan-plot', title: `scan positions (${scan.x}, ${scan.y})`, xLabel: scan.x, yLabel: `${scan.y} ↓` });
    pending.push(loadScan(scatter, scan.x, scan.y));
  }
  const line = new SeriesPlot(grid, { id: 'line-plot', title: m.name, xLabel: 'index', yLabel: m.name, legend: false });
  pending.push(client.request('readSeries', { member: m.name, maxPoints: 100_000 }).then((r) => {
    const y = asFloat64(r.data);
    line.setData([{ label: m.name, x: Float64Array.from({ length: y.length }, (_, k) => k * r.stride), y, color: 'blue', width: 1.25 }]);
    if (r.stride > 1) line.readout.textContent = `every ${r.stride}th of ${r.length} values shown`;
  }, (err) => line.readout.replaceWith(errorBox(`Could not read ${m.name}: ${errorMessage(err)}`))));
  root.append(tableBlock(m, 100));
  const all = Promise.all(pending).then(() => undefined);
  return { member: m, root, viewers: () => [], scatterPoints: () => scatter?.pointCount ?? 0, settled: () => all, destroy: () => root.remove() };
}

/** A paged table of rows (1-D values, 2-D rows, strings). */
function tableBlock(m: MemberInfo, pageRows = 200): HTMLElement {
  const rows = m.shape[0] ?? 1;
  const box = h('section', { class: 'table-block', 'aria-label': `${m.name} values` });
  const info = h('span', { class: 'mv-meta', id: 'table-range' });
  const prevB = h('button', { type: 'button', class: 'iv-btn', title: 'Previous rows' }, '‹ previous');
  const nextB = h('button', { type: 'button', class: 'iv-btn', title: 'Next rows' }, 'next ›');
  const holder = h('div', { class: 'table-scroll' });
  box.append(h('div', { class: 'mv-controls' }, prevB, nextB, info), holder);
  let start = 0;
  const show = async (s: number): Promise<void> => {
    start = Math.max(0, Math.min(s, Math.max(0, rows - 1)));
    try {
      const t: TableResult = await client.request('readTable', { member: m.name, start, count: pageRows });
      holder.replaceChildren(renderTable(t));
      info.textContent = t.rows > 0 ? `rows ${t.start}–${t.start + t.rows - 1} of ${rows}` : 'no rows';
      prevB.disabled = t.start === 0;
      nextB.disabled = t.start + t.rows >= rows;
    } catch (err) {
      holder.replaceChildren(errorBox(`Could not read ${m.name}: ${errorMessage(err)}`));
    }
  };
  prevB.addEventListener('click', () => void show(start - pageRows));
  nextB.addEventListener('click', () => void show(start + pageRows));
  void show(0);
  return box;
}

function renderTable(t: TableResult): HTMLTableElement {
  const nums = t.numbers ? asFloat64(t.numbers) : undefined;
  const cell = (i: number): string => (nums ? fmtCell(nums[i]) : t.strings?.[i] ?? '');
  const head = h('tr', {}, h('th', { scope: 'col' }, 'row'));
  if (t.columns > 1) for (let c = 0; c < t.columns; c++) head.append(h('th', { scope: 'col' }, String(c)));
  else head.append(h('th', { scope: 'col' }, 'value'));
  const body = h('tbody');
  for (let r = 0; r < t.rows; r++) {
    const tr = h('tr', {}, h('th', { scope: 'row' }, String(t.start + r)));
    for (let c = 0; c < t.columns; c++) tr.append(h('td', {}, cell(r * t.columns + c)));
    body.append(tr);
  }
  return h('table', { class: 'data-table', id: 'data-table' }, h('thead', {}, head), body);
}

function fmtCell(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(7)));
}

function simpleView(m: MemberInfo, parent: HTMLElement): MemberView {
  const root = h('div', { class: 'member-view', id: 'member-view-body' }, memberTitle(m));
  parent.append(root);
  if (m.view === 'scalar') root.append(h('div', { class: 'scalar-value', id: 'scalar-value' }, m.scalar ?? '(unread)'));
  else if (m.view === 'table') root.append(...(m.note ? [h('p', { class: 'hint' }, m.note)] : []), tableBlock(m));
  else if (m.view === 'metadata') root.append(metadataBlock(true));
  else root.append(h('p', { class: 'hint' }, m.note ?? 'This member is not shown.'));
  return { member: m, root, viewers: () => [], settled: () => Promise.resolve(), destroy: () => root.remove() };
}

function metadataBlock(expanded = false): HTMLElement {
  const md = init?.metadata;
  const box = h('div', { class: 'metadata-body' });
  if (!md) return box;
  if (md.error) box.append(errorBox(`Could not read _metadata: ${md.error}`, 'metadata-error'));
  else if (md.json !== undefined) box.append(jsonTree(md.json));
  else box.append(h('pre', { class: 'metadata-raw' }, md.raw));
  if (md.truncated) box.append(h('p', { class: 'hint' }, 'Only the first 1 MiB is shown.'));
  if (expanded) box.classList.add('expanded');
  return box;
}

// ---------------------------------------------------------------------------------------------------------
// Page

const viewHost = (): HTMLElement => document.getElementById('member-view')!;

function showMember(name: string | undefined, frame?: number): MemberView | undefined {
  if (!init) return undefined;
  const m = init.members.find((x) => x.name === name) ?? init.members[0];
  if (!m) return undefined;
  view?.destroy();
  errorShown = undefined;
  state.member = m.name;
  if (frame !== undefined) state.frames[m.name] = frame;
  persist();
  for (const row of document.querySelectorAll<HTMLTableRowElement>('#members tbody tr')) {
    const selected = row.dataset.member === m.name;
    row.classList.toggle('selected', selected);
    row.setAttribute('aria-selected', String(selected));
    row.querySelector('button')?.setAttribute('aria-current', selected ? 'true' : 'false');
  }
  const host = viewHost();
  host.replaceChildren();
  switch (m.view) {
    case 'image': view = imageView(m, host); break;
    case 'stack': view = stackView(m, host); break;
    case 'series': view = seriesView(m, host); break;
    default: view = simpleView(m, host);
  }
  return view;
}

function storageText(m: MemberInfo): string {
  if (m.compression === 'stored') return 'stored';
  const ratio = m.storedBytes > 0 ? m.dataBytes / m.storedBytes : 0;
  return `deflated${ratio > 0 ? ` ${ratio.toFixed(1)}:1` : ''}`;
}

const VIEW_LABEL: Record<MemberInfo['view'], string> = {
  image: 'image', stack: 'frames', series: 'plot', table: 'table', scalar: 'value', metadata: 'metadata', none: '—',
};

function renderShell(i: NpzInit): void {
  app.removeAttribute('aria-busy');
  const table = h('table', { class: 'np-members', id: 'members', 'aria-label': 'Arrays in the file' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'name'), h('th', { scope: 'col' }, 'dtype'), h('th', { scope: 'col' }, 'shape'),
      h('th', { scope: 'col', class: 'num' }, 'size'), h('th', { scope: 'col' }, 'storage'), h('th', { scope: 'col' }, 'shown as'))));
  const body = h('tbody');
  for (const m of i.members) {
    const open = h('button', { type: 'button', class: 'member-link', title: m.note ?? `Show ${m.name}`, onclick: () => showMember(m.name) }, m.name);
    body.append(h('tr', { 'data-member': m.name, 'aria-selected': 'false' },
      h('td', { class: 'name' }, open),
      h('td', { class: 'dtype', title: `NumPy descr ${m.descr}` }, h('code', {}, m.descr), ' ', h('span', { class: 'muted' }, m.dtypeName)),
      h('td', { class: 'shape' }, m.view === 'scalar' ? h('span', {}, '()') : `(${m.shape.join(', ')}${m.shape.length === 1 ? ',' : ''})`),
      h('td', { class: 'num' }, formatBytes(m.dataBytes)),
      h('td', { class: 'storage' }, storageText(m)),
      h('td', { class: 'shown' }, m.view === 'scalar' ? h('code', { class: 'scalar' }, m.scalar ?? '') : VIEW_LABEL[m.view])));
  }
  table.append(body);
  const others = i.otherEntries.length > 0 ? h('p', { class: 'hint' }, `Other entries (not arrays): ${i.otherEntries.join(', ')}`) : undefined;
  const mdSection = i.metadata
    ? h('section', { class: 'np-card', id: 'metadata', 'aria-label': 'Metadata' }, h('h2', {}, '_metadata'), metadataBlock())
    : undefined;
  const deflated = i.members.filter((m) => m.compression === 'deflated' && (m.view === 'stack' || m.view === 'image'));
  app.replaceChildren(
    h('header', { class: 'np-header' },
      h('div', { class: 'np-file' }, h('h1', { id: 'file-name' }, i.fileName), h('span', { class: 'np-path' }, i.displayPath)),
      h('div', { class: 'np-summary', id: 'file-summary' },
        `${formatBytes(i.fileSize)} · ${i.members.length} array${i.members.length === 1 ? '' : 's'} · ${i.format === 'npz' ? 'NumPy .npz archive' : 'NumPy .npy file'} · ` +
        `opened in ${i.openMs.toFixed(0)} ms (headers only)`)),
    h('div', { class: 'np-layout' },
      h('aside', { class: 'np-side' },
        h('section', { class: 'np-card', 'aria-label': 'Arrays' }, h('h2', {}, 'Arrays'), h('div', { class: 'table-x' }, table), others,
          deflated.length > 0 ? h('p', { class: 'hint' }, `Deflated arrays (${deflated.map((m) => m.name).join(', ')}) are inflated from their start on each read.`) : undefined),
        mdSection),
      h('section', { class: 'np-main', id: 'member-view', 'aria-live': 'polite' })));
}

function renderFatal(f: { title: string; message: string }): void {
  view?.destroy();
  view = undefined;
  init = undefined;
  errorShown = f.message;
  app.removeAttribute('aria-busy');
  app.replaceChildren(h('div', { class: 'error-box fatal', role: 'alert', id: 'fatal' },
    h('h1', {}, f.title), h('p', { id: 'fatal-message' }, f.message),
    h('p', { class: 'muted' }, 'The file is shown read-only; fix or regenerate it and the preview reloads by itself.')));
  reportRendered('error', 0, 0);
}

function viewState(): NpzViewState {
  return {
    member: view?.member.name,
    frame: view?.frame?.(),
    frames: view?.frames?.(),
    viewers: view?.viewers().map((v) => v.state()) ?? [],
    ...(errorShown ? { error: errorShown } : {}),
    scatterPoints: view?.scatterPoints?.(),
  };
}

client.on('init', (i) => {
  init = i;
  renderShell(i);
  const keep = state.member && i.members.some((m) => m.name === state.member) ? state.member : i.initialMember;
  showMember(keep);
});
client.on('fatal', renderFatal);
client.onRequest('getViewState', () => viewState());
client.onRequest('select', async (p) => {
  if (!init) throw new Error('nothing is shown yet');
  if (!init.members.some((m) => m.name === p.member)) throw new Error(`no member "${p.member}"`);
  const v = view && view.member.name === p.member ? view : showMember(p.member, p.frame);
  if (p.frame !== undefined && v?.setFrame) await v.setFrame(p.frame);
  await v?.settled();
  return viewState();
});
client.serveRelay();
client.ready();
