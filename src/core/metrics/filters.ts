// Separable image filters with scipy.ndimage semantics, on row-major h×w Float64Arrays. Only what the metric
// recipe needs: the Gaussian pre-smoothing of MS-SSIM (scipy.ndimage.gaussian_filter, truncate 4.0,
// mode 'reflect'). The SSIM window mean lives in ssim.ts: there only the interior matters (see there).

/**
 * scipy.ndimage mode 'reflect' (half-sample symmetric, `d c b a | a b c d | d c b a`): the source index of
 * position i on an axis of length n, repeating the reflection as often as needed (kernels wider than the image).
 */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let j = i % period;
  if (j < 0) j += period;
  return j >= n ? period - 1 - j : j;
}

/** The normalised 1-D Gaussian of scipy.ndimage._gaussian_kernel1d (order 0): radius int(truncate·σ + 0.5). */
export function gaussianKernel1d(sigma: number, truncate = 4.0): Float64Array {
  const radius = Math.trunc(truncate * sigma + 0.5);
  const k = new Float64Array(2 * radius + 1);
  const s2 = sigma * sigma;
  let sum = 0;
  for (let x = -radius; x <= radius; x++) {
    const v = Math.exp((-0.5 / s2) * x * x);
    k[x + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** scipy.ndimage.correlate1d along rows (axis 1) then columns (axis 0), mode 'reflect', odd kernel centred. */
export function separableCorrelate(img: Float64Array, w: number, h: number, kernel: Float64Array): Float64Array {
  const r = (kernel.length - 1) >> 1;
  const tmp = new Float64Array(w * h);
  const out = new Float64Array(w * h);
  // Rows: one reflect-padded copy of the row, then a plain dot product per output pixel.
  const pad = new Float64Array(w + 2 * r);
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let i = -r; i < w + r; i++) pad[i + r] = img[o + reflectIndex(i, w)];
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < kernel.length; k++) s += kernel[k] * pad[x + k];
      tmp[o + x] = s;
    }
  }
  // Columns: accumulate whole source rows (kernel tap outer, x inner) so memory is walked row by row.
  for (let y = 0; y < h; y++) {
    const o = y * w;
    for (let k = 0; k < kernel.length; k++) {
      const src = reflectIndex(y + k - r, h) * w;
      const c = kernel[k];
      for (let x = 0; x < w; x++) out[o + x] += c * tmp[src + x];
    }
  }
  return out;
}

/**
 * scipy.ndimage.gaussian_filter(img, sigma) for a 2-D image (truncate 4.0, mode 'reflect'). sigma ≤ 1e-15
 * returns a copy, as scipy skips such axes.
 */
export function gaussianFilter(img: Float64Array, w: number, h: number, sigma: number): Float64Array {
  checkImage(img, w, h, 'gaussianFilter');
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new RangeError(`gaussianFilter: sigma must be a finite number ≥ 0 (got ${sigma})`);
  if (sigma <= 1e-15) return Float64Array.from(img);
  return separableCorrelate(img, w, h, gaussianKernel1d(sigma));
}

/** Throws a RangeError unless img is a w×h row-major image with w, h positive integers. */
export function checkImage(img: ArrayLike<number>, w: number, h: number, who: string): void {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new RangeError(`${who}: width and height must be positive integers (got ${w}×${h})`);
  if (img.length !== w * h) throw new RangeError(`${who}: expected ${w}×${h} = ${w * h} values, got ${img.length}`);
}
