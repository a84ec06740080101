// The study's custom MS-SSIM (ptycho/evaluation.py `ms_ssim`), reproduced step for step. It is not Wang et
// al.'s MS-SSIM: every level uses the full SSIM value (not contrast·structure), and levels are plain
// [::2, ::2] decimations (no low-pass filter).
import { dataRange } from './align';
import { checkImage, gaussianFilter } from './filters';
import { ssim, SSIM_WIN } from './ssim';

export const MS_SSIM_WEIGHTS: readonly number[] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

/** img[::2, ::2]. */
function decimate(img: Float64Array, w: number, h: number): { data: Float64Array; w: number; h: number } {
  const dw = Math.ceil(w / 2);
  const dh = Math.ceil(h / 2);
  const out = new Float64Array(dw * dh);
  for (let y = 0; y < dh; y++) for (let x = 0; x < dw; x++) out[y * dw + x] = img[2 * y * w + 2 * x];
  return { data: out, w: dw, h: dh };
}

/**
 * Π_l SSIM_l^weight_l over up to 5 levels, as the study computes it:
 * - optional Gaussian pre-smoothing of both images (`sigma` > 0, scipy.ndimage.gaussian_filter semantics);
 * - one data range for all levels, max(ptp(a), ptp(b)) of the (smoothed) full-resolution images — the study
 *   computes it once before the loop, not per level;
 * - SSIM < 0 is clamped to 1e-4; a NaN SSIM makes the whole result 0;
 * - after each level but the last, both images are decimated [::2, ::2]; when the smaller side drops below 7
 *   the loop stops. The levels computed keep their own weights, not renormalised (the exponents then sum to
 *   less than 1), exactly as the study's loop multiplies value^weight over the levels it reached.
 * Images smaller than 7×7 throw a RangeError (the level-0 SSIM cannot be computed; skimage raises too).
 */
export function msSsim(a: Float64Array, b: Float64Array, w: number, h: number, sigma = 0): number {
  return msSsimLevels(a, b, w, h, sigma).value;
}

/**
 * msSsim with the SSIM of each level it reached (after the clamp; NaN where a level's SSIM was NaN, which makes
 * the value 0), for seeing which scale holds a score down.
 */
export function msSsimLevels(a: Float64Array, b: Float64Array, w: number, h: number, sigma = 0): { value: number; levels: number[] } {
  checkImage(a, w, h, 'msSsim');
  checkImage(b, w, h, 'msSsim');
  if (w < SSIM_WIN || h < SSIM_WIN) throw new RangeError(`msSsim: images must be at least ${SSIM_WIN}×${SSIM_WIN} (got ${w}×${h})`);
  let img1 = sigma > 0 ? gaussianFilter(a, w, h, sigma) : a;
  let img2 = sigma > 0 ? gaussianFilter(b, w, h, sigma) : b;
  const range = Math.max(dataRange(img1), dataRange(img2));
  let cw = w;
  let ch = h;
  let value = 1;
  const levels: number[] = [];
  for (let level = 0; level < MS_SSIM_WEIGHTS.length; level++) {
    let s = ssim(img1, img2, cw, ch, range);
    levels.push(s);
    if (Number.isNaN(s)) return { value: 0, levels };
    if (s < 0) s = 1e-4;
    levels[level] = s;
    value *= s ** MS_SSIM_WEIGHTS[level];
    if (Number.isNaN(value)) return { value: 0, levels };
    if (level < MS_SSIM_WEIGHTS.length - 1) {
      const d1 = decimate(img1, cw, ch);
      const d2 = decimate(img2, cw, ch);
      img1 = d1.data;
      img2 = d2.data;
      cw = d1.w;
      ch = d1.h;
      if (Math.min(cw, ch) < SSIM_WIN) break;
    }
  }
  return { value: Number.isNaN(value) ? 0 : value, levels };
}
