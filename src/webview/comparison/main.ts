// The study-comparison page: the dose × (method, view) grid of reconstructions (rows = doses ascending, columns =
// the PINN views, then the Phase F iterative reconstructions per view; phase by default, amplitude on request, an optional ground-truth column), all on one object canvas
// with one colour scale (a global window, adjustable) and synchronised zoom/pan; empty cells say why. Below:
// the metrics of every job (sortable, the best value per metric marked), the config keys that differ, and a
// PINN − iterative deltas per dose × view (the better value marked), and a metric-vs-dose chart, one line per
// method × view. Live: the host re-sends `init` when the study changes and only
// the cells whose files changed are read again. Settings live in getState/setState.
import { createClient, type Client } from '../client';
import { asFloat32 } from '../shared/binary';
import { errorMessage } from '../shared/endpoint';
import { bestIndices, doseLabel, formatMetric, methodLabel, metricSpec, PINN, sortRows, TABLE_METRICS, type MetricKey, type SortValue } from '../shared/results';
import { h } from '../components/dom';
import { Colorbar } from '../components/colorbar';
import { ImageViewer, type ImageInput } from '../components/imageViewer';
import { SeriesPlot, SERIES_COLORS, type Series } from '../components/seriesPlot';
import { ViewSync, type ViewState } from '../components/viewSync';
import { rotateComplex } from '../../core/image/complexDiff';
import { COLORMAPS, type ColormapName } from '../../core/image/colormaps';
import { autoWindow, finiteMinMax, type Window } from '../../core/image/stats';
import { formatValue } from '../../core/image/ticks';
import type { CellImage, ComparisonCellInfo, ComparisonComponent, ComparisonInit, ComparisonProtocol, ComparisonRow, ComparisonViewParams, ComparisonViewState } from '../protocol';
import { enableTableCsv } from '../components/tableCsv';

interface PersistedState {
  component: ComparisonComponent;
  groundTruth: boolean;
  hideUncovered: boolean;
  colormaps: Record<ComparisonComponent, ColormapName>;
  /** Manual windows per component (absent: Auto). */
  windows: Partial<Record<ComparisonComponent, Window>>;
  sort: { key: string; dir: 'asc' | 'desc' };
  chartMetric: string;
  view?: ViewState;
}

const client: Client<ComparisonProtocol, PersistedState> = createClient<ComparisonProtocol, PersistedState>('comparison');
const saved = client.getState();
const state: PersistedState = {
  component: 'phase', groundTruth: true, hideUncovered: true,
  colormaps: { phase: 'twilight', amplitude: 'gray' }, windows: {},
  sort: { key: 'dose', dir: 'asc' }, chartMetric: 'phase.ssim',
  ...saved,
};
const persist = (): void => client.setState(state);
const app = document.getElementById('app')!;
// Every data table gets a CSV… button (saved through the host's save dialog).
enableTableCsv(app, (suggestedName, text) => client.request('saveCsv', { suggestedName, text }), (t) => `${'comparison'}_${t.id || 'table'}`);
const sync = new ViewSync(state.view);
let persistTimer: ReturnType<typeof setTimeout> | undefined;
sync.subscribe((v) => {
  state.view = v;
  clearTimeout(persistTimer);
  persistTimer = setTimeout(persist, 250);
});

const PHASE_MAPS: ColormapName[] = ['twilight', 'hsv'];
const AMP_MAPS: ColormapName[] = ['gray', 'viridis', 'magma'];

let init: ComparisonInit | undefined;
let updates = 0;
let renderedOnce = false;
let colorbar: Colorbar | undefined;
let chart: SeriesPlot | undefined;
let best: Record<string, string[]> = {};
let tableOrder: string[] = [];
let deltaRowsDrawn: ComparisonViewState['deltaRows'] = [];

/** Decoded cell data, kept across live refreshes while the job's files do not change. */
interface CellData {
  img: CellImage;
  object: Float32Array;
  weight: Float32Array;
  gt?: Float32Array;
  binary: boolean;
}
const cellData = new Map<string, CellData>();
const cacheKey = (jobId: string, revision: string | undefined): string => `${jobId}#${revision ?? ''}`;

interface GridCellView {
  info: ComparisonCellInfo | { dose: number; column: 'ground-truth'; jobId?: undefined };
  viewer?: ImageViewer;
  drawn: boolean;
  error?: string;
}
let gridCells: GridCellView[] = [];

function exportPng(png: ArrayBuffer, suggestedName: string): Promise<string | undefined> {
  return client.request('savePng', { suggestedName, data: png }).then((r) => (r.saved ? r.path : undefined));
}

// ---------------------------------------------------------------------------------------------------------
// Images on the common canvas

function canvasSize(): { w: number; h: number; f: number } | undefined {
  const c = init?.canvas;
  return c ? { w: Math.ceil(c.width / c.factor), h: Math.ceil(c.height / c.factor), f: c.factor } : undefined;
}

/** One job's object (rotated by its global phase; uncovered pixels NaN when hidden) placed on the canvas. */
function placeOnCanvas(d: CellData, which: 'object' | 'gt'): Float32Array | undefined {
  const cs = canvasSize();
  const c = init?.canvas;
  const src = which === 'object' ? d.object : d.gt;
  if (!cs || !c || !src) return undefined;
  const data = new Float32Array(2 * cs.w * cs.h).fill(NaN);
  const rotated = which === 'object' && d.img.globalPhaseOffset ? rotateComplex(src, d.img.globalPhaseOffset) : src;
  pasteInto(data, rotated, d, cs);
  return data;
}

function pasteInto(dst: Float32Array, src: Float32Array, d: CellData, cs: { w: number; h: number; f: number }): void {
  const c = init!.canvas!;
  const dx = Math.round((d.img.x0 - c.x0) / cs.f);
  const dy = Math.round((d.img.y0 - c.y0) / cs.f);
  const { width, height } = d.img;
  for (let y = 0; y < height; y++) {
    const ty = y + dy;
    if (ty < 0 || ty >= cs.h) continue;
    for (let x = 0; x < width; x++) {
      const tx = x + dx;
      if (tx < 0 || tx >= cs.w) continue;
      const i = y * width + x;
      if (state.hideUncovered && !(d.weight[i] > 0)) continue;
      const o = 2 * (ty * cs.w + tx);
      dst[o] = src[2 * i];
      dst[o + 1] = src[2 * i + 1];
    }
  }
}

/** The ground truth of a dose row: every trained job's ground_truth of that dose pasted onto the canvas. */
function groundTruthOfRow(dose: number): Float32Array | undefined {
  const cs = canvasSize();
  if (!cs || !init) return undefined;
  const data = new Float32Array(2 * cs.w * cs.h).fill(NaN);
  let any = false;
  for (const c of init.cells) {
    if (c.dose !== dose || !c.jobId || c.empty) continue;
    const d = cellData.get(cacheKey(c.jobId, c.revision));
    if (!d?.gt) continue;
    pasteInto(data, d.gt, d, cs);
    any = true;
  }
  return any ? data : undefined;
}

function imageInput(data: Float32Array, label: string): ImageInput {
  const cs = canvasSize()!;
  const c = init!.canvas!;
  return { width: cs.w, height: cs.h, complex: true, data, factor: cs.f, sourceWidth: c.width, sourceHeight: c.height, label };
}

// ---------------------------------------------------------------------------------------------------------
// The shared colour scale

const mode = (): 'phase' | 'amplitude' => state.component;
const colormap = (): ColormapName => {
  const c = state.colormaps[state.component];
  return (state.component === 'phase' ? PHASE_MAPS : AMP_MAPS).includes(c) ? c : state.component === 'phase' ? 'twilight' : 'gray';
};

/** Auto: −π…π for phase; for amplitude the 1st–99th percentile of every cell's covered pixels together. */
function autoGlobalWindow(): Window {
  if (state.component === 'phase') return { lo: -Math.PI, hi: Math.PI };
  const vals: number[] = [];
  for (const g of gridCells) {
    const v = g.viewer?.modeValues();
    if (!v) continue;
    const step = Math.max(1, Math.floor(v.length / 40_000));
    for (let i = 0; i < v.length; i += step) if (Number.isFinite(v[i])) vals.push(v[i]);
  }
  return vals.length > 0 ? autoWindow(vals, 1, 99) : { lo: 0, hi: 1 };
}

function currentWindow(): Window {
  return state.windows[state.component] ?? autoGlobalWindow();
}

function applyScale(): void {
  // The component first (the automatic window is computed from the values of the component shown).
  for (const g of gridCells) g.viewer?.applySettings({ mode: mode(), colormaps: { [mode()]: colormap() } });
  const w = currentWindow();
  for (const g of gridCells) g.viewer?.applySettings({ windows: { [mode()]: w } });
  colorbar?.set({ colormap: colormap(), lo: w.lo, hi: w.hi, phase: state.component === 'phase', unit: state.component === 'phase' ? 'rad (global phase removed per job)' : 'amplitude' });
  const lo = document.getElementById('win-lo') as HTMLInputElement | null;
  const hi = document.getElementById('win-hi') as HTMLInputElement | null;
  if (lo && document.activeElement !== lo) lo.value = String(Number(w.lo.toPrecision(5)));
  if (hi && document.activeElement !== hi) hi.value = String(Number(w.hi.toPrecision(5)));
  document.getElementById('scale-controls')?.classList.toggle('iv-auto-window', !state.windows[state.component]);
}

// ---------------------------------------------------------------------------------------------------------
// Page parts

function toolbar(): HTMLElement {
  const comp = h('select', { id: 'component-select', 'aria-label': 'Component shown in the grid', onchange: () => {
    state.component = comp.value as ComparisonComponent;
    persist();
    rebuildToolbar();
    applyScale();
  } }, h('option', { value: 'phase' }, 'phase'), h('option', { value: 'amplitude' }, 'amplitude')) as HTMLSelectElement;
  comp.value = state.component;
  const maps = state.component === 'phase' ? PHASE_MAPS : AMP_MAPS;
  const cmap = h('select', { id: 'colormap-select', 'aria-label': 'Colormap of the whole grid', onchange: () => {
    state.colormaps[state.component] = cmap.value as ColormapName;
    persist();
    applyScale();
  } }, ...maps.map((m) => h('option', { value: m }, COLORMAPS[m].label))) as HTMLSelectElement;
  cmap.value = colormap();
  const onWin = (): void => {
    const lo = Number((document.getElementById('win-lo') as HTMLInputElement).value);
    const hi = Number((document.getElementById('win-hi') as HTMLInputElement).value);
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) return;
    state.windows[state.component] = { lo, hi };
    persist();
    applyScale();
  };
  const check = (id: string, label: string, title: string, get: () => boolean, set: (v: boolean) => void): HTMLElement => {
    const box = h('input', { type: 'checkbox', id, checked: get(), onchange: () => {
      set(box.checked);
      persist();
    } });
    return h('label', { class: 'iv-check', for: id, title }, box, label);
  };
  const btn = (label: string, title: string, id: string, fn: () => void): HTMLButtonElement => h('button', { type: 'button', class: 'iv-btn', id, title, 'aria-label': title, onclick: fn }, label);
  return h('div', { class: 'mv-controls cmp-toolbar', id: 'cmp-toolbar', role: 'toolbar', 'aria-label': 'Grid display' },
    h('label', { class: 'iv-label', for: 'component-select' }, 'show'), comp,
    h('label', { class: 'iv-label', for: 'colormap-select' }, 'colormap'), cmap,
    h('span', { class: 'iv-group iv-window', id: 'scale-controls', role: 'group', 'aria-label': 'Shared contrast window' },
      h('span', { class: 'iv-label' }, 'window'),
      h('input', { type: 'number', id: 'win-lo', step: 'any', 'aria-label': 'Window minimum for every cell', onchange: onWin }),
      h('span', { class: 'iv-dash' }, '–'),
      h('input', { type: 'number', id: 'win-hi', step: 'any', 'aria-label': 'Window maximum for every cell', onchange: onWin }),
      btn('Auto', state.component === 'phase' ? 'Automatic window: −π…π' : 'Automatic window: 1st–99th percentile of every cell together', 'win-auto', () => {
        delete state.windows[state.component];
        persist();
        applyScale();
      }),
      btn('Min/Max', 'Window = full range of every cell together', 'win-minmax', () => {
        let lo = Infinity;
        let hi = -Infinity;
        for (const g of gridCells) {
          const v = g.viewer?.modeValues();
          if (!v) continue;
          const mm = finiteMinMax(v);
          if (mm.finite > 0) { lo = Math.min(lo, mm.min); hi = Math.max(hi, mm.max); }
        }
        if (hi > lo) {
          state.windows[state.component] = { lo, hi };
          persist();
          applyScale();
        }
      })),
    check('opt-gt', 'ground-truth column', 'Show the ground truth (objectGuess) of each dose as the last column', () => state.groundTruth, (v) => { state.groundTruth = v; renderGrid(); }),
    check('opt-uncovered', 'hide uncovered pixels', 'Leave out pixels no scan position covered (weight 0): they are not reconstructed', () => state.hideUncovered, (v) => { state.hideUncovered = v; renderGrid(); }),
    h('span', { class: 'iv-group', role: 'group', 'aria-label': 'Zoom of every cell' },
      btn('−', 'Zoom out every cell', 'zoom-out', () => sync.set({ ...sync.state, zoom: sync.state.zoom / 1.5 })),
      btn('+', 'Zoom in every cell', 'zoom-in', () => sync.set({ ...sync.state, zoom: sync.state.zoom * 1.5 })),
      btn('Fit', 'Fit every cell', 'zoom-fit', () => sync.reset())),
    btn('Export grid PNG', 'Export the grid with its labels and colour scale as one PNG', 'export-grid', () => void exportGrid()),
    btn('Export Study Report…', 'Export the study report (metrics CSV and JSON, PINN − iterative deltas, the figure, every job\'s manifest and PNGs, README) to a folder', 'export-report', () => void exportReport()));
}

async function exportReport(): Promise<void> {
  const status = document.getElementById('cmp-status');
  if (status) status.textContent = 'Exporting the study report…';
  try {
    const r = await client.request('exportReport', {});
    if (status) status.textContent = r.written ? `Report written to ${r.outDir} (${r.jobs} jobs with metrics${r.absent ? `, ${r.absent} absent` : ''})` : r.message ?? 'No report written.';
  } catch (err) {
    if (status) status.textContent = `Report export failed: ${errorMessage(err)}`;
  }
}

function rebuildToolbar(): void {
  document.getElementById('cmp-toolbar')?.replaceWith(toolbar());
  const holder = document.getElementById('colorbar-holder');
  if (holder && colorbar) holder.append(colorbar.root);
}

function cellCaption(info: ComparisonCellInfo, row: ComparisonRow | undefined): HTMLElement {
  const id = info.jobId!;
  const c = state.component;
  const m = row?.[c];
  const bits = m ? [`PSNR ${formatMetric(m.psnr)} dB`, `SSIM ${formatMetric(m.ssim)}`, `r ${formatMetric(m.pearson)}`, `FRC50 ${formatMetric(m.frc50)} c/px`] : [];
  return h('div', { class: 'cmp-caption' },
    h('button', { type: 'button', class: 'member-link cmp-open', title: `Open ${row && row.method !== PINN ? 'the reconstruction file' : 'the reconstruction viewer'} of ${id}`, 'data-job': id, onclick: () => void client.request('openReconstruction', { jobId: id }) }, id),
    row?.run ? h('span', { class: 'cmp-run-note', 'data-job': id }, ` run ${row.run.id} (${standInText(row.run)}) `) : undefined,
    h('span', { class: 'muted' }, bits.join(' · ')));
}

/** Why an earlier run stands for its job. */
function standInText(run: NonNullable<ComparisonRow['run']>): string {
  return run.why === 'chosen' ? 'chosen for comparisons' : `the latest that succeeded; the latest run ${run.latestStatus ?? 'did not'}`;
}

function emptyCell(info: ComparisonCellInfo): HTMLElement {
  const e = info.empty!;
  const canTrain = info.jobId && ['not-trained', 'dry-run', 'failed', 'cancelled'].includes(e.kind);
  const status = h('span', { class: 'muted', 'aria-live': 'polite' });
  const column = init?.columns.find((c) => c.key === info.column);
  if (column && column.method !== PINN) {
    // A Phase F cell: Reconstruct (ptychoStudy.reconstruct) instead of Train.
    return h('div', { class: `cmp-empty kind-${e.kind}`, 'data-job': info.jobId ?? '', role: 'note' },
      info.jobId ? h('div', { class: 'cmp-empty-job' }, info.jobId) : undefined,
      h('div', { class: 'cmp-empty-text' }, e.text),
      canTrain ? h('button', { type: 'button', class: 'iv-btn cmp-reconstruct', title: `Reconstruct ${info.jobId} (${methodLabel(column.method)})`, onclick: (ev: Event) => {
        (ev.target as HTMLButtonElement).disabled = true;
        void client.request('reconstruct', { jobId: info.jobId! }).then((r) => { status.textContent = r.started ? 'queued…' : r.message ?? ''; }, (err) => { status.textContent = errorMessage(err); });
      } }, e.kind === 'failed' || e.kind === 'cancelled' ? 'Reconstruct again' : 'Reconstruct') : undefined,
      status);
  }
  return h('div', { class: `cmp-empty kind-${e.kind}`, 'data-job': info.jobId ?? '', role: 'note' },
    info.jobId ? h('div', { class: 'cmp-empty-job' }, info.jobId) : undefined,
    h('div', { class: 'cmp-empty-text' }, e.text),
    canTrain ? h('button', { type: 'button', class: 'iv-btn cmp-train', title: `Train ${info.jobId}`, onclick: (ev: Event) => {
      (ev.target as HTMLButtonElement).disabled = true;
      void client.request('train', { jobId: info.jobId! }).then((r) => { status.textContent = r.started ? 'queued…' : r.message ?? ''; }, (err) => { status.textContent = errorMessage(err); });
    } }, e.kind === 'failed' || e.kind === 'cancelled' ? 'Train again' : 'Train') : undefined,
    status);
}

function describeAt(g: GridCellView): (px: number, py: number) => string {
  return (px, py) => {
    const v = g.viewer?.modeValues();
    const c = init?.canvas;
    if (!v || !c) return '';
    const f = c.factor;
    const x = c.x0 + px * f;
    const y = c.y0 + py * f;
    const val = v[py * Math.ceil(c.width / f) + px];
    const where = f > 1 ? `x ${x}–${x + f - 1}, y ${y}–${y + f - 1}` : `x ${x}, y ${y}`;
    return `${where} · ${Number.isFinite(val) ? `${state.component === 'phase' ? 'φ' : 'A'} ${formatValue(val, 4)}${state.component === 'phase' ? ' rad' : ''}` : 'not reconstructed here'}`;
  };
}

function onHover(source: GridCellView, p: { x: number; y: number } | undefined): void {
  for (const g of gridCells) {
    if (!g.viewer) continue;
    if (g !== source) {
      g.viewer.setMarker(p);
      g.viewer.showPixel(p);
    }
  }
}

function makeViewer(parent: HTMLElement, g: GridCellView, id: string, label: string): ImageViewer {
  return new ImageViewer(parent, {
    id, label, sync, toolbar: false, colorbar: false, footerTools: false, fixedMode: true, idleReadout: '',
    settings: { mode: mode(), colormaps: { [mode()]: colormap() } },
    describe: describeAt(g),
    onHover: (p) => onHover(g, p),
    exportPng, exportBase: 'study',
  });
}

/** The grid: header row of views, one row per dose; cells drawn as their data arrive. */
function renderGrid(): void {
  for (const g of gridCells) g.viewer?.destroy();
  gridCells = [];
  const host = document.getElementById('grid-host');
  if (!host || !init) return;
  const rowsById = new Map(init.rows.map((r) => [r.jobId, r]));
  const withGt = state.groundTruth && init.cells.some((c) => c.hasGroundTruth && !c.empty);
  const ncol = init.columns.length + (withGt ? 1 : 0);
  const grid = h('div', { class: 'cmp-grid', id: 'cmp-grid', role: 'table', 'aria-label': 'Reconstructions by dose (rows) and view (columns)' });
  grid.style.gridTemplateColumns = `max-content repeat(${ncol}, minmax(160px, 1fr))`;
  grid.append(h('div', { class: 'cmp-corner', role: 'columnheader' }, 'dose \\ view'));
  for (const c of init.columns) grid.append(h('div', { class: 'cmp-colhead', role: 'columnheader' }, c.label));
  if (withGt) grid.append(h('div', { class: 'cmp-colhead', role: 'columnheader' }, 'ground truth'));
  init.doses.forEach((dose, r) => {
    grid.append(h('div', { class: 'cmp-rowhead', role: 'rowheader' }, `dose ${doseLabel(dose)}`));
    init!.columns.forEach((col, k) => {
      const info = init!.cells[r * init!.columns.length + k];
      const box = h('div', { class: 'cmp-cell', role: 'cell', id: `cell-${r}-${k}`, 'data-job': info.jobId ?? '' });
      grid.append(box);
      const g: GridCellView = { info, drawn: false };
      gridCells.push(g);
      if (info.empty || !init!.canvas) {
        box.append(emptyCell(info.empty ? info : { ...info, empty: { kind: 'no-reconstruction', text: 'no reconstruction' } }));
        return;
      }
      box.append(cellCaption(info, rowsById.get(info.jobId!)));
      g.viewer = makeViewer(box, g, `cell-${r}-${k}-view`, `${info.jobId} ${state.component}`);
      void col;
    });
    if (withGt) {
      const box = h('div', { class: 'cmp-cell cmp-gt', role: 'cell', id: `cell-${r}-gt` });
      grid.append(box);
      const g: GridCellView = { info: { dose, column: 'ground-truth' }, drawn: false };
      gridCells.push(g);
      box.append(h('div', { class: 'cmp-caption' }, h('strong', {}, `ground truth, dose ${doseLabel(dose)}`), h('span', { class: 'muted' }, 'objectGuess over the regions of this row')));
      // The ground truth is cut to the regions the row's reconstructions cover: none, nothing to show.
      const rowHasResult = init!.columns.some((_c, k) => !init!.cells[r * init!.columns.length + k].empty) && !!init!.canvas;
      if (rowHasResult) g.viewer = makeViewer(box, g, `cell-${r}-gt-view`, `ground truth dose ${doseLabel(dose)}`);
      else box.append(h('div', { class: 'cmp-empty kind-no-reconstruction', role: 'note' }, h('div', { class: 'cmp-empty-text' }, 'no reconstruction in this row yet: the ground truth is shown over the regions the row\'s jobs reconstruct')));
    }
  });
  host.replaceChildren(grid);
  void loadCells();
}

async function loadCells(): Promise<void> {
  const t0 = performance.now();
  const wantGt = state.groundTruth;
  const jobs = gridCells.filter((g) => g.viewer && g.info.jobId).map((g) => g.info as ComparisonCellInfo);
  let requestMs = 0;
  // Three requests in flight at most (the host decodes two at a time anyway).
  const queue = [...jobs];
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const key = cacheKey(c.jobId!, c.revision);
      const have = cellData.get(key);
      if (have && (!wantGt || have.gt || !c.hasGroundTruth)) continue;
      const r0 = performance.now();
      try {
        const img = await client.request('readCell', { jobId: c.jobId!, groundTruth: wantGt });
        requestMs = Math.max(requestMs, performance.now() - r0);
        const bin = (b: unknown): boolean => b instanceof ArrayBuffer || ArrayBuffer.isView(b);
        cellData.set(key, {
          img, object: asFloat32(img.object, 'object'), weight: asFloat32(img.weight, 'weight'),
          ...(img.groundTruth ? { gt: asFloat32(img.groundTruth, 'ground_truth') } : {}),
          binary: bin(img.object) && bin(img.weight),
        });
      } catch (err) {
        const g = gridCells.find((x) => x.info.jobId === c!.jobId);
        if (g) g.error = errorMessage(err);
      }
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  const d0 = performance.now();
  for (const g of gridCells) {
    if (!g.viewer) continue;
    if (g.info.column === 'ground-truth') {
      const data = groundTruthOfRow(g.info.dose);
      if (data) {
        g.viewer.setImage(imageInput(data, `ground truth dose ${doseLabel(g.info.dose)}`));
          g.drawn = true;
      }
      continue;
    }
    const info = g.info as ComparisonCellInfo;
    const d = cellData.get(cacheKey(info.jobId!, info.revision));
    const data = d && placeOnCanvas(d, 'object');
    if (data) {
      g.viewer.setImage(imageInput(data, info.jobId!));
      g.drawn = true;
    } else if (g.error) {
      g.viewer.root.replaceWith(h('div', { class: 'error-box' }, `Could not read ${info.jobId}: ${g.error}`));
      g.viewer.destroy();
      g.viewer = undefined;
    }
  }
  applyScale();
  const first = !renderedOnce;
  renderedOnce = true;
  void client.emit('rendered', { what: `grid of ${gridCells.filter((g) => g.drawn).length} cells`, scriptStartMs: client.timing.scriptStartMs, readyMs: client.timing.readyMs, drawnMs: performance.now(), requestMs, drawMs: performance.now() - d0, first }).catch(() => undefined);
  void t0;
}

// ---- metrics table

interface Column {
  id: string;
  label: string;
  title: string;
  value: (r: ComparisonRow) => SortValue;
  format?: (r: ComparisonRow) => string;
  /** Better direction: marks the best value. */
  better?: 'lower' | 'higher';
  /** Best values are taken within rows of the same dose (losses of different doses are not comparable). */
  bestPerDose?: boolean;
  group?: string;
  /** Left-aligned text column. */
  text?: boolean;
}

function columns(): Column[] {
  const cols: Column[] = [
    { id: 'jobId', label: 'job', title: 'Job id (open its reconstruction viewer)', value: (r) => r.jobId, text: true },
    { id: 'dose', label: 'dose', title: 'Photons per pattern', value: (r) => r.dose, format: (r) => doseLabel(r.dose) },
    { id: 'method', label: 'method', title: 'PINN (trained PtychoPINN) or the Phase F iterative algorithm (ePIE, rPIE)', value: (r) => methodLabel(r.method), text: true },
    { id: 'view', label: 'view', title: 'Overlap view', value: (r) => r.view, text: true },
    { id: 'gridsize', label: 'gs', title: 'Gridsize (patterns per group = gs²)', value: (r) => r.gridsize },
    { id: 'state', label: 'state', title: 'Job state', value: (r) => r.state, text: true },
    { id: 'epochs', label: 'epochs', title: 'Epochs trained (PINN jobs)', value: (r) => r.epochs },
    { id: 'finalLoss', label: 'final loss', title: 'Final training loss, lower is better. The best is marked per dose: the Poisson loss scales with the photon counts, so losses of different doses are not comparable.', value: (r) => (r.hasReconstruction ? r.finalLoss : null), better: 'lower', bestPerDose: true },
  ];
  for (const comp of ['amplitude', 'phase'] as const) {
    for (const k of TABLE_METRICS) {
      const spec = metricSpec(k);
      cols.push({
        id: `${comp}.${k}`, label: spec.label, group: comp, title: `${comp} ${spec.label}: ${spec.description}`, better: spec.better,
        value: (r) => (r.hasReconstruction ? r[comp][k] ?? null : null),
      });
    }
  }
  return cols;
}

function renderTable(): void {
  const host = document.getElementById('table-host');
  if (!host || !init) return;
  const cols = columns();
  const col = cols.find((c) => c.id === state.sort.key) ?? cols[1];
  const rows = sortRows(init.rows, col.value, state.sort.dir);
  tableOrder = rows.map((r) => r.jobId);
  best = {};
  for (const c of cols) {
    if (!c.better) continue;
    const groups = c.bestPerDose ? [...new Set(rows.map((r) => r.dose))].map((d) => rows.filter((r) => r.dose === d)) : [rows];
    best[c.id] = groups.flatMap((g) => bestIndices(g.map((r) => c.value(r) as number | null), c.better!).map((i) => g[i].jobId));
  }
  const groupRow = h('tr', {}, h('th', { colspan: 8, scope: 'colgroup' }, ''), h('th', { colspan: TABLE_METRICS.length, scope: 'colgroup', class: 'grp' }, 'amplitude'), h('th', { colspan: TABLE_METRICS.length, scope: 'colgroup', class: 'grp' }, 'phase'));
  const head = h('tr');
  for (const c of cols) {
    const sorted = c.id === state.sort.key;
    const arrow = sorted ? (state.sort.dir === 'asc' ? ' ▲' : ' ▼') : '';
    const dir = c.better ? (c.better === 'lower' ? ' ↓' : ' ↑') : '';
    head.append(h('th', { scope: 'col', class: c.text ? 'text' : '', 'aria-sort': sorted ? (state.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none', title: c.title },
      h('button', { type: 'button', class: 'sort-btn', 'data-col': c.id, onclick: () => {
        state.sort = { key: c.id, dir: sorted && state.sort.dir === 'asc' ? 'desc' : sorted ? 'asc' : c.better === 'higher' ? 'desc' : 'asc' };
        persist();
        renderTable();
      } }, `${c.label}${dir}${arrow}`)));
  }
  const body = h('tbody');
  for (const r of rows) {
    const tr = h('tr', { 'data-job': r.jobId, class: r.hasReconstruction ? '' : 'no-results' });
    for (const c of cols) {
      const isBest = !!c.better && best[c.id]?.includes(r.jobId);
      const text = c.format ? c.format(r) : typeof c.value(r) === 'number' ? formatMetric(c.value(r) as number) : String(c.value(r) ?? '—');
      if (c.id === 'jobId') {
        tr.append(h('th', { scope: 'row', class: 'text' }, r.hasReconstruction
          ? h('button', { type: 'button', class: 'member-link', title: `Open the reconstruction viewer of ${r.jobId}`, onclick: () => void client.request('openReconstruction', { jobId: r.jobId }) }, r.jobId)
          : h('span', { title: r.reason ?? r.state }, r.jobId),
          r.run ? h('span', { class: 'cmp-run-note', title: standInText(r.run) }, ` · run ${r.run.id}`) : undefined));
      } else {
        tr.append(h('td', { class: `${isBest ? 'best' : ''} ${c.group ? 'num' : ''} ${c.text ? 'text' : ''}`.trim(), 'data-col': c.id, title: isBest ? `best of the trained jobs${c.bestPerDose ? ' at this dose' : ''} (${c.better} is better)` : c.id === 'state' ? r.reason ?? '' : '' },
          isBest ? h('span', { class: 'best-mark', 'aria-hidden': 'true' }, '★ ') : undefined, text, isBest ? h('span', { class: 'sr-only' }, ' (best)') : undefined));
      }
    }
    body.append(tr);
  }
  const trained = init.rows.filter((r) => r.hasReconstruction).length;
  // Jobs whose numbers are not on their dose's common evaluation (a fallback, or a metrics.json written before it).
  const apart = init.rows.filter((r) => r.hasReconstruction && r.evaluation?.source !== 'phase-c-test').map((r) => r.jobId);
  host.replaceChildren(
    h('div', { class: 'table-x' }, h('table', { class: 'data-table cmp-table', id: 'metrics-table' }, h('thead', {}, groupRow, head), body)),
    h('p', { class: 'hint' }, `${trained} of ${init.rows.length} jobs have results. ★ marks the best value of each metric among them (↓ lower is better, ↑ higher is better; the final loss per dose); click a column to sort. Every job of a dose is scored on the same evaluation set and object region: the dose's Phase C test split, within the scan's bounding box ± M/2, holes included. FRC50 is in cycles per pixel.`),
    ...(apart.length > 0 ? [h('p', { class: 'hint warn', id: 'metrics-apart' }, `Not on the common evaluation (own split; not comparable): ${apart.join(', ')}.`)] : []),
    referenceTable(),
    deltaTable());
}

/** PINN − iterative per dose × view × algorithm (the original study's deltas), the better value of each pair marked. */
function deltaTable(): HTMLElement {
  const deltas = init?.deltas ?? [];
  deltaRowsDrawn = [];
  if (deltas.length === 0) {
    return h('p', { class: 'hint', id: 'delta-note' }, 'PINN − iterative: appears once a view has both a trained PINN and a Phase F reconstruction with results at the same dose (Reconstruct on a Phase F node of the Jobs tree).');
  }
  const metrics = deltas[0].values.filter((v) => v.part === 'amplitude').map((v) => v.metric);
  const head1 = h('tr', {}, h('th', { colspan: 3, scope: 'colgroup' }, ''), ...(['amplitude', 'phase'] as const).map((p) => h('th', { colspan: metrics.length, scope: 'colgroup', class: 'grp' }, p)));
  const head2 = h('tr', {}, h('th', { scope: 'col' }, 'dose'), h('th', { scope: 'col', class: 'text' }, 'view'), h('th', { scope: 'col', class: 'text' }, 'vs'),
    ...(['amplitude', 'phase'] as const).flatMap((p) => metrics.map((k) => {
      const spec = metricSpec(k);
      return h('th', { scope: 'col', title: `${p} ${spec.label}: PINN − iterative (${spec.better} is better)` }, `Δ ${spec.label}${spec.better === 'lower' ? ' ↓' : ' ↑'}`);
    })));
  const body = h('tbody');
  for (const d of deltas) {
    const marked: string[] = [];
    const tr = h('tr', { 'data-pinn': d.pinnJobId, 'data-iterative': d.iterativeJobId },
      h('td', {}, doseLabel(d.dose)), h('th', { scope: 'row', class: 'text' }, d.view), h('td', { class: 'text', title: `${d.pinnJobId} − ${d.iterativeJobId}` }, methodLabel(d.method)));
    for (const v of d.values) {
      const cls = v.better === 'pinn' ? 'best delta-pinn' : v.better === 'iterative' ? 'delta-iterative' : '';
      if (v.better === 'pinn' || v.better === 'iterative') marked.push(`${v.part}.${v.metric}:${v.better}`);
      const sign = v.delta !== null && v.delta > 0 ? '+' : '';
      const winner = v.better === 'pinn' ? 'PINN' : v.better === 'iterative' ? methodLabel(d.method) : v.better === 'tie' ? 'tie' : '';
      tr.append(h('td', { class: `num ${cls}`.trim(), 'data-col': `${v.part}.${v.metric}`, title: `PINN ${formatMetric(v.pinn)} · ${methodLabel(d.method)} ${formatMetric(v.iterative)}${winner ? ` — better: ${winner}` : ''}` },
        v.better === 'pinn' ? h('span', { class: 'best-mark', 'aria-hidden': 'true' }, '★ ') : v.better === 'iterative' ? h('span', { class: 'delta-mark', 'aria-hidden': 'true' }, '◆ ') : undefined,
        v.delta === null ? '—' : `${sign}${formatMetric(v.delta)}`, winner ? h('span', { class: 'sr-only' }, ` (better: ${winner})`) : undefined));
    }
    deltaRowsDrawn.push({ pinnJobId: d.pinnJobId, iterativeJobId: d.iterativeJobId, marked });
    body.append(tr);
  }
  return h('div', { class: 'table-x' },
    h('table', { class: 'data-table cmp-table', id: 'delta-table' },
      h('caption', { class: 'hint' }, 'PINN − iterative, per dose and view (the PINN of the view: gs1 for baseline, gs2 for a Phase D view; both scored on the dose\'s common evaluation). ★ the PINN is better, ◆ the iterative reconstruction is better (higher is better except MAE, where lower is).'),
      h('thead', {}, head1, head2), body));
}

/** The flat predictor of each dose, with the trained jobs' metric columns: what "learned nothing" scores. */
function referenceTable(): HTMLElement {
  const refs = init?.references ?? [];
  if (refs.length === 0) return h('p', { class: 'hint', id: 'reference-note' }, 'The flat-predictor reference appears once a job of a dose has results on the common evaluation.');
  const head = h('tr', {}, h('th', { scope: 'col', class: 'text' }, 'reference'), h('th', { scope: 'col' }, 'dose'),
    ...(['amplitude', 'phase'] as const).flatMap((comp) => TABLE_METRICS.map((k) => h('th', { scope: 'col', title: `${comp} ${metricSpec(k).label}: ${metricSpec(k).description}` }, `${comp === 'amplitude' ? 'amp' : 'phase'} ${metricSpec(k).label}`))));
  const rows = refs.map((r) => h('tr', { 'data-reference': r.jobId ?? `${r.dose}`, 'data-kind': r.kind ?? 'flat' },
    h('th', { scope: 'row', class: 'text', title: r.description }, r.label), h('td', {}, doseLabel(r.dose)),
    ...(['amplitude', 'phase'] as const).flatMap((comp) => TABLE_METRICS.map((k) => h('td', { class: 'num' }, formatMetric(r[comp][k] ?? null))))));
  return h('div', { class: 'table-x' },
    h('table', { class: 'data-table cmp-table', id: 'reference-table' }, h('caption', { class: 'hint' }, `Reference: the flat predictor (constant amplitude = mean of the ground truth, zero phase) on each dose's common evaluation. A trained job that does not beat it learned nothing useful.${refs.some((r) => r.kind === 'network-alone') ? ' "network alone": a refined gridsize-2 job\'s network predictions stitched the same way without the group refinement — the network\'s own estimate, for PINN against iterative.' : ''}`), h('thead', {}, head), h('tbody', {}, ...rows)));
}

function renderConfig(): void {
  const host = document.getElementById('config-host');
  if (!host || !init) return;
  const c = init.config;
  if (c.jobs.length < 2) {
    host.replaceChildren(h('p', { class: 'hint', id: 'config-note' }, 'The differing settings appear once two or more jobs have results.'));
    return;
  }
  const rowsById = new Map(init.rows.map((r) => [r.jobId, r]));
  const short = (j: string): string => {
    const r = rowsById.get(j);
    return r ? `${doseLabel(r.dose)} ${r.view}` : j;
  };
  const fmt = (v: unknown): string => (v === null ? '—' : typeof v === 'number' ? formatValue(v, 6) : String(v));
  const table = h('table', { class: 'data-table cfg-table', id: 'config-table' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'text' }, 'setting'), ...c.jobs.map((j) => h('th', { scope: 'col', title: j }, short(j))))),
    h('tbody', {}, ...c.keys.map((k) => {
      // The most common value is plain; the others are marked (where this job differs).
      const counts = new Map<string, number>();
      for (const v of k.values) counts.set(fmt(v), (counts.get(fmt(v)) ?? 0) + 1);
      const common = [...counts].sort((a, b) => b[1] - a[1])[0][0];
      return h('tr', { 'data-key': k.key }, h('th', { scope: 'row', class: 'text' }, h('code', {}, k.key)),
        ...k.values.map((v) => h('td', { class: fmt(v) !== common ? 'differs' : 'muted' }, fmt(v))));
    })));
  host.replaceChildren(
    c.keys.length > 0 ? h('div', { class: 'table-x' }, table) : h('p', { class: 'hint' }, 'Every setting is the same in all trained jobs.'),
    h('p', { class: 'hint' }, `Only settings that differ are listed (manifest config, config.training and the execution provider used); ${c.identical} identical settings are hidden, and the job identity and file paths (${c.omitted.length}) are left out.`));
}

function chartMetricOptions(): [string, string][] {
  const out: [string, string][] = [];
  for (const comp of ['phase', 'amplitude'] as const) for (const k of TABLE_METRICS) out.push([`${comp}.${k}`, `${comp} ${metricSpec(k).label}`]);
  out.push(['finalLoss', 'final loss']);
  return out;
}

function renderChart(): void {
  const host = document.getElementById('chart-host');
  if (!host || !init) return;
  const sel = h('select', { id: 'chart-metric', 'aria-label': 'Metric plotted against dose', onchange: () => {
    state.chartMetric = sel.value;
    persist();
    renderChart();
  } }, ...chartMetricOptions().map(([v, l]) => h('option', { value: v }, l))) as HTMLSelectElement;
  sel.value = chartMetricOptions().some(([v]) => v === state.chartMetric) ? state.chartMetric : 'phase.ssim';
  const label = chartMetricOptions().find(([v]) => v === sel.value)![1];
  const [comp, key] = sel.value.includes('.') ? (sel.value.split('.') as ['amplitude' | 'phase', MetricKey]) : [undefined, undefined];
  const valueOf = (r: ComparisonRow): number | null => (!r.hasReconstruction ? null : comp && key ? r[comp][key] ?? null : r.finalLoss);
  const series: Series[] = init.columns.map((c, i) => {
    // One line per method × view: the grid's columns (a PINN view, or an iterative algorithm on a view, dashed).
    const rows = init!.rows.filter((r) => r.column === c.key).sort((a, b) => a.dose - b.dose);
    const label = c.method === PINN ? `PINN ${c.label}` : c.label;
    return { label, x: rows.map((r) => r.dose), y: rows.map((r) => valueOf(r) ?? NaN), color: SERIES_COLORS[i % SERIES_COLORS.length], markers: true, ...(c.method === PINN ? {} : { dash: [2, 3] }) };
  });
  // The flat predictor of each dose, dashed: the line a trained model has to beat.
  if (comp && key) {
    const refs = (init.references ?? []).filter((r) => (r.kind ?? 'flat') === 'flat').sort((a, b) => a.dose - b.dose);
    if (refs.length > 0) series.push({ label: 'flat predictor', x: refs.map((r) => r.dose), y: refs.map((r) => r[comp][key] ?? NaN), color: 'red', dash: [5, 4], markers: true });
  }
  const box = h('div', { class: 'cmp-chart' });
  host.replaceChildren(h('div', { class: 'mv-controls' }, h('label', { class: 'iv-label', for: 'chart-metric' }, 'metric'), sel), box);
  chart = new SeriesPlot(box, { id: 'dose-chart', title: `${label} against dose`, xLabel: 'dose (photons per pattern)', yLabel: label, logX: true, xTicks: init.doses.map((d) => ({ value: d, label: doseLabel(d) })), height: 260 });
  chart.setData(series.filter((s) => Array.from(s.y).some((v) => Number.isFinite(v))));
}

// ---- export of the grid

async function exportGrid(): Promise<void> {
  const grid = document.getElementById('cmp-grid');
  if (!grid || !init) return;
  const shown = gridCells.filter((g) => g.viewer && g.drawn);
  if (shown.length === 0) return;
  const dpr = window.devicePixelRatio || 1;
  const first = shown[0].viewer!.canvas;
  const cw = first.width;
  const ch = first.height;
  const withGt = gridCells.some((g) => g.info.column === 'ground-truth');
  const ncol = init.columns.length + (withGt ? 1 : 0);
  const labelW = Math.round(90 * dpr);
  const labelH = Math.round(24 * dpr);
  const barH = Math.round(50 * dpr);
  const out = document.createElement('canvas');
  out.width = labelW + ncol * (cw + 4 * dpr);
  out.height = labelH + init.doses.length * (ch + labelH) + barH;
  const ctx = out.getContext('2d')!;
  const style = getComputedStyle(document.body);
  ctx.fillStyle = style.getPropertyValue('--vscode-editor-background').trim() || '#1e1e1e';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = style.getPropertyValue('--vscode-foreground').trim() || '#ccc';
  ctx.font = `${Math.round(12 * dpr)}px sans-serif`;
  ctx.textBaseline = 'middle';
  const heads = [...init.columns.map((c) => c.label), ...(withGt ? ['ground truth'] : [])];
  heads.forEach((t, k) => ctx.fillText(t, labelW + k * (cw + 4 * dpr) + 4, labelH / 2));
  init.doses.forEach((d, r) => ctx.fillText(`dose ${doseLabel(d)}`, 4, labelH + r * (ch + labelH) + labelH + ch / 2));
  let i = 0;
  init.doses.forEach((_, r) => {
    for (let k = 0; k < ncol; k++) {
      const g = gridCells[i++];
      const x = labelW + k * (cw + 4 * dpr);
      const y = labelH + r * (ch + labelH) + labelH;
      if (g?.viewer && g.drawn) ctx.drawImage(g.viewer.canvas, x, y, cw, ch);
      else if (g?.info && 'empty' in g.info && g.info.empty) {
        ctx.fillText(g.info.empty.text.slice(0, 40), x + 4, y + ch / 2);
      }
      if (g?.info.jobId) ctx.fillText(g.info.jobId, x + 4, y - labelH / 2);
    }
  });
  if (colorbar) ctx.drawImage(colorbar.canvas, labelW, out.height - barH + 4 * dpr);
  const blob = await new Promise<Blob>((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode the grid'))), 'image/png'));
  const status = document.getElementById('cmp-status');
  try {
    const p = await exportPng(await blob.arrayBuffer(), `study_comparison_${state.component}.png`);
    if (status) status.textContent = p ? `Saved ${p}` : 'Export cancelled.';
  } catch (err) {
    if (status) status.textContent = `Export failed: ${errorMessage(err)}`;
  }
}

// ---- page

function render(i: ComparisonInit): void {
  const firstInit = !init;
  init = i;
  updates++;
  app.removeAttribute('aria-busy');
  const trained = i.rows.filter((r) => r.hasReconstruction).length;
  const when = new Date(i.updatedAt).toLocaleTimeString();
  const summary = `${i.folder} · ${trained} of ${i.rows.length} jobs with results · ${i.doses.length} doses × ${i.columns.length} ${i.columns.some((c) => c.method !== PINN) ? 'method/view columns' : 'views'}` +
    (i.canvas ? ` · object region ${i.canvas.width} × ${i.canvas.height} px at (${i.canvas.x0}, ${i.canvas.y0})${i.canvas.factor > 1 ? `, shown decimated ${i.canvas.factor}× (block means; over ${i.maxSide} px per side)` : ''}` : '');
  if (firstInit || !document.getElementById('grid-host')) {
    app.replaceChildren(
      h('header', { class: 'rv-header' },
        h('div', { class: 'rv-title' }, h('h1', {}, 'Study comparison'), h('span', { class: 'rv-summary', id: 'cmp-summary' }, summary)),
        h('span', { class: 'muted live', id: 'cmp-updated', title: 'The view refreshes by itself when a job finishes or its files change' }, `live · updated ${when}`)),
      toolbar(),
      h('div', { class: 'cmp-scale', id: 'colorbar-holder' }),
      h('section', { id: 'grid-host', 'aria-label': 'Reconstruction grid' }),
      h('p', { class: 'hint' }, 'Rows: dose (photons per pattern); columns: the PINN per overlap view, then the iterative reconstructions (Phase F) per view. Every cell shows the same object region (the union of the jobs\' regions), rotated by its own global phase offset; zoom and pan move all cells together (wheel, drag, + / − / 0 on a focused cell). Click a job name to open its reconstruction viewer.'),
      h('div', { class: 'muted', id: 'cmp-status', 'aria-live': 'polite' }),
      h('section', { class: 'np-card rv-card' }, h('h2', {}, 'Metrics of every job'), h('div', { id: 'table-host' })),
      h('div', { class: 'cmp-lower' },
        h('section', { class: 'np-card rv-card cmp-chart-card' }, h('h2', {}, 'Metric against dose'), h('div', { id: 'chart-host' })),
        h('section', { class: 'np-card rv-card' }, h('h2', {}, 'Settings that differ between the trained jobs'), h('div', { id: 'config-host' }))));
    colorbar = new Colorbar(document.getElementById('colorbar-holder')!, { id: 'shared-colorbar', label: 'Colour scale of every cell' });
  } else {
    document.getElementById('cmp-summary')!.textContent = summary;
    document.getElementById('cmp-updated')!.textContent = `live · updated ${when}`;
  }
  if (i.rows.length === 0) {
    document.getElementById('grid-host')!.replaceChildren(h('p', { class: 'hint' }, 'This workspace has no study jobs.'));
  } else {
    renderGrid();
  }
  renderTable();
  renderConfig();
  renderChart();
}

function viewState(): ComparisonViewState {
  return {
    component: state.component, groundTruth: state.groundTruth, hideUncovered: state.hideUncovered, colormap: colormap(), window: currentWindow(),
    cells: gridCells.map((g) => {
      const st = g.viewer?.state();
      const info = g.info;
      const d = info.jobId ? cellData.get(cacheKey(info.jobId, (info as ComparisonCellInfo).revision)) : undefined;
      return {
        dose: info.dose, column: info.column, ...(info.jobId ? { jobId: info.jobId } : {}), drawn: g.drawn,
        ...('empty' in info && info.empty ? { empty: info.empty.text } : {}),
        nonBlank: st?.nonBlank ?? 0, distinctColors: st?.distinctColors ?? 0, zoom: st?.zoom ?? sync.state.zoom,
        ...(d ? { binary: d.binary } : {}),
      };
    }),
    tableRows: tableOrder, sort: state.sort, best, configKeys: init?.config.keys.map((k) => k.key) ?? [], updates,
    ...(init ? { revision: init.revision } : {}),
    chartSeries: chart?.seriesCount ?? 0,
    columnLabels: init?.columns.map((c) => c.label) ?? [],
    deltaRows: deltaRowsDrawn,
    referenceRows: [...document.querySelectorAll<HTMLElement>('#reference-table tbody tr')].map((tr) => ({
      kind: tr.dataset.kind ?? '', key: tr.dataset.reference ?? '', label: tr.querySelector('th')?.textContent ?? '',
    })),
  };
}

async function settled(): Promise<void> {
  await new Promise((r) => setTimeout(r, 0));
  for (let k = 0; k < 200; k++) {
    const pending = gridCells.some((g) => g.viewer && !g.drawn && !g.error && g.info.column !== 'ground-truth');
    if (!pending) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await new Promise((r) => requestAnimationFrame(() => r(undefined)));
}

client.on('init', render);
client.onRequest('getViewState', async () => {
  await settled();
  return viewState();
});
client.onRequest('setView', async (p: ComparisonViewParams) => {
  let regrid = false;
  if (p.component && p.component !== state.component) {
    state.component = p.component;
    rebuildToolbar();
    regrid = true;
  }
  if (p.groundTruth !== undefined && p.groundTruth !== state.groundTruth) { state.groundTruth = p.groundTruth; regrid = true; }
  if (p.hideUncovered !== undefined && p.hideUncovered !== state.hideUncovered) { state.hideUncovered = p.hideUncovered; regrid = true; }
  if (p.sort) state.sort = { ...p.sort };
  persist();
  if (regrid) {
    rebuildToolbar();
    renderGrid();
  }
  renderTable();
  if (p.zoom !== undefined) sync.set({ ...sync.state, zoom: p.zoom });
  await settled();
  return viewState();
});
client.serveRelay();
client.ready();
