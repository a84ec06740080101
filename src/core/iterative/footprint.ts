// Where each scan position reads and writes the object: the top-left object pixel of its patch and the four
// bilinear weights of its sub-pixel offset. Patch pixel (i, j) samples object point (y − N/2 + i, x − N/2 + j),
// exactly as the simulator's extractPatch (simulate/forward.ts), so the reconstruction inverts the very operator
// that made the data.
//
// Sub-pixel positions: bilinear interpolation on extraction, and its adjoint (bilinear scatter) on the object
// update — rather than a Fourier-shift phase ramp on the probe — because (1) it *is* the simulator's forward model,
// so noiseless data are reproduced exactly and the object stays on objectGuess's grid pixel for pixel; a Fourier
// shift would model sinc interpolation, a different operator, leaving a residual the data cannot explain; and
// (2) it costs four multiply-adds per pixel, where a per-position phase ramp would need its own probe copy and
// ramp multiply per update and wraps the probe around the N×N window.

export interface Footprints {
  readonly count: number;
  /** Object index (row·W + column) of patch pixel (0, 0)'s top-left bilinear neighbour. */
  readonly base: Int32Array;
  /** Bilinear weights per position: w00 (top-left), w01 (top-right), w10 (bottom-left), w11 (bottom-right). */
  readonly weights: Float64Array;
}

/** Validates positions against the object grid and computes each position's footprint. */
export function footprints(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, width: number, height: number): Footprints {
  if (xs.length !== ys.length) throw new Error(`positions: ${xs.length} x coordinates but ${ys.length} y coordinates`);
  const count = xs.length;
  if (count < 1) throw new Error('positions: at least one scan position is needed');
  const half = n / 2;
  // A patch needs columns ⌊x⌋ − N/2 … ⌊x⌋ + N/2 (the last one for the bilinear neighbour).
  const lo = half;
  const hiX = width - 1 - half;
  const hiY = height - 1 - half;
  const base = new Int32Array(count);
  const weights = new Float64Array(4 * count);
  for (let p = 0; p < count; p++) {
    const x = xs[p];
    const y = ys[p];
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new Error(`position ${p} is not finite (x=${x}, y=${y})`);
    const fx0 = Math.floor(x);
    const fy0 = Math.floor(y);
    if (fx0 < lo || fx0 > hiX || fy0 < lo || fy0 > hiY) {
      throw new Error(
        `position ${p} (x=${x}, y=${y}) is outside the ${height}×${width} object grid for ${n}×${n} patches: ` +
        `x and y must lie in [${lo}, ${hiX + 1}) and [${lo}, ${hiY + 1}) (positions are object pixels; patch pixel (N/2, N/2) ↔ (x, y))`,
      );
    }
    const fx = x - fx0;
    const fy = y - fy0;
    base[p] = (fy0 - half) * width + (fx0 - half);
    weights[4 * p] = (1 - fy) * (1 - fx);
    weights[4 * p + 1] = (1 - fy) * fx;
    weights[4 * p + 2] = fy * (1 - fx);
    weights[4 * p + 3] = fy * fx;
  }
  return { count, base, weights };
}

/**
 * Adds Σ_p B_pᵀ |probe|² to `out` (width×height): the illumination (coverage) map, B_p the bilinear patch
 * operator of position p.
 */
export function illumination(fp: Footprints, probeRe: Float64Array, probeIm: Float64Array, n: number, width: number, out: Float64Array): Float64Array {
  const p2 = new Float64Array(n * n);
  for (let k = 0; k < n * n; k++) p2[k] = probeRe[k] * probeRe[k] + probeIm[k] * probeIm[k];
  for (let p = 0; p < fp.count; p++) {
    const b = fp.base[p];
    const w00 = fp.weights[4 * p];
    const w01 = fp.weights[4 * p + 1];
    const w10 = fp.weights[4 * p + 2];
    const w11 = fp.weights[4 * p + 3];
    for (let i = 0; i < n; i++) {
      const a = b + i * width;
      const c = a + width;
      const o = i * n;
      for (let j = 0; j < n; j++) {
        const v = p2[o + j];
        out[a + j] += w00 * v;
        out[a + j + 1] += w01 * v;
        out[c + j] += w10 * v;
        out[c + j + 1] += w11 * v;
      }
    }
  }
  return out;
}
