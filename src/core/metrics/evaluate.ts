// evaluateReconstruction: the study's eval_reconstruction (ptycho/evaluation.py) on one reconstruction and
// its ground truth, already cropped and aligned pixel for pixel by the caller. Steps, in the study's order:
//   1. trim `trim` px each side (default 2 = offset//2);
//   2. phase = angle(z), then plane removal (or mean removal), fitted separately on pred and target, on the
//      wrapped angle (no unwrapping, as the study);
//   3. amplitude = |z|, amp_pred *= mean(amp_target)/mean(amp_pred);
//   4. per component: MAE, MSE, PSNR (two peaks), SSIM, MS-SSIM, Pearson r, FRC.
// FRC crossings are reported as spatial frequencies in cycles per pixel (shell k of the L×L FRC square ↔ k/L;
// 0.5 = Nyquist), with the study's shell indices kept beside them (`…Shell`), and in cycles per metre when the
// caller gives the object pixel size.
// SSIM/MS-SSIM see the phase rescaled as (φ + π)/2π with data range 1; amplitude SSIM uses the target's data
// range and amplitude MS-SSIM is pre-smoothed with msSsimSigma (default 1). MAE/MSE/PSNR/FRC of the phase use
// the aligned phase in radians, as the study.
import { removeMean, removePlane, scaleToMean, splitComplex, trimImage, dataRange } from './align';
import { mae, mse, psnrFromMse, psnrStudy } from './errors';
import { frc } from './frc';
import { msSsim } from './msssim';
import { cyclesPerMeter, pearson, shellToCyclesPerPixel } from './pearson';
import { ssim, SSIM_WIN } from './ssim';

export interface ImageMetrics {
  mae: number;
  mse: number;
  /** PSNR with peak = data range (max − min) of the target (skimage convention). */
  psnr: number;
  /** PSNR with peak 255, the study's cv2.PSNR(target, pred), for comparison with published study numbers. */
  psnrStudy: number;
  ssim: number;
  msSsim: number;
  /** Pearson r of the aligned images (amplitude after mean scaling, phase after plane/mean removal). */
  pearson: number;
  /** FRC 0.5 crossing in cycles/pixel: the study-era first shell below 0.5 (`frc50Shell`) / frcSize. */
  frc50: number;
  /** The study-era integer shell index of the 0.5 crossing (n//2 when never crossed). */
  frc50Shell: number;
  /** The 0.5 crossing linearly interpolated between shells, cycles/pixel. */
  frc50Interpolated: number;
  frc50InterpolatedShell: number;
  /** The 1/7 crossing (interpolated), cycles/pixel. */
  frc1over7: number;
  frc1over7Shell: number;
  /** Side L of the square the FRC ran on: curve index k ↔ k/L cycles/pixel. */
  frcSize: number;
  /** FRC per shell 0 … L//2 − 1. */
  frcCurve: number[];
  /** frc50 and frc1over7 in cycles per metre, when the object pixel size is known. */
  frc50PerMeter?: number;
  frc1over7PerMeter?: number;
}

export interface ReconstructionMetrics {
  amplitude: ImageMetrics;
  phase: ImageMetrics;
  /** Size after trimming (the images the metrics saw). */
  width: number;
  height: number;
  trim: number;
  phaseAlign: 'plane' | 'mean';
  msSsimSigmaAmplitude: number;
}

export interface MetricOptions {
  /** Pixels dropped on each side before anything else (default 2). */
  trim?: number;
  /** Phase alignment (default 'plane'). */
  phaseAlign?: 'plane' | 'mean';
  /** Gaussian sigma of the amplitude MS-SSIM pre-smoothing (default 1.0; 0 = none). Phase MS-SSIM never smooths. */
  msSsimSigma?: number;
  /** Object pixel size in metres: adds frc50PerMeter / frc1over7PerMeter. */
  pixelSizeMeters?: number;
}

export const DEFAULT_TRIM = 2;
export const DEFAULT_MS_SSIM_SIGMA = 1.0;

function componentMetrics(
  target: Float64Array,
  pred: Float64Array,
  w: number,
  h: number,
  ssimTarget: Float64Array,
  ssimPred: Float64Array,
  ssimRange: number,
  msSigma: number,
  pixelSize: number | undefined,
): ImageMetrics {
  const e = mse(pred, target);
  const f = frc(target, pred, w, h);
  const cycles = (shell: number): number => shellToCyclesPerPixel(shell, f.size);
  const out: ImageMetrics = {
    mae: mae(pred, target),
    mse: e,
    psnr: psnrFromMse(e, dataRange(target)),
    psnrStudy: psnrStudy(e),
    ssim: ssim(ssimTarget, ssimPred, w, h, ssimRange),
    msSsim: msSsim(ssimTarget, ssimPred, w, h, msSigma),
    pearson: pearson(target, pred),
    frc50: cycles(f.frc50),
    frc50Shell: f.frc50,
    frc50Interpolated: cycles(f.frc50Interpolated),
    frc50InterpolatedShell: f.frc50Interpolated,
    frc1over7: cycles(f.frc1over7),
    frc1over7Shell: f.frc1over7,
    frcSize: f.size,
    frcCurve: f.curve,
  };
  if (pixelSize !== undefined) {
    out.frc50PerMeter = cyclesPerMeter(out.frc50, pixelSize);
    out.frc1over7PerMeter = cyclesPerMeter(out.frc1over7, pixelSize);
  }
  return out;
}

/**
 * Metrics of a complex reconstruction `pred` against the ground truth `target`: interleaved (re, im) arrays of
 * length 2·w·h, row-major [h][w]. The trimmed image must be at least 7×7 (the SSIM window); smaller input, a
 * bad trim or mismatched lengths throw a RangeError. Degenerate data never throws: a flat target gives
 * non-finite PSNR and NaN SSIM (see toJsonMetrics), MS-SSIM 0 and FRC 0 on empty shells.
 */
export function evaluateReconstruction(
  pred: Float32Array | Float64Array,
  target: Float32Array | Float64Array,
  width: number,
  height: number,
  options: MetricOptions = {},
): ReconstructionMetrics {
  const trim = options.trim ?? DEFAULT_TRIM;
  const phaseAlign = options.phaseAlign ?? 'plane';
  const sigma = options.msSsimSigma ?? DEFAULT_MS_SSIM_SIGMA;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`evaluateReconstruction: width and height must be positive integers (got ${width}×${height})`);
  }
  if (phaseAlign !== 'plane' && phaseAlign !== 'mean') throw new RangeError(`unknown phaseAlign ${String(phaseAlign)}: use 'plane' or 'mean'`);
  if (!Number.isFinite(sigma) || sigma < 0) throw new RangeError(`msSsimSigma must be a finite number ≥ 0 (got ${sigma})`);
  if (!Number.isInteger(trim) || trim < 0) throw new RangeError(`trim must be a non-negative integer (got ${trim})`);
  const pixelSize = options.pixelSizeMeters;
  if (pixelSize !== undefined && !(pixelSize > 0 && Number.isFinite(pixelSize))) throw new RangeError(`pixelSizeMeters must be a positive number (got ${pixelSize})`);
  const { w, h } = trimmedSize('evaluateReconstruction', width, height, trim);
  const aligned = alignedImages(pred, target, width, height, trim, phaseAlign);
  const views = ssimViews(aligned);
  const amplitude = componentMetrics(aligned.ampTarget, aligned.ampPred, w, h, views.amplitude.target, views.amplitude.pred, views.amplitude.range, sigma, pixelSize);
  const phase = componentMetrics(aligned.phiTarget, aligned.phiPred, w, h, views.phase.target, views.phase.pred, views.phase.range, 0, pixelSize);
  return { amplitude, phase, width: w, height: h, trim, phaseAlign, msSsimSigmaAmplitude: sigma };
}

/** The size left after trimming `trim` px each side; a RangeError (naming `caller`) when SSIM's window does not fit. */
function trimmedSize(caller: string, width: number, height: number, trim: number): { w: number; h: number } {
  const w = width - 2 * trim;
  const h = height - 2 * trim;
  if (w < SSIM_WIN || h < SSIM_WIN) {
    throw new RangeError(`${caller}: ${width}×${height} trimmed by ${trim} px each side leaves ${Math.max(w, 0)}×${Math.max(h, 0)}; metrics need at least ${SSIM_WIN}×${SSIM_WIN}`);
  }
  return { w, h };
}

/** What SSIM and MS-SSIM compare: the amplitudes over the truth's range, the phases as (φ + π)/2π over 1. */
function ssimViews(a: ReturnType<typeof alignedImages>): Record<'amplitude' | 'phase', { target: Float64Array; pred: Float64Array; range: number }> {
  return {
    amplitude: { target: a.ampTarget, pred: a.ampPred, range: dataRange(a.ampTarget) },
    phase: { target: toUnitPhase(a.phiTarget), pred: toUnitPhase(a.phiPred), range: 1 },
  };
}

/**
 * SSIM of amplitude and phase exactly as evaluateReconstruction computes them (the same trim, alignment, data range
 * and unit phase), without its MS-SSIM, FRC and error figures: for the per-epoch quality window, which reports SSIM only.
 */
export function evaluateSsim(
  pred: Float32Array | Float64Array,
  target: Float32Array | Float64Array,
  width: number,
  height: number,
): { amplitude: number; phase: number } {
  const { w, h } = trimmedSize('evaluateSsim', width, height, DEFAULT_TRIM);
  const views = ssimViews(alignedImages(pred, target, width, height, DEFAULT_TRIM, 'plane'));
  return {
    amplitude: ssim(views.amplitude.target, views.amplitude.pred, w, h, views.amplitude.range),
    phase: ssim(views.phase.target, views.phase.pred, w, h, views.phase.range),
  };
}

/** The phase as SSIM and MS-SSIM see it: (φ + π)/2π. */
export const toUnitPhase = (phi: Float64Array): Float64Array => phi.map((v) => (v + Math.PI) / (2 * Math.PI));

/**
 * The images evaluateReconstruction scores, (w − 2·trim) × (h − 2·trim): both phases with their own plane (or
 * mean) removed, the truth's amplitude and the prediction's scaled to its mean.
 */
export function alignedImages(pred: Float32Array | Float64Array, target: Float32Array | Float64Array, width: number, height: number, trim: number, phaseAlign: 'plane' | 'mean'): { phiPred: Float64Array; phiTarget: Float64Array; ampPred: Float64Array; ampTarget: Float64Array } {
  const w = width - 2 * trim;
  const h = height - 2 * trim;
  const p = splitComplex(pred, width, height);
  const t = splitComplex(target, width, height);
  const align = phaseAlign === 'plane' ? (img: Float64Array) => removePlane(img, w, h) : removeMean;
  const ampTarget = trimImage(t.amplitude, width, height, trim).data;
  return {
    phiPred: align(trimImage(p.phase, width, height, trim).data),
    phiTarget: align(trimImage(t.phase, width, height, trim).data),
    ampTarget,
    ampPred: scaleToMean(trimImage(p.amplitude, width, height, trim).data, ampTarget).scaled,
  };
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** JSON-safe form of one component: every non-finite number (±Infinity PSNR, NaN SSIM) becomes null. */
export interface JsonImageMetrics {
  mae: number | null;
  mse: number | null;
  psnr: number | null;
  psnrStudy: number | null;
  ssim: number | null;
  msSsim: number | null;
  pearson: number | null;
  /** Pearson r on the covered pixels only (common evaluation; the headline `pearson` includes the holes). */
  pearsonCovered?: number | null;
  /** cycles/pixel */
  frc50: number | null;
  frc50Shell: number | null;
  /** cycles/pixel */
  frc50Interpolated: number | null;
  frc50InterpolatedShell: number | null;
  /** cycles/pixel */
  frc1over7: number | null;
  frc1over7Shell: number | null;
  frcSize: number;
  frcCurve: Array<number | null>;
  /** cycles/metre (present only when the object pixel size is known) */
  frc50PerMeter?: number | null;
  frc1over7PerMeter?: number | null;
}

export interface JsonReconstructionMetrics {
  amplitude: JsonImageMetrics;
  phase: JsonImageMetrics;
  width: number;
  height: number;
  trim: number;
  phaseAlign: 'plane' | 'mean';
  msSsimSigmaAmplitude: number;
}

function jsonImage(m: ImageMetrics): JsonImageMetrics {
  return {
    mae: finiteOrNull(m.mae),
    mse: finiteOrNull(m.mse),
    psnr: finiteOrNull(m.psnr),
    psnrStudy: finiteOrNull(m.psnrStudy),
    ssim: finiteOrNull(m.ssim),
    msSsim: finiteOrNull(m.msSsim),
    pearson: finiteOrNull(m.pearson),
    frc50: finiteOrNull(m.frc50),
    frc50Shell: finiteOrNull(m.frc50Shell),
    frc50Interpolated: finiteOrNull(m.frc50Interpolated),
    frc50InterpolatedShell: finiteOrNull(m.frc50InterpolatedShell),
    frc1over7: finiteOrNull(m.frc1over7),
    frc1over7Shell: finiteOrNull(m.frc1over7Shell),
    frcSize: m.frcSize,
    frcCurve: m.frcCurve.map(finiteOrNull),
    ...(m.frc50PerMeter !== undefined ? { frc50PerMeter: finiteOrNull(m.frc50PerMeter) } : {}),
    ...(m.frc1over7PerMeter !== undefined ? { frc1over7PerMeter: finiteOrNull(m.frc1over7PerMeter) } : {}),
  };
}

/** The metrics as a plain JSON-ready object; non-finite numbers become null (JSON has no NaN/Infinity). */
export function toJsonMetrics(m: ReconstructionMetrics): JsonReconstructionMetrics {
  return {
    amplitude: jsonImage(m.amplitude),
    phase: jsonImage(m.phase),
    width: m.width,
    height: m.height,
    trim: m.trim,
    phaseAlign: m.phaseAlign,
    msSsimSigmaAmplitude: m.msSsimSigmaAmplitude,
  };
}
