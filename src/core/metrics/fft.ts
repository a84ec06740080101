// Complex FFT of any length on split (re, im) Float64Arrays, for FRC. FRC must not zero-pad (padding would
// change the frequency grid and so the ring radii), so lengths that are not powers of two go through
// Bluestein's chirp-z transform, which expresses a length-n DFT as a power-of-two circular convolution.
// Forward transform: X[k] = Σ_j x[j]·exp(−2πi·jk/n), unnormalised, as numpy.fft.fft.
// Pure TypeScript (no Node APIs), kept separate from src/core/simulate/fft.ts (power-of-two only).

function isPow2(n: number): boolean {
  return n >= 1 && (n & (n - 1)) === 0;
}

/** In-place iterative radix-2 transform of contiguous length-n arrays (n a power of two). */
class Radix2 {
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;
  private readonly log2: number;

  constructor(readonly n: number) {
    const half = n >> 1;
    this.cos = new Float64Array(Math.max(1, half));
    this.sin = new Float64Array(Math.max(1, half));
    // Twiddles evaluated directly (no recurrence) so each is accurate to about an ulp.
    for (let k = 0; k < half; k++) {
      const a = (-2 * Math.PI * k) / n;
      this.cos[k] = Math.cos(a);
      this.sin[k] = Math.sin(a);
    }
    this.rev = new Uint32Array(n);
    let bits = 0;
    while (1 << bits < n) bits++;
    this.log2 = bits;
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >>> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
  }

  /** `inverse` uses exp(+2πi·jk/n) and does not divide by n. */
  transform(re: Float64Array, im: Float64Array, inverse = false): void {
    const { n, rev, cos, sin } = this;
    for (let i = 0; i < n; i++) {
      const j = rev[i];
      if (j > i) {
        let t = re[i];
        re[i] = re[j];
        re[j] = t;
        t = im[i];
        im[i] = im[j];
        im[j] = t;
      }
    }
    // Radix-2 DIT stages fused in pairs ("radix-2²"): stages of span 2s and 4s in one pass over memory, which
    // is what costs in JS. When log2(n) is odd a plain span-2 stage (no twiddles) comes first.
    let s = 1;
    if (this.log2 & 1) {
      for (let a = 0; a + 1 < n; a += 2) {
        const xr = re[a + 1];
        const xi = im[a + 1];
        re[a + 1] = re[a] - xr;
        im[a + 1] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
      s = 2;
    }
    const sgn = inverse ? -1 : 1;
    for (; 4 * s <= n; s *= 4) {
      const step = (n / (4 * s)) | 0; // W_{4s}^k = W_n^{k·step}; an int32 index, not a float
      for (let start = 0; start < n; start += 4 * s) {
        for (let k = 0; k < s; k++) {
          const t1 = k * step;
          const t2 = 2 * t1;
          const w1r = cos[t1];
          const w1i = sgn * sin[t1];
          const w2r = cos[t2];
          const w2i = sgn * sin[t2];
          const i0 = start + k;
          const i1 = i0 + s;
          const i2 = i1 + s;
          const i3 = i2 + s;
          // Span-2s stage: (x0, x1) and (x2, x3) with W_{2s}^k = W_{4s}^{2k}.
          const ar = re[i1] * w2r - im[i1] * w2i;
          const ai = re[i1] * w2i + im[i1] * w2r;
          const br = re[i3] * w2r - im[i3] * w2i;
          const bi = re[i3] * w2i + im[i3] * w2r;
          const x0r = re[i0] + ar;
          const x0i = im[i0] + ai;
          const x1r = re[i0] - ar;
          const x1i = im[i0] - ai;
          const x2r = re[i2] + br;
          const x2i = im[i2] + bi;
          const x3r = re[i2] - br;
          const x3i = im[i2] - bi;
          // Span-4s stage: (x0, x2) with W_{4s}^k, (x1, x3) with W_{4s}^{k+s} = ∓i·W_{4s}^k.
          const cr = x2r * w1r - x2i * w1i;
          const ci = x2r * w1i + x2i * w1r;
          const d0r = x3r * w1r - x3i * w1i;
          const d0i = x3r * w1i + x3i * w1r;
          // multiply by −i (forward) or +i (inverse): (x + iy)·(−i) = y − ix
          const dr = sgn * d0i;
          const di = -sgn * d0r;
          re[i0] = x0r + cr;
          im[i0] = x0i + ci;
          re[i2] = x0r - cr;
          im[i2] = x0i - ci;
          re[i1] = x1r + dr;
          im[i1] = x1i + di;
          re[i3] = x1r - dr;
          im[i3] = x1i - di;
        }
      }
    }
  }
}

/** A forward DFT plan of one length (any n ≥ 1). Scratch lives in the plan: not re-entrant. */
export class DftPlan {
  private readonly radix?: Radix2;
  // Bluestein state: chirp w_k = exp(−iπk²/n), the padded transform of conj(w), scratch of length m.
  private readonly m: number = 0;
  private readonly inner?: Radix2;
  private readonly chirpRe?: Float64Array;
  private readonly chirpIm?: Float64Array;
  private readonly kernRe?: Float64Array;
  private readonly kernIm?: Float64Array;
  private readonly bufRe?: Float64Array;
  private readonly bufIm?: Float64Array;

  constructor(readonly n: number) {
    if (!Number.isInteger(n) || n < 1 || n > 1 << 24) throw new RangeError(`DFT length must be an integer in [1, 2^24] (got ${n})`);
    if (isPow2(n)) {
      this.radix = new Radix2(n);
      return;
    }
    let m = 1;
    while (m < 2 * n - 1) m <<= 1;
    this.m = m;
    this.inner = new Radix2(m);
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
    this.inner.transform(this.kernRe, this.kernIm);
    this.bufRe = new Float64Array(m);
    this.bufIm = new Float64Array(m);
  }

  /** In-place forward DFT of re/im[0 … n). */
  forward(re: Float64Array, im: Float64Array): void {
    if (this.radix) {
      this.radix.transform(re, im);
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
    this.inner!.transform(br, bi);
    for (let k = 0; k < m; k++) {
      const xr = br[k] * kr[k] - bi[k] * ki[k];
      bi[k] = br[k] * ki[k] + bi[k] * kr[k];
      br[k] = xr;
    }
    this.inner!.transform(br, bi, true);
    const s = 1 / m;
    for (let k = 0; k < n; k++) {
      const xr = br[k] * s;
      const xi = bi[k] * s;
      re[k] = xr * cr[k] - xi * ci[k];
      im[k] = xr * ci[k] + xi * cr[k];
    }
  }
}

/** Columns are transformed in blocks this wide: gathering a block reads contiguous runs of each row. */
const COLUMN_BLOCK = 16;

/**
 * In-place 2-D forward DFT of a row-major h×w complex image (split re/im), rows then columns, as
 * numpy.fft.fft2. No shift: index (r, c) holds frequency (r, c) modulo (h, w).
 */
export function fft2d(re: Float64Array, im: Float64Array, w: number, h: number): void {
  if (re.length !== w * h || im.length !== w * h) throw new RangeError(`fft2d: arrays must hold ${w}×${h} values`);
  const rowPlan = new DftPlan(w);
  const colPlan = h === w ? rowPlan : new DftPlan(h);
  for (let y = 0; y < h; y++) rowPlan.forward(re.subarray(y * w, (y + 1) * w), im.subarray(y * w, (y + 1) * w));
  const bre = new Float64Array(COLUMN_BLOCK * h);
  const bim = new Float64Array(COLUMN_BLOCK * h);
  for (let x0 = 0; x0 < w; x0 += COLUMN_BLOCK) {
    const bw = Math.min(COLUMN_BLOCK, w - x0);
    for (let y = 0; y < h; y++) {
      const o = y * w + x0;
      for (let j = 0; j < bw; j++) {
        bre[j * h + y] = re[o + j];
        bim[j * h + y] = im[o + j];
      }
    }
    for (let j = 0; j < bw; j++) colPlan.forward(bre.subarray(j * h, (j + 1) * h), bim.subarray(j * h, (j + 1) * h));
    for (let y = 0; y < h; y++) {
      const o = y * w + x0;
      for (let j = 0; j < bw; j++) {
        re[o + j] = bre[j * h + y];
        im[o + j] = bim[j * h + y];
      }
    }
  }
}
