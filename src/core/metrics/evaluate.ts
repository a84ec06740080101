// evaluateReconstruction: the study's eval_reconstruction (ptycho/evaluation.py) on one reconstruction and
// its ground truth, already cropped and aligned pixel for pixel by the caller. Steps, in the study's order:
//   1. trim `trim` px each side (default 2 = offset//2);
//   2. phase = angle(z), then plane removal (or mean removal), fitted separately on pred and target, on the
//      wrapped angle (no unwrapping, as the study);
//   3. amplitude = |z|, amp_pred *= mean(amp_target)/mean(amp_pred);
//   4. per component: MAE, MSE, PSNR (two peaks), SSIM, MS-SSIM, FRC.
// SSIM/MS-SSIM see the phase rescaled as (φ + π)/2π with data range 1; amplitude SSIM uses the target's data
// range and amplitude MS-SSIM is pre-smoothed with msSsimSigma (default 1). MAE/MSE/PSNR/FRC of the phase use
// the aligned phase in radians, as the study.
import { removeMean, removePlane, scaleToMean, splitComplex, trimImage, dataRange } from './align';
import { mae, mse, psnrFromMse, psnrStudy } from './errors';
import { frc } from './frc';
import { msSsim } from './msssim';
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
  frc50: number;
  frc50Interpolated: number;
  frc1over7: number;
  frcCurve: number[];
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
): ImageMetrics {
  const e = mse(pred, target);
  const f = frc(target, pred, w, h);
  return {
    mae: mae(pred, target),
    mse: e,
    psnr: psnrFromMse(e, dataRange(target)),
    psnrStudy: psnrStudy(e),
    ssim: ssim(ssimTarget, ssimPred, w, h, ssimRange),
    msSsim: msSsim(ssimTarget, ssimPred, w, h, msSigma),
    frc50: f.frc50,
    frc50Interpolated: f.frc50Interpolated,
    frc1over7: f.frc1over7,
    frcCurve: f.curve,
  };
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
  const w = width - 2 * trim;
  const h = height - 2 * trim;
  if (w < SSIM_WIN || h < SSIM_WIN) {
    throw new RangeError(`evaluateReconstruction: ${width}×${height} trimmed by ${trim} px each side leaves ${Math.max(w, 0)}×${Math.max(h, 0)}; metrics need at least ${SSIM_WIN}×${SSIM_WIN}`);
  }
  const p = splitComplex(pred, width, height);
  const t = splitComplex(target, width, height);

  const align = phaseAlign === 'plane' ? (img: Float64Array) => removePlane(img, w, h) : removeMean;
  const phiPred = align(trimImage(p.phase, width, height, trim).data);
  const phiTarget = align(trimImage(t.phase, width, height, trim).data);
  const ampTarget = trimImage(t.amplitude, width, height, trim).data;
  const ampPred = scaleToMean(trimImage(p.amplitude, width, height, trim).data, ampTarget).scaled;

  const toUnit = (phi: Float64Array): Float64Array => phi.map((v) => (v + Math.PI) / (2 * Math.PI));
  const amplitude = componentMetrics(ampTarget, ampPred, w, h, ampTarget, ampPred, dataRange(ampTarget), sigma);
  const phase = componentMetrics(phiTarget, phiPred, w, h, toUnit(phiTarget), toUnit(phiPred), 1, 0);
  return { amplitude, phase, width: w, height: h, trim, phaseAlign, msSsimSigmaAmplitude: sigma };
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
  frc50: number | null;
  frc50Interpolated: number | null;
  frc1over7: number | null;
  frcCurve: Array<number | null>;
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
    frc50: finiteOrNull(m.frc50),
    frc50Interpolated: finiteOrNull(m.frc50Interpolated),
    frc1over7: finiteOrNull(m.frc1over7),
    frcCurve: m.frcCurve.map(finiteOrNull),
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
