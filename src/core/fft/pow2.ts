// Power-of-two complex FFT on split (re, im) Float64Arrays, in place: the one FFT of the project (any-length
// transforms in ./dft.ts are built on it). Forward: X[k] = Σ_j x[j]·exp(−2πi·jk/n); inverse: exp(+2πi·jk/n);
// both unnormalised, as numpy.fft without its 1/n.
//
// Kernels. Radix-4 butterflies (two radix-2 stages merged, plus one plain radix-2 stage when log2 n is odd),
// twiddles precomputed per plan and stage, evaluated directly (no recurrence) so each is accurate to ~1 ulp.
// Two orderings without any permutation:
//   dif  natural order in → bit-reversed order out (decimation in frequency),
//   dit  bit-reversed order in → natural order out (decimation in time).
// A natural-order transform is dif followed by the bit-reversal permutation. The inverse never has kernels of
// its own: swapping re and im turns x into i·conj(x), and DFT(i·conj x) = i·conj(IDFT x), so the inverse of
// (re, im) is the forward transform of (im, re), bit for bit the same arithmetic.
//
// Batches. Every kernel transforms `count` sequences at once: element j of sequence c sits at
// offset + j·stride + c·step. The butterfly and its twiddles are chosen once per (stage, j) and the innermost
// loop walks the batch, so a 2-D column pass (stride n, step 1) streams whole contiguous rows with constant
// twiddles, and a row pass (stride 1, step n) walks n rows with constant twiddles. Nothing is allocated per call.

/** True for 1, 2, 4, 8, …. */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

/** Largest supported length: 2^24 (twiddle indices and n·n stay exact, tables stay small). */
export const MAX_FFT_SIZE = 1 << 24;

/** One radix-4 stage of quarter-span q: W^j, W^2j, W^3j (W = exp(−2πi/4q)) interleaved per j as r1 i1 r2 i2 r3 i3. */
function stageTwiddles(q: number): Float64Array {
  const t = new Float64Array(6 * q);
  const span = 4 * q;
  for (let j = 0; j < q; j++) {
    for (let r = 1; r <= 3; r++) {
      // j·r < 3·2^22 is exact; the angle is reduced before the trig call.
      const a = (-2 * Math.PI * ((j * r) % span)) / span;
      t[6 * j + 2 * r - 2] = Math.cos(a);
      t[6 * j + 2 * r - 1] = Math.sin(a);
    }
  }
  return t;
}

/** Radix-2 stage of span 1 (pairs j, j+1), twiddle-free: the same for dif and dit. */
function radix2(re: Float64Array, im: Float64Array, n: number, offset: number, stride: number, count: number, step: number): void {
  const end = count * step;
  for (let g = 0; g < n; g += 2) {
    const o0 = offset + g * stride;
    const o1 = o0 + stride;
    for (let c = 0; c < end; c += step) {
      const i0 = o0 + c;
      const i1 = o1 + c;
      const ar = re[i0];
      const ai = im[i0];
      const br = re[i1];
      const bi = im[i1];
      re[i0] = ar + br;
      im[i0] = ai + bi;
      re[i1] = ar - br;
      im[i1] = ai - bi;
    }
  }
}

/**
 * Twiddle-free 4-point DFTs (j = 0 of a radix-4 stage, positions o, o+qs, o+2qs, o+3qs) over the batch. dif:
 * natural in, residues r = 0…3 out at positions 0, 2, 1, 3 (bit-reversed); dit: read from positions 0, 2, 1, 3,
 * natural out.
 */
function dft4(re: Float64Array, im: Float64Array, o: number, qs: number, end: number, step: number, dit: boolean): void {
  const p1 = o + (dit ? 2 * qs : qs); // x1 is read here and y2 written
  const p2 = o + (dit ? qs : 2 * qs); // x2 is read here and y1 written
  const p3 = o + 3 * qs;
  for (let c = 0; c < end; c += step) {
    const i0 = o + c;
    const i1 = p1 + c;
    const i2 = p2 + c;
    const i3 = p3 + c;
    const x0r = re[i0];
    const x0i = im[i0];
    const x1r = re[i1];
    const x1i = im[i1];
    const x2r = re[i2];
    const x2i = im[i2];
    const x3r = re[i3];
    const x3i = im[i3];
    const a0r = x0r + x2r;
    const a0i = x0i + x2i;
    const a1r = x0r - x2r;
    const a1i = x0i - x2i;
    const b0r = x1r + x3r;
    const b0i = x1i + x3i;
    const b1r = x1r - x3r;
    const b1i = x1i - x3i;
    re[i0] = a0r + b0r;
    im[i0] = a0i + b0i;
    re[i1] = a0r - b0r; // y2
    im[i1] = a0i - b0i;
    re[i2] = a1r + b1i; // y1 = (x0 − x2) − i(x1 − x3)
    im[i2] = a1i - b1r;
    re[i3] = a1r - b1i; // y3 = (x0 − x2) + i(x1 − x3)
    im[i3] = a1i + b1r;
  }
}

/**
 * One radix-4 stage of quarter-span q over a batch: two radix-2 stages merged. With x0…x3 the elements j, j+q,
 * j+2q, j+3q of a group of 4q and W = exp(−2πi/4q):
 *   dif (half-spans 2q then q): j ← x0+x1+x2+x3, j+q ← (x0−x1+x2−x3)·W^2j, j+2q ← ((x0−x2) − i(x1−x3))·W^j,
 *       j+3q ← ((x0−x2) + i(x1−x3))·W^3j;
 *   dit (half-spans q then 2q), its inverse ordering: with v1 = W^2j·x1, v2 = W^j·x2, v3 = W^3j·x3,
 *       j ← x0+v1+v2+v3, j+q ← (x0−v1) − i(v2−v3), j+2q ← x0+v1−v2−v3, j+3q ← (x0−v1) + i(v2−v3).
 */
function radix4(re: Float64Array, im: Float64Array, n: number, q: number, tw: Float64Array, offset: number, stride: number, count: number, step: number, dit: boolean): void {
  const qs = q * stride;
  const end = count * step;
  for (let g = 0; g < n; g += 4 * q) {
    dft4(re, im, offset + g * stride, qs, end, step, dit); // j = 0: all twiddles are 1
    for (let j = 1; j < q; j++) {
      const t = 6 * j;
      const w1r = tw[t];
      const w1i = tw[t + 1];
      const w2r = tw[t + 2];
      const w2i = tw[t + 3];
      const w3r = tw[t + 4];
      const w3i = tw[t + 5];
      const o0 = offset + (g + j) * stride;
      const o1 = o0 + qs;
      const o2 = o1 + qs;
      const o3 = o2 + qs;
      if (dit) {
        for (let c = 0; c < end; c += step) {
          const i0 = o0 + c;
          const i1 = o1 + c;
          const i2 = o2 + c;
          const i3 = o3 + c;
          const x0r = re[i0];
          const x0i = im[i0];
          const x1r = re[i1];
          const x1i = im[i1];
          const x2r = re[i2];
          const x2i = im[i2];
          const x3r = re[i3];
          const x3i = im[i3];
          const v1r = x1r * w2r - x1i * w2i;
          const v1i = x1r * w2i + x1i * w2r;
          const v2r = x2r * w1r - x2i * w1i;
          const v2i = x2r * w1i + x2i * w1r;
          const v3r = x3r * w3r - x3i * w3i;
          const v3i = x3r * w3i + x3i * w3r;
          const s0r = x0r + v1r;
          const s0i = x0i + v1i;
          const d0r = x0r - v1r;
          const d0i = x0i - v1i;
          const s1r = v2r + v3r;
          const s1i = v2i + v3i;
          const d1r = v2r - v3r;
          const d1i = v2i - v3i;
          re[i0] = s0r + s1r;
          im[i0] = s0i + s1i;
          re[i2] = s0r - s1r;
          im[i2] = s0i - s1i;
          re[i1] = d0r + d1i;
          im[i1] = d0i - d1r;
          re[i3] = d0r - d1i;
          im[i3] = d0i + d1r;
        }
        continue;
      }
      for (let c = 0; c < end; c += step) {
        const i0 = o0 + c;
        const i1 = o1 + c;
        const i2 = o2 + c;
        const i3 = o3 + c;
        const x0r = re[i0];
        const x0i = im[i0];
        const x1r = re[i1];
        const x1i = im[i1];
        const x2r = re[i2];
        const x2i = im[i2];
        const x3r = re[i3];
        const x3i = im[i3];
        const a0r = x0r + x2r;
        const a0i = x0i + x2i;
        const a1r = x0r - x2r;
        const a1i = x0i - x2i;
        const b0r = x1r + x3r;
        const b0i = x1i + x3i;
        const b1r = x1r - x3r;
        const b1i = x1i - x3i;
        re[i0] = a0r + b0r;
        im[i0] = a0i + b0i;
        const y2r = a0r - b0r;
        const y2i = a0i - b0i;
        re[i1] = y2r * w2r - y2i * w2i;
        im[i1] = y2r * w2i + y2i * w2r;
        const y1r = a1r + b1i;
        const y1i = a1i - b1r;
        re[i2] = y1r * w1r - y1i * w1i;
        im[i2] = y1r * w1i + y1i * w1r;
        const y3r = a1r - b1i;
        const y3i = a1i + b1r;
        re[i3] = y3r * w3r - y3i * w3i;
        im[i3] = y3r * w3i + y3i * w3r;
      }
    }
  }
}

/** Swaps sequence positions j ↔ rev[j] (an involution) across a batch. */
function bitReverse(re: Float64Array, im: Float64Array, rev: Uint32Array, offset: number, stride: number, count: number, step: number): void {
  const end = count * step;
  for (let j = 0; j < rev.length; j++) {
    const k = rev[j];
    if (k <= j) continue;
    const a0 = offset + j * stride;
    const b0 = offset + k * stride;
    for (let c = 0; c < end; c += step) {
      const a = a0 + c;
      const b = b0 + c;
      let t = re[a];
      re[a] = re[b];
      re[b] = t;
      t = im[a];
      im[a] = im[b];
      im[b] = t;
    }
  }
}

/**
 * A plan for transforms of one power-of-two length n: per-stage twiddles and the bit-reversal table. Plans hold
 * no scratch, so one plan may serve any number of arrays (and is safe to share).
 */
export class FftPlan {
  readonly n: number;
  /** rev[j]: j with its log2(n) bits reversed; the order dif() leaves its output in. */
  readonly bitReversal: Uint32Array;
  /** Quarter-spans of the radix-4 stages, largest first (the dif order; dit runs them smallest first). */
  private readonly quarters: number[] = [];
  private readonly twiddles: Float64Array[] = [];
  /** log2(n) odd: one twiddle-free radix-2 stage of span 1 (last in dif, first in dit). */
  private readonly oddStage: boolean;

  constructor(n: number) {
    if (!isPowerOfTwo(n) || n > MAX_FFT_SIZE) throw new RangeError(`FFT size must be a power of two ≤ 2^24 (got ${n})`);
    this.n = n;
    let bits = 0;
    while (1 << bits < n) bits++;
    this.oddStage = (bits & 1) === 1;
    for (let q = n >> 2; q >= 1; q >>= 2) {
      this.quarters.push(q);
      this.twiddles.push(stageTwiddles(q));
    }
    this.bitReversal = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >>> b) & 1) << (bits - 1 - b);
      this.bitReversal[i] = r;
    }
  }

  /**
   * Forward transforms of a batch, natural order in, bit-reversed order out: element j of sequence c is at
   * offset + j·stride + c·step; afterwards position j holds frequency bitReversal[j]. `inverse` transforms with
   * exp(+2πi·jk/n) instead (same ordering).
   */
  dif(re: Float64Array, im: Float64Array, offset = 0, stride = 1, count = 1, step = 1, inverse = false): void {
    const x = inverse ? im : re;
    const y = inverse ? re : im;
    const n = this.n;
    const st = count === 1 ? 1 : step;
    for (let s = 0; s < this.quarters.length; s++) radix4(x, y, n, this.quarters[s], this.twiddles[s], offset, stride, count, st, false);
    if (this.oddStage) radix2(x, y, n, offset, stride, count, st);
  }

  /** The counterpart of dif(): bit-reversed order in (position j holds element bitReversal[j]), natural order out. */
  dit(re: Float64Array, im: Float64Array, offset = 0, stride = 1, count = 1, step = 1, inverse = false): void {
    const x = inverse ? im : re;
    const y = inverse ? re : im;
    const n = this.n;
    const st = count === 1 ? 1 : step;
    if (this.oddStage) radix2(x, y, n, offset, stride, count, st);
    for (let s = this.quarters.length - 1; s >= 0; s--) radix4(x, y, n, this.quarters[s], this.twiddles[s], offset, stride, count, st, true);
  }

  /** Natural-order transforms of a batch (layout as dif()). */
  transformBatch(re: Float64Array, im: Float64Array, offset: number, stride: number, count: number, step: number, inverse = false): void {
    this.dif(re, im, offset, stride, count, step, inverse);
    bitReverse(re, im, this.bitReversal, offset, stride, count, count === 1 ? 1 : step);
  }

  /**
   * In-place 1-D transform of the n elements re/im[offset + j·stride], j = 0 … n−1, natural order.
   * `inverse` uses exp(+2πi·jk/n) and does not divide by n.
   */
  transform(re: Float64Array, im: Float64Array, offset = 0, stride = 1, inverse = false): void {
    this.transformBatch(re, im, offset, stride, 1, 1, inverse);
  }

  /** In-place 2-D transform of an n×n row-major array, natural order (numpy.fft.fft2 / ifft2 without 1/n²). */
  transform2d(re: Float64Array, im: Float64Array, inverse = false): void {
    this.dif2d(re, im, inverse);
    const n = this.n;
    bitReverse(re, im, this.bitReversal, 0, n, n, 1); // whole rows
    bitReverse(re, im, this.bitReversal, 0, 1, n, n); // within rows
  }

  /**
   * The 2-D transform of an n×n array without the final permutation: afterwards index a·n + b holds frequency
   * (bitReversal[a], bitReversal[b]). For pointwise work in frequency space (a modulus constraint, a
   * convolution) followed by dit2d, which takes this layout back to natural order.
   */
  dif2d(re: Float64Array, im: Float64Array, inverse = false): void {
    this.checkSquare(re, im);
    const n = this.n;
    this.dif(re, im, 0, n, n, 1, inverse); // columns: whole rows per butterfly
    this.dif(re, im, 0, 1, n, n, inverse); // rows
  }

  /** The counterpart of dif2d: index a·n + b holds element (bitReversal[a], bitReversal[b]); natural order out. */
  dit2d(re: Float64Array, im: Float64Array, inverse = false): void {
    this.checkSquare(re, im);
    const n = this.n;
    this.dit(re, im, 0, n, n, 1, inverse);
    this.dit(re, im, 0, 1, n, n, inverse);
  }

  private checkSquare(re: Float64Array, im: Float64Array): void {
    const nn = this.n * this.n;
    if (re.length < nn || im.length < nn) throw new RangeError(`2-D FFT of size ${this.n} needs ${nn} elements`);
  }
}
