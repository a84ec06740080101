// Pearson correlation coefficient of two images, and the conversion of FRC shell indices to spatial frequency.
import { removePlaneAt } from './align';

/** An image whose standard deviation is below this fraction of the other's counts as constant in `pearson`. */
export const PEARSON_CONSTANT_RATIO = 1e-10;

/**
 * Pearson r of two complex images (interleaved re, im; `width` wide) on the listed pixels only: of the amplitudes,
 * and of the phases after a plane fitted over those same pixels is removed from each. NaN where `pearson` says so.
 */
export function pearsonOnPixels(object: ArrayLike<number>, truth: ArrayLike<number>, pixels: ArrayLike<number>, width: number): { amplitude: number; phase: number } {
  const pick = (f: (q: number) => number): Float64Array => Float64Array.from(pixels, f);
  const xs = Array.from(pixels, (q) => q % width);
  const ys = Array.from(pixels, (q) => Math.floor(q / width));
  return {
    amplitude: pearson(pick((q) => Math.hypot(object[2 * q], object[2 * q + 1])), pick((q) => Math.hypot(truth[2 * q], truth[2 * q + 1]))),
    phase: pearson(
      removePlaneAt(pick((q) => Math.atan2(object[2 * q + 1], object[2 * q])), xs, ys),
      removePlaneAt(pick((q) => Math.atan2(truth[2 * q + 1], truth[2 * q])), xs, ys),
    ),
  };
}

/**
 * Pearson's r = Σ(a − ā)(b − b̄) / sqrt(Σ(a − ā)² Σ(b − b̄)²), two-pass in float64.
 *
 * A constant image has no variance, so r is 0/0. Here: when exactly one of the two images is constant
 * (e.g. the flat predictor against a structured ground truth) r is 0 — the constant carries no linear
 * association with the other image; when both are exactly constant it is NaN (nothing to correlate). "Constant"
 * includes numerically constant: a standard deviation below PEARSON_CONSTANT_RATIO of the other image's, such
 * as the rounding residue (~1e-16 rad) that plane removal leaves of a constant phase, whose "correlation" would
 * be noise. NaN input gives NaN. Throws a RangeError for empty or mismatched input.
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n === 0 || b.length !== n) throw new RangeError(`pearson: images must be non-empty and of equal size (got ${a.length} and ${b.length})`);
  const constA = isConstant(a);
  const constB = isConstant(b);
  if (constA || constB) {
    if (hasNaN(a) || hasNaN(b)) return NaN;
    return constA && constB ? NaN : 0;
  }
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  const ratio2 = PEARSON_CONSTANT_RATIO * PEARSON_CONSTANT_RATIO;
  if (saa <= ratio2 * sbb || sbb <= ratio2 * saa) return 0;
  const r = sab / Math.sqrt(saa * sbb);
  // Rounding can push |r| a hair past 1 for (anti-)proportional images.
  return r > 1 ? 1 : r < -1 ? -1 : r;
}

function isConstant(x: ArrayLike<number>): boolean {
  const first = x[0];
  if (first !== first) return false;
  for (let i = 1; i < x.length; i++) if (x[i] !== first) return false;
  return true;
}

function hasNaN(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== x[i]) return true;
  return false;
}

/**
 * Spatial frequency of FRC shell `shell` of an L×L FRC square, in cycles per pixel: shell k holds the
 * frequencies |f| ≈ k/L, so shell L/2 is the Nyquist frequency 0.5 cycles/px. Fractional (interpolated)
 * shells convert the same way. NaN stays NaN.
 */
export function shellToCyclesPerPixel(shell: number, size: number): number {
  if (!(size > 0)) throw new RangeError(`shellToCyclesPerPixel: the FRC square side must be positive (got ${size})`);
  return shell / size;
}

/** Cycles per pixel → cycles per metre for a pixel of `pixelSizeMeters` (object plane). */
export function cyclesPerMeter(cyclesPerPixel: number, pixelSizeMeters: number): number {
  if (!(pixelSizeMeters > 0) || !Number.isFinite(pixelSizeMeters)) throw new RangeError(`cyclesPerMeter: the pixel size must be a positive number of metres (got ${pixelSizeMeters})`);
  return cyclesPerPixel / pixelSizeMeters;
}
