// SSIM exactly as skimage.metrics.structural_similarity(im1, im2, data_range=R) with its defaults: 7×7 uniform
// window, K1 = 0.01, K2 = 0.03, sample covariance (normalised by NP/(NP − 1), NP = 49), and the SSIM map
// averaged after cropping (7 − 1)/2 = 3 px from each border.
//
// skimage filters with scipy.ndimage.uniform_filter in mode 'reflect', but the 3 px crop removes exactly the
// pixels whose window reaches past the border: every pixel that enters the mean has its whole 7×7 window inside
// the image. So the mean is taken over all fully-inside windows and no reflected value is ever needed.
import { checkImage } from './filters';

export const SSIM_WIN = 7;
const K1 = 0.01;
const K2 = 0.03;

/**
 * Mean SSIM of two h×w images (symmetric in a, b). Images smaller than 7×7 throw a RangeError, as skimage
 * raises ("win_size exceeds image extent"). A data range that is not a finite positive number gives NaN: with
 * C1 = C2 = 0 skimage's value is 0/0 wherever both windows are flat, i.e. undefined.
 */
export function ssim(a: Float64Array, b: Float64Array, w: number, h: number, dataRange: number): number {
  checkImage(a, w, h, 'ssim');
  checkImage(b, w, h, 'ssim');
  if (w < SSIM_WIN || h < SSIM_WIN) throw new RangeError(`ssim: images must be at least ${SSIM_WIN}×${SSIM_WIN} (got ${w}×${h})`);
  if (!(dataRange > 0) || !Number.isFinite(dataRange)) return NaN;
  const win = SSIM_WIN;
  const np = win * win;
  const covNorm = np / (np - 1);
  const inv = 1 / np;
  const c1 = (K1 * dataRange) ** 2;
  const c2 = (K2 * dataRange) ** 2;
  const ww = w - win + 1;
  const hh = h - win + 1;

  // Ring of the last 7 rows' horizontal window sums of a, b, a², b², ab (5 planes of ww each per row).
  const ring = new Float64Array(win * 5 * ww);
  const fillRow = (y: number): void => {
    const base = (y % win) * 5 * ww;
    const o = y * w;
    for (let x = 0; x < ww; x++) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let k = 0; k < win; k++) {
        const va = a[o + x + k];
        const vb = b[o + x + k];
        sa += va;
        sb += vb;
        saa += va * va;
        sbb += vb * vb;
        sab += va * vb;
      }
      ring[base + x] = sa;
      ring[base + ww + x] = sb;
      ring[base + 2 * ww + x] = saa;
      ring[base + 3 * ww + x] = sbb;
      ring[base + 4 * ww + x] = sab;
    }
  };

  for (let y = 0; y < win - 1; y++) fillRow(y);
  let total = 0;
  for (let oy = 0; oy < hh; oy++) {
    fillRow(oy + win - 1);
    let rowTotal = 0;
    for (let x = 0; x < ww; x++) {
      let sa = 0;
      let sb = 0;
      let saa = 0;
      let sbb = 0;
      let sab = 0;
      for (let s = 0; s < win; s++) {
        const p = s * 5 * ww + x;
        sa += ring[p];
        sb += ring[p + ww];
        saa += ring[p + 2 * ww];
        sbb += ring[p + 3 * ww];
        sab += ring[p + 4 * ww];
      }
      const ux = sa * inv;
      const uy = sb * inv;
      const vx = covNorm * (saa * inv - ux * ux);
      const vy = covNorm * (sbb * inv - uy * uy);
      const vxy = covNorm * (sab * inv - ux * uy);
      const num = (2 * ux * uy + c1) * (2 * vxy + c2);
      const den = (ux * ux + uy * uy + c1) * (vx + vy + c2);
      rowTotal += num / den;
    }
    total += rowTotal;
  }
  return total / (ww * hh);
}
