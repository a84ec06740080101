// Complex DFT of any length on split (re, im) Float64Arrays, built on the power-of-two FftPlan. Used where the
// length is the data's own and must not be padded (FRC: padding would change the frequency grid and so the ring
// radii). Lengths that are not powers of two go through Bluestein's chirp-z transform: a length-n DFT written as
// a power-of-two circular convolution of length m ≥ 2n − 1. The convolution runs as dif (bit-reversed spectrum),
// a pointwise product with the kernel's spectrum stored in the same order, and dit back: no permutation pass.
// Forward: X[k] = Σ_j x[j]·exp(−2πi·jk/n), unnormalised, as numpy.fft.fft; inverse without the 1/n.
import { FftPlan, isPowerOfTwo, MAX_FFT_SIZE } from './pow2';

/** A DFT plan of one length (any n ≥ 1). Bluestein scratch lives in the plan: one plan per thread of work. */
export class DftPlan {
  private readonly pow2?: FftPlan;
  // Bluestein state: chirp w_k = exp(−iπk²/n), the (bit-reversed) spectrum of conj(w) wrapped to length m.
  private readonly m: number = 0;
  private readonly inner?: FftPlan;
  private readonly chirpRe?: Float64Array;
  private readonly chirpIm?: Float64Array;
  private readonly kernRe?: Float64Array;
  private readonly kernIm?: Float64Array;
  private readonly bufRe?: Float64Array;
  private readonly bufIm?: Float64Array;

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_FFT_SIZE) throw new RangeError(`DFT length must be an integer in [1, 2^24] (got ${n})`);
    if (isPowerOfTwo(n)) {
      this.pow2 = new FftPlan(n);
      return;
    }
    let m = 1;
    while (m < 2 * n - 1) m <<= 1;
    this.m = m;
    this.inner = new FftPlan(m);
    this.chirpRe = new Float64Array(n);
    this.chirpIm = new Float64Array(n);
    const twoN = 2 * n;
    for (let k = 0; k < n; k++) {
      // k² mod 2n keeps the angle small (exact integer arithmetic below 2^53), so large k stay accurate.
      const k2 = (k * k) % twoN;
      const a = (Math.PI * k2) / n;
      this.chirpRe[k] = Math.cos(a);
      this.chirpIm[k] = -Math.sin(a);
    }
    this.kernRe = new Float64Array(m);
    this.kernIm = new Float64Array(m);
    this.kernRe[0] = this.chirpRe[0];
    this.kernIm[0] = -this.chirpIm[0];
    for (let k = 1; k < n; k++) {
      this.kernRe[k] = this.kernRe[m - k] = this.chirpRe[k];
      this.kernIm[k] = this.kernIm[m - k] = -this.chirpIm[k];
    }
    this.inner.dif(this.kernRe, this.kernIm);
    this.bufRe = new Float64Array(m);
    this.bufIm = new Float64Array(m);
  }

  /** In-place forward DFT of re/im[0 … n). */
  forward(re: Float64Array, im: Float64Array): void {
    if (this.pow2) {
      this.pow2.transform(re, im);
      return;
    }
    const n = this.n;
    const m = this.m;
    const cr = this.chirpRe!;
    const ci = this.chirpIm!;
    const br = this.bufRe!;
    const bi = this.bufIm!;
    const kr = this.kernRe!;
    const ki = this.kernIm!;
    for (let k = 0; k < n; k++) {
      br[k] = re[k] * cr[k] - im[k] * ci[k];
      bi[k] = re[k] * ci[k] + im[k] * cr[k];
    }
    br.fill(0, n);
    bi.fill(0, n);
    this.inner!.dif(br, bi);
    for (let k = 0; k < m; k++) {
      const xr = br[k] * kr[k] - bi[k] * ki[k];
      bi[k] = br[k] * ki[k] + bi[k] * kr[k];
      br[k] = xr;
    }
    this.inner!.dit(br, bi, 0, 1, 1, 1, true);
    const s = 1 / m;
    for (let k = 0; k < n; k++) {
      const xr = br[k] * s;
      const xi = bi[k] * s;
      re[k] = xr * cr[k] - xi * ci[k];
      im[k] = xr * ci[k] + xi * cr[k];
    }
  }

  /** In-place inverse DFT (exp(+2πi·jk/n), no 1/n) of re/im[0 … n): the forward transform of (im, re). */
  inverse(re: Float64Array, im: Float64Array): void {
    this.forward(im, re);
  }
}

/** Columns of non-power-of-two height are transformed in blocks this wide, gathered from contiguous row runs. */
const COLUMN_BLOCK = 16;

/**
 * In-place 2-D DFT of a row-major h×w complex image (split re/im), rows then columns, as numpy.fft.fft2 (or
 * ifft2 without the 1/(w·h) when `inverse`). No shift: index (r, c) holds frequency (r, c) modulo (h, w).
 */
export function fft2d(re: Float64Array, im: Float64Array, w: number, h: number, inverse = false): void {
  if (re.length !== w * h || im.length !== w * h) throw new RangeError(`fft2d: arrays must hold ${w}×${h} values`);
  if (w === h && isPowerOfTwo(w)) {
    new FftPlan(w).transform2d(re, im, inverse);
    return;
  }
  const x = inverse ? im : re;
  const y = inverse ? re : im;
  if (isPowerOfTwo(w)) new FftPlan(w).transformBatch(x, y, 0, 1, h, w);
  else {
    const rowPlan = new DftPlan(w);
    for (let r = 0; r < h; r++) rowPlan.forward(x.subarray(r * w, (r + 1) * w), y.subarray(r * w, (r + 1) * w));
  }
  if (isPowerOfTwo(h)) {
    new FftPlan(h).transformBatch(x, y, 0, w, w, 1);
    return;
  }
  const colPlan = new DftPlan(h);
  const bre = new Float64Array(COLUMN_BLOCK * h);
  const bim = new Float64Array(COLUMN_BLOCK * h);
  for (let x0 = 0; x0 < w; x0 += COLUMN_BLOCK) {
    const bw = Math.min(COLUMN_BLOCK, w - x0);
    for (let r = 0; r < h; r++) {
      const o = r * w + x0;
      for (let j = 0; j < bw; j++) {
        bre[j * h + r] = x[o + j];
        bim[j * h + r] = y[o + j];
      }
    }
    for (let j = 0; j < bw; j++) colPlan.forward(bre.subarray(j * h, (j + 1) * h), bim.subarray(j * h, (j + 1) * h));
    for (let r = 0; r < h; r++) {
      const o = r * w + x0;
      for (let j = 0; j < bw; j++) {
        x[o + j] = bre[j * h + r];
        y[o + j] = bim[j * h + r];
      }
    }
  }
}
