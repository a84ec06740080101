// The Compare Runs page: the runs compared (job, run, status, length; each opens its manifest or job panel), the
// settings whose values differ, the metrics of the common evaluation with the better value of each row marked, the
// loss (or relative-error) curves overlaid in one chart, and the reconstructions side by side on one colour scale
// (amplitude: one window for every run; phase: −π…π after each run's global phase offset). The host re-sends
// `init` when the study changes; images are re-read only for runs whose revision of the comparison changed.
import { colormapLut } from '../../core/image/colormaps';
import { formatValue } from '../../core/image/ticks';
import { createClient, type Client } from '../client';
import { h } from '../components/dom';
import { SeriesPlot, SERIES_COLORS } from '../components/seriesPlot';
import { asFloat32, asFloat64 } from '../shared/binary';
import { errorMessage } from '../shared/endpoint';
import { curveSeries, PHASE_WINDOW, runPlanes, sharedAmplitudeWindow, windowIndex, type RunPlanes } from './model';
import type { RunCompareInit, RunCompareProtocol, RunCompareViewState } from './protocol';
import { enableTableCsv } from '../components/tableCsv';

interface PersistedState {
  runs?: RunCompareInit['selection'];
}

const client: Client<RunCompareProtocol, PersistedState> = createClient<RunCompareProtocol, PersistedState>('runCompare');
const app = document.getElementById('app')!;
// Every data table gets a CSV… button (saved through the host's save dialog).
enableTableCsv(app, (suggestedName, text) => client.request('saveCsv', { suggestedName, text }), (t) => `${'run-comparison'}_${t.id || 'table'}`);
let init: RunCompareInit | undefined;
let chart: SeriesPlot | undefined;
const planes = new Map<string, { planes: RunPlanes; width: number; height: number; revision: string }>();
const imageErrors = new Map<string, string>();
let amplitudeWindow: { lo: number; hi: number } | null = null;
let drawn: string[] = [];

const label = (i: number): string => `#${i + 1}`;

function fmt(v: number | null): string {
  return v === null || !Number.isFinite(v) ? '—' : formatValue(v);
}

/** The run's colour (its curve's), as a small square; el.style (the CSP forbids style attributes). */
function swatch(i: number): HTMLElement {
  const el = h('span', { class: 'rc-swatch', 'aria-hidden': 'true' });
  el.style.background = `var(--vscode-charts-${SERIES_COLORS[i % SERIES_COLORS.length]})`;
  return el;
}

function runsTable(d: RunCompareInit): HTMLElement {
  const rows = d.runs.map((r, i) => h('tr', { id: `rc-run-${i}` },
    h('th', { scope: 'row' }, swatch(i), label(i)),
    h('td', {}, h('code', {}, r.jobId)),
    h('td', {}, h('code', {}, r.runId), r.latest ? h('span', { class: 'muted' }, ' (latest)') : ''),
    h('td', {}, h('span', { class: `jp-state state-${r.status}`, title: r.reason ?? '' }, r.status)),
    h('td', {}, r.startedAt ? new Date(r.startedAt).toLocaleString() : '—'),
    h('td', {}, r.length !== undefined ? `${r.length} ${r.kind === 'train' ? 'epochs' : 'iterations'}` : '—'),
    h('td', {},
      h('button', { type: 'button', class: 'member-link', title: 'Open this run\'s manifest', onclick: () => void open(r.key, 'manifest') }, 'Manifest'), ' ',
      h('button', { type: 'button', class: 'member-link', title: 'Open the job panel (log, loss, reconstruction)', onclick: () => void open(r.key, 'jobPanel') }, 'Job panel'))));
  return h('section', { class: 'np-card', id: 'rc-runs', 'aria-label': 'Runs' }, h('h2', {}, 'Runs'),
    h('div', { class: 'table-x' }, h('table', { class: 'data-table' },
      h('thead', {}, h('tr', {}, ...['', 'job', 'run', 'status', 'started', 'length', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...rows))));
}

function settingsTable(d: RunCompareInit): HTMLElement {
  const body = d.settings.length === 0
    ? h('p', { class: 'hint', id: 'rc-settings-same' }, 'The runs were planned with the same settings.')
    : h('div', { class: 'table-x' }, h('table', { class: 'data-table', id: 'rc-settings-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'setting'), ...d.runs.map((_, i) => h('th', { scope: 'col' }, label(i))))),
      h('tbody', {}, ...d.settings.map((s) => h('tr', {}, h('th', { scope: 'row' }, h('code', {}, s.key)), ...s.values.map((v) => h('td', {}, h('code', {}, v))))))));
  return h('section', { class: 'np-card', id: 'rc-settings', 'aria-label': 'Settings that differ' }, h('h2', {}, 'Settings that differ'), body);
}

function metricsTable(d: RunCompareInit): HTMLElement {
  const partLabel: Record<string, string> = { amplitude: 'amplitude', phase: 'phase', run: 'run' };
  const rows = d.metrics.map((m) => h('tr', { class: 'rc-metric' },
    h('th', { scope: 'row' }, `${partLabel[m.part] ?? m.part} · ${m.label}`, h('span', { class: 'muted' }, m.lowerIsBetter ? ' ↓' : ' ↑')),
    ...m.values.map((v, i) => {
      const best = m.best.includes(i);
      return h('td', { class: best ? 'rc-best' : undefined, title: best ? 'the better value of this row' : undefined }, fmt(v), best ? ' ★' : '');
    })));
  return h('section', { class: 'np-card', id: 'rc-metrics', 'aria-label': 'Metrics' }, h('h2', {}, 'Metrics'),
    h('p', { class: 'hint' }, 'Scored on the dose\'s common evaluation (metrics.json); ★ marks the better value of each row (↑ higher is better, ↓ lower).'),
    d.metrics.length === 0 ? h('p', { class: 'hint' }, 'No run has metrics yet.') : h('div', { class: 'table-x' }, h('table', { class: 'data-table', id: 'rc-metrics-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'metric'), ...d.runs.map((_, i) => h('th', { scope: 'col' }, label(i))))),
      h('tbody', {}, ...rows))));
}

function curves(d: RunCompareInit, parent: HTMLElement): void {
  const data = d.curves.map((c) => ({ key: c.key, xLabel: c.xLabel, yLabel: c.yLabel, x: asFloat64(c.x), y: asFloat64(c.y), val: asFloat64(c.val) }));
  const first = data.find((c) => c.x.length > 0) ?? data[0];
  const box = h('section', { class: 'np-card', id: 'rc-curves', 'aria-label': 'Curves' }, h('h2', {}, first ? `${first.yLabel} per ${first.xLabel}` : 'Curves'));
  parent.append(box);
  chart = new SeriesPlot(box, { id: 'rc-chart', title: 'Curves', heading: false, xLabel: first?.xLabel ?? 'epoch', yLabel: first?.yLabel ?? 'loss', integerX: true, height: 280 });
  chart.setData(curveSeries(data, d.runs.map((_, i) => label(i))).filter((s) => s.x.length > 0));
}

function imagesSection(d: RunCompareInit): HTMLElement {
  const cells = d.runs.map((r, i) => h('figure', { class: 'rc-figure', id: `rc-image-${i}` },
    h('figcaption', {}, `${label(i)} `, h('code', {}, `${r.jobId}@${r.runId}`)),
    r.hasReconstruction
      ? h('div', { class: 'rc-pair' },
        h('canvas', { class: 'rc-canvas', id: `rc-amp-${i}`, role: 'img', 'aria-label': `Amplitude of ${label(i)}` }),
        h('canvas', { class: 'rc-canvas', id: `rc-phase-${i}`, role: 'img', 'aria-label': `Phase of ${label(i)}` }))
      : h('p', { class: 'hint' }, `No reconstruction (${r.status}).`),
    h('div', { class: 'hint rc-image-note', id: `rc-image-note-${i}` })));
  return h('section', { class: 'np-card', id: 'rc-images', 'aria-label': 'Reconstructions' }, h('h2', {}, 'Reconstructions'),
    h('p', { class: 'hint', id: 'rc-scale' }, 'Amplitude (gray) and phase (twilight) on one colour scale for every run.'),
    h('div', { class: 'rc-grid' }, ...cells));
}

function paint(canvas: HTMLCanvasElement, values: Float32Array, covered: Uint8Array, width: number, height: number, lut: Uint8Array, w: { lo: number; hi: number }): void {
  canvas.width = width;
  canvas.height = height;
  const scale = Math.max(1, Math.floor(256 / Math.max(width, height)));
  canvas.style.width = `${width * scale}px`;
  canvas.style.height = `${height * scale}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const img = ctx.createImageData(width, height);
  for (let q = 0; q < values.length; q++) {
    const k = 4 * q;
    if (!covered[q]) continue; // unlit: transparent, the card shows through
    const v = 3 * windowIndex(values[q], w);
    img.data[k] = lut[v];
    img.data[k + 1] = lut[v + 1];
    img.data[k + 2] = lut[v + 2];
    img.data[k + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Draws every run's images on the shared windows (after all have arrived, so the scale is the same for all). */
function drawImages(d: RunCompareInit): void {
  amplitudeWindow = sharedAmplitudeWindow([...planes.values()].map((p) => p.planes));
  const gray = colormapLut('gray');
  const twilight = colormapLut('twilight');
  drawn = [];
  d.runs.forEach((r, i) => {
    const note = document.getElementById(`rc-image-note-${i}`);
    const err = imageErrors.get(r.key);
    if (note) note.textContent = err ?? '';
    const p = planes.get(r.key);
    const amp = document.getElementById(`rc-amp-${i}`) as HTMLCanvasElement | null;
    const ph = document.getElementById(`rc-phase-${i}`) as HTMLCanvasElement | null;
    if (!p || !amp || !ph || !amplitudeWindow) return;
    paint(amp, p.planes.amplitude, p.planes.covered, p.width, p.height, gray, amplitudeWindow);
    paint(ph, p.planes.phase, p.planes.covered, p.width, p.height, twilight, PHASE_WINDOW);
    drawn.push(r.key);
  });
  const scale = document.getElementById('rc-scale');
  if (scale && amplitudeWindow) {
    scale.textContent = `One colour scale for every run: amplitude ${formatValue(amplitudeWindow.lo)} … ${formatValue(amplitudeWindow.hi)} (gray; 1st–99th percentile of all runs' lit pixels), phase −π … π (twilight; each run's global phase offset removed). Unlit pixels are left blank.`;
  }
}

async function loadImages(d: RunCompareInit): Promise<void> {
  // Keep the images of runs that did not change; read the others.
  for (const key of [...planes.keys()]) if (!d.runs.some((r) => r.key === key && r.hasReconstruction && r.revision === planes.get(key)!.revision)) planes.delete(key);
  imageErrors.clear();
  await Promise.all(d.runs.filter((r) => r.hasReconstruction && !planes.has(r.key)).map(async (r) => {
    try {
      const img = await client.request('readImage', { key: r.key });
      planes.set(r.key, {
        width: img.width, height: img.height, revision: r.revision,
        planes: runPlanes({ width: img.width, height: img.height, object: asFloat32(img.object), weight: asFloat32(img.weight), globalPhaseOffset: img.globalPhaseOffset }),
      });
    } catch (err) {
      imageErrors.set(r.key, `Could not read the reconstruction: ${errorMessage(err)}`);
    }
  }));
  if (init === d) drawImages(d);
}

async function open(key: string, what: 'manifest' | 'jobPanel'): Promise<void> {
  try {
    await client.request('open', { key, what });
  } catch (err) {
    const el = document.getElementById('rc-error');
    if (el) {
      el.textContent = errorMessage(err);
      el.hidden = false;
    }
  }
}

function render(d: RunCompareInit): void {
  app.removeAttribute('aria-busy');
  const jobs = [...new Set(d.runs.map((r) => r.jobId))];
  const title = d.runs.length === 0 ? 'Compare Runs' : jobs.length === 1 ? `Compare Runs of ${jobs[0]}` : `Compare Runs of ${jobs.length} jobs`;
  document.title = title;
  const parts: HTMLElement[] = [
    h('header', { class: 'jp-header' }, h('div', { class: 'jp-title' }, h('h1', { id: 'rc-title' }, title))),
    h('div', { class: 'error-box', id: 'rc-error', role: 'alert', hidden: true }),
  ];
  for (const n of d.notes) parts.push(h('div', { class: 'jp-reason warn rc-note' }, n));
  if (d.runs.length > 0) parts.push(runsTable(d), settingsTable(d), metricsTable(d));
  app.replaceChildren(...parts);
  if (d.runs.length > 0) {
    curves(d, app);
    app.append(imagesSection(d));
  }
}

function viewState(): RunCompareViewState {
  return {
    runs: init?.runs.map((r) => r.key) ?? [],
    drawn: [...drawn],
    amplitudeWindow,
    phaseWindow: PHASE_WINDOW,
    metricRows: document.querySelectorAll('#rc-metrics-table tbody tr').length,
    bestCells: document.querySelectorAll('#rc-metrics-table td.rc-best').length,
    settingRows: document.querySelectorAll('#rc-settings-table tbody tr').length,
    curves: init?.curves.filter((c) => c.x.byteLength > 0).length ?? 0,
  };
}

client.on('init', (d) => {
  init = d;
  client.setState({ runs: d.selection });
  const y = window.scrollY;
  render(d);
  window.scrollTo(0, y);
  void loadImages(d).then(() => client.emit('rendered', {
    what: `run comparison ${d.runs.length}`, scriptStartMs: client.timing.scriptStartMs, readyMs: client.timing.readyMs, drawnMs: performance.now(), requestMs: 0, drawMs: 0, first: d.revision === 1,
  })).catch(() => undefined);
});
client.onRequest('getViewState', () => viewState());
client.serveRelay();
client.ready();
