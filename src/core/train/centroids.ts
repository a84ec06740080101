// Centroid-consistent stitching (README "Reconstruction quality", item 21). A pattern's far-field intensity
// centroid is a direct measurement of the exit wave under it: for ψ = P·O the sin-weighted centroid of
// |fftshift(FFT2(ψ))|² is exactly (N/2π)·Im Σ ψ*_k ψ_{k+1} / Σ|ψ|² per axis (probePhaseGradient), the object's phase
// slope under the probe plus the probe's crosstalk with the amplitude. The truth reproduces the measured centroids to
// 0.02–0.035 detector px at dose 1e5; a stitched PINN object misses them by 0.13–0.16 px, mostly because its phase
// is too weak at large scales. One step adds to each patch the plane its patterns' misfit asks for; the step is kept
// only when the re-stitched object delivers most of what it asked (no ground truth is involved; stitch.ts).
import type { PatternGroups } from './groups';
import type { StitchedCanvas } from './stitch';

/** The dataset's probe (split re/im, N×N; its scale does not matter), for predicting centroids. */
export interface CentroidRefinement {
  probe: { re: ArrayLike<number>; im: ArrayLike<number> };
}

/**
 * Each patch's patterns: offsets from the patch centre (object px, x then y), measured centroids (detector px) and,
 * where the data's photon scale is known, each centroid's Poisson variance (detector px², x then y).
 */
export interface PatchPatterns {
  offsets: ArrayLike<number>;
  centroids: ArrayLike<number>;
  variances?: ArrayLike<number>;
}

/**
 * Group `g`'s patterns: its offsets, with the measured centroids (and their variances, when measured) stored for it
 * at slot `k` (2·size per slot).
 */
export function groupPatterns(groups: PatternGroups, g: number, centroids: Float64Array, k: number, variances?: Float64Array): PatchPatterns {
  const c = groups.size;
  const slot = (a: Float64Array): Float64Array => a.subarray(k * c * 2, (k + 1) * c * 2);
  return { offsets: groups.offsets.subarray(g * c * 2, (g + 1) * c * 2), centroids: slot(centroids), ...(variances ? { variances: slot(variances) } : {}) };
}

/** What the refinement did (metrics.json `centroidRefinement`). */
export interface CentroidRefinementSummary {
  patterns: number;
  /** rms over patterns and axes of measured − predicted centroid (common mean removed), detector px. */
  misfitBefore: number;
  misfitAfter: number;
  /** rms over patterns and axes of the planes the step asks for (each pattern's patch mean residual), detector px. */
  asked: number;
  /** rms over patterns and axes of the measured centroids' Poisson noise, detector px (0: photon scale unknown). */
  noiseFloor: number;
  /**
   * The part of `asked` taken out as the centroids' Poisson noise (rms, detector px): planes no object consistent
   * across overlapping patches can take. 0 when the photon scale is unknown, or when the misfit lies under the noise
   * floor — the predictions then follow their patterns' noise (a gridsize-1 patch is predicted from its own pattern),
   * and how much of it the planes hold cannot be told.
   */
  askedNoise: number;
  /**
   * (misfitBefore² − misfitAfter²) / (asked² − askedNoise²): the share of the change the data's signal asks for that
   * the re-stitched object delivered (1 = all; 0 when the noise explains all that is asked).
   */
  delivered: number;
  /** rms over patches of the plane slope added, detector px (0 when not accepted). */
  rmsStep: number;
  /** Kept only when the misfit falls and `delivered` reaches CENTROID_STEP_MIN_DELIVERED (stitch.ts). */
  accepted: boolean;
}

/**
 * Sin-weighted centroids (detector px, x then y; DC at N/2, the patterns' fftshifted layout) of `count` patterns of
 * amplitudes `x` (the intensity is x², whatever its scale), written to `out` from `outAt` (2 per pattern).
 * With `noise`, also each centroid's variance under Poisson counts k = countScale·x² (detector px², into
 * `noise.out` at the same places): Var c = Σ k·(s − c)² / (Σ k)² for c = Σ k·s / Σ k with weights s.
 */
export function measuredCentroids(
  x: ArrayLike<number>, count: number, n: number, out: Float64Array, outAt = 0, xAt = 0,
  noise?: { out: Float64Array; countScale: number },
): void {
  const sin = Float64Array.from({ length: n }, (_, q) => (Math.sin((2 * Math.PI * (q - n / 2)) / n) * n) / (2 * Math.PI));
  const rows = new Float64Array(n);
  const columns = new Float64Array(n);
  for (let p = 0; p < count; p++) {
    let total = 0, u = 0, v = 0;
    const base = xAt + p * n * n;
    columns.fill(0);
    for (let i = 0; i < n; i++) {
      let row = 0, rowU = 0;
      for (let j = 0; j < n; j++) { const e = x[base + i * n + j] ** 2; row += e; rowU += e * sin[j]; columns[j] += e; }
      rows[i] = row;
      total += row; u += rowU; v += row * sin[i];
    }
    const cu = total > 0 ? u / total : NaN;
    const cv = total > 0 ? v / total : NaN;
    out[outAt + 2 * p] = cu;
    out[outAt + 2 * p + 1] = cv;
    if (noise) {
      // The weights depend on one coordinate each: the row and column sums are all the variance needs.
      let su = 0, sv = 0;
      for (let q = 0; q < n; q++) { su += columns[q] * (sin[q] - cu) ** 2; sv += rows[q] * (sin[q] - cv) ** 2; }
      const counts = noise.countScale * total;
      noise.out[outAt + 2 * p] = total > 0 ? su / total / counts : NaN;
      noise.out[outAt + 2 * p + 1] = total > 0 ? sv / total / counts : NaN;
    }
  }
}

/**
 * The centroid the stitched `canvas` predicts for a pattern at object position (px, py): ψ = P·O over the N×N window
 * (O bilinear on the canvas, 0 where nothing is stitched). NaN when the window holds no light.
 */
export function predictedCentroid(
  canvas: StitchedCanvas,
  probe: { re: ArrayLike<number>; im: ArrayLike<number> }, px: number, py: number, n: number,
  scratch: { re: Float64Array; im: Float64Array } = { re: new Float64Array(n * n), im: new Float64Array(n * n) },
): [number, number] {
  const { region, object, weight } = canvas;
  const W = region.width, H = region.height;
  const ox = px - region.x0 - n / 2, oy = py - region.y0 - n / 2;
  const ix = Math.floor(ox), iy = Math.floor(oy), fx = ox - ix, fy = oy - iy;
  const taps: [number, number, number][] = [[0, 0, (1 - fx) * (1 - fy)], [1, 0, fx * (1 - fy)], [0, 1, (1 - fx) * fy], [1, 1, fx * fy]];
  const { re, im } = scratch;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let orr = 0, oi = 0;
      for (const [dx, dy, w] of taps) {
        const x = ix + j + dx, y = iy + i + dy;
        if (w === 0 || x < 0 || y < 0 || x >= W || y >= H || !(weight[y * W + x] > 0)) continue;
        orr += w * object[2 * (y * W + x)];
        oi += w * object[2 * (y * W + x) + 1];
      }
      const k = i * n + j, pr = probe.re[k], pi = probe.im[k];
      re[k] = pr * orr - pi * oi;
      im[k] = pr * oi + pi * orr;
      energy += re[k] * re[k] + im[k] * im[k];
    }
  }
  if (!(energy > 0)) return [NaN, NaN];
  let u = 0, v = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const k = i * n + j;
      if (j + 1 < n) u += re[k] * im[k + 1] - im[k] * re[k + 1];
      if (i + 1 < n) v += re[k] * im[k + n] - im[k] * re[k + n];
    }
  }
  const scale = n / (2 * Math.PI * energy);
  return [u * scale, v * scale];
}

/**
 * Per patch, the mean over its patterns of measured − predicted centroid (the common mean over all patterns
 * removed: a slope shared by every patch is the gauge, removeMeanPhaseGradient's), and the rms misfit.
 * `patchCenters`: object coordinates of each patch's centre; pattern k of patch g sits at centre + offset.
 */
export function centroidMisfit(
  canvas: StitchedCanvas,
  probe: { re: ArrayLike<number>; im: ArrayLike<number> }, n: number,
  patchCenters: ArrayLike<number>, patterns: readonly (PatchPatterns | undefined)[],
): { perPatch: Float64Array; rms: number; patterns: number; asked: number; askedNoise: number; noiseFloor: number } {
  const count = patterns.length;
  const scratch = { re: new Float64Array(n * n), im: new Float64Array(n * n) };
  const residuals: number[][] = [];
  // Per patch, the summed Poisson variance (both axes) of its patterns' centroids.
  const variance = new Float64Array(count);
  let mu = 0, mv = 0, m = 0, floor = 0;
  for (let g = 0; g < count; g++) {
    const p = patterns[g];
    const list: number[] = [];
    if (p) {
      for (let k = 0; k < p.centroids.length / 2; k++) {
        const cu = p.centroids[2 * k], cv = p.centroids[2 * k + 1];
        if (!Number.isFinite(cu + cv)) continue;
        const [pu, pv] = predictedCentroid(canvas, probe, patchCenters[2 * g] + p.offsets[2 * k], patchCenters[2 * g + 1] + p.offsets[2 * k + 1], n, scratch);
        if (!Number.isFinite(pu + pv)) continue;
        list.push(cu - pu, cv - pv);
        mu += cu - pu; mv += cv - pv; m++;
        const vk = p.variances ? p.variances[2 * k] + p.variances[2 * k + 1] : 0;
        if (Number.isFinite(vk)) { variance[g] += vk; floor += vk; }
      }
    }
    residuals.push(list);
  }
  const perPatch = new Float64Array(2 * count);
  if (m === 0) return { perPatch, rms: NaN, patterns: 0, asked: 0, askedNoise: 0, noiseFloor: 0 };
  mu /= m; mv /= m;
  let sq = 0, asked = 0, noise = 0;
  for (let g = 0; g < count; g++) {
    const list = residuals[g];
    if (list.length === 0) continue;
    let du = 0, dv = 0;
    for (let k = 0; k < list.length; k += 2) {
      du += list[k] - mu; dv += list[k + 1] - mv;
      sq += (list[k] - mu) ** 2 + (list[k + 1] - mv) ** 2;
    }
    const patterns = list.length / 2;
    perPatch[2 * g] = du / patterns;
    perPatch[2 * g + 1] = dv / patterns;
    asked += patterns * (perPatch[2 * g] ** 2 + perPatch[2 * g + 1] ** 2);
    // The patch mean of C independent centroids has variance Σ σ² / C² per axis; weighted by C as `asked` is.
    noise += variance[g] / patterns;
  }
  return { perPatch, rms: Math.sqrt(sq / (2 * m)), patterns: m, asked: Math.sqrt(asked / (2 * m)), askedNoise: Math.sqrt(noise / (2 * m)), noiseFloor: Math.sqrt(floor / (2 * m)) };
}

/**
 * Adds to every kept patch window (keep×keep, the patch's central part of N) the plane 2π·(du·(j − N/2) + dv·(i − N/2))/N
 * of its `slopes` entry (detector px; a plane of g px moves the pattern's centroid by g); returns a new phase array.
 */
export function addPlanes(phase: Float32Array, keep: number, n: number, slopes: Float64Array): Float32Array {
  const out = Float32Array.from(phase);
  const off = (n - keep) / 2;
  const count = slopes.length / 2;
  for (let g = 0; g < count; g++) {
    const du = slopes[2 * g], dv = slopes[2 * g + 1];
    if (du === 0 && dv === 0) continue;
    const base = g * keep * keep;
    for (let i = 0; i < keep; i++) {
      for (let j = 0; j < keep; j++) out[base + i * keep + j] += (2 * Math.PI * (du * (j + off - n / 2) + dv * (i + off - n / 2))) / n;
    }
  }
  return out;
}

