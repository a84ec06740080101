// Reconstruction-vs-ground-truth difference images and the phase arithmetic behind them: wrapping to
// (−π, π], rotating a complex object by its global phase, the wrapped phase difference (optionally minus a
// least-squares plane), the amplitude difference after the metrics' mean scaling, and symmetric windows.
// Pure TypeScript (no Node, no DOM): used by the reconstruction viewer page and the unit tests.
// Complex arrays are interleaved (re, im) float32, row-major, like everywhere in the workbench.

import { modulus } from './colormaps';

const TWO_PI = 2 * Math.PI;

/** x wrapped into (−π, π] (π stays π, −π becomes π). NaN stays NaN. */
export function wrapPhase(x: number): number {
  if (!Number.isFinite(x)) return NaN;
  if (x > -Math.PI && x <= Math.PI) return x;
  const y = x - TWO_PI * Math.ceil((x - Math.PI) / TWO_PI);
  return y <= -Math.PI ? y + TWO_PI : y > Math.PI ? y - TWO_PI : y;
}

/** object · e^{i·angle} (a global phase rotation), into `out` (allocated if absent). */
export function rotateComplex(interleaved: ArrayLike<number>, angle: number, out?: Float32Array): Float32Array {
  const n = interleaved.length;
  const dst = out && out.length >= n ? out : new Float32Array(n);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  for (let i = 0; i < n; i += 2) {
    const re = interleaved[i];
    const im = interleaved[i + 1];
    dst[i] = re * c - im * s;
    dst[i + 1] = re * s + im * c;
  }
  return dst;
}

/** A plane a·x + b·y + c (x, y in pixels of the image). */
export interface Plane {
  a: number;
  b: number;
  c: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PhaseDifferenceOptions {
  /** Global phase (radians) added to the prediction first: pred·e^{i·offset} (metrics.json globalPhaseOffset). */
  offset?: number;
  /** Stitching weight per pixel: pixels with weight ≤ 0 (not reconstructed) become NaN. */
  weight?: ArrayLike<number>;
  /** Also fit a plane to the difference (least squares over the finite pixels) and remove it. */
  removePlane?: boolean;
}

export interface PhaseDifference {
  /** Δφ = arg(pred·e^{i·offset}·conj(gt)) [− plane], wrapped to (−π, π]; NaN where not covered. */
  values: Float32Array;
  plane?: Plane;
}

/**
 * The wrapped phase difference of a reconstruction and its ground truth, pixel for pixel:
 * arg(pred·e^{iθ}·conj(gt)) is the difference of the two phases wrapped to (−π, π] without any unwrapping,
 * so a reconstruction that differs only by the global phase θ shows zero everywhere.
 */
export function phaseDifference(pred: ArrayLike<number>, gt: ArrayLike<number>, width: number, height: number, opts: PhaseDifferenceOptions = {}): PhaseDifference {
  const n = width * height;
  if (pred.length < 2 * n || gt.length < 2 * n) throw new RangeError(`phaseDifference: ${width}×${height} needs ${2 * n} values per image`);
  const c = Math.cos(opts.offset ?? 0);
  const s = Math.sin(opts.offset ?? 0);
  const out = new Float32Array(n);
  const w = opts.weight;
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    if (w && !(w[i] > 0)) {
      out[i] = NaN;
      continue;
    }
    const pr = pred[j] * c - pred[j + 1] * s;
    const pi = pred[j] * s + pred[j + 1] * c;
    const gr = gt[j];
    const gi = gt[j + 1];
    // pred · conj(gt)
    const re = pr * gr + pi * gi;
    const im = pi * gr - pr * gi;
    out[i] = re === 0 && im === 0 ? 0 : Math.atan2(im, re);
  }
  if (!opts.removePlane) return { values: out };
  const plane = fitPlane(out, width, height);
  if (!plane) return { values: out };
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const v = out[i];
      if (v === v) out[i] = wrapPhase(v - (plane.a * x + plane.b * y + plane.c));
    }
  }
  return { values: out, plane };
}

/** Least-squares plane a·x + b·y + c through the finite values; undefined with fewer than 3 or collinear pixels. */
export function fitPlane(values: ArrayLike<number>, width: number, height: number): Plane | undefined {
  // Centred coordinates keep the 3 × 3 normal equations well conditioned.
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  let n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, sv = 0, sxv = 0, syv = 0;
  for (let y = 0, i = 0; y < height; y++) {
    const dy = y - cy;
    for (let x = 0; x < width; x++, i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      const dx = x - cx;
      n++; sx += dx; sy += dy; sxx += dx * dx; syy += dy * dy; sxy += dx * dy; sv += v; sxv += dx * v; syv += dy * v;
    }
  }
  if (n < 3) return undefined;
  // Solve [sxx sxy sx; sxy syy sy; sx sy n] [a b c0]ᵀ = [sxv syv sv]ᵀ (Cramer's rule).
  const det3 = (m: number[]): number => m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  const M = [sxx, sxy, sx, sxy, syy, sy, sx, sy, n];
  const D = det3(M);
  if (!(Math.abs(D) > 1e-9 * Math.max(1, Math.abs(sxx * syy * n)))) return undefined;
  const a = det3([sxv, sxy, sx, syv, syy, sy, sv, sy, n]) / D;
  const b = det3([sxx, sxv, sx, sxy, syv, sy, sx, sv, n]) / D;
  const c0 = det3([sxx, sxy, sxv, sxy, syy, syv, sx, sy, sv]) / D;
  return { a, b, c: c0 - a * cx - b * cy };
}

export interface AmplitudeDifferenceOptions {
  /** Pixels with weight ≤ 0 become NaN (and are left out of the scale). */
  weight?: ArrayLike<number>;
  /** Where the scale mean(|gt|)/mean(|pred|) is taken (the metric region); the whole image when absent. */
  region?: Rect;
  /** Scale the prediction to the ground truth's mean amplitude first, as the metrics do (default true). */
  scaleToMean?: boolean;
}

export interface AmplitudeDifference {
  /** k·|pred| − |gt|; NaN where not covered. */
  values: Float32Array;
  /** The scale k applied to |pred| (1 when scaling is off or undefined). */
  scale: number;
}

/** The amplitude difference k·|pred| − |gt| with k = mean(|gt|)/mean(|pred|) over `region` (the metrics' scaling). */
export function amplitudeDifference(pred: ArrayLike<number>, gt: ArrayLike<number>, width: number, height: number, opts: AmplitudeDifferenceOptions = {}): AmplitudeDifference {
  const n = width * height;
  if (pred.length < 2 * n || gt.length < 2 * n) throw new RangeError(`amplitudeDifference: ${width}×${height} needs ${2 * n} values per image`);
  const w = opts.weight;
  let scale = 1;
  if (opts.scaleToMean !== false) {
    const r = clipRect(opts.region ?? { x: 0, y: 0, width, height }, width, height);
    let sp = 0;
    let sg = 0;
    for (let y = r.y; y < r.y + r.height; y++) {
      for (let x = r.x; x < r.x + r.width; x++) {
        const i = y * width + x;
        if (w && !(w[i] > 0)) continue;
        const p = modulus(pred[2 * i], pred[2 * i + 1]);
        const g = modulus(gt[2 * i], gt[2 * i + 1]);
        if (!Number.isFinite(p) || !Number.isFinite(g)) continue;
        sp += p;
        sg += g;
      }
    }
    if (sp > 0 && sg > 0) scale = sg / sp;
  }
  const out = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    out[i] = w && !(w[i] > 0) ? NaN : scale * modulus(pred[j], pred[j + 1]) - modulus(gt[j], gt[j + 1]);
  }
  return { values: out, scale };
}

function clipRect(r: Rect, width: number, height: number): Rect {
  const x = Math.max(0, Math.min(width, Math.floor(r.x)));
  const y = Math.max(0, Math.min(height, Math.floor(r.y)));
  return { x, y, width: Math.max(0, Math.min(width - x, Math.ceil(r.width))), height: Math.max(0, Math.min(height - y, Math.ceil(r.height))) };
}

/** Unit phasors e^{iφ} of real phases (interleaved); NaN phases give NaN pairs (drawn transparent). */
export function unitPhasors(phase: ArrayLike<number>, out?: Float32Array): Float32Array {
  const n = phase.length;
  const dst = out && out.length >= 2 * n ? out : new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const p = phase[i];
    dst[2 * i] = Math.cos(p);
    dst[2 * i + 1] = Math.sin(p);
  }
  return dst;
}

/** Sets both components of every pixel with weight ≤ 0 to NaN (drawn transparent: "not reconstructed"). */
export function maskUncovered(interleaved: Float32Array, weight: ArrayLike<number>): Float32Array {
  const out = new Float32Array(interleaved);
  for (let i = 0; i < weight.length; i++) {
    if (!(weight[i] > 0)) {
      out[2 * i] = NaN;
      out[2 * i + 1] = NaN;
    }
  }
  return out;
}

/**
 * A window symmetric about 0 for a difference image: ±(the `p`-th percentile of |value|), found by sorting a
 * sample of at most 65,536 finite values; ±1 when nothing is finite or everything is 0.
 */
export function symmetricWindow(values: ArrayLike<number>, p = 99): { lo: number; hi: number } {
  const n = values.length;
  const step = Math.max(1, Math.floor(n / 65_536));
  const sample: number[] = [];
  for (let i = 0; i < n; i += step) {
    const v = values[i];
    if (Number.isFinite(v)) sample.push(Math.abs(v));
  }
  if (sample.length === 0) return { lo: -1, hi: 1 };
  sample.sort((a, b) => a - b);
  const k = Math.min(sample.length - 1, Math.max(0, Math.round((p / 100) * (sample.length - 1))));
  let m = sample[k];
  if (!(m > 0)) m = sample[sample.length - 1];
  if (!(m > 0)) m = 1;
  return { lo: -m, hi: m };
}
