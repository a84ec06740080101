// The stitched phase's contrast, decided by the measured patterns (README "Reconstruction quality", item 36). A
// PINN's stitched phase is a shrunk estimate: on the study-scale models its large scales carry 0.73–0.78 of the
// truth's contrast (item 22), which SSIM's contrast term and MS-SSIM count against it, and the patterns it was
// reconstructed from say so — the same object with its phase scaled by g > 1 reproduces them better. One number, the
// gain of the phase about its mean plane, is chosen where the forward model of the stitched object (bilinear patch,
// ψ = P·O, I = |FFT2 ψ|²/N², the simulator's) fits the evaluation's own patterns best: their Poisson likelihood
// when the photon scale is known, else the least squares of the amplitudes. No ground truth is involved; the
// amplitude, the holes and the mean plane stay as they are.
import type { ComplexArray } from './data';
import { misfit, misfitKindOf, PatternPredictor, patternsLitOn, usableCountScale, type CalibrationPatterns, type MisfitKind } from './patternFit';
import type { StitchedCanvas } from './stitch';
import { COVERED_WEIGHT, meanPhaseGradient, rotateByPlane } from './stitch';

export type { CalibrationPatterns } from './patternFit';

/** What the calibration did (metrics.json `contrastCalibration`). */
export interface ContrastCalibrationSummary {
  /** Patterns whose probe light falls ≥ 95 % on covered pixels (at most CONTRAST_MAX_PATTERNS). */
  patterns: number;
  /** The phase gain applied (1 when not accepted). */
  phaseGain: number;
  /** The gain the patterns asked for, inside the searched range. */
  fittedGain: number;
  /** Mean misfit per detector pixel at gain 1 and at the applied gain: Poisson deviance, or the amplitudes' squared error. */
  misfitBefore: number;
  misfitAfter: number;
  misfit: MisfitKind;
  accepted: boolean;
  /** Why nothing was applied, when it was not. */
  reason?: string;
  /** Time the search took. */
  seconds: number;
}

/** Patterns used at most (spread evenly over the evaluation): the search's cost stays bounded on any study. */
export const CONTRAST_MAX_PATTERNS = 256;
/** The gains searched (golden section, to GAIN_TOLERANCE). */
export const GAIN_RANGE: readonly [number, number] = [0.5, 2.5];
const GAIN_TOLERANCE = 0.005;
/** Phases this far from the mean (rad) may be wrapped; scaling a wrapped phase would tear it. */
const WRAP_GUARD = 0.8 * Math.PI;
/** More than this share of covered pixels near the wrap: the phase is not scaled. */
const MAX_NEAR_WRAP = 0.005;

/**
 * The object with its phase scaled about its mean plane by the gain the patterns fit best (a new array), and what
 * was done. `countScale`: photon counts per unit of the patterns' x² (the run's s²); without it the amplitudes' least
 * squares stand in for the Poisson likelihood.
 */
export async function calibratePhaseContrast(
  canvas: StitchedCanvas, probe: ComplexArray, patterns: CalibrationPatterns, countScale?: number,
): Promise<{ object: Float32Array; summary: ContrastCalibrationSummary }> {
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const { region, object, weight } = canvas;
  const W = region.width, H = region.height, n = probe.width;
  const photons = usableCountScale(countScale);
  const misfitKind = misfitKindOf(countScale);
  const none = (reason: string, used = 0): { object: Float32Array; summary: ContrastCalibrationSummary } => ({
    object, summary: { patterns: used, phaseGain: 1, fittedGain: 1, misfitBefore: NaN, misfitAfter: NaN, misfit: misfitKind, accepted: false, reason, seconds: elapsed() },
  });

  // The mean plane (complex-domain gradient, nothing unwrapped) and the mean phase, held fixed; the rest is scaled.
  const flat = Float32Array.from(object);
  const plane = meanPhaseGradient(flat, weight, W);
  rotateByPlane(flat, W, plane);
  let sr = 0, si = 0, covered = 0;
  for (let k = 0; k < W * H; k++) {
    if (weight[k] < COVERED_WEIGHT) continue;
    sr += flat[2 * k]; si += flat[2 * k + 1]; covered++;
  }
  if (covered === 0) return none('no covered pixels');
  const mean = Math.atan2(si, sr);
  const amp = new Float64Array(W * H);
  const rel = new Float64Array(W * H);
  let nearWrap = 0;
  const cm = Math.cos(mean), sm = Math.sin(mean);
  for (let k = 0; k < W * H; k++) {
    const re = flat[2 * k], im = flat[2 * k + 1];
    amp[k] = Math.hypot(re, im);
    rel[k] = Math.atan2(im * cm - re * sm, re * cm + im * sm);
    if (weight[k] >= COVERED_WEIGHT && Math.abs(rel[k]) > WRAP_GUARD) nearWrap++;
  }
  if (nearWrap > MAX_NEAR_WRAP * covered) return none(`${(100 * nearWrap / covered).toFixed(1)} % of the covered phase lies within ${(Math.PI - WRAP_GUARD).toFixed(2)} rad of a wrap; a wrapped phase cannot be scaled`);

  // The patterns whose probe light falls on covered pixels.
  const chosen = patternsLitOn(weight, region, probe, patterns, CONTRAST_MAX_PATTERNS);
  if (chosen.length === 0) return none('no pattern\'s probe light falls on the covered canvas');
  const measured = new Float32Array(chosen.length * n * n);
  await patterns.read(chosen, measured);

  const predictor = new PatternPredictor(probe, region);
  const intensity = new Float64Array(chosen.length * n * n);
  const misfitAt = (gain: number): number => {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const k = y * W + x, q = predictor.index(x, y);
        const t = mean + gain * rel[k] + plane[0] * x + plane[1] * y;
        predictor.image.data[q] = amp[k] * Math.cos(t);
        predictor.image.data[q + 1] = amp[k] * Math.sin(t);
      }
    }
    predictor.predict(patterns, chosen, intensity);
    return misfit(intensity, measured, photons);
  };

  const before = misfitAt(1);
  if (!Number.isFinite(before)) return none('the stitched object predicts no light for the patterns', chosen.length);
  // Golden-section search: the misfit of one gain is smooth and, over this range, has one minimum on real data.
  const phi = (Math.sqrt(5) - 1) / 2;
  let [a, b] = GAIN_RANGE;
  let c = b - phi * (b - a), d = a + phi * (b - a);
  let fc = misfitAt(c), fd = misfitAt(d);
  while (b - a > GAIN_TOLERANCE) {
    if (fc < fd) { b = d; d = c; fd = fc; c = b - phi * (b - a); fc = misfitAt(c); } else { a = c; c = d; fc = fd; d = a + phi * (b - a); fd = misfitAt(d); }
  }
  const fitted = (a + b) / 2;
  const after = misfitAt(fitted);
  if (!(after < before)) {
    return { object, summary: { patterns: chosen.length, phaseGain: 1, fittedGain: fitted, misfitBefore: before, misfitAfter: before, misfit: misfitKind, accepted: false, reason: 'no gain fits the patterns better than the stitched phase', seconds: elapsed() } };
  }
  // The scaled object, holes (weight 0) as they were.
  const out = Float32Array.from(object);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const k = y * W + x, q = predictor.index(x, y);
      if (!(weight[k] > 0)) continue;
      out[2 * k] = predictor.image.data[q];
      out[2 * k + 1] = predictor.image.data[q + 1];
    }
  }
  return { object: out, summary: { patterns: chosen.length, phaseGain: fitted, fittedGain: fitted, misfitBefore: before, misfitAfter: after, misfit: misfitKind, accepted: true, seconds: elapsed() } };
}

/** One log line: what the calibration did, in the words of the setting. */
export function describeContrastCalibration(c: ContrastCalibrationSummary): string {
  const what = c.misfit === 'poisson-deviance' ? 'Poisson deviance per detector pixel' : 'squared amplitude error per detector pixel';
  if (!c.accepted) return `Phase contrast: not calibrated (${c.reason ?? 'no gain fitted better'}${c.patterns ? `; ${c.patterns} patterns` : ''}).`;
  return `Phase contrast: the stitched phase scaled by ${c.phaseGain.toFixed(3)} about its mean plane, the gain with which it reproduces ${c.patterns} of the evaluation's measured patterns best (${what} ${c.misfitBefore.toPrecision(5)} → ${c.misfitAfter.toPrecision(5)}; no ground truth).`;
}
