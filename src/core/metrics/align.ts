// The alignment steps of the study's eval_reconstruction (ptycho/evaluation.py) that run before any metric:
// border trim, amplitude/phase split, phase plane (or mean) removal and amplitude mean scaling.
import { checkImage } from './filters';

/** A row-major h×w real image. */
export interface Image {
  data: Float64Array;
  width: number;
  height: number;
}

/** Drops `t` px on every side (the study's `trim`: arr[t:-t, t:-t]; here t = 0 keeps the image). */
export function trimImage(img: Float64Array, w: number, h: number, t: number): Image {
  checkImage(img, w, h, 'trimImage');
  if (!Number.isInteger(t) || t < 0) throw new RangeError(`trim must be a non-negative integer (got ${t})`);
  const tw = w - 2 * t;
  const th = h - 2 * t;
  if (tw < 1 || th < 1) throw new RangeError(`trim ${t} leaves nothing of a ${w}×${h} image`);
  const out = new Float64Array(tw * th);
  for (let y = 0; y < th; y++) out.set(img.subarray((y + t) * w + t, (y + t) * w + t + tw), y * tw);
  return { data: out, width: tw, height: th };
}

/**
 * Amplitude |z| and wrapped phase angle(z) ∈ (−π, π] of an interleaved (re, im) complex h×w image, in float64
 * (float32 input is widened first, as numpy would after astype(complex128)).
 */
export function splitComplex(z: Float32Array | Float64Array, w: number, h: number): { amplitude: Float64Array; phase: Float64Array } {
  const n = w * h;
  if (z.length !== 2 * n) throw new RangeError(`expected ${n} interleaved complex values (${2 * n} numbers) for ${w}×${h}, got ${z.length}`);
  const amplitude = new Float64Array(n);
  const phase = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const re = z[2 * i];
    const im = z[2 * i + 1];
    amplitude[i] = Math.sqrt(re * re + im * im); // numpy uses hypot: equal to within an ulp, no overflow at these scales
    phase[i] = Math.atan2(im, re);
  }
  return { amplitude, phase };
}

/**
 * The study's fit_and_remove_plane: the least-squares plane a·x + b·y + c (x = column, y = row) subtracted
 * from the image. On a full rectangular grid the normal equations decouple once x and y are centred
 * (Σx̃ = Σỹ = Σx̃ỹ = 0), so a = Σx̃z/Σx̃², b = Σỹz/Σỹ², c = mean: the same plane as np.linalg.lstsq, without
 * its conditioning trouble. A single row or column has no x (or y) slope, which is then 0.
 *
 * Phase wrapping: like the study, the fit runs on the wrapped angle as given; nothing is unwrapped. A ramp
 * steep enough to wrap inside the image leaves sawtooth residue (and then poor phase metrics) in both
 * implementations alike.
 */
export function removePlane(img: Float64Array, w: number, h: number): Float64Array {
  checkImage(img, w, h, 'removePlane');
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  let sum = 0;
  let sxz = 0;
  let syz = 0;
  for (let y = 0; y < h; y++) {
    const dy = y - cy;
    let rowSum = 0;
    let rowX = 0;
    for (let x = 0; x < w; x++) {
      const z = img[y * w + x];
      rowSum += z;
      rowX += (x - cx) * z;
    }
    sum += rowSum;
    sxz += rowX;
    syz += dy * rowSum;
  }
  // Σ(x − cx)² over the grid = h·w(w²−1)/12, likewise for y.
  const sxx = (h * w * (w * w - 1)) / 12;
  const syy = (w * h * (h * h - 1)) / 12;
  const a = sxx > 0 ? sxz / sxx : 0;
  const b = syy > 0 ? syz / syy : 0;
  const c = sum / (w * h);
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    const base = c + b * (y - cy);
    for (let x = 0; x < w; x++) out[y * w + x] = img[y * w + x] - (base + a * (x - cx));
  }
  return out;
}

/** The study's 'mean' phase alignment: the image minus its mean. */
export function removeMean(img: Float64Array): Float64Array {
  const m = mean(img);
  const out = new Float64Array(img.length);
  for (let i = 0; i < img.length; i++) out[i] = img[i] - m;
  return out;
}

/**
 * amp_pred · mean(amp_target)/mean(amp_pred), the study's amplitude normalisation. When mean(amp_pred) is 0
 * (or not finite) the study would produce NaN everywhere; here the prediction is left unscaled instead.
 */
export function scaleToMean(pred: Float64Array, target: Float64Array): { scaled: Float64Array; scale: number } {
  const mp = mean(pred);
  const mt = mean(target);
  const scale = mp !== 0 && Number.isFinite(mt / mp) ? mt / mp : 1;
  const scaled = new Float64Array(pred.length);
  for (let i = 0; i < pred.length; i++) scaled[i] = pred[i] * scale;
  return { scaled, scale };
}

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/** max − min (NaN when the image holds NaN). */
export function dataRange(a: ArrayLike<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v !== v) return NaN;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi - lo;
}

/**
 * Plane removal on scattered pixels: the least-squares a·x + b·y + c through (xs[k], ys[k], values[k]) is
 * subtracted (for the covered pixels of a stitched region, where removePlane's full grid does not apply).
 * A degenerate set (collinear or fewer than three pixels) is returned unchanged.
 */
export function removePlaneAt(values: Float64Array, xs: ArrayLike<number>, ys: ArrayLike<number>): Float64Array {
  const a = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const b = [0, 0, 0];
  for (let k = 0; k < values.length; k++) {
    const row = [xs[k], ys[k], 1];
    for (let i = 0; i < 3; i++) {
      b[i] += row[i] * values[k];
      for (let j = 0; j < 3; j++) a[i][j] += row[i] * row[j];
    }
  }
  const det = (m: number[][]): number => m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const d = det(a);
  if (!(Math.abs(d) > 0)) return values.slice();
  // Cramer's rule for the 3×3 normal equations.
  const c = [0, 1, 2].map((col) => det(a.map((r, i) => r.map((x, j) => (j === col ? b[i] : x)))) / d);
  return values.map((v, k) => v - (c[0] * xs[k] + c[1] * ys[k] + c[2]));
}
