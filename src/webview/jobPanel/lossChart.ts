// The loss chart of the job panel (canvas): train loss (solid) and validation loss (dashed) per epoch, the
// per-step training loss as a faint line, learning-rate reductions and resumes as marked verticals, a hover
// (and arrow-key) readout, a linear or log y axis (see chartModel.yAxis for negative losses), an epoch table
// and Export PNG. Colours follow the theme.
import { formatValue, labelTicks, niceTicks } from '../../core/image/ticks';
import { canvasFont, chartTheme, h, onThemeChange, sizeCanvas, themeColor } from '../components/dom';
import { ChartModel, chartCsv, emaSmooth, logTicks, nearestEpoch, shownValues, yAxis, type EpochPoint, type YAxis, type YMode } from './chartModel';

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

interface Layout {
  plot: { x: number; y: number; w: number; h: number };
  x0: number;
  x1: number;
  axis: YAxis;
}

function colors(): ReturnType<typeof chartTheme> & { train: string; val: string; step: string; mark: string } {
  return {
    ...chartTheme(),
    train: themeColor('--vscode-charts-blue', '#3794ff'),
    val: themeColor('--vscode-charts-orange', '#d18616'),
    step: themeColor('--vscode-charts-blue', '#3794ff'),
    mark: themeColor('--vscode-charts-purple', '#b180d7'),
  };
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
  private layout?: Layout;
  private hover?: number;
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
    this.canvas = h('canvas', { class: 'plot-canvas loss-canvas', id: 'loss-canvas', tabindex: 0, role: 'img', 'aria-label': 'Loss per epoch: no data yet' });
    this.readout = h('div', { class: 'plot-readout', id: 'loss-readout', 'aria-live': 'polite' });
    this.note = h('div', { class: 'hint', id: 'loss-note' });
    this.tableBody = h('tbody');
    this.headRow = h('tr');
    this.tableSummary = h('summary', {}, 'Epoch table');
    this.table = h('details', { class: 'loss-table', id: 'loss-table' },
      this.tableSummary,
      h('div', { class: 'table-scroll' }, h('table', { class: 'data-table' }, h('thead', {}, this.headRow), this.tableBody)));
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
      this.canvas, this.readout, this.note, this.table);
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
    new ResizeObserver(() => this.schedule()).observe(this.canvas);
    onThemeChange(() => this.schedule());
    this.canvas.addEventListener('pointermove', (ev) => {
      const L = this.layout;
      if (!L || this.model.epochs.length === 0) return;
      const r = this.canvas.getBoundingClientRect();
      const x = L.x0 + ((ev.clientX - r.left - L.plot.x) / L.plot.w) * (L.x1 - L.x0);
      const p = nearestEpoch(this.model, x);
      this.setHover(p?.epoch);
    });
    this.canvas.addEventListener('pointerleave', () => this.setHover(undefined));
    this.canvas.addEventListener('keydown', (ev) => {
      const list = this.model.epochs;
      if (list.length === 0) return;
      const i = this.hover === undefined ? list.length - 1 : list.findIndex((p) => p.epoch === this.hover);
      let j = i;
      if (ev.key === 'ArrowLeft') j = Math.max(0, i - 1);
      else if (ev.key === 'ArrowRight') j = Math.min(list.length - 1, i + 1);
      else if (ev.key === 'Home') j = 0;
      else if (ev.key === 'End') j = list.length - 1;
      else return;
      ev.preventDefault();
      this.setHover(list[j].epoch);
    });
  }

  reset(): void {
    this.model.reset();
    this.hover = undefined;
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

  private setHover(epoch: number | undefined): void {
    this.hover = epoch;
    const p = epoch === undefined ? undefined : this.model.epochs.find((q) => q.epoch === epoch);
    if (p) this.readout.textContent = describeEpoch(p, this.model.epochs, this.units);
    this.schedule();
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
    const sized = sizeCanvas(this.canvas);
    if (!sized) return;
    const { ctx, w, h: hh } = sized;
    const col = colors();
    const m = this.model;
    const steps = this.settings.showSteps ? m.steps : [];
    this.drawnPoints = 0;
    const lastX = Math.max(m.plannedEpochs, m.epochs.at(-1)?.epoch ?? 0, steps.at(-1)?.x ?? 0);
    if (m.epochs.length === 0 && steps.length === 0) {
      ctx.font = canvasFont(12, 1);
      ctx.fillStyle = col.muted;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(m.status === 'running' ? 'Waiting for the first training step…' : 'No training yet: Train the job to see its loss here.', w / 2, hh / 2);
      this.note.textContent = '';
      this.readout.textContent = '';
      this.canvas.setAttribute('aria-label', 'Loss per epoch: no data yet');
      this.layout = undefined;
      return;
    }
    if (!this.readout.textContent) this.readout.textContent = hoverHint(this.units);
    const axis = this.axis();
    const plot = { x: 68, y: 14, w: Math.max(40, w - 84), h: Math.max(40, hh - 52) };
    const x0 = 0;
    const x1 = Math.max(1, lastX);
    this.layout = { plot, x0, x1, axis };
    const X = (v: number): number => plot.x + ((v - x0) / (x1 - x0)) * plot.w;
    const Y = (v: number): number => plot.y + plot.h - ((axis.map(v) - axis.lo) / (axis.hi - axis.lo)) * plot.h;
    const YT = (t: number): number => plot.y + plot.h - ((t - axis.lo) / (axis.hi - axis.lo)) * plot.h;

    // Axes and grid.
    ctx.font = canvasFont(11, 1);
    ctx.lineWidth = 1;
    ctx.strokeStyle = col.grid;
    ctx.fillStyle = col.muted;
    ctx.strokeRect(plot.x + 0.5, plot.y + 0.5, plot.w - 1, plot.h - 1);
    const xt = niceTicks(x0, x1, Math.max(2, Math.min(Math.floor(plot.w / 70), Math.ceil(x1)))).filter((v) => Number.isInteger(v) || x1 < 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of labelTicks(xt)) {
      const x = X(t.value);
      ctx.globalAlpha = 0.35;
      ctx.beginPath();
      ctx.moveTo(x + 0.5, plot.y);
      ctx.lineTo(x + 0.5, plot.y + plot.h);
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.fillText(t.label, x, plot.y + plot.h + 5);
    }
    const yTicks = axis.mode === 'log'
      ? (() => {
        const ts = logTicks(axis.lo, axis.hi);
        return labelTicks(ts.map((t) => 10 ** t)).map((k, i) => ({ t: ts[i], label: k.label }));
      })()
      : labelTicks(niceTicks(axis.lo, axis.hi, Math.max(2, Math.floor(plot.h / 45)))).map((k) => ({ t: k.value, label: k.label }));
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const { t, label } of yTicks) {
      const y = YT(t);
      ctx.globalAlpha = 0.35;
      ctx.beginPath();
      ctx.moveTo(plot.x, y + 0.5);
      ctx.lineTo(plot.x + plot.w, y + 0.5);
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.fillText(label, plot.x - 6, y);
    }
    ctx.fillStyle = col.fg;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(this.units.x, plot.x + plot.w / 2, hh - 2);
    ctx.save();
    ctx.translate(13, plot.y + plot.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'middle';
    ctx.fillText(axis.label.replace(/\bloss\b/g, this.units.y), 0, 0);
    ctx.restore();

    ctx.save();
    ctx.beginPath();
    ctx.rect(plot.x, plot.y, plot.w, plot.h);
    ctx.clip();
    // Learning-rate reductions and resumes.
    ctx.setLineDash([3, 3]);
    ctx.strokeStyle = col.mark;
    ctx.fillStyle = col.mark;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    for (const p of m.lrMarks) {
      const x = X(p.epoch);
      ctx.beginPath();
      ctx.moveTo(x + 0.5, plot.y);
      ctx.lineTo(x + 0.5, plot.y + plot.h);
      ctx.stroke();
      ctx.fillText(`lr ↓ ${formatValue(p.lr, 2)}`, x + 3, plot.y + 3);
    }
    ctx.strokeStyle = col.muted;
    ctx.fillStyle = col.muted;
    for (const x of m.resumedAt) {
      ctx.beginPath();
      ctx.moveTo(X(x) + 0.5, plot.y);
      ctx.lineTo(X(x) + 0.5, plot.y + plot.h);
      ctx.stroke();
      ctx.fillText('resumed', X(x) + 3, plot.y + 16);
    }
    ctx.setLineDash([]);
    // Per-step loss: the raw curve faint, its exponential moving average (the smoothing slider) over it, both
    // behind the epoch means.
    if (steps.length > 0) {
      const w = this.settings.smoothing;
      ctx.strokeStyle = col.step;
      ctx.lineWidth = 1;
      ctx.globalAlpha = w > 0 ? 0.18 : 0.35;
      ctx.beginPath();
      steps.forEach((s, i) => (i === 0 ? ctx.moveTo(X(s.x), Y(s.loss)) : ctx.lineTo(X(s.x), Y(s.loss))));
      ctx.stroke();
      if (w > 0) {
        const sm = emaSmooth(steps.map((s) => s.loss), w);
        ctx.globalAlpha = 0.8;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        steps.forEach((s, i) => (i === 0 ? ctx.moveTo(X(s.x), Y(sm[i])) : ctx.lineTo(X(s.x), Y(sm[i]))));
        ctx.stroke();
        this.drawnPoints += steps.length;
      }
      ctx.globalAlpha = 1;
      this.drawnPoints += steps.length;
    }
    const series = (pick: (p: EpochPoint) => number | null, color: string, dash: number[]): void => {
      const pts = m.epochs.map((p) => [p.epoch, pick(p)] as const).filter((q): q is readonly [number, number] => q[1] !== null && Number.isFinite(q[1]));
      if (pts.length === 0) return;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 2;
      ctx.setLineDash(dash);
      ctx.beginPath();
      pts.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(X(x), Y(y)) : ctx.lineTo(X(x), Y(y))));
      ctx.stroke();
      ctx.setLineDash([]);
      for (const [x, y] of pts) {
        ctx.beginPath();
        ctx.arc(X(x), Y(y), pts.length > 60 ? 1.5 : 3, 0, 2 * Math.PI);
        ctx.fill();
      }
      this.drawnPoints += pts.length;
    };
    series((p) => p.trainLoss, col.train, []);
    series((p) => p.valLoss, col.val, [6, 4]);
    // Hover cursor.
    if (this.hover !== undefined) {
      const p = m.epochs.find((q) => q.epoch === this.hover);
      if (p) {
        const x = X(p.epoch);
        ctx.strokeStyle = col.accent;
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(x + 0.5, plot.y);
        ctx.lineTo(x + 0.5, plot.y + plot.h);
        ctx.stroke();
        for (const [v, color] of [[p.trainLoss, col.train], [p.valLoss, col.val]] as const) {
          if (v === null) continue;
          ctx.strokeStyle = color;
          ctx.lineWidth = 2;
          ctx.beginPath();
          ctx.arc(x, Y(v), 6, 0, 2 * Math.PI);
          ctx.stroke();
        }
      }
    }
    ctx.restore();
    this.note.textContent = axis.note;
    const last = m.epochs.at(-1);
    const u = this.units;
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
