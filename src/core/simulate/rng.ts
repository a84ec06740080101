// Seeded, reproducible random numbers for the study simulator: xoshiro128** (Blackman & Vigna) seeded
// through splitmix32 from a seed plus any number of "stream" keys, so independent parts of the simulation
// (positions, object, the noise of each pattern at each dose, subsampling, grouping) draw from independent,
// individually reproducible streams. Pure arithmetic on 32-bit integers: the same seed gives the same
// numbers on every platform.

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** splitmix32 finaliser: a well-mixed 32-bit function of a 32-bit input. */
function mix32(a: number): number {
  let t = (a + 0x9e3779b9) | 0;
  t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
  t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
  return (t ^ (t >>> 15)) >>> 0;
}

/** Folds one 32-bit word into a running hash (order-sensitive). */
function fold(h: number, word: number): number {
  return mix32((Math.imul(h ^ (word >>> 0), 0x85ebca6b) + 0x6a09e667) | 0);
}

/** A stream key: integers (any safe integer, also negative), finite floats, or strings. */
export type StreamKey = number | string;

function foldKey(h: number, key: StreamKey): number {
  if (typeof key === 'string') {
    h = fold(h, 0x5354524e ^ key.length); // 'STRN'
    for (let i = 0; i < key.length; i++) h = fold(h, key.charCodeAt(i));
    return h;
  }
  if (!Number.isFinite(key)) throw new Error(`random stream key must be finite (got ${key})`);
  if (Number.isSafeInteger(key)) {
    const neg = key < 0 ? 1 : 0;
    const abs = Math.abs(key);
    h = fold(h, 0x494e5447 ^ neg); // 'INTG'
    h = fold(h, abs % TWO_POW_32);
    return fold(h, Math.floor(abs / TWO_POW_32));
  }
  // Non-integer numbers: hash their IEEE-754 bits.
  const f = new Float64Array([key]);
  const w = new Uint32Array(f.buffer);
  h = fold(h, 0x464c5431); // 'FLT1'
  h = fold(h, w[0]);
  return fold(h, w[1]);
}

/** log Γ(x) for x ≥ 1 (Stirling series with upward recursion below 7; as in NumPy's random_loggam). */
export function logGamma(x: number): number {
  if (x === 1 || x === 2) return 0;
  const a = [
    8.333333333333333e-2, -2.777777777777778e-3, 7.936507936507937e-4, -5.952380952380952e-4,
    8.417508417508418e-4, -1.917526917526918e-3, 6.410256410256410e-3, -2.955065359477124e-2,
    1.796443723688307e-1, -1.3924322169059,
  ];
  const n = x < 7 ? Math.floor(7 - x) : 0;
  let x0 = x + n;
  const x2 = (1 / x0) * (1 / x0);
  let gl0 = a[9];
  for (let k = 8; k >= 0; k--) gl0 = gl0 * x2 + a[k];
  let gl = gl0 / x0 + 0.5 * 1.8378770664093453 + (x0 - 0.5) * Math.log(x0) - x0;
  for (let k = 1; k <= n; k++) {
    gl -= Math.log(x0 - 1);
    x0 -= 1;
  }
  return gl;
}

/** Below this mean, Poisson variates come from Knuth's multiplication method; above it from PTRS. */
export const POISSON_PTRS_THRESHOLD = 10;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | undefined;

  /** A generator for `seed` and optional stream keys; equal arguments give equal sequences. */
  constructor(seed: number, ...stream: StreamKey[]) {
    if (!Number.isSafeInteger(seed)) throw new Error(`random seed must be an integer (got ${seed})`);
    let h = foldKey(0x243f6a88, seed);
    for (const k of stream) h = foldKey(h, k);
    // splitmix32 sequence from the hash fills the state; xoshiro needs a state that is not all zero.
    let x = h;
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      return mix32(x);
    };
    this.s0 = next() | 0;
    this.s1 = next() | 0;
    this.s2 = next() | 0;
    this.s3 = next() | 0;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32-bit output, as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const m = Math.imul(s1, 5);
    const result = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.s1 = s1 ^ n2;
    this.s0 = s0 ^ n3;
    this.s2 = n2 ^ t;
    this.s3 = (n3 << 11) | (n3 >>> 21);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / TWO_POW_53;
  }

  /** Uniform double in [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n), unbiased (rejection), for 1 ≤ n ≤ 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new Error(`int(n) needs an integer 1 ≤ n ≤ 2^32 (got ${n})`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal variate (Marsaglia's polar method; the second variate of a pair is kept). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    for (;;) {
      const u = 2 * this.uniform() - 1;
      const v = 2 * this.uniform() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spareNormal = v * f;
        return u * f;
      }
    }
  }

  /**
   * Poisson variate with mean `lambda` ≥ 0: Knuth's multiplication method below
   * POISSON_PTRS_THRESHOLD, Hörmann's transformed rejection with squeeze (PTRS, 1993) above it.
   */
  poisson(lambda: number): number {
    if (!(lambda >= 0) || lambda === Infinity) throw new Error(`Poisson mean must be finite and ≥ 0 (got ${lambda})`);
    if (lambda === 0) return 0;
    if (lambda < POISSON_PTRS_THRESHOLD) {
      const limit = Math.exp(-lambda);
      let k = 0;
      let p = this.uniform();
      while (p > limit) {
        k++;
        p *= this.uniform();
      }
      return k;
    }
    return this.poissonPtrs(lambda);
  }

  private poissonPtrs(lam: number): number {
    const slam = Math.sqrt(lam);
    const loglam = Math.log(lam);
    const b = 0.931 + 2.53 * slam;
    const a = -0.059 + 0.02483 * b;
    const invalpha = 1.1239 + 1.1328 / (b - 3.4);
    const vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const u = this.uniform() - 0.5;
      const v = this.uniform();
      const us = 0.5 - Math.abs(u);
      const k = Math.floor(((2 * a) / us + b) * u + lam + 0.43);
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lam + k * loglam - logGamma(k + 1)) return k;
    }
  }

  /** Shuffles `arr` in place (Fisher–Yates) and returns it. */
  shuffle<E, A extends { length: number; [i: number]: E }>(arr: A): A {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** `k` distinct integers from [0, n), in the order drawn (partial Fisher–Yates). */
  choice(n: number, k: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || !Number.isInteger(k) || k < 0) throw new Error(`choice(n, k) needs non-negative integers (got ${n}, ${k})`);
    if (k > n) throw new Error(`cannot choose ${k} distinct items from ${n} without replacement`);
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
    }
    return idx.slice(0, k);
  }

  /** `k` distinct elements of `items`, in the order drawn. */
  choose<T>(items: readonly T[], k: number): T[] {
    return Array.from(this.choice(items.length, k), (i) => items[i]);
  }
}
