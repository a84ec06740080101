// Pixel-error metrics of the study: plain means of |pred − target| and (pred − target)², and PSNR in two
// conventions (see psnr / psnrStudy).
import { dataRange } from './align';

export function mae(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  checkSameLength(pred, target, 'mae');
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += Math.abs(pred[i] - target[i]);
  return s / pred.length;
}

export function mse(pred: ArrayLike<number>, target: ArrayLike<number>): number {
  checkSameLength(pred, target, 'mse');
  let s = 0;
  for (let i = 0; i < pred.length; i++) {
    const d = pred[i] - target[i];
    s += d * d;
  }
  return s / pred.length;
}

/** 10·log10(peak²/mse); +Infinity when mse = 0 (also for peak 0), −Infinity when peak = 0 < mse. */
export function psnrFromMse(mseValue: number, peak: number): number {
  if (mseValue === 0) return Infinity;
  return 10 * Math.log10((peak * peak) / mseValue);
}

/** The study's cv2.PSNR(target, pred) convention: peak 255 whatever the data, hence its ~60–110 dB values. */
export const STUDY_PSNR_PEAK = 255;

/** PSNR in the study's cv2.PSNR convention (peak 255), from the mse. cv2 adds DBL_EPSILON to √mse (≈361 dB for
 * identical images); this returns +Infinity there instead. */
export function psnrStudy(mseValue: number): number {
  return psnrFromMse(mseValue, STUDY_PSNR_PEAK);
}

/**
 * PSNR as skimage.metrics.peak_signal_noise_ratio(target, pred, data_range=…): peak = `peak` when given, else
 * the data range (max − min) of the target. Non-finite results (identical images → +Infinity, flat target →
 * −Infinity) are returned as such; toJsonMetrics writes them as null.
 */
export function psnr(pred: ArrayLike<number>, target: ArrayLike<number>, peak?: number): number {
  return psnrFromMse(mse(pred, target), peak ?? dataRange(target));
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, who: string): void {
  if (a.length !== b.length || a.length === 0) throw new RangeError(`${who}: images must be non-empty and of equal size (got ${a.length} and ${b.length})`);
}
