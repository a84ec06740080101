// The loss chart's data, without the DOM: train and validation loss per epoch and the per-step loss, folded
// from the run's events as they arrive (a new run starts the chart over; a resumed run drops what came after
// its checkpoint), learning-rate reductions, and the y axis — linear, or logarithmic. The Poisson NLL the
// model is trained on is often negative (−91 is typical), so a log axis of the raw loss is impossible; the
// log view then shows loss − min + ε (ε = 1 % of the range), and says so. Also the quality chart's data: the
// model's Pearson r and SSIM against the ground truth per epoch (`quality` events), folded the same way, with
// its series, y range, caption, readout and the line shown when there is none. Pure TypeScript (unit-tested).
import { niceTicks } from '../../core/image/ticks';
import type { QualityTrainEvent, TrainEvent } from '../protocol';

export interface EpochPoint {
  epoch: number;
  trainLoss: number;
  valLoss: number | null;
  lr: number;
  lrReduced: boolean;
  seconds: number;
}

export interface StepPoint {
  /** Epochs done, fractional: (epoch − 1) + stepInEpoch / stepsPerEpoch. */
  x: number;
  loss: number;
}

export type YMode = 'linear' | 'log';

/** The quality measured after an epoch (a `quality` event without its type and time). */
export type QualityPoint = Omit<QualityTrainEvent, 'type' | 'time'>;

/** Inserts p into a list sorted by epoch, replacing the point of the same epoch (a resumed run repeats one). */
function putByEpoch<P extends { epoch: number }>(list: P[], p: P): void {
  const i = list.findIndex((q) => q.epoch >= p.epoch);
  if (i < 0) list.push(p);
  else if (list[i].epoch === p.epoch) list[i] = p;
  else list.splice(i, 0, p);
}

export class ChartModel {
  epochs: EpochPoint[] = [];
  steps: StepPoint[] = [];
  /** Quality vs the ground truth after the epochs it was measured on (sorted by epoch; none without a ground truth). */
  quality: QualityPoint[] = [];
  /** Epochs planned (from the latest started/progress/epoch event). */
  plannedEpochs = 0;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'none' = 'none';
  /** How many runs the events held (the chart shows the last one, resumed runs joined to theirs). */
  runs = 0;
  resumedAt: number[] = [];
  lastProgress?: Extract<TrainEvent, { type: 'progress' }>;

  reset(): void {
    this.epochs = [];
    this.steps = [];
    this.quality = [];
    this.plannedEpochs = 0;
    this.status = 'none';
    this.runs = 0;
    this.resumedAt = [];
    this.lastProgress = undefined;
  }

  add(events: readonly TrainEvent[]): void {
    for (const e of events) this.addOne(e);
  }

  private addOne(e: TrainEvent): void {
    switch (e.type) {
      case 'started': {
        this.runs++;
        this.status = 'running';
        this.plannedEpochs = e.epochs;
        this.lastProgress = undefined;
        if (!e.resumedFrom) {
          this.epochs = [];
          this.steps = [];
          this.quality = [];
          this.resumedAt = [];
        } else {
          const cut = e.resumedFrom.epoch + (e.stepsPerEpoch > 0 ? e.resumedFrom.step / e.stepsPerEpoch : 0);
          this.epochs = this.epochs.filter((p) => p.epoch <= e.resumedFrom!.epoch);
          this.steps = this.steps.filter((p) => p.x <= cut + 1e-9);
          this.quality = this.quality.filter((p) => p.epoch <= e.resumedFrom!.epoch);
          this.resumedAt.push(cut);
        }
        return;
      }
      case 'progress': {
        if (e.stepsPerEpoch <= 0) return;
        const x = e.epoch - 1 + e.stepInEpoch / e.stepsPerEpoch;
        // Keep x increasing (a duplicate step after a resume replaces the older one).
        while (this.steps.length > 0 && this.steps[this.steps.length - 1].x >= x - 1e-12) this.steps.pop();
        this.steps.push({ x, loss: e.loss });
        this.plannedEpochs = e.epochs;
        this.lastProgress = e;
        if (this.status === 'none') this.status = 'running';
        return;
      }
      case 'epoch': {
        putByEpoch(this.epochs, { epoch: e.epoch, trainLoss: e.trainLoss, valLoss: e.valLoss, lr: e.lr, lrReduced: e.lrReduced, seconds: e.seconds });
        this.plannedEpochs = Math.max(this.plannedEpochs, e.epochs);
        if (this.status === 'none') this.status = 'running';
        return;
      }
      case 'quality':
        putByEpoch(this.quality, { epoch: e.epoch, amplitude: e.amplitude, phase: e.phase, region: e.region, groups: e.groups, seconds: e.seconds, ...(e.preview ? { preview: true } : {}) });
        if (this.status === 'none') this.status = 'running';
        return;
      case 'end':
        this.status = e.status;
        return;
    }
  }

  /** Epochs whose learning rate was reduced on plateau (the new rate applies after them). */
  get lrMarks(): EpochPoint[] {
    return this.epochs.filter((p) => p.lrReduced);
  }
}

export interface YAxis {
  mode: YMode;
  /** Value → plotted coordinate (log10 of the shifted value in log mode). */
  map: (v: number) => number;
  /** Plotted coordinate → value. */
  unmap: (t: number) => number;
  /** Range of plotted coordinates to show. */
  lo: number;
  hi: number;
  /** The shift subtracted before the log (0 when the loss is positive throughout). */
  shift: number;
  /** Axis title. */
  label: string;
  /** A sentence saying what is shown (shown under the chart). */
  note: string;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  const s = a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
  return s.replace(/^-/, '−');
}

/** The y axis for `values` (every loss shown) in `mode`. */
export function yAxis(values: readonly number[], mode: YMode): YAxis {
  const finite = values.filter((v) => Number.isFinite(v));
  let min = Infinity;
  let max = -Infinity;
  for (const v of finite) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (finite.length === 0) {
    min = 0;
    max = 1;
  }
  if (mode === 'linear') {
    const span = max - min;
    const pad = span > 0 ? span * 0.06 : Math.max(1, Math.abs(max) * 0.05);
    return {
      mode, map: (v) => v, unmap: (t) => t, lo: min - pad, hi: max + pad, shift: 0, label: 'loss',
      note: min < 0 ? 'Loss is the Poisson negative log-likelihood per pattern (it can be negative; lower is better).' : 'Loss per pattern (lower is better).',
    };
  }
  if (min > 0) {
    const lo = Math.log10(min);
    const hi = Math.log10(max);
    const pad = hi > lo ? (hi - lo) * 0.06 : 0.1;
    return {
      mode, map: (v) => Math.log10(v), unmap: (t) => 10 ** t, lo: lo - pad, hi: hi + pad, shift: 0, label: 'loss (log scale)',
      note: 'Loss on a logarithmic axis.',
    };
  }
  // Not all positive: show loss − min + ε on the log axis (ε = 1 % of the range, so the best point sits
  // two decades below the worst rather than at −∞).
  const span = max - min;
  const eps = span > 0 ? span * 0.01 : Math.max(1e-6, Math.abs(min) * 1e-3);
  const shift = min - eps;
  const lo = Math.log10(eps);
  const hi = Math.log10(max - shift);
  const pad = hi > lo ? (hi - lo) * 0.06 : 0.1;
  return {
    mode,
    map: (v) => Math.log10(Math.max(v - shift, eps * 1e-3)),
    unmap: (t) => 10 ** t + shift,
    lo: lo - pad,
    hi: hi + pad,
    shift,
    label: 'loss − min + ε (log scale)',
    note: `The loss (Poisson NLL) is negative here, so the log axis shows loss − min + ε, with min = ${fmt(min)} and ε = ${fmt(eps)} (1 % of the range); the readout gives the loss itself.`,
  };
}

/**
 * Ticks on a log axis: plotted coordinates at powers of ten (with 2× and 5× when few decades show); when the
 * range spans less than that gives (say 0.23 to 0.35), round values inside it instead.
 */
export function logTicks(lo: number, hi: number, maxTicks = 6): number[] {
  if (!(hi > lo)) return [lo];
  if (hi - lo < 0.6) {
    const values = niceTicks(10 ** lo, 10 ** hi, 4).filter((v) => v > 0);
    if (values.length >= 2) return values.map((v) => Math.log10(v));
  }
  const decades = hi - lo;
  const mults = decades < 1.2 ? [1, 2, 5] : decades < 2.5 ? [1, 3] : [1];
  const out: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
    for (const m of mults) {
      const t = k + Math.log10(m);
      if (t >= lo - 1e-9 && t <= hi + 1e-9) out.push(t);
    }
  }
  if (out.length <= maxTicks) return out;
  const step = Math.ceil(out.length / maxTicks);
  return out.filter((_, i) => i % step === 0);
}

/** Values shown in a chart for the y range: train, validation and (optionally) per-step losses. */
export function shownValues(m: ChartModel, withSteps: boolean): number[] {
  const v: number[] = [];
  for (const p of m.epochs) {
    v.push(p.trainLoss);
    if (p.valLoss !== null) v.push(p.valLoss);
  }
  if (withSteps) for (const s of m.steps) v.push(s.loss);
  return v;
}

/**
 * TensorBoard's smoothing: an exponential moving average with weight w ∈ [0, 1), debiased so the first points are not
 * pulled towards 0 (ema_k / (1 − w^k)). w = 0 returns the values.
 */
export function emaSmooth(values: readonly number[], w: number): number[] {
  const weight = Math.min(Math.max(w, 0), 0.999);
  const out: number[] = [];
  let last = 0;
  let k = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) {
      out.push(v);
      continue;
    }
    k++;
    last = last * weight + (1 - weight) * v;
    out.push(weight === 0 ? v : last / (1 - weight ** k));
  }
  return out;
}

/** The plotted series as CSV: one row per step (loss and its smoothed value) and per epoch (train, val, lr, seconds). */
export function chartCsv(m: ChartModel, smoothing: number, units: { x: string; y: string } = { x: 'epoch', y: 'loss' }): string {
  const smoothed = emaSmooth(m.steps.map((s) => s.loss), smoothing);
  const rows = [`kind,${units.x},${units.y},smoothed_${units.y.replace(/\s+/g, '_')},val_loss,lr,seconds`];
  const f = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(v));
  m.steps.forEach((s, i) => rows.push(`step,${f(s.x)},${f(s.loss)},${f(smoothed[i])},,,`));
  for (const p of m.epochs) rows.push(`epoch,${p.epoch},${f(p.trainLoss)},,${f(p.valLoss)},${f(p.lr)},${f(p.seconds)}`);
  return rows.join('\n') + '\n';
}

/** The epoch point nearest to x (in epochs), for the hover readout. */
export function nearestEpoch(m: ChartModel, x: number): EpochPoint | undefined {
  let best: EpochPoint | undefined;
  let d = Infinity;
  for (const p of m.epochs) {
    const dd = Math.abs(p.epoch - x);
    if (dd < d) {
      d = dd;
      best = p;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------
// Quality vs ground truth

export interface QualitySeriesSpec {
  /** Legend label. */
  label: string;
  /** A theme chart colour name (components/seriesPlot). */
  color: string;
  dash: number[];
  /** Epochs, and the values (NaN where the measurement was null: a gap in the line). */
  x: number[];
  y: number[];
}

const QUALITY_SERIES: { label: string; channel: 'amplitude' | 'phase'; metric: 'pearson' | 'ssim'; color: string; dash: number[] }[] = [
  { label: 'amplitude Pearson r', channel: 'amplitude', metric: 'pearson', color: 'blue', dash: [] },
  { label: 'amplitude SSIM', channel: 'amplitude', metric: 'ssim', color: 'blue', dash: [6, 4] },
  { label: 'phase Pearson r', channel: 'phase', metric: 'pearson', color: 'orange', dash: [] },
  { label: 'phase SSIM', channel: 'phase', metric: 'ssim', color: 'orange', dash: [6, 4] },
];

/** The four lines of the quality chart: Pearson r (solid) and SSIM (dashed) of amplitude (blue) and phase (orange). */
export function qualitySeries(points: readonly QualityPoint[]): QualitySeriesSpec[] {
  return QUALITY_SERIES.map((s) => ({
    label: s.label, color: s.color, dash: s.dash,
    x: points.map((p) => p.epoch),
    y: points.map((p) => p[s.channel][s.metric] ?? Number.NaN),
  }));
}

/** The y range: fixed at −0.2…1 (so epochs and jobs compare at a glance), lowered in 0.2 steps when a value is below. */
export function qualityYRange(points: readonly QualityPoint[]): { lo: number; hi: number } {
  let min = Infinity;
  for (const p of points) {
    for (const v of [p.amplitude.pearson, p.amplitude.ssim, p.phase.pearson, p.phase.ssim]) if (v !== null && Number.isFinite(v) && v < min) min = v;
  }
  const lo = min < -0.2 ? Math.max(-1, Math.floor(min / 0.2) * 0.2) : -0.2;
  return { lo: Number(lo.toFixed(1)), hi: 1 };
}

/** The x range of the quality chart: the loss chart's (0 to the epochs planned), so the two line up. */
export function qualityXRange(m: ChartModel): { lo: number; hi: number } {
  return { lo: 0, hi: Math.max(1, m.plannedEpochs, m.epochs.at(-1)?.epoch ?? 0, m.quality.at(-1)?.epoch ?? 0) };
}

const score = (v: number | null): string => (v === null ? '—' : v.toFixed(3).replace(/^-/, '−'));

/** The readout of one epoch's quality. */
export function describeQuality(p: QualityPoint): string {
  // A Phase F iteration's point (no region): Pearson r only.
  if (!p.region) return `iteration ${p.epoch} · amplitude r ${score(p.amplitude.pearson)} · phase r ${score(p.phase.pearson)}`;
  return `epoch ${p.epoch} · amplitude r ${score(p.amplitude.pearson)}, SSIM ${score(p.amplitude.ssim)} · ` +
    `phase r ${score(p.phase.pearson)}, SSIM ${score(p.phase.ssim)} · ${p.seconds.toFixed(2)} s`;
}

/** The quality point nearest to x (in epochs), for the hover readout. */
export function nearestQuality(points: readonly QualityPoint[], x: number): QualityPoint | undefined {
  let best: QualityPoint | undefined;
  let d = Infinity;
  for (const p of points) {
    const dd = Math.abs(p.epoch - x);
    if (dd < d) {
      d = dd;
      best = p;
    }
  }
  return best;
}

/** What the chart shows: the window (its latest, should a resumed run have moved it), the split, the cadence. */
export function qualityCaption(m: ChartModel): string {
  const last = m.quality.at(-1);
  if (!last) return '';
  const r = last.region;
  if (!r) {
    // A Phase F reconstruction: its quality after each iteration, on every pixel the scan lights.
    return `After each of ${m.quality.length} iteration${m.quality.length === 1 ? '' : 's'}: Pearson r of the object with the ground truth ` +
      '(objectGuess; phase after plane removal) on the pixels the scan lights — the final metrics are in the summary.';
  }
  const moved = m.quality.some((p) => !p.region || p.region.x0 !== r.x0 || p.region.y0 !== r.y0 || p.region.width !== r.width || p.region.height !== r.height);
  const epochsDone = Math.max(m.epochs.at(-1)?.epoch ?? 0, last.epoch);
  const n = m.quality.length;
  const meanSeconds = m.quality.reduce((a, p) => a + p.seconds, 0) / n;
  return `Window ${r.width}×${r.height} px at (${r.x0}, ${r.y0}) of the job's test split, ${last.groups} group${last.groups === 1 ? '' : 's'}` +
    `${moved ? ' (earlier epochs of this run used another window)' : ''}: the model after each epoch infers it and is scored against ` +
    `the ground truth (objectGuess; phase after plane removal). Measured after ${n} of ${epochsDone} epoch${epochsDone === 1 ? '' : 's'}` +
    `${n < epochsDone ? ' (some are skipped to keep the cost under 5 % of the training time)' : ''}, ${meanSeconds.toFixed(2)} s each; ` +
    'a small window, not the final test metrics.';
}

/** The one line shown instead of the chart when no quality was measured ('' when there is something to plot). */
export function qualityEmptyText(m: ChartModel): string {
  if (m.quality.length > 0) return '';
  if (m.status === 'none') return 'No training yet: the quality against the ground truth is measured after each epoch of a run.';
  if (m.status === 'running' && m.epochs.length === 0) return 'Waiting for the first epoch: the quality against the ground truth is measured after each epoch (when the test data hold objectGuess).';
  return 'No quality measurements in this run: its test data have no ground truth (objectGuess), or it was trained before they were recorded.';
}
