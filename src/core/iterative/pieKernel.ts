// The PIE pattern update's owner on the JavaScript side: one shared WebAssembly memory holding the object and probe
// (float32 split planes), the FFT tables, the footprints, the measured amplitudes and one scratch context per thread,
// and the compiled kernel (pie.wat: ePIE/rPIE with SIMD over four float32 lanes). The engine (engine.ts) keeps the
// float64 state between iterations (momentum, snapshots, outputs) and loads it here for each iteration's updates;
// a second thread (iterativeThread.ts) instantiates the same module on the same memory with its own context.
import pieWasm from './pie.wat';
import type { Footprints } from './footprint';
import type { ComplexPlanes } from './types';

/** The object step's and probe step's rule for one iteration. */
export interface UpdateRule {
  /** rPIE weights (1 / ((1 − α)|P|² + α max|P|²)) instead of ePIE's (α / max|P|²). */
  rpie: boolean;
  alpha: number;
  beta: number;
  /** Update the probe too. */
  refine: boolean;
  /** Factor on the object step (annealing; engine.ts annealFactor); default 1. */
  objectStep?: number;
}

/** Context block fields (pie.wat): i32 pointers by index, then f32 parameters and f64 sums at byte offsets. */
const CTX = {
  n: 0, width: 1, oRe: 2, oIm: 3, pRe: 4, pIm: 5, patchRe: 6, patchIm: 7, waveRe: 8, waveIm: 9, stepRe: 10, stepIm: 11,
  twRe: 12, twIm: 13, meas: 14, base: 15, weights: 16, list: 17, flags: 18,
  alphaByte: 80, betaByte: 84, objectStepByte: 88, maxP2Byte: 92, errByte: 96, energyByte: 104, bytes: 128,
} as const;

const PAGE = 65536;
/** wasm32's limit: 65,536 pages = 4 GiB. */
const MAX_PAGES = 65536;

interface Exports {
  update(ctx: number, p: number, amp: number): number;
  run(ctx: number, count: number, amp: number, indexed: number): void;
}

/** What a second thread needs to run updates on the same memory (structured-cloned to it). */
export interface PieThreadData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctx: number;
}

export class PieKernel {
  readonly n: number;
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  /** Context block of each thread (index 0: the calling thread). */
  readonly contexts: number[];
  private readonly exports: Exports;
  private readonly pixels: number;
  private readonly oRe: number;
  private readonly oIm: number;
  private readonly pRe: number;
  private readonly pIm: number;
  private readonly lists: number[];
  /** A reader's chunk of patterns (READ_CHUNK × N² float32). */
  private readonly chunk: number;
  private readonly chunkPatterns: number;
  /** Where a Float32Array stack of all patterns is copied (grown on demand), and the stack it holds. */
  private readonly stack: number;
  private stackBytes = 0;
  private stackSource: Float32Array | undefined;
  private readonly maxBytes: number;

  constructor(n: number, width: number, height: number, fp: Footprints, threads: number, chunkPatterns: number) {
    if (!(n >= 4 && (n & (n - 1)) === 0)) throw new Error(`the PIE kernel needs N a power of two ≥ 4 (got ${n})`);
    this.n = n;
    this.pixels = width * height;
    this.chunkPatterns = chunkPatterns;
    const n2 = n * n;
    let top = 0;
    const take = (bytes: number): number => {
      const at = top;
      top += Math.ceil(bytes / 16) * 16;
      return at;
    };
    this.contexts = [];
    for (let t = 0; t < threads; t++) this.contexts.push(take(CTX.bytes));
    this.oRe = take(4 * this.pixels);
    this.oIm = take(4 * this.pixels);
    this.pRe = take(4 * n2);
    this.pIm = take(4 * n2);
    const twRe = take(4 * n);
    const twIm = take(4 * n);
    const meas = take(4 * n2);
    const base = take(4 * fp.count);
    const weights = take(16 * fp.count);
    this.lists = [];
    const scratch: number[][] = [];
    for (let t = 0; t < threads; t++) {
      this.lists.push(take(4 * fp.count));
      // patch re/im, wave re/im, and the step planes with their zero border ((N+2)²)
      scratch.push([take(4 * n2), take(4 * n2), take(4 * n2), take(4 * n2), take(4 * (n + 2) * (n + 2)), take(4 * (n + 2) * (n + 2))]);
    }
    this.chunk = take(4 * n2 * chunkPatterns);
    this.stack = top;
    if (Math.ceil(top / PAGE) + 1 > MAX_PAGES) {
      throw new Error(`a ${width}×${height} object with ${n}×${n} patterns needs ${(top / 2 ** 30).toFixed(1)} GiB of working memory, more than the reconstruction engine's 4 GiB; use smaller patterns or a smaller object grid`);
    }
    // A shared memory reserves its maximum up front: room for every pattern as a stack, within wasm32's 4 GiB
    // (pages are only committed as the stack is copied in).
    const maximum = Math.min(MAX_PAGES, Math.ceil((top + 4 * n2 * fp.count) / PAGE) + 1);
    this.maxBytes = maximum * PAGE;
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(top / PAGE) + 1, maximum, shared: true });
    this.module = new WebAssembly.Module(pieWasm);
    this.exports = new WebAssembly.Instance(this.module, { env: { memory: this.memory } }).exports as unknown as Exports;

    const buf = this.memory.buffer;
    // Twiddles of the radix-2 stage of half span h: W_2h^j = exp(−2πi·j/2h), j < h, at n − 2h + j.
    const tr = new Float32Array(buf, twRe, n);
    const ti = new Float32Array(buf, twIm, n);
    for (let h = n >> 1; h >= 1; h >>= 1) {
      for (let j = 0; j < h; j++) {
        const a = (-Math.PI * j) / h;
        tr[n - 2 * h + j] = Math.cos(a);
        ti[n - 2 * h + j] = Math.sin(a);
      }
    }
    // The spectrum after the forward passes: position (q, p) holds row frequency rev(p) and column frequency
    // rev(q); the pattern stores frequency f fftshifted at (f + N/2) mod N. Byte offsets within a pattern.
    const bits = Math.log2(n);
    const shifted = new Int32Array(n);
    for (let a = 0; a < n; a++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((a >> b) & 1) << (bits - 1 - b);
      shifted[a] = (r + (n >> 1)) & (n - 1);
    }
    const m = new Int32Array(buf, meas, n2);
    for (let q = 0; q < n; q++) for (let p = 0; p < n; p++) m[q * n + p] = 4 * (shifted[p] * n + shifted[q]);
    new Int32Array(buf, base, fp.count).set(fp.base);
    const w = new Float32Array(buf, weights, 4 * fp.count);
    for (let k = 0; k < 4 * fp.count; k++) w[k] = fp.weights[k];
    for (let t = 0; t < threads; t++) {
      const c = new Int32Array(buf, this.contexts[t], 19);
      const [patchRe, patchIm, waveRe, waveIm, stepRe, stepIm] = scratch[t];
      c.set([n, width, this.oRe, this.oIm, this.pRe, this.pIm, patchRe, patchIm, waveRe, waveIm, stepRe, stepIm, twRe, twIm, meas, base, weights, this.lists[t], 0]);
    }
  }

  /** Copies the object (float64 planes) in; values are rounded to float32. */
  loadObject(o: ComplexPlanes): void {
    new Float32Array(this.memory.buffer, this.oRe, this.pixels).set(o.re);
    new Float32Array(this.memory.buffer, this.oIm, this.pixels).set(o.im);
  }

  storeObject(o: ComplexPlanes): void {
    o.re.set(new Float32Array(this.memory.buffer, this.oRe, this.pixels));
    o.im.set(new Float32Array(this.memory.buffer, this.oIm, this.pixels));
  }

  loadProbe(p: ComplexPlanes): void {
    new Float32Array(this.memory.buffer, this.pRe, this.n * this.n).set(p.re);
    new Float32Array(this.memory.buffer, this.pIm, this.n * this.n).set(p.im);
  }

  storeProbe(p: ComplexPlanes): void {
    p.re.set(new Float32Array(this.memory.buffer, this.pRe, this.n * this.n));
    p.im.set(new Float32Array(this.memory.buffer, this.pIm, this.n * this.n));
  }

  /** Sets thread t's rule and max|P|², and zeroes its error and energy sums. */
  prepare(t: number, rule: UpdateRule, maxProbe2: number): void {
    const ctx = this.contexts[t];
    const buf = this.memory.buffer;
    new Int32Array(buf, ctx, 19)[CTX.flags] = (rule.rpie ? 1 : 0) | (rule.refine ? 2 : 0);
    const f = new Float32Array(buf, ctx + CTX.alphaByte, 4);
    f[0] = rule.alpha;
    f[1] = rule.beta;
    f[2] = rule.objectStep ?? 1;
    f[3] = maxProbe2;
    new Float64Array(buf, ctx + CTX.errByte, 2).fill(0);
  }

  /** Puts thread t's list of pattern indices in place (before run, or before signalling the second thread). */
  setList(t: number, list: ArrayLike<number>, count: number): void {
    const dst = new Int32Array(this.memory.buffer, this.lists[t], count);
    for (let q = 0; q < count; q++) dst[q] = list[q];
  }

  /** Runs thread t's list on this thread: amplitudes from the stack (indexed by pattern) or the chunk (in list order). */
  run(t: number, count: number, from: 'stack' | 'chunk'): void {
    this.exports.run(this.contexts[t], count, from === 'stack' ? this.stack : this.chunk, from === 'stack' ? 1 : 0);
  }

  /** Thread t's error and energy sums since prepare(), and max|P|² (changed by refining updates). */
  results(t: number): { err: number; energy: number; maxProbe2: number } {
    const ctx = this.contexts[t];
    const sums = new Float64Array(this.memory.buffer, ctx + CTX.errByte, 2);
    return { err: sums[0], energy: sums[1], maxProbe2: new Float32Array(this.memory.buffer, ctx + CTX.maxP2Byte, 1)[0] };
  }

  /** Byte offset of the stack region and of the chunk region (for the second thread's run). */
  amplitudePointer(from: 'stack' | 'chunk'): number {
    return from === 'stack' ? this.stack : this.chunk;
  }

  /**
   * Copies all patterns' amplitudes into the memory (growing it as needed). The copy is kept for the same array
   * object: a caller that changes a stack's values between iterate() calls passes a new array.
   */
  useStack(stack: Float32Array): void {
    if (this.stackSource === stack) return;
    const need = stack.byteLength;
    if (need > this.stackBytes) {
      const have = this.memory.buffer.byteLength;
      const want = this.stack + need;
      if (want > have) {
        if (want > this.maxBytes) throw new Error(`the amplitude stack (${(need / 2 ** 30).toFixed(2)} GiB of float32) does not fit the reconstruction engine's memory (4 GiB in all); read the patterns from the file instead of a preloaded stack`);
        this.memory.grow(Math.ceil((want - have) / PAGE));
      }
      this.stackBytes = need;
    }
    new Float32Array(this.memory.buffer, this.stack, stack.length).set(stack);
    this.stackSource = stack;
  }

  /** The chunk region as a Float32Array, for a reader to fill (patterns in list order). */
  chunkView(): Float32Array {
    return new Float32Array(this.memory.buffer, this.chunk, this.chunkPatterns * this.n * this.n);
  }

  /** The second thread's share (its context is contexts[1]). */
  threadData(): PieThreadData {
    if (this.contexts.length < 2) throw new Error('this kernel was built for one thread');
    return { module: this.module, memory: this.memory, ctx: this.contexts[1] };
  }
}

/** Instantiates the kernel on another thread's side of the same memory. */
export function instantiateThreadKernel(data: PieThreadData): Exports {
  return new WebAssembly.Instance(data.module, { env: { memory: data.memory } }).exports as unknown as Exports;
}
