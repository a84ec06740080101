// The reconstruction viewer page: amplitude and phase of a job's stitched object beside the ground truth
// and their difference (phase: wrapped to (−π, π] after removing the global phase offset, optionally a plane;
// amplitude: after the metrics' mean scaling), or complex → RGB; zoom/pan synchronised across every image, a
// synced hover (crosshair in every image, one readout with the object-pixel coordinate and all values),
// coverage hatching and the metric region, Export PNG per image and of the whole figure; the metrics table
// (trained vs untrained, the better one marked) and the FRC curves. A job without results shows why, with a
// Train button. View settings live in getState/setState.
import { createClient, type Client } from '../client';
import { asFloat32, asFloat64 } from '../shared/binary';
import { errorMessage } from '../shared/endpoint';
import { bestIndices, doseLabel, formatMetric, METRICS } from '../shared/results';
import { h } from '../components/dom';
import { ImageViewer, type DisplayMode, type ImageInput } from '../components/imageViewer';
import { SeriesPlot, type Series } from '../components/seriesPlot';
import { ViewSync, type ViewState } from '../components/viewSync';
import { amplitudeDifference, phaseDifference, symmetricWindow, unitPhasors, wrapPhase, type Plane } from '../../core/image/complexDiff';
import { colormapLut, COLORMAPS, complexComponent, mapToRgba, modulus, packRgba, type ColormapName } from '../../core/image/colormaps';
import { autoWindow, finiteMinMax, type Window } from '../../core/image/stats';
import { formatValue } from '../../core/image/ticks';
import type { Binary, ReconImages, ReconInit, ReconLayout, ReconstructionProtocol, ReconViewParams, ReconViewState, ResultImageMetrics } from '../protocol';
import { enableTableCsv } from '../components/tableCsv';

interface Options {
  coverage: boolean;
  metricRegion: boolean;
  removeOffset: boolean;
  removePlane: boolean;
}

/** The display of one row (amplitude, phase or complex → RGB): reconstruction and ground truth share it. */
interface RowSettings {
  colormap: ColormapName;
  /** Manual window of reconstruction and ground truth (absent: Auto). */
  window?: Window;
  /** Half-width of the difference's symmetric window (absent: Auto). */
  diff?: number;
  /** Colormap of the amplitude difference. */
  diffColormap?: ColormapName;
}

type RowKey = 'amplitude' | 'phase' | 'rgb';

interface PersistedState {
  jobId?: string;
  layout: ReconLayout;
  options: Options;
  rows: Record<RowKey, RowSettings>;
  view?: ViewState;
}

const ROW_MAPS: Record<RowKey, ColormapName[]> = { amplitude: ['gray', 'viridis', 'magma'], phase: ['twilight', 'hsv'], rgb: ['hsv', 'twilight'] };
const DEFAULT_ROWS: Record<RowKey, RowSettings> = { amplitude: { colormap: 'gray', diffColormap: 'gray' }, phase: { colormap: 'twilight' }, rgb: { colormap: 'hsv' } };

const client: Client<ReconstructionProtocol, PersistedState> = createClient<ReconstructionProtocol, PersistedState>('reconstruction');
const DEFAULT_OPTIONS: Options = { coverage: true, metricRegion: true, removeOffset: true, removePlane: false };
const saved = client.getState();
const state: PersistedState = {
  layout: saved?.layout === 'rgb' ? 'rgb' : 'ampPhase',
  options: { ...DEFAULT_OPTIONS, ...saved?.options },
  rows: {
    amplitude: { ...DEFAULT_ROWS.amplitude, ...saved?.rows?.amplitude },
    phase: { ...DEFAULT_ROWS.phase, ...saved?.rows?.phase },
    rgb: { ...DEFAULT_ROWS.rgb, ...saved?.rows?.rgb },
  },
  ...(saved?.jobId ? { jobId: saved.jobId } : {}),
  ...(saved?.view ? { view: saved.view } : {}),
};
const app = document.getElementById('app')!;
// Every data table gets a CSV… button (saved through the host's save dialog).
enableTableCsv(app, (suggestedName, text) => client.request('saveCsv', { suggestedName, text }), (t) => `${'reconstruction'}_${t.id || 'table'}`);
const persist = (): void => client.setState(state);

let init: ReconInit | undefined;
let images: Loaded | undefined;
let loadError: string | undefined;
let message: string | undefined;
let renderedOnce = false;
let frcPlot: SeriesPlot | undefined;
let metricRows = 0;
let betterMarked = 0;
const sync = new ViewSync(state.view);
sync.subscribe((v) => {
  state.view = v;
  persistSoon();
});
let persistTimer: ReturnType<typeof setTimeout> | undefined;
function persistSoon(): void {
  clearTimeout(persistTimer);
  persistTimer = setTimeout(persist, 250);
}

/** The decoded arrays and what is derived from them for the current options. */
interface Loaded {
  r: ReconImages;
  object: Float32Array;
  gt?: Float32Array;
  weight: Float32Array;
  binary: boolean;
  bytes: number;
  // derived
  /** The global phase rotation the reconstruction is shown with (0 when the offset is kept). */
  shownRotation: number;
  ampDiff?: Float32Array;
  ampScale?: number;
  phaseDiff?: Float32Array;
  plane?: Plane;
  hatch?: HTMLCanvasElement;
  /** The ground-truth request in flight (it follows the first pixels). */
  gtPending?: Promise<void>;
  /** Amplitude windows (1st–99th percentile of the covered pixels): both images together, and each alone. */
  ampWindow?: Window;
  reconAmpWindow?: Window;
  gtAmpWindow?: Window;
}

interface Cell {
  id: string;
  viewer: ImageViewer;
  /** What the cell's image is. */
  kind: 'recon' | 'gt' | 'ampDiff' | 'phaseDiff';
  mode: DisplayMode;
}
let cells: Cell[] = [];

function exportPng(png: ArrayBuffer, suggestedName: string): Promise<string | undefined> {
  return client.request('savePng', { suggestedName, data: png }).then((r) => (r.saved ? r.path : undefined));
}

const isBinary = (b: Binary | undefined): boolean => b instanceof ArrayBuffer || ArrayBuffer.isView(b);

// ---------------------------------------------------------------------------------------------------------
// Derived images

/**
 * What the images need for the current options: the shown rotation, the amplitude windows and the
 * coverage hatching; with `differences` also ΔA and Δφ (the first pixels do not wait for those).
 */
function derive(L: Loaded, differences = true): void {
  const offset = init?.metrics?.globalPhaseOffset ?? 0;
  const t0 = performance.now();
  // Applied while the phase is computed for display: no rotated copy of a possibly huge object.
  L.shownRotation = state.options.removeOffset ? offset : 0;
  L.phaseDiff = undefined;
  L.ampDiff = undefined;
  if (differences) deriveDifferences(L);
  // One amplitude window from the covered pixels of the reconstruction and the ground truth together
  // (uncovered pixels are 0 and would drag the 1st percentile down).
  // A window needs no more than ~32k samples (rank error of the 1st percentile < 0.1 %): a strided sample of the covered pixels, reconstruction
  // amplitudes first and the ground truth's after them, in one array.
  const n = L.r.width * L.r.height;
  const step = Math.max(1, Math.floor(n / 32_768));
  const sample = new Float32Array(2 * Math.ceil(n / step));
  let count = 0;
  for (let i = 0; i < n; i += step) if (L.weight[i] > 0) sample[count++] = modulus(L.object[2 * i], L.object[2 * i + 1]);
  const rec = sample.subarray(0, count);
  let all = count;
  if (L.gt) for (let i = 0; i < n; i += step) if (L.weight[i] > 0) sample[all++] = modulus(L.gt[2 * i], L.gt[2 * i + 1]);
  const gtv = sample.subarray(count, all);
  L.reconAmpWindow = rec.length > 0 ? autoWindow(rec, 1, 99) : undefined;
  L.gtAmpWindow = gtv.length > 0 ? autoWindow(gtv, 1, 99) : undefined;
  L.ampWindow = rec.length > 0 ? autoWindow(sample.subarray(0, all), 1, 99) : undefined;
  stages['derive.windows'] = performance.now() - t0;
}

function deriveDifferences(L: Loaded): void {
  if (!L.gt) return;
  const offset = init?.metrics?.globalPhaseOffset ?? 0;
  const f = L.r.factor;
  const region = init?.metrics?.metricRegion;
  const scaled = region ? { x: region.x / f, y: region.y / f, width: region.width / f, height: region.height / f } : undefined;
  const pd = phaseDifference(L.object, L.gt, L.r.width, L.r.height, { offset, weight: L.weight, removePlane: state.options.removePlane });
  L.phaseDiff = pd.values;
  L.plane = pd.plane;
  const ad = amplitudeDifference(L.object, L.gt, L.r.width, L.r.height, { weight: L.weight, ...(scaled ? { region: scaled } : {}) });
  L.ampDiff = ad.values;
  L.ampScale = ad.scale;
}

/** Semi-transparent diagonal hatching over pixels with weight 0 (not reconstructed), at data resolution. */
function hatchCanvas(L: Loaded): HTMLCanvasElement {
  const { width, height } = L.r;
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(width, height);
  const words = new Uint32Array(img.data.buffer, img.data.byteOffset, width * height);
  const light = packRgba(255, 255, 255, 45);
  const dark = packRgba(0, 0, 0, 110);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      if (!(L.weight[i] > 0)) words[i] = (x + y) % 4 < 2 ? light : dark;
    }
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

function overlay(kind: Cell['kind'], ctx: CanvasRenderingContext2D, v: { left: number; top: number; scale: number }): void {
  const L = images;
  if (!L) return;
  // The ground truth is the whole object: only the reconstruction (and so the difference) has holes.
  if (state.options.coverage && L.hatch && kind !== 'gt') {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(L.hatch, v.left, v.top, L.r.width * v.scale, L.r.height * v.scale);
  }
  const region = init?.metrics?.metricRegion;
  if (state.options.metricRegion && region) {
    const f = L.r.factor;
    const x = v.left + (region.x / f) * v.scale;
    const y = v.top + (region.y / f) * v.scale;
    const w = (region.width / f) * v.scale;
    const hh = (region.height / f) * v.scale;
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 3;
    ctx.strokeStyle = 'rgba(0,0,0,0.8)';
    ctx.strokeRect(x, y, w, hh);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = 'rgba(255,210,0,0.95)';
    ctx.strokeRect(x, y, w, hh);
    ctx.setLineDash([]);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Readout

function objectCoord(p: number, axis: 0 | 1): string {
  const L = images!;
  const o = L.r.origin[axis];
  const f = L.r.factor;
  const max = axis === 0 ? L.r.sourceWidth : L.r.sourceHeight;
  return f > 1 ? `${o + p * f}–${o + Math.min(max, (p + 1) * f) - 1}` : String(o + p);
}

function valuesAt(px: number, py: number): { amp: number; ph: number; gAmp?: number; gPh?: number; dA?: number; dP?: number; w: number } {
  const L = images!;
  const i = py * L.r.width + px;
  const o = L.object;
  const r = {
    amp: Math.hypot(o[2 * i], o[2 * i + 1]), ph: wrapPhase(Math.atan2(o[2 * i + 1], o[2 * i]) + L.shownRotation), w: L.weight[i],
  } as ReturnType<typeof valuesAt>;
  if (L.gt) {
    r.gAmp = Math.hypot(L.gt[2 * i], L.gt[2 * i + 1]);
    r.gPh = Math.atan2(L.gt[2 * i + 1], L.gt[2 * i]);
    r.dA = L.ampDiff?.[i];
    r.dP = L.phaseDiff?.[i];
  }
  return r;
}

const fv = (v: number | undefined, d = 4): string => (v === undefined ? '—' : formatValue(v, d));

function describeCell(kind: Cell['kind'], mode: DisplayMode): (px: number, py: number) => string {
  return (px, py) => {
    if (!images) return '';
    const v = valuesAt(px, py);
    const where = `x ${objectCoord(px, 0)}, y ${objectCoord(py, 1)}`;
    const cov = v.w > 0 ? '' : ' · not reconstructed (weight 0)';
    switch (kind) {
      case 'recon': return `${where} · ${mode === 'phase' ? `φ ${fv(v.ph)} rad` : mode === 'rgb' ? `A ${fv(v.amp)}, φ ${fv(v.ph)} rad` : `A ${fv(v.amp)}`}${cov}`;
      case 'gt': return `${where} · ${mode === 'phase' ? `φ ${fv(v.gPh)} rad` : mode === 'rgb' ? `A ${fv(v.gAmp)}, φ ${fv(v.gPh)} rad` : `A ${fv(v.gAmp)}`}`;
      case 'ampDiff': return `${where} · ΔA ${fv(v.dA)}${cov}`;
      case 'phaseDiff': return `${where} · Δφ ${fv(v.dP)} rad${cov}`;
    }
  };
}

let hovered: { x: number; y: number } | undefined;

function readoutText(p: { x: number; y: number } | undefined): string {
  if (!images || !p) return 'Hover over any image: every image marks the same pixel, and its values are listed here.';
  const v = valuesAt(p.x, p.y);
  const f = images.r.factor;
  const px = f > 1 ? `block ${p.x}, ${p.y} of ${f} × ${f} pixels (means)` : `pixel ${p.x}, ${p.y} of the reconstruction`;
  const parts = [`object x ${objectCoord(p.x, 0)}, y ${objectCoord(p.y, 1)} (${px}) · weight ${fv(v.w, 3)}${v.w > 0 ? '' : ' — not reconstructed'}`];
  const amp = `amplitude: reconstruction ${fv(v.amp)}${v.gAmp !== undefined ? ` · ground truth ${fv(v.gAmp)} · ΔA ${fv(v.dA)}` : ''}`;
  const ph = `phase: reconstruction ${fv(v.ph)}${v.gPh !== undefined ? ` · ground truth ${fv(v.gPh)} · Δφ ${fv(v.dP)}` : ''} rad`;
  parts.push(amp, ph);
  return parts.join('\n');
}

function onHover(source: ImageViewer, p: { x: number; y: number } | undefined): void {
  hovered = p;
  for (const c of cells) {
    if (c.viewer !== source) {
      c.viewer.setMarker(p);
      c.viewer.showPixel(p);
    }
  }
  const el = document.getElementById('rv-readout');
  if (el) el.textContent = readoutText(p);
}

// ---------------------------------------------------------------------------------------------------------
// Page

function notes(): string[] {
  const out: string[] = [];
  const i = init;
  if (!i?.image) return out;
  const im = i.image;
  if (im.factor > 1) out.push(`The object is ${im.sourceWidth} × ${im.sourceHeight} px: shown decimated ${im.factor}× (block means of ${im.factor} × ${im.factor} pixels, over ${im.maxSide} px per side), ${im.width} × ${im.height}.`);
  const off = i.metrics?.globalPhaseOffset;
  if (off !== null && off !== undefined) {
    out.push(state.options.removeOffset
      ? `Reconstruction phase rotated by the global phase offset θ = ${formatValue(off, 4)} rad (a far-field measurement cannot fix it), as the metrics are.`
      : `Reconstruction phase shown as stored (global phase offset θ = ${formatValue(off, 4)} rad not removed).`);
  }
  if (images?.gt) {
    out.push(`Δφ = arg(reconstruction · exp(iθ) · conj(ground truth)), wrapped to (−π, π]${images.plane ? `, minus the plane ${formatValue(images.plane.a, 3)}·x + ${formatValue(images.plane.b, 3)}·y + ${formatValue(images.plane.c, 3)} rad (least squares over covered pixels)` : ''}.`);
    out.push(`ΔA = k·|reconstruction| − |ground truth|, k = ${fv(images.ampScale, 4)} (the reconstruction scaled to the ground truth's mean over the metric region, as the metrics do).`);
  } else if (i.image && !i.image.hasGroundTruth) {
    out.push('This dataset has no objectGuess: no ground truth, no difference and no metrics.');
  }
  if (i.job.state !== 'succeeded') out.push(`The job is now "${i.job.state}": these files are from an earlier run.`);
  return out;
}

function header(i: ReconInit): HTMLElement {
  const j = i.job;
  const recon = j.kind === 'reconstruct';
  const bits = recon ? [`dose ${doseLabel(j.dose)}`, j.view, `iterative: ${j.algorithm ?? '?'}`] : [`dose ${doseLabel(j.dose)}`, j.view, `gridsize ${j.gridsize}`];
  if (j.iterations !== undefined) bits.push(`${j.iterations} iteration${j.iterations === 1 ? '' : 's'}`);
  if (j.epochs !== undefined) bits.push(`${j.epochs} epoch${j.epochs === 1 ? '' : 's'}`);
  if (j.finalLoss !== undefined && j.finalLoss !== null) bits.push(`final loss ${formatMetric(j.finalLoss)}`);
  if (j.bestValLoss !== undefined && j.bestValLoss !== null) bits.push(`best val loss ${formatMetric(j.bestValLoss)}`);
  if (j.executionProvider) bits.push(j.executionProvider);
  if (i.image) bits.push(`${i.image.sourceWidth} × ${i.image.sourceHeight} px at object (${i.image.origin[0]}, ${i.image.origin[1]})`);
  const action = (label: string, artifact: 'metrics' | 'manifest' | 'log' | 'folder', title: string): HTMLButtonElement =>
    h('button', { type: 'button', class: 'iv-btn', title, onclick: () => void client.request('openArtifact', { jobId: j.jobId, artifact }).catch((e) => showStatus(errorMessage(e))) }, label);
  return h('header', { class: 'rv-header' },
    h('div', { class: 'rv-title' },
      h('h1', { id: 'job-title' }, j.jobId),
      h('span', { class: `state-badge state-${j.state}`, id: 'job-state' }, j.state),
      h('span', { class: 'rv-summary', id: 'job-summary' }, bits.join(' · '))),
    h('div', { class: 'rv-actions' },
      i.metrics ? action('metrics.json', 'metrics', 'Open metrics.json beside this view') : undefined,
      action('manifest.json', 'manifest', 'Open manifest.json (config, runtime, result)'),
      recon ? action('recon.log', 'log', 'Open the reconstruction log') : action('train.log', 'log', 'Open the training log'),
      action('Reveal folder', 'folder', `Reveal ${j.folder} in the explorer`),
      recon ? undefined : h('button', { type: 'button', class: 'iv-btn', id: 'preview-here', title: 'Score and preview this part of the object (the view\'s centre) after each epoch of this job\'s next training run (training.previewCenter)', onclick: () => void previewHere() }, 'Preview Here While Training')));
}

/** The object pixel at the centre of the view: the next training runs preview there (training.previewCenter). */
async function previewHere(): Promise<void> {
  if (!images || !init?.job) return;
  const v = sync.state;
  const x = Math.round(images.r.origin[0] + v.cx * images.r.sourceWidth);
  const y = Math.round(images.r.origin[1] + v.cy * images.r.sourceHeight);
  try {
    const r = await client.request('previewHere', { jobId: init.job.jobId, x, y });
    showStatus(`The next training runs preview the window centred at object (${r.x}, ${r.y}).`);
  } catch (err) {
    showStatus(errorMessage(err));
  }
}

function showStatus(text: string): void {
  const el = document.getElementById('rv-status');
  if (el) el.textContent = text;
}

function renderUnavailable(i: ReconInit): void {
  const u = i.unavailable!;
  message = u.title;
  const recon = i.job.kind === 'reconstruct';
  const train = u.canTrain
    ? h('button', { type: 'button', class: 'primary', id: 'train-button', onclick: () => {
      (document.getElementById('train-button') as HTMLButtonElement).disabled = true;
      showStatus(recon ? 'Starting the reconstruction…' : 'Starting the training…');
      void client.request('train', { jobId: i.job.jobId }).then((r) => showStatus(r.started ? `${recon ? 'Reconstruction' : 'Training'} started: this view fills in when it finishes.` : r.message ?? 'It did not start.'), (e) => showStatus(errorMessage(e)));
    } }, recon ? 'Reconstruct' : 'Train')
    : undefined;
  app.replaceChildren(header(i), h('div', { class: 'rv-empty', role: 'status', id: 'unavailable' },
    h('h2', { id: 'unavailable-title' }, u.title),
    h('p', { id: 'unavailable-message' }, u.message),
    h('div', { class: 'rv-empty-actions' }, train, h('span', { class: 'muted', id: 'rv-status', 'aria-live': 'polite' }))));
  app.removeAttribute('aria-busy');
  reportRendered('unavailable', 0, 0);
}

function checkbox(id: string, label: string, title: string, get: () => boolean, set: (v: boolean) => void): HTMLElement {
  const box = h('input', { type: 'checkbox', id, checked: get(), onchange: () => {
    set(box.checked);
    persist();
  } });
  return h('label', { class: 'iv-check', for: id, title }, box, label);
}

function controls(): HTMLElement {
  const hasGt = !!init?.image?.hasGroundTruth;
  const layout = h('select', { id: 'layout-select', 'aria-label': 'What to show', onchange: () => setLayout(layout.value as ReconLayout) },
    h('option', { value: 'ampPhase' }, 'amplitude and phase'), h('option', { value: 'rgb' }, 'complex → RGB (hue = phase, brightness = amplitude)')) as HTMLSelectElement;
  layout.value = state.layout;
  const offset = init?.metrics?.globalPhaseOffset;
  const exportAll = h('button', { type: 'button', class: 'iv-btn', id: 'export-figure', title: 'Export every image shown, with labels and colorbars, as one PNG', onclick: () => void exportFigure() }, 'Export figure');
  return h('div', { class: 'mv-controls rv-controls', role: 'toolbar', 'aria-label': 'Reconstruction view options' },
    h('label', { class: 'iv-label', for: 'layout-select' }, 'show'), layout,
    offset !== null && offset !== undefined
      ? checkbox('opt-offset', `remove global phase (θ = ${formatValue(offset, 3)} rad)`, 'Rotate the reconstruction by the global phase offset the metrics removed', () => state.options.removeOffset, (v) => { state.options.removeOffset = v; refreshDerived(); })
      : undefined,
    hasGt ? checkbox('opt-plane', 'remove phase plane from Δφ', 'Also fit a plane a·x + b·y + c to the phase difference and remove it (the metrics remove planes too)', () => state.options.removePlane, (v) => { state.options.removePlane = v; refreshDerived(); }) : undefined,
    checkbox('opt-coverage', 'hatch uncovered (weight 0)', 'Hatch the pixels no scan position covered: they are not reconstructed', () => state.options.coverage, (v) => { state.options.coverage = v; redrawAll(); }),
    init?.metrics?.metricRegion ? checkbox('opt-region', 'metric region', 'Draw the rectangle the metrics were computed on (dashed yellow)', () => state.options.metricRegion, (v) => { state.options.metricRegion = v; redrawAll(); }) : undefined,
    h('span', { class: 'iv-group', role: 'group', 'aria-label': 'Zoom of every image' },
      zoomButton('−', 'Zoom out every image (− on a focused image)', 'zoom-out', () => sync.set({ ...sync.state, zoom: sync.state.zoom / 1.5 })),
      zoomButton('+', 'Zoom in every image (+ on a focused image; or the mouse wheel)', 'zoom-in', () => sync.set({ ...sync.state, zoom: sync.state.zoom * 1.5 })),
      zoomButton('Fit', 'Fit every image (0, or double-click an image)', 'zoom-fit', () => sync.reset())),
    exportAll);
}

function zoomButton(label: string, title: string, id: string, fn: () => void): HTMLButtonElement {
  return h('button', { type: 'button', class: 'iv-btn', id, title, 'aria-label': title, onclick: fn }, label);
}

function setLayout(l: ReconLayout): void {
  state.layout = l;
  persist();
  rebuild();
}

function refreshDerived(): void {
  if (images) derive(images);
  rebuild();
}

function redrawAll(): void {
  for (const c of cells) c.viewer.draw();
}

const rowOf = (mode: DisplayMode): RowKey => (mode === 'rgb' ? 'rgb' : mode === 'phase' ? 'phase' : 'amplitude');

/** Applies a row's colormap and windows to its cells (reconstruction and ground truth share them). */
function applyRow(row: RowKey): void {
  const r = state.rows[row];
  const cmap = ROW_MAPS[row].includes(r.colormap) ? r.colormap : ROW_MAPS[row][0];
  for (const c of cells) {
    if (rowOf(c.mode) !== row) continue;
    if (c.kind === 'recon' || c.kind === 'gt') c.viewer.applySettings({ colormaps: { [c.mode]: cmap }, windows: { [c.mode]: r.window ?? null } });
    else if (c.kind === 'ampDiff') c.viewer.applySettings({ colormaps: { value: r.diffColormap ?? 'gray' }, windows: { value: r.diff ? { lo: -r.diff, hi: r.diff } : null } });
    else c.viewer.applySettings({ colormaps: { phase: cmap }, windows: { phase: r.diff ? { lo: -r.diff, hi: r.diff } : null } });
  }
  syncRowInputs(row);
}

/** The window fields of a row show what is applied (Auto included). */
function syncRowInputs(row: RowKey): void {
  const recon = cells.find((c) => c.kind === 'recon' && rowOf(c.mode) === row);
  const diff = cells.find((c) => (c.kind === 'ampDiff' || c.kind === 'phaseDiff') && rowOf(c.mode) === row);
  const set = (id: string, v: number | undefined): void => {
    const el = document.getElementById(id) as HTMLInputElement | null;
    if (el && v !== undefined && document.activeElement !== el) el.value = String(Number(v.toPrecision(5)));
  };
  if (recon) {
    const w = recon.viewer.displayWindow;
    set(`${row}-lo`, w.lo);
    set(`${row}-hi`, w.hi);
  }
  if (diff) set(`${row}-diff`, diff.viewer.displayWindow.hi);
  document.getElementById(`${row}-tools`)?.classList.toggle('iv-auto-window', !state.rows[row].window);
  document.getElementById(`${row}-difftools`)?.classList.toggle('iv-auto-window', !state.rows[row].diff);
}

/** The controls of one row: colormap and window of reconstruction and ground truth, and the difference's ±window. */
function rowToolbar(row: RowKey, withDiff: boolean): HTMLElement {
  const r = state.rows[row];
  const changed = (): void => {
    persist();
    applyRow(row);
  };
  const cmap = h('select', { id: `${row}-cmap`, 'aria-label': row === 'rgb' ? 'Hue colormap (cyclic)' : `${row} colormap`, onchange: () => {
    r.colormap = cmap.value as ColormapName;
    changed();
  } }, ...ROW_MAPS[row].map((m) => h('option', { value: m }, COLORMAPS[m].label))) as HTMLSelectElement;
  cmap.value = ROW_MAPS[row].includes(r.colormap) ? r.colormap : ROW_MAPS[row][0];
  const num = (id: string, label: string, onchange: () => void): HTMLInputElement => h('input', { type: 'number', step: 'any', id, 'aria-label': label, onchange });
  const fromInputs = (): void => {
    const lo = Number((document.getElementById(`${row}-lo`) as HTMLInputElement).value);
    const hi = Number((document.getElementById(`${row}-hi`) as HTMLInputElement).value);
    if (Number.isFinite(lo) && Number.isFinite(hi) && hi > lo) {
      r.window = { lo, hi };
      changed();
    }
  };
  const btn = (label: string, title: string, fn: () => void): HTMLButtonElement => h('button', { type: 'button', class: 'iv-btn', title, 'aria-label': title, onclick: fn }, label);
  const what = row === 'rgb' ? 'brightness (amplitude)' : 'window';
  const autoTitle = row === 'phase' ? 'Automatic window: −π…π' : 'Automatic window: 1st–99th percentile of the covered pixels of reconstruction and ground truth together';
  const tools = h('span', { class: 'iv-group iv-window', id: `${row}-tools`, role: 'group', 'aria-label': `${row} window of reconstruction and ground truth` },
    h('span', { class: 'iv-label' }, what),
    num(`${row}-lo`, `${row} window minimum (reconstruction and ground truth)`, fromInputs), h('span', { class: 'iv-dash' }, '–'),
    num(`${row}-hi`, `${row} window maximum (reconstruction and ground truth)`, fromInputs),
    btn('Auto', autoTitle, () => { delete r.window; changed(); }),
    btn('Min/Max', 'Window = full range of reconstruction and ground truth', () => {
      let lo = Infinity;
      let hi = -Infinity;
      for (const c of cells) {
        if (rowOf(c.mode) !== row || (c.kind !== 'recon' && c.kind !== 'gt')) continue;
        const v = c.viewer.modeValues();
        if (!v) continue;
        const mm = finiteMinMax(v);
        if (mm.finite > 0) { lo = Math.min(lo, mm.min); hi = Math.max(hi, mm.max); }
      }
      if (hi > lo) {
        r.window = { lo, hi };
        changed();
      }
    }));
  const parts: (HTMLElement | undefined)[] = [
    h('span', { class: 'muted', title: 'The reconstruction and the ground truth share this colormap and window' }, 'reconstruction & ground truth:'),
    h('label', { class: 'iv-label', for: `${row}-cmap` }, row === 'rgb' ? 'hue' : 'colormap'), cmap, tools,
  ];
  if (withDiff) {
    const diffCmap = row === 'amplitude'
      ? (() => {
        const sel = h('select', { id: `${row}-diffcmap`, 'aria-label': 'Colormap of the amplitude difference', onchange: () => { r.diffColormap = sel.value as ColormapName; changed(); } },
          ...ROW_MAPS.amplitude.map((m) => h('option', { value: m }, COLORMAPS[m].label))) as HTMLSelectElement;
        sel.value = r.diffColormap ?? 'gray';
        return sel;
      })()
      : undefined;
    parts.push(h('span', { class: 'iv-group iv-window rv-diff-tools', id: `${row}-difftools`, role: 'group', 'aria-label': `${row} difference window` },
      h('span', { class: 'iv-label' }, row === 'phase' ? 'Δφ ±' : 'ΔA ±'),
      num(`${row}-diff`, `${row} difference window half-width`, () => {
        const m = Number((document.getElementById(`${row}-diff`) as HTMLInputElement).value);
        if (Number.isFinite(m) && m > 0) {
          r.diff = Math.abs(m);
          changed();
        }
      }),
      btn('Auto', row === 'phase' ? 'Automatic: ±π (values beyond a narrower window wrap around: the map is cyclic)' : 'Automatic: ± the 99th percentile of |ΔA|', () => { delete r.diff; changed(); }),
      diffCmap));
  }
  return h('div', { class: 'mv-controls rv-rowtools', role: 'toolbar', 'aria-label': `${row} display` }, ...parts);
}

function makeCell(grid: HTMLElement, id: string, label: string, kind: Cell['kind'], mode: DisplayMode): Cell {
  const holder = h('div', { class: 'rv-cell', id: `${id}-cell` });
  grid.append(holder);
  const cell: Cell = { id, kind, mode, viewer: undefined as unknown as ImageViewer };
  cell.viewer = new ImageViewer(holder, {
    id, label, sync, fixedMode: true, toolbar: false, footerTools: false, exportPng, exportBase: init?.job.jobId.replace(/\//g, '_') ?? 'reconstruction',
    // Phase is cyclic: only cyclic maps; amplitude and its difference: the sequential ones.
    allowedColormaps: { phase: ['twilight', 'hsv'], rgb: ['hsv', 'twilight'], amplitude: ['gray', 'viridis', 'magma'], value: ['gray', 'viridis', 'magma'] },
    settings: { mode: kind === 'ampDiff' ? 'value' : mode, colormaps: { [kind === 'ampDiff' ? 'value' : mode]: kind === 'ampDiff' ? state.rows.amplitude.diffColormap ?? 'gray' : state.rows[rowOf(mode)].colormap } },
    autoWindow: (values, m) => {
      if (kind === 'ampDiff') return symmetricWindow(values, 99);
      // Reconstruction and ground truth: one window from the covered pixels of both.
      if (m === 'amplitude' && (kind === 'recon' || kind === 'gt') && images?.ampWindow) return images.ampWindow;
      if (m === 'rgb' && (kind === 'recon' || kind === 'gt') && images?.ampWindow) return { lo: 0, hi: images.ampWindow.hi };
      return undefined;
    },
    describe: describeCell(kind, mode),
    onHover: (p) => onHover(cell.viewer, p),
    overlay: (ctx, v) => overlay(kind, ctx, v),
  });
  return cell;
}

function imageInput(L: Loaded, data: Float32Array, complex: boolean, label: string): ImageInput {
  return { width: L.r.width, height: L.r.height, complex, data, factor: L.r.factor, sourceWidth: L.r.sourceWidth, sourceHeight: L.r.sourceHeight, label };
}

/** Builds the image grid for the layout; draws the reconstruction first, the rest on the next frame. */
function rebuild(): void {
  for (const c of cells) c.viewer.destroy();
  cells = [];
  const host = document.getElementById('image-grid');
  if (!host || !init?.image) return;
  host.replaceChildren();
  const hasGt = init.image.hasGroundTruth;
  const cols = hasGt ? (state.layout === 'rgb' ? 2 : 3) : 1;
  const grid = h('div', { class: `rv-grid cols-${cols}` });
  host.append(grid);
  const colHead = (t: string, sub?: string): HTMLElement => h('div', { class: 'rv-colhead' }, h('strong', {}, t), sub ? h('span', { class: 'muted' }, ` ${sub}`) : undefined);
  const rowHead = (t: string): HTMLElement => h('div', { class: 'rv-rowhead' }, h('span', {}, t));
  grid.append(h('div', { class: 'rv-corner' }), colHead('reconstruction'));
  if (hasGt) {
    grid.append(colHead('ground truth', '(objectGuess, same region)'));
    if (state.layout !== 'rgb') grid.append(colHead('difference', '(reconstruction − ground truth)'));
  }
  const rows: [string, DisplayMode][] = state.layout === 'rgb' ? [['complex → RGB', 'rgb']] : [['amplitude', 'amplitude'], ['phase', 'phase']];
  for (const [title, mode] of rows) {
    const toolsRow = h('div', { class: 'rv-rowtools-wrap' }, rowToolbar(rowOf(mode), hasGt && mode !== 'rgb'));
    grid.append(h('div', { class: 'rv-corner' }), toolsRow);
    grid.append(rowHead(title));
    const tag = mode === 'rgb' ? 'rgb' : mode === 'amplitude' ? 'amp' : 'phase';
    cells.push(makeCell(grid, `recon-${tag}`, `reconstruction ${title}`, 'recon', mode));
    if (hasGt) {
      cells.push(makeCell(grid, `gt-${tag}`, `ground truth ${title}`, 'gt', mode));
      if (mode !== 'rgb') cells.push(makeCell(grid, `diff-${tag}`, mode === 'amplitude' ? 'amplitude difference ΔA' : 'phase difference Δφ (wrapped)', mode === 'amplitude' ? 'ampDiff' : 'phaseDiff', mode));
    }
  }
  for (const [, mode] of rows) applyRow(rowOf(mode));
  if (images) void draw(images, performance.now(), 0);
}

/** Sets every cell's image: the reconstruction first (the "first pixels"), the others a frame later. */
/** Time per drawing stage of the render being reported (the benchmark prints them). */
let stages: Record<string, number> = {};

async function draw(L: Loaded, t0: number, requestMs: number): Promise<void> {
  const label = (s: string): string => `${init?.job.jobId ?? ''} ${s}`;
  const first = cells.filter((c) => c.kind === 'recon');
  for (const c of first) {
    const s0 = performance.now();
    c.viewer.setImage({ ...imageInput(L, L.object, true, label(`reconstruction`)), rotation: L.shownRotation });
    stages[c.id] = performance.now() - s0;
    for (const [k, v] of Object.entries(c.viewer.lastRenderStages)) stages[`${c.id}.${k}`] = v;
  }
  reportRendered(state.layout === 'rgb' ? 'reconstruction rgb' : 'reconstruction amplitude+phase', requestMs, performance.now() - t0);
  await new Promise((r) => requestAnimationFrame(() => r(undefined)));
  // The coverage hatching is an overlay: drawn a frame after the first pixels.
  if (!L.hatch) {
    L.hatch = hatchCanvas(L);
    for (const c of first) c.viewer.draw();
  }
  // The ground truth comes after the first pixels (as many bytes again as the object).
  if (!L.gt && L.r.hasGroundTruth) {
    L.gtPending ??= fetchGroundTruth(L);
    await L.gtPending;
    if (images !== L) return;
    // The shared amplitude window now includes the ground truth's pixels.
    for (const c of first) if (c.mode !== 'phase') c.viewer.setImage({ ...imageInput(L, L.object, true, label(`reconstruction`)), rotation: L.shownRotation });
  }
  if (L.gt && !L.phaseDiff) deriveDifferences(L);
  for (const c of cells) {
    if (c.kind === 'gt' && L.gt) c.viewer.setImage(imageInput(L, L.gt, true, label('ground truth')));
    if (c.kind === 'ampDiff' && L.ampDiff) c.viewer.setImage(imageInput(L, L.ampDiff, false, label('amplitude difference')));
    if (c.kind === 'phaseDiff' && L.phaseDiff) c.viewer.setImage(imageInput(L, unitPhasors(L.phaseDiff), true, label('phase difference')));
  }
  for (const row of ['amplitude', 'phase', 'rgb'] as const) syncRowInputs(row);
  if (hovered) onHover(undefined as unknown as ImageViewer, hovered);
  const n = document.getElementById('rv-notes');
  if (n) n.replaceChildren(...notes().map((t) => h('div', {}, t)));
  reportRendered('all images', requestMs, performance.now() - t0);
}

async function fetchGroundTruth(L: Loaded): Promise<void> {
  try {
    const g = await client.request('readGroundTruth', { jobId: L.r.jobId });
    if (g.width !== L.r.width || g.height !== L.r.height) throw new Error(`the ground truth is ${g.width} × ${g.height}, the object ${L.r.width} × ${L.r.height}`);
    L.gt = asFloat32(g.groundTruth, 'ground_truth');
    L.binary = L.binary && isBinary(g.groundTruth);
    L.bytes += L.gt.byteLength;
    derive(L, false);
  } catch (err) {
    showStatus(`Could not read the ground truth: ${errorMessage(err)}`);
  }
}

function reportRendered(what: string, requestMs: number, drawMs: number): void {
  const first = !renderedOnce;
  renderedOnce = true;
  void client.emit('rendered', { what, scriptStartMs: client.timing.scriptStartMs, readyMs: client.timing.readyMs, drawnMs: performance.now(), requestMs, drawMs, first, stagesMs: { ...stages } }).catch(() => undefined);
  stages = {};
}

// ---- metrics

function metricsSection(i: ReconInit): HTMLElement {
  const m = i.metrics;
  const box = h('section', { class: 'rv-metrics', id: 'metrics' });
  metricRows = 0;
  betterMarked = 0;
  if (i.metricsError) box.append(h('div', { class: 'error-box', id: 'metrics-error' }, i.metricsError));
  if (!m) {
    if (!i.metricsError) box.append(h('p', { class: 'hint' }, 'No metrics.json in the job folder.'));
    return box;
  }
  const card = h('div', { class: 'np-card rv-card' }, h('h2', {}, 'Metrics against the ground truth'));
  if (!m.trained) {
    card.append(h('p', { class: 'hint', id: 'metrics-note' }, m.note ?? 'No metrics were computed for this run.'));
  } else {
    // Trained beside its two references: the untrained network and the flat predictor (constant amplitude =
    // mean of the ground truth, zero phase), all scored identically.
    const table = h('table', { class: 'data-table metrics-table', id: 'metrics-table' });
    // A Phase F job has no untrained network: its reconstruction beside the flat predictor.
    const recon = i.job.kind === 'reconstruct';
    const refined = !recon && m.groupRefinement ? ` — each group's prediction refined by ${m.groupRefinement} iterations on its own patterns` : '';
    const all = [
      { label: recon ? 'reconstruction' : 'trained', title: recon ? `The iterative reconstruction (${i.job.algorithm ?? ''})` : `The trained network${refined}`, src: m.trained },
      ...(!recon && m.networkAlone ? [{ label: 'network alone', title: 'The trained network\'s predictions stitched without the group refinement (the same groups and weightings)', src: m.networkAlone }] : []),
      { label: 'untrained', title: 'The same network before training: a reference', src: m.untrained },
      { label: 'flat', title: 'The flat predictor: constant amplitude = mean of the ground truth over the region, zero phase. A model that does not beat it has learned nothing useful.', src: m.flat },
    ].filter((r) => !(recon && r.label === 'untrained' && !r.src));
    const refs = all.map(({ label, title }) => ({ label, title }));
    const sources = all.map((r) => r.src);
    const compHead = (comp: string): HTMLElement => h('th', { scope: 'colgroup', colspan: refs.length }, comp);
    table.append(h('thead', {},
      h('tr', {}, h('th', { scope: 'col', rowspan: 2 }, 'metric'), compHead('amplitude'), compHead('phase')),
      h('tr', {}, ...[0, 1].flatMap(() => refs.map((r) => h('th', { scope: 'col', title: r.title }, r.label))))));
    const body = h('tbody');
    for (const spec of METRICS) {
      const tr = h('tr', {}, h('th', { scope: 'row', title: spec.description }, spec.label, h('span', { class: 'muted dir' }, spec.better === 'lower' ? ' ↓' : ' ↑')));
      for (const comp of ['amplitude', 'phase'] as const) {
        const values = sources.map((src) => src?.[comp][spec.key] ?? null);
        const best = bestIndices(values, spec.better);
        values.forEach((v, i) => {
          const isBetter = best.includes(i);
          if (isBetter) betterMarked++;
          tr.append(h('td', { class: isBetter ? 'better' : '', title: isBetter ? `best of ${refs.map((r) => r.label).join(', ')} (${spec.better} is better)` : '' }, formatMetric(v), isBetter ? h('span', { class: 'sr-only' }, ' (better)') : undefined));
        });
      }
      body.append(tr);
      metricRows++;
    }
    table.append(body);
    card.append(h('div', { class: 'table-x' }, table));
    if (refined) card.append(h('p', { class: 'hint', id: 'metrics-refinement' }, `trained: the network's predictions, each group's refined by ${m.groupRefinement} iterations of alternating projections on its own patterns before stitching (group refinement, no ground truth)${m.networkAlone ? '; network alone: the same stitch without it' : ''}.`));
    card.append(h('p', { class: 'hint' }, `The best of ${refs.map((r) => r.label).join(', ')} is highlighted (↓ lower is better, ↑ higher is better). FRC50 and FRC 1/7 are spatial frequencies in cycles per pixel (0.5 = Nyquist). Pearson r of the phase is taken after plane removal; a constant image has r = 0. PSNR uses the ground truth's data range as peak.`));
  }
  const facts: string[] = [];
  const ev = m.evaluation;
  if (ev) {
    facts.push(ev.source === 'phase-c-test'
      ? `common evaluation of the dose: its Phase C test split ${ev.dataset.split(/[\\/]/).slice(-2).join('/')} (every job of the dose is scored on it)`
      : `evaluated on the job's own ${ev.source === 'own-train' ? 'training' : 'test'} split: ${ev.fallbackReason ?? 'no common evaluation set'}`);
    if (ev.region) facts.push(`evaluation region ${ev.region.width} × ${ev.region.height} object px at (${ev.region.x0}, ${ev.region.y0}): the scan's bounding box ± M/2, holes included (uncovered pixels count as 0)`);
    const perMeter = m.trained?.phase.frc50PerMeter ?? null;
    if (ev.pixelSizeMeters !== null) facts.push(`object pixel ${formatValue(ev.pixelSizeMeters, 3)} m${perMeter !== null ? `; phase FRC50 ${formatValue(perMeter, 3)} 1/m` : ''}`);
  } else if (m.metricRegion) {
    facts.push(`metric region ${m.metricRegion.width} × ${m.metricRegion.height} px at (${m.metricRegion.x}, ${m.metricRegion.y}) of the reconstruction (the largest fully covered rectangle; dashed yellow in the images)`);
  }
  if (m.coverage !== null) facts.push(`coverage ${(100 * m.coverage).toFixed(1)} % of the stitched canvas`);
  if (m.width && m.height) facts.push(`metrics on ${m.width} × ${m.height} px after trimming ${m.trim ?? 0} px`);
  if (m.phaseAlign) facts.push(`phase alignment: ${m.phaseAlign} removal`);
  if (m.globalPhaseOffset !== null) facts.push(`global phase offset ${formatValue(m.globalPhaseOffset, 4)} rad`);
  if (m.testLoss !== null) facts.push(`test loss ${formatMetric(m.testLoss)}`);
  if (m.split) facts.push(`${m.split} split`);
  card.append(h('ul', { class: 'rv-facts', id: 'metrics-facts' }, ...facts.map((f) => h('li', {}, f))));
  box.append(card);
  const frcCard = h('div', { class: 'np-card rv-card' });
  box.append(frcCard);
  // Shell k of an L×L FRC square is k/L cycles per pixel; without L (an unreadable file) the plot falls back to shells.
  const frcSize = m.trained?.amplitude.frcSize ?? null;
  frcPlot = new SeriesPlot(frcCard, { id: 'frc-plot', title: 'Fourier ring correlation', xLabel: frcSize ? 'spatial frequency (cycles/px)' : 'shell', yLabel: 'FRC', yRange: { lo: 0, hi: 1.05 }, height: 280 });
  const series: Series[] = [];
  const add = (mm: ResultImageMetrics | undefined, label: string, color: string, dash?: number[]): void => {
    if (!mm) return;
    const y = asFloat64(mm.frcCurve, `${label} FRC`);
    if (y.length === 0) return;
    const size = mm.frcSize ?? frcSize;
    series.push({ label, x: Array.from(y, (_, k) => (size ? k / size : k)), y, color, ...(dash ? { dash } : {}), markers: y.length <= 40 });
  };
  add(m.trained?.amplitude, 'amplitude', 'blue');
  add(m.untrained?.amplitude, 'amplitude, untrained', 'blue', [5, 4]);
  add(m.trained?.phase, 'phase', 'orange');
  add(m.untrained?.phase, 'phase, untrained', 'orange', [5, 4]);
  frcPlot.setData(series, [{ y: 0.5, label: '0.5' }, { y: 1 / 7, label: '1/7' }]);
  return box;
}

// ---- export of the whole figure

async function exportFigure(): Promise<void> {
  const visible = cells.filter((c) => c.viewer.canvas.width > 0);
  if (visible.length === 0) return;
  const blobs = await Promise.all(visible.map((c) => c.viewer.composite()));
  const bitmaps = await Promise.all(blobs.map((b) => createImageBitmap(b)));
  const cols = Math.min(visible.length, init?.image?.hasGroundTruth ? (state.layout === 'rgb' ? 2 : 3) : 1);
  const rows = Math.ceil(visible.length / cols);
  const dpr = window.devicePixelRatio || 1;
  const labelH = Math.round(22 * dpr);
  const cw = Math.max(...bitmaps.map((b) => b.width));
  const ch = Math.max(...bitmaps.map((b) => b.height)) + labelH;
  const out = document.createElement('canvas');
  out.width = cols * cw;
  out.height = rows * ch + labelH;
  const ctx = out.getContext('2d')!;
  const style = getComputedStyle(document.body);
  ctx.fillStyle = style.getPropertyValue('--vscode-editor-background').trim() || '#1e1e1e';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = style.getPropertyValue('--vscode-foreground').trim() || '#ccc';
  ctx.font = `${Math.round(13 * dpr)}px sans-serif`;
  ctx.textBaseline = 'middle';
  ctx.fillText(`${init?.job.jobId ?? ''}${state.options.removeOffset ? ' (global phase removed)' : ''}`, 8 * dpr, labelH / 2);
  visible.forEach((c, k) => {
    const x = (k % cols) * cw;
    const y = labelH + Math.floor(k / cols) * ch;
    ctx.fillText(c.viewer.root.getAttribute('aria-label') ?? c.id, x + 8 * dpr, y + labelH / 2);
    ctx.drawImage(bitmaps[k], x, y + labelH);
  });
  const blob = await new Promise<Blob>((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode the figure'))), 'image/png'));
  try {
    const path = await exportPng(await blob.arrayBuffer(), `${(init?.job.jobId ?? 'reconstruction').replace(/\//g, '_')}_${state.layout === 'rgb' ? 'rgb' : 'amplitude_phase'}_figure.png`);
    showStatus(path ? `Saved ${path}` : 'Export cancelled.');
  } catch (err) {
    showStatus(`Export failed: ${errorMessage(err)}`);
  }
}

// ---- loading

/**
 * Runs the per-pixel kernels on a small image while the arrays are in flight (hundreds of ms for a large
 * object), so the first real frame runs compiled code rather than the interpreter's first pass.
 */
function warmKernels(): void {
  const n = 128 * 128;
  const z = new Float32Array(2 * n);
  for (let i = 0; i < z.length; i++) z[i] = Math.sin(i * 0.01);
  const out = new Uint8ClampedArray(4 * n);
  for (let round = 0; round < 3; round++) {
    const amp = complexComponent(z, 'amplitude');
    const phase = complexComponent(z, 'phase', undefined, 0.1);
    mapToRgba(amp, colormapLut('gray'), { lo: 0, hi: 1 }, out);
    mapToRgba(phase, colormapLut('twilight'), { lo: -Math.PI, hi: Math.PI, wrap: true }, out);
    autoWindow(amp, 1, 99);
  }
}

async function load(i: ReconInit): Promise<void> {
  const t0 = performance.now();
  try {
    const pending = client.request('readImages', { jobId: i.job.jobId, groundTruth: false });
    warmKernels();
    const r = await pending;
    const requestMs = performance.now() - t0;
    if (init !== i) return;
    const d0 = performance.now();
    const object = asFloat32(r.object, 'object');
    const weight = asFloat32(r.weight, 'weight');
    const L: Loaded = {
      r, object, weight, shownRotation: 0, binary: isBinary(r.object) && isBinary(r.weight), bytes: object.byteLength + weight.byteLength,
    };
    derive(L, false);
    stages.derive = performance.now() - d0;
    images = L;
    const st = document.getElementById('rv-status');
    if (st) st.textContent = `read ${r.sourceWidth} × ${r.sourceHeight} px in ${r.readMs.toFixed(0)} ms${r.factor > 1 ? `, decimated ${r.factor}× on the host` : ''}`;
    await draw(L, d0, requestMs);
    drawProbe(r);
  } catch (err) {
    loadError = errorMessage(err);
    document.getElementById('image-grid')?.replaceChildren(h('div', { class: 'error-box', role: 'alert', id: 'load-error' }, `Could not read the reconstruction: ${loadError}`));
    reportRendered('error', 0, 0);
  }
}

function render(i: ReconInit): void {
  init = i;
  images = undefined;
  probeDrawn = undefined;
  loadError = undefined;
  message = undefined;
  hovered = undefined;
  for (const c of cells) c.viewer.destroy();
  cells = [];
  state.jobId = i.job.jobId;
  persist();
  if (!i.available) {
    renderUnavailable(i);
    return;
  }
  app.removeAttribute('aria-busy');
  app.replaceChildren(
    header(i),
    controls(),
    h('div', { class: 'hint rv-notes', id: 'rv-notes' }),
    h('section', { id: 'image-grid', 'aria-label': 'Images' }, h('p', { class: 'loading' }, 'Reading the reconstruction…')),
    h('pre', { class: 'rv-readout', id: 'rv-readout', 'aria-live': 'off' }, readoutText(undefined)),
    h('div', { class: 'muted rv-status', id: 'rv-status', 'aria-live': 'polite' }),
    metricsSection(i));
  rebuild();
  void load(i);
}

let probeDrawn: { size: number; nonBlank: number } | undefined;

/** A Phase F reconstruction's final probe: |P| in gray and its phase on the cyclic map, side by side. */
function drawProbe(r: ReconImages): void {
  probeDrawn = undefined;
  document.getElementById('probe-card')?.remove();
  if (!r.probe || !r.probeSize) return;
  const n = r.probeSize;
  const data = asFloat32(r.probe, 'probe');
  const amp = new Float32Array(n * n);
  const ph = new Float32Array(n * n);
  let peak = 0;
  for (let k = 0; k < n * n; k++) {
    amp[k] = modulus(data[2 * k], data[2 * k + 1]);
    ph[k] = Math.atan2(data[2 * k + 1], data[2 * k]);
    peak = Math.max(peak, amp[k]);
  }
  const canvas = h('canvas', { id: 'probe-canvas', width: 2 * n + 4, height: n, class: 'rv-probe', 'aria-label': `probe amplitude and phase, ${n} × ${n}` }) as HTMLCanvasElement;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(2 * n + 4, n);
  const rowA = new Uint8ClampedArray(4 * n);
  const rowP = new Uint8ClampedArray(4 * n);
  let nonBlank = 0;
  for (let y = 0; y < n; y++) {
    mapToRgba(amp.subarray(y * n, (y + 1) * n), colormapLut('gray'), { lo: 0, hi: peak || 1 }, rowA);
    mapToRgba(ph.subarray(y * n, (y + 1) * n), colormapLut('twilight'), { lo: -Math.PI, hi: Math.PI }, rowP);
    img.data.set(rowA, 4 * y * (2 * n + 4));
    img.data.set(rowP, 4 * (y * (2 * n + 4) + n + 4));
    for (let x = 0; x < n; x++) if (amp[y * n + x] > 0.01 * peak) nonBlank++;
  }
  ctx.putImageData(img, 0, 0);
  probeDrawn = { size: n, nonBlank: nonBlank / (n * n) };
  const card = h('div', { class: 'np-card rv-card', id: 'probe-card' },
    h('h2', {}, 'Probe'),
    canvas,
    h('p', { class: 'hint' }, `The reconstruction's final probe (${n} × ${n}): |P| (gray, 0 … ${formatValue(peak, 3)}) and its phase (cyclic, −π … π), in the units of the data-scaled probeGuess.`));
  document.getElementById('metrics')?.append(card);
}

function viewState(): ReconViewState {
  return {
    ...(init ? { jobId: init.job.jobId, revision: init.revision } : {}),
    layout: state.layout,
    options: { coverage: state.options.coverage, metricRegion: state.options.metricRegion, removeOffset: state.options.removeOffset, removePlane: state.options.removePlane },
    ...(message || loadError ? { message: message ?? loadError } : {}),
    viewers: cells.map((c) => c.viewer.state()),
    readout: document.getElementById('rv-readout')?.textContent ?? '',
    ...(images ? { data: { width: images.r.width, height: images.r.height, factor: images.r.factor, binary: images.binary, bytes: images.bytes, hasGroundTruth: !!images.gt } } : {}),
    metricRows, betterMarked, frcSeries: frcPlot?.seriesCount ?? 0,
    notes: notes(),
    ...(probeDrawn ? { probe: probeDrawn } : {}),
  };
}

async function settled(): Promise<void> {
  for (let k = 0; k < 100 && init?.available && !images && !loadError; k++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => requestAnimationFrame(() => r(undefined)));
  await new Promise((r) => setTimeout(r, 0));
}

client.on('init', (i) => {
  // The same job again (a retrain) keeps zoom and pan; another job starts from the fit view.
  if (init && init.job.jobId !== i.job.jobId) sync.reset();
  render(i);
});
client.onRequest('getViewState', async () => {
  await settled();
  return viewState();
});
client.onRequest('setView', async (p: ReconViewParams) => {
  let relayout = false;
  if (p.layout && p.layout !== state.layout) {
    state.layout = p.layout;
    relayout = true;
  }
  const o = state.options;
  if (p.coverage !== undefined) o.coverage = p.coverage;
  if (p.metricRegion !== undefined) o.metricRegion = p.metricRegion;
  if ((p.removeOffset !== undefined && p.removeOffset !== o.removeOffset) || (p.removePlane !== undefined && p.removePlane !== o.removePlane)) {
    o.removeOffset = p.removeOffset ?? o.removeOffset;
    o.removePlane = p.removePlane ?? o.removePlane;
    if (images) derive(images);
    relayout = true;
  }
  persist();
  if (init?.available) {
    // Keep the toolbar's controls in step with what is shown.
    document.querySelector('.rv-controls')?.replaceWith(controls());
    if (relayout) rebuild();
    else redrawAll();
  }
  if (p.zoom !== undefined) sync.set({ ...sync.state, zoom: p.zoom });
  await settled();
  return viewState();
});
client.onRequest('hoverAt', async (p) => {
  await settled();
  const first = cells[0];
  if (!first || !images) throw new Error('no image is shown');
  onHover(first.viewer, { x: Math.floor(p.x), y: Math.floor(p.y) });
  first.viewer.setMarker({ x: Math.floor(p.x), y: Math.floor(p.y) });
  first.viewer.showPixel({ x: Math.floor(p.x), y: Math.floor(p.y) });
  return viewState();
});
client.serveRelay();
client.ready();
