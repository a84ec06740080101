// Compare Runs, without the DOM (unit-tested): one colour scale for every run's reconstruction — the amplitude
// window pooled over all runs' covered pixels (1st–99th percentile), the phase on −π…π after each run's own global
// phase offset — and the chart's series (one colour per run: the loss solid, the validation loss dashed).
import { complexComponent } from '../../core/image/colormaps';
import { wrapPhase } from '../../core/image/complexDiff';
import { SERIES_COLORS, type Series } from '../components/series';

export interface RunPixels {
  width: number;
  height: number;
  /** complex64 interleaved */
  object: Float32Array;
  weight: Float32Array;
  globalPhaseOffset: number | null;
}

export interface RunPlanes {
  amplitude: Float32Array;
  phase: Float32Array;
  /** 1 where the scan lit the pixel (weight > 1 % of its maximum). */
  covered: Uint8Array;
}

/** Amplitude and (offset-removed, wrapped) phase of a run's object, and its covered pixels. */
export function runPlanes(p: RunPixels): RunPlanes {
  const amplitude = complexComponent(p.object, 'amplitude');
  const raw = complexComponent(p.object, 'phase');
  const phase = new Float32Array(raw.length);
  const offset = p.globalPhaseOffset ?? 0;
  for (let i = 0; i < raw.length; i++) phase[i] = wrapPhase(raw[i] + offset);
  let wmax = 0;
  for (let i = 0; i < p.weight.length; i++) if (p.weight[i] > wmax) wmax = p.weight[i];
  const covered = new Uint8Array(amplitude.length);
  for (let i = 0; i < covered.length; i++) covered[i] = wmax > 0 && p.weight[i] > 0.01 * wmax ? 1 : 0;
  return { amplitude, phase, covered };
}

/** The one amplitude window of every run: 1st and 99th percentile of all covered pixels pooled (null: none). */
export function sharedAmplitudeWindow(runs: readonly RunPlanes[], maxSamples = 200_000): { lo: number; hi: number } | null {
  const total = runs.reduce((n, r) => n + r.covered.reduce((a, c) => a + c, 0), 0);
  if (total === 0) return null;
  const stride = Math.max(1, Math.floor(total / maxSamples));
  const sample: number[] = [];
  let k = 0;
  for (const r of runs) {
    for (let i = 0; i < r.amplitude.length; i++) {
      if (!r.covered[i] || !Number.isFinite(r.amplitude[i])) continue;
      if (k++ % stride === 0) sample.push(r.amplitude[i]);
    }
  }
  if (sample.length === 0) return null;
  sample.sort((a, b) => a - b);
  const at = (q: number): number => sample[Math.min(sample.length - 1, Math.max(0, Math.round(q * (sample.length - 1))))];
  let lo = at(0.01);
  let hi = at(0.99);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  return { lo, hi };
}

export const PHASE_WINDOW = { lo: -Math.PI, hi: Math.PI };

/** 0…255 index of a value on a window (clamped). */
export function windowIndex(v: number, w: { lo: number; hi: number }): number {
  const t = (v - w.lo) / (w.hi - w.lo);
  return Math.max(0, Math.min(255, Math.round(t * 255)));
}

export interface CurveData {
  key: string;
  xLabel: string;
  yLabel: string;
  x: Float64Array;
  y: Float64Array;
  val: Float64Array;
}

/** The overlaid curves: per run its colour; its validation loss dashed in the same colour when it has one. */
export function curveSeries(curves: readonly CurveData[], labels: readonly string[]): Series[] {
  const out: Series[] = [];
  curves.forEach((c, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    out.push({ label: `${labels[i]} ${c.yLabel}`, x: c.x, y: c.y, color, markers: c.x.length <= 60 });
    if (Array.from(c.val).some((v) => Number.isFinite(v))) out.push({ label: `${labels[i]} validation`, x: c.x, y: c.val, color, dash: [5, 4] });
  });
  return out;
}
