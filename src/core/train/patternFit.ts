// The forward model of a stitched object at measured patterns' positions, shared by the steps that ask the patterns
// which object explains them best with no ground truth: the phase-contrast calibration (contrastCalibration.ts) and
// the choice of the group refinement's iterations (refinementSelection.ts). Bilinear patch, ψ = P·O,
// I = |FFT2 ψ|²/N², the simulator's FarField.
import { FarField } from '../simulate/forward';
import type { ComplexArray } from './data';
import type { StitchRegion } from './stitch';
import { COVERED_WEIGHT } from './stitch';

/** Share of the probe's energy a pattern's window must have on covered pixels to be predicted. */
const MIN_LIT = 0.95;

/** Patterns at object coordinates (x = column, y = row; patch pixel (N/2, N/2) sits there) and how to read them. */
export interface CalibrationPatterns {
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  /** Reads patterns `indices` (measured amplitudes, fftshifted N×N, the loader's scale) into `out`. */
  read(indices: Int32Array, out: Float32Array): Promise<void>;
  count: number;
}

/**
 * The patterns whose probe light falls ≥ 95 % on covered pixels of a canvas (the window may reach past it, where
 * the object counts as 0), at most `max`, spread evenly over them.
 */
export function patternsLitOn(weight: Float32Array, region: StitchRegion, probe: ComplexArray, patterns: Pick<CalibrationPatterns, 'xs' | 'ys' | 'count'>, max: number): Int32Array {
  const W = region.width, H = region.height, n = probe.width;
  const probeEnergy = new Float64Array(n * n);
  let totalEnergy = 0;
  for (let k = 0; k < n * n; k++) { probeEnergy[k] = probe.data[2 * k] ** 2 + probe.data[2 * k + 1] ** 2; totalEnergy += probeEnergy[k]; }
  const inside: number[] = [];
  for (let p = 0; p < patterns.count; p++) {
    const px = patterns.xs[p] - region.x0, py = patterns.ys[p] - region.y0;
    if (!(px >= 0 && py >= 0 && px < W && py < H)) continue;
    const ix = Math.floor(px - n / 2), iy = Math.floor(py - n / 2);
    let lit = 0;
    for (let i = Math.max(0, -iy); i < Math.min(n, H - iy); i++) {
      for (let j = Math.max(0, -ix); j < Math.min(n, W - ix); j++) if (weight[(iy + i) * W + ix + j] >= COVERED_WEIGHT) lit += probeEnergy[i * n + j];
    }
    if (lit >= MIN_LIT * totalEnergy) inside.push(p);
  }
  const step = Math.max(1, inside.length / max);
  return Int32Array.from({ length: Math.min(inside.length, max) }, (_, i) => inside[Math.floor(i * step)]);
}

/**
 * A region's object on a canvas padded with zeros by N/2 + 2 px (so every window's bilinear taps lie on it), and
 * the intensities it predicts at patterns' positions.
 */
export class PatternPredictor {
  readonly pad: number;
  /** The padded object, interleaved complex; region pixel (x, y) is at `index(x, y)`. */
  readonly image: { width: number; height: number; data: Float32Array };
  private readonly farField: FarField;

  constructor(probe: ComplexArray, private readonly region: StitchRegion) {
    this.pad = probe.width / 2 + 2;
    const width = region.width + 2 * this.pad, height = region.height + 2 * this.pad;
    this.image = { width, height, data: new Float32Array(2 * width * height) };
    this.farField = new FarField({ width: probe.width, height: probe.width, data: probe.data });
  }

  /** Offset of region pixel (x, y)'s real part in `image.data`. */
  index(x: number, y: number): number {
    return 2 * ((y + this.pad) * this.image.width + x + this.pad);
  }

  /** Copies a region-sized interleaved complex object in. */
  load(object: Float32Array): void {
    const W = this.region.width;
    for (let y = 0; y < this.region.height; y++) this.image.data.set(object.subarray(2 * y * W, 2 * (y + 1) * W), this.index(0, y));
  }

  /** The intensities the loaded object predicts for patterns `chosen`, N² each, into `out`. */
  predict(patterns: Pick<CalibrationPatterns, 'xs' | 'ys'>, chosen: Int32Array, out: Float64Array): void {
    const n = this.farField.n;
    for (let c = 0; c < chosen.length; c++) {
      const p = chosen[c];
      this.farField.intensity(this.image, patterns.xs[p] - this.region.x0 + this.pad, patterns.ys[p] - this.region.y0 + this.pad, out, c * n * n);
    }
  }
}

/** What `misfit` measures for a photon scale: the Poisson deviance when the scale is a usable count, else the amplitudes' least squares. */
export type MisfitKind = 'poisson-deviance' | 'amplitude-squared-error';

/** The photon scale `misfit` counts in, or undefined when `countScale` is not a positive finite number. */
export function usableCountScale(countScale: number | undefined): number | undefined {
  return countScale !== undefined && countScale > 0 && Number.isFinite(countScale) ? countScale : undefined;
}

/** The misfit a photon scale gives (MisfitKind). */
export const misfitKindOf = (countScale: number | undefined): MisfitKind => (usableCountScale(countScale) === undefined ? 'amplitude-squared-error' : 'poisson-deviance');

/**
 * Mean misfit per detector pixel of predicted intensities (any scale: the best common scale is fitted) against
 * measured amplitudes: with `countScale`, the Poisson deviance of the counts k = countScale·x²; without, the squared
 * error of the amplitudes.
 */
export function misfit(intensity: Float64Array, measured: Float32Array, countScale?: number): number {
  const m = measured.length;
  if (countScale !== undefined) {
    let counts = 0, predicted = 0;
    for (let i = 0; i < m; i++) { counts += countScale * measured[i] * measured[i]; predicted += intensity[i]; }
    if (!(predicted > 0)) return NaN;
    const scale = counts / predicted;
    let deviance = 0;
    for (let i = 0; i < m; i++) {
      const k = countScale * measured[i] * measured[i];
      const lambda = Math.max(scale * intensity[i], 1e-12);
      deviance += (k > 0 ? k * Math.log(k / lambda) : 0) - (k - lambda);
    }
    return (2 * deviance) / m;
  }
  let cross = 0, power = 0;
  for (let i = 0; i < m; i++) { const a = Math.sqrt(intensity[i]); cross += a * measured[i]; power += intensity[i]; }
  if (!(power > 0)) return NaN;
  const scale = cross / power;
  let sq = 0;
  for (let i = 0; i < m; i++) sq += (scale * Math.sqrt(intensity[i]) - measured[i]) ** 2;
  return sq / m;
}
