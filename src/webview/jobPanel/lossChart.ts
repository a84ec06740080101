// The loss chart of the job panel: train loss (solid) and validation loss (dashed) per epoch, the per-step
// training loss as a faint line with its smoothed curve, learning-rate reductions and resumes as marked verticals, a
// hover (and arrow-key) readout, a linear or log y axis (see chartModel.yAxis for negative losses), an epoch table,
// Export PNG and CSV. The controls, the model and the table are this file's; the drawing is SeriesPlot's, the one
// line-plot component of the workbench (the values go to it already mapped onto the y axis, with their ticks).
import { formatValue, labelTicks, niceTicks } from '../../core/image/ticks';
import { chartTheme, h } from '../components/dom';
import { SeriesPlot, type Series, type VLine } from '../components/seriesPlot';
import { ChartModel, chartCsv, emaSmooth, logTicks, shownValues, yAxis, type EpochPoint, type YAxis, type YMode } from './chartModel';

export interface LossChartSettings {
  yMode: YMode;
  showSteps: boolean;
  /** EMA weight of the per-step loss (0: raw; TensorBoard's default 0.6); the raw curve stays faint behind it. */
  smoothing: number;
}

export interface LossChartOptions {
  settings: Partial<LossChartSettings>;
  onSettings: (s: LossChartSettings) => void;
  exportPng?: (png: ArrayBuffer) => Promise<string | undefined>;
  /** Saves the plotted series as CSV (the host's dialog); resolves to where. */
  exportCsv?: (csv: string) => Promise<string | undefined>;
}

/** What the chart's x and y are: a training run's epochs and loss, or a Phase F run's iterations and relative error. */
export interface ChartUnits {
  x: string;
  y: string;
  /** The solid series' legend. */
  series: string;
  /** An iterative reconstruction: no validation loss, learning rate or per-step series. */
  iterative: boolean;
}
export const TRAINING_UNITS: ChartUnits = { x: 'epoch', y: 'loss', series: 'train (epoch mean)', iterative: false };
export const RECONSTRUCTION_UNITS: ChartUnits = { x: 'iteration', y: 'relative error', series: 'relative error', iterative: true };

const hoverHint = (u: ChartUnits): string => `Hover over the chart (or focus it and use ← →) to read an ${u.x}.`;

export class LossChart {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly readout: HTMLElement;
  readonly model = new ChartModel();
  settings: LossChartSettings;
  private readonly note: HTMLElement;
  private readonly table: HTMLDetailsElement;
  private readonly tableBody: HTMLElement;
  private readonly modeSel: HTMLSelectElement;
  private readonly stepsBox: HTMLInputElement;
  private readonly plot: SeriesPlot;
  private frame = 0;
  /** Points drawn in the last frame (tests). */
  drawnPoints = 0;
  units: ChartUnits = TRAINING_UNITS;
  private readonly titleEl: HTMLElement;
  private readonly legendEl: HTMLElement;
  private readonly headRow: HTMLElement;
  private readonly tableSummary: HTMLElement;
  private readonly stepsLabel: HTMLElement;
  private readonly smoothSlider: HTMLInputElement;
  private readonly smoothValue: HTMLElement;
  private readonly smoothLabel: HTMLElement;

  constructor(parent: HTMLElement, private readonly opts: LossChartOptions) {
    this.settings = { yMode: opts.settings.yMode ?? 'linear', showSteps: opts.settings.showSteps ?? true, smoothing: opts.settings.smoothing ?? 0.6 };
    this.smoothSlider = h('input', { type: 'range', id: 'loss-smoothing', min: 0, max: 0.99, step: 0.01, value: this.settings.smoothing, 'aria-label': 'Smoothing of the per-step loss' }) as HTMLInputElement;
    this.smoothValue = h('span', { class: 'muted', id: 'loss-smoothing-value' }, this.settings.smoothing.toFixed(2));
    this.smoothSlider.addEventListener('input', () => {
      this.settings.smoothing = Number(this.smoothSlider.value);
      this.smoothValue.textContent = this.settings.smoothing.toFixed(2);
      this.opts.onSettings(this.settings);
      this.schedule();
    });
    this.modeSel = h('select', { id: 'loss-ymode', 'aria-label': 'Y axis' }) as HTMLSelectElement;
    for (const [v, label] of [['linear', 'linear y'], ['log', 'log y']] as const) this.modeSel.append(h('option', { value: v }, label));
    this.modeSel.value = this.settings.yMode;
    this.stepsBox = h('input', { type: 'checkbox', id: 'loss-steps', checked: this.settings.showSteps });
    const exportBtn = h('button', { type: 'button', id: 'loss-export', title: 'Save the chart as a PNG image' }, 'Export PNG');
    const plotBox = h('div', { class: 'jp-loss-plot' });
    this.plot = new SeriesPlot(plotBox, {
      id: 'loss', title: 'Loss', heading: false, xLabel: 'epoch', yLabel: 'loss', integerX: true, legend: false, height: 220,
      emptyText: 'No training yet: Train the job to see its loss here.',
      snapX: { describe: (x) => this.describeAt(x), hint: hoverHint(TRAINING_UNITS) },
    });
    this.canvas = this.plot.canvas;
    this.canvas.classList.add('loss-canvas');
    this.canvas.style.height = '';
    this.canvas.setAttribute('aria-label', 'Loss per epoch: no data yet');
    this.readout = this.plot.readout;
    this.readout.textContent = '';
    this.readout.setAttribute('aria-live', 'polite');
    this.note = h('div', { class: 'hint', id: 'loss-note' });
    this.tableBody = h('tbody');
    this.headRow = h('tr');
    this.tableSummary = h('summary', {}, 'Epoch table');
    this.table = h('details', { class: 'loss-table', id: 'loss-table' },
      this.tableSummary,
      h('div', { class: 'table-scroll' }, h('table', { class: 'data-table', 'data-no-csv': true }, h('thead', {}, this.headRow), this.tableBody)));
    this.legendEl = h('div', { class: 'loss-legend', 'aria-hidden': 'true' });
    this.titleEl = h('h2', {}, 'Loss');
    this.stepsLabel = h('label', { class: 'iv-check', for: 'loss-steps' }, this.stepsBox, 'per-step loss');
    this.smoothLabel = h('label', { class: 'iv-check', for: 'loss-smoothing', title: 'Exponential moving average of the per-step loss (0: none); the raw curve stays faint behind it' }, 'smoothing ', this.smoothSlider, this.smoothValue);
    const csvBtn = h('button', { type: 'button', id: 'loss-export-csv', title: 'Save the plotted series (per step with the smoothed value, per epoch) as CSV' }, 'Export CSV');
    csvBtn.addEventListener('click', () => void this.exportCsv().then((where) => {
      if (where) this.readout.textContent = `Saved ${where}`;
    }, (err: Error) => (this.readout.textContent = `Could not save: ${err.message}`)));
    this.root = h('section', { class: 'np-card jp-chart', id: 'loss-section', 'aria-label': 'Loss' },
      h('div', { class: 'jp-card-head' }, h('div', { class: 'jp-head-left' }, this.titleEl, this.legendEl),
        h('div', { class: 'mv-controls' }, this.modeSel, this.stepsLabel, this.smoothLabel, ...(opts.exportPng ? [exportBtn] : []), ...(opts.exportCsv ? [csvBtn] : []))),
      plotBox, this.note, this.table);
    this.applyUnits();
    parent.append(this.root);
    this.modeSel.addEventListener('change', () => {
      this.settings.yMode = this.modeSel.value === 'log' ? 'log' : 'linear';
      this.opts.onSettings({ ...this.settings });
      this.schedule();
    });
    this.stepsBox.addEventListener('change', () => {
      this.settings.showSteps = this.stepsBox.checked;
      this.opts.onSettings({ ...this.settings });
      this.schedule();
    });
    exportBtn.addEventListener('click', () => {
      if (this.opts.exportPng) exportCanvasPng(this.canvas, this.readout, this.opts.exportPng);
    });
    this.table.addEventListener('toggle', () => this.fillTable());
  }

  reset(): void {
    this.model.reset();
    this.schedule();
  }

  update(): void {
    this.schedule();
  }

  /** The y axis of the values shown now. */
  axis(): YAxis {
    return yAxis(shownValues(this.model, this.settings.showSteps), this.settings.yMode);
  }

  /** The plotted series as CSV, saved through the host. */
  exportCsv(): Promise<string | undefined> {
    if (!this.opts.exportCsv) return Promise.resolve(undefined);
    return this.opts.exportCsv(chartCsv(this.model, this.units.iterative ? 0 : this.settings.smoothing, this.units));
  }

  /** Switches what x and y are (a Phase F job's panel: iterations and relative error). */
  setUnits(units: ChartUnits): void {
    if (units === this.units) return;
    this.units = units;
    this.applyUnits();
    this.readout.textContent = '';
    this.schedule();
  }

  private applyUnits(): void {
    const u = this.units;
    this.titleEl.textContent = u.iterative ? 'Relative error' : 'Loss';
    this.root.setAttribute('aria-label', this.titleEl.textContent);
    this.legendEl.replaceChildren(h('span', { class: 'lg lg-train' }, u.series),
      ...(u.iterative ? [] : [h('span', { class: 'lg lg-val' }, 'validation'), h('span', { class: 'lg lg-step' }, 'per step'), h('span', { class: 'lg lg-lr' }, 'lr reduced')]));
    this.headRow.replaceChildren(...(u.iterative ? [u.x, u.y, 'seconds'] : ['epoch', 'train loss', 'val loss', 'lr after the epoch', 'seconds']).map((t) => h('th', { scope: 'col' }, t)));
    this.tableSummary.textContent = `${u.x[0].toUpperCase()}${u.x.slice(1)} table`;
    this.stepsLabel.hidden = u.iterative;
    this.smoothLabel.hidden = u.iterative;
    this.tableBody.replaceChildren();
    this.fillTable();
  }

  /** The readout of the epoch (iteration) under the cursor. */
  private describeAt(x: number): string {
    const p = this.model.epochs.find((q) => q.epoch === x);
    return p ? describeEpoch(p, this.model.epochs, this.units) : `${this.units.x} ${x}`;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private fillTable(): void {
    if (!this.table.open) return;
    const rows = this.model.epochs.map((p) => this.units.iterative ? h('tr', {},
      h('th', { scope: 'row' }, String(p.epoch)), h('td', {}, formatValue(p.trainLoss, 6)), h('td', {}, p.seconds.toFixed(2))) : h('tr', {},
      h('th', { scope: 'row' }, String(p.epoch)), h('td', {}, formatValue(p.trainLoss, 6)), h('td', {}, p.valLoss === null ? '—' : formatValue(p.valLoss, 6)),
      h('td', {}, `${formatValue(p.lr, 3)}${p.lrReduced ? ' (reduced)' : ''}`), h('td', {}, p.seconds.toFixed(1))));
    this.tableBody.replaceChildren(...rows);
  }

  /** Fraction of canvas pixels drawn (tests). */
  nonBlank(): number {
    const c = this.canvas;
    if (c.width === 0 || c.height === 0) return 0;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    let total = 0;
    for (let i = 3; i < d.length; i += 4 * 7) {
      total++;
      if (d[i] > 0) n++;
    }
    return total ? n / total : 0;
  }

  draw(): void {
    this.fillTable();
    const m = this.model;
    const u = this.units;
    const steps = this.settings.showSteps ? m.steps : [];
    this.drawnPoints = 0;
    if (m.epochs.length === 0 && steps.length === 0) {
      this.plot.setEmptyText(m.status === 'running' ? 'Waiting for the first training step…' : u.iterative ? 'No iterations yet: Reconstruct the job to see its relative error here.' : 'No training yet: Train the job to see its loss here.');
      this.plot.setData([]);
      this.note.textContent = '';
      this.readout.textContent = '';
      this.canvas.setAttribute('aria-label', `${u.iterative ? 'Relative error' : 'Loss'} per ${u.x}: no data yet`);
      return;
    }
    if (!this.readout.textContent) this.readout.textContent = hoverHint(u);
    const axis = this.axis();
    const Y = (v: number | null): number => (v === null || !Number.isFinite(v) ? NaN : axis.map(v));
    const series: Series[] = [];
    // Per-step loss: the raw curve faint, its exponential moving average (the smoothing slider) over it, both
    // behind the epoch means; neither is a stop of the epoch cursor.
    if (steps.length > 0) {
      const w = this.settings.smoothing;
      const xs = steps.map((p) => p.x);
      series.push({ label: 'per step', x: xs, y: steps.map((p) => Y(p.loss)), color: 'blue', width: 1, alpha: w > 0 ? 0.18 : 0.35, cursor: false, legend: false });
      if (w > 0) {
        const sm = emaSmooth(steps.map((p) => p.loss), w);
        series.push({ label: 'per step (smoothed)', x: xs, y: sm.map((v) => Y(v)), color: 'blue', width: 1.5, alpha: 0.8, cursor: false, legend: false });
        this.drawnPoints += steps.length;
      }
      this.drawnPoints += steps.length;
    }
    const epochSeries = (label: string, pick: (p: EpochPoint) => number | null, color: string, dash?: number[]): void => {
      const pts = m.epochs.filter((p) => pick(p) !== null && Number.isFinite(pick(p)!));
      if (pts.length === 0) return;
      series.push({ label, x: pts.map((p) => p.epoch), y: pts.map((p) => Y(pick(p))), color, width: 2, markers: true, markerRadius: pts.length > 60 ? 1.5 : 3, legend: false, ...(dash ? { dash } : {}) });
      this.drawnPoints += pts.length;
    };
    epochSeries(u.series, (p) => p.trainLoss, 'blue');
    epochSeries('validation', (p) => p.valLoss, 'orange', [6, 4]);
    const vlines: VLine[] = [
      ...m.lrMarks.map((p) => ({ x: p.epoch, label: `lr ↓ ${formatValue(p.lr, 2)}`, color: 'purple' })),
      ...m.resumedAt.map((x) => ({ x, label: 'resumed', color: chartTheme().muted, row: 1 })),
    ];
    const yTicks = axis.mode === 'log'
      ? (() => {
        const ts = logTicks(axis.lo, axis.hi);
        return labelTicks(ts.map((t) => 10 ** t)).map((k, i) => ({ value: ts[i], label: k.label }));
      })()
      : labelTicks(niceTicks(axis.lo, axis.hi, 5));
    const lastX = Math.max(m.plannedEpochs, m.epochs.at(-1)?.epoch ?? 0, steps.at(-1)?.x ?? 0);
    this.plot.setXLabel(u.x, hoverHint(u));
    this.plot.setYLabel(axis.label.replace(/\bloss\b/g, u.y));
    this.plot.setData(series, [], { x: { lo: 0, hi: Math.max(1, lastX) }, y: { lo: axis.lo, hi: axis.hi }, yTicks, vlines });
    this.note.textContent = axis.note;
    const last = m.epochs.at(-1);
    this.canvas.setAttribute('aria-label', last
      ? `${u.iterative ? 'Relative error' : 'Loss'} per ${u.x}: ${m.epochs.length} ${u.x}${m.epochs.length === 1 ? '' : 's'}; last: ${describeEpoch(last, m.epochs, u)}`
      : `Loss per step: ${m.steps.length} steps so far`);
  }
}

/** Encodes a chart's canvas as PNG and saves it with `save` (the host's dialog), saying where in `readout`. */
export function exportCanvasPng(canvas: HTMLCanvasElement, readout: HTMLElement, save: (png: ArrayBuffer) => Promise<string | undefined>): void {
  canvas.toBlob((blob) => {
    if (!blob) return;
    void blob.arrayBuffer().then((buf) => save(buf)).then((p) => {
      if (p) readout.textContent = `Saved ${p}`;
    }, (err: Error) => (readout.textContent = `Could not save: ${err.message}`));
  }, 'image/png');
}

export function describeEpoch(p: EpochPoint, all: readonly EpochPoint[], units: ChartUnits = TRAINING_UNITS): string {
  if (units.iterative) return `${units.x} ${p.epoch} · ${units.y} ${formatValue(p.trainLoss, 6)} · ${p.seconds.toFixed(2)} s`;
  const best = all.reduce<number | undefined>((b, q) => (q.valLoss !== null && (b === undefined || q.valLoss < b) ? q.valLoss : b), undefined);
  const isBest = p.valLoss !== null && best !== undefined && p.valLoss === best;
  return `epoch ${p.epoch} · train ${formatValue(p.trainLoss, 6)} · val ${p.valLoss === null ? '—' : formatValue(p.valLoss, 6)}${isBest ? ' (best)' : ''}` +
    `${p.lrReduced ? ` · lr reduced on plateau to ${formatValue(p.lr, 3)} for the next epoch` : ` · lr ${formatValue(p.lr, 3)}`} · ${p.seconds.toFixed(1)} s`;
}
