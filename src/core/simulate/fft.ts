// Radix-2 complex FFT on split (re, im) Float64Array pairs, in place, for power-of-two sizes, and the
// centring shift. A plan holds the twiddle factors and bit-reversal table of one size, so transforming many
// patterns allocates nothing. Forward transform: X[k] = Σ_n x[n]·exp(−2πi·kn/N) (unnormalised, as numpy.fft).

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

export class FftPlan {
  readonly n: number;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;

  constructor(n: number) {
    if (!isPowerOfTwo(n) || n > 1 << 24) throw new Error(`FFT size must be a power of two ≤ 2^24 (got ${n})`);
    this.n = n;
    const half = n >> 1;
    this.cos = new Float64Array(Math.max(1, half));
    this.sin = new Float64Array(Math.max(1, half));
    for (let k = 0; k < half; k++) {
      // Direct evaluation (no recurrence) keeps every twiddle accurate to the last bit or so.
      const a = (-2 * Math.PI * k) / n;
      this.cos[k] = Math.cos(a);
      this.sin[k] = Math.sin(a);
    }
    this.rev = new Uint32Array(n);
    let bits = 0;
    while (1 << bits < n) bits++;
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >>> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
  }

  /**
   * In-place 1-D transform of the n elements re/im[offset + j·stride], j = 0..n−1.
   * `inverse` uses exp(+2πi·kn/N) and does not divide by n.
   */
  transform(re: Float64Array, im: Float64Array, offset = 0, stride = 1, inverse = false): void {
    const n = this.n;
    const rev = this.rev;
    for (let i = 0; i < n; i++) {
      const j = rev[i];
      if (j > i) {
        const a = offset + i * stride;
        const b = offset + j * stride;
        let t = re[a];
        re[a] = re[b];
        re[b] = t;
        t = im[a];
        im[a] = im[b];
        im[b] = t;
      }
    }
    const cos = this.cos;
    const sin = this.sin;
    const sgn = inverse ? -1 : 1;
    for (let size = 2; size <= n; size <<= 1) {
      const halfSize = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < halfSize; k++) {
          const wr = cos[k * step];
          const wi = sgn * sin[k * step];
          const a = offset + (start + k) * stride;
          const b = a + halfSize * stride;
          const br = re[b];
          const bi = im[b];
          const tr = br * wr - bi * wi;
          const ti = br * wi + bi * wr;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
      }
    }
  }

  /** In-place 2-D transform of an n×n row-major array (rows, then columns). */
  transform2d(re: Float64Array, im: Float64Array, inverse = false): void {
    const n = this.n;
    if (re.length < n * n || im.length < n * n) throw new Error(`2-D FFT of size ${n} needs ${n * n} elements`);
    for (let r = 0; r < n; r++) this.transform(re, im, r * n, 1, inverse);
    for (let c = 0; c < n; c++) this.transform(re, im, c, n, inverse);
  }
}

/** numpy.fft.fftshift of an n×n row-major array (`out` must not alias `src`); works for odd n too. */
export function fftshift2d<T extends Float32Array | Float64Array>(src: T, n: number, out: T): T {
  const h = Math.floor(n / 2);
  for (let r = 0; r < n; r++) {
    const rr = ((r + h) % n) * n;
    const base = r * n;
    for (let c = 0; c < n; c++) out[rr + ((c + h) % n)] = src[base + c];
  }
  return out;
}

/** Index of the fftshift'ed position of unshifted pixel (r, c) in an n×n array. */
export function shiftedIndex(r: number, c: number, n: number): number {
  const h = Math.floor(n / 2);
  return ((r + h) % n) * n + ((c + h) % n);
}

/** Direct O(n⁴) 2-D DFT, for tests and tiny sizes. */
export function dft2d(re: Float64Array, im: Float64Array, n: number, inverse = false): { re: Float64Array; im: Float64Array } {
  const outRe = new Float64Array(n * n);
  const outIm = new Float64Array(n * n);
  const sgn = inverse ? 1 : -1;
  for (let u = 0; u < n; u++) {
    for (let v = 0; v < n; v++) {
      let sr = 0;
      let si = 0;
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) {
          // Reduce the phase index modulo n first: exact integers, so the angle stays accurate.
          const a = (sgn * 2 * Math.PI * ((u * y + v * x) % n)) / n;
          const c = Math.cos(a);
          const s = Math.sin(a);
          const xr = re[y * n + x];
          const xi = im[y * n + x];
          sr += xr * c - xi * s;
          si += xr * s + xi * c;
        }
      }
      outRe[u * n + v] = sr;
      outIm[u * n + v] = si;
    }
  }
  return { re: outRe, im: outIm };
}
