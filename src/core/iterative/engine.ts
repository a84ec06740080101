// ePIE (Maiden & Rodenburg 2009) and rPIE (Maiden, Johnson & Li 2017) for far-field ptychography with known
// scan positions: the Phase F iterative baseline. One pattern update:
//   ψ = P · B_p O                     (B_p: bilinear patch at position p, footprint.ts)
//   ψ' = F⁻¹[ N·A · F ψ / |F ψ| ]     (the simulator's fftshift convention)
//   O += B_pᵀ [ conj(P) (ψ' − ψ) · w_O ],   P += conj(B_p O) (ψ' − ψ) · w_P
// ePIE:  w_O = α / max|P|²,   w_P = β / max|B_p O|²
// rPIE:  w_O = 1 / ((1 − α)|P|² + α max|P|²),   w_P = 1 / ((1 − β)|B_p O|² + β max|B_p O|²)
// Both updates use the values from before the update (pie.wat, the compiled kernel). Optional heavy-ball momentum once per
// iteration (fixed probe only; applyMomentum). Patterns are visited in a random order per iteration, drawn
// from Rng(seed, 'iterative-order', iteration) — a pure function of the seed and the iteration number, so a
// snapshot of {object, probe, iteration, momentum velocity} resumes bit-identically. The state between iterations
// is float64 split planes; each iteration's updates run in the compiled SIMD kernel on float32 copies of them
// (pieKernel.ts, pie.wat), so the object is float32-exact after every iteration and an update allocates nothing.
//
// Global scale: the data are normalised amplitudes (√counts × an unknown loader scale) while the probe comes in
// its own units. Before the first update the probe is scaled once so that a unit object reproduces the data's
// mean energy: Σ|FFT2(P·1)|²/N² = Σ|P|² (Parseval) = mean_patterns Σ A². The object then comes out in units of
// that probe (a flat object of amplitude 1 would match the mean counts); its absolute scale is not determined
// by ptychography, so the study's scoring mean-scales the amplitude anyway.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isPowerOfTwo } from '../fft';
import { Rng } from '../simulate/rng';
import { footprints, illumination, type Footprints } from './footprint';
import { defaultThreadScript, planStripes, StripeThreads } from './parallel';
import { PieKernel, type UpdateRule } from './pieKernel';
import type {
  Algorithm, AmplitudeReader, AmplitudeSource, ComplexImage, ComplexPlanes, IterateOptions, IterationReport,
  ProbeMode, ReconstructionOptions, ReconstructionSnapshot,
} from './types';
import { abortError } from '../abort';

/** Patterns read from an AmplitudeReader per call. */
const READ_CHUNK = 64;
/**
 * rPIE's default α. The paper's 0.1 diverged on the study's data (Poisson noise, sub-pixel random positions,
 * strongly defocused probe: rPIE's per-pixel weights differ from position to position, so the sequential
 * updates are not guaranteed to contract), 0.25 slowly degraded, 0.5 was stable but noisier than ePIE; 0.75
 * beat ePIE there (bench:recon, dose 1e5, 50 iterations: phase r 0.898 vs 0.884, amplitude equal).
 */
const RPIE_ALPHA = 0.75;

/** The object and probe steps an ePIE/rPIE run uses: the ones given, else the algorithm's defaults. */
export function stepSizes(algorithm: 'epie' | 'rpie', alpha?: number, beta?: number): { alpha: number; beta: number } {
  return { alpha: alpha ?? (algorithm === 'rpie' ? RPIE_ALPHA : 1), beta: beta ?? 1 };
}

const ALGORITHMS: readonly Algorithm[] = ['epie', 'rpie'];
const PROBE_MODES: readonly ProbeMode[] = ['fixed', 'refine'];

const cancelled = (): Error => abortError('The reconstruction was cancelled.');

function planes(width: number, height: number): ComplexPlanes {
  return { width, height, re: new Float64Array(width * height), im: new Float64Array(width * height) };
}

export class Reconstruction {
  readonly n: number;
  readonly patterns: number;
  readonly algorithm: Algorithm;
  readonly probeMode: ProbeMode;
  readonly alpha: number;
  readonly beta: number;
  readonly probeStart: number;
  readonly momentum: number;
  readonly friction: number;
  readonly anneal: number;
  readonly plannedIterations: number | undefined;
  readonly seed: number;
  /** The object estimate (objectShape, initialised to 1). Live: changes with every update. */
  readonly object: ComplexPlanes;
  /** The probe estimate (N×N). Live. */
  readonly probe: ComplexPlanes;

  private iterationCount = 0;
  private scale: number | null = null;
  private readonly fp: Footprints;
  private readonly kernel: PieKernel;
  /** max|P|² of the current probe (kept up to date by refining updates). */
  private maxProbe2 = 0;
  private readonly order: Int32Array;
  /** Momentum: the object at the start of the iteration, and the velocity (undefined without momentum). */
  private readonly mom: { startRe: Float64Array; startIm: Float64Array; velRe: Float64Array; velIm: Float64Array } | undefined;
  /** Stripes of the object (fixed probe): the visiting order groups them so two threads can share an iteration. */
  private readonly stripes: { stripeOf: Int32Array; stripes: number } | undefined;
  readonly threads: number;
  private readonly threadScript: string | undefined;
  private pool?: StripeThreads;
  private readonly lists: Int32Array[];

  constructor(opts: ReconstructionOptions) {
    const n = opts.n;
    if (!isPowerOfTwo(n) || n < 4 || n > 4096) throw new Error(`N must be a power of two between 4 and 4096 (got ${n})`);
    this.n = n;
    const { probe } = opts;
    if (!probe || probe.width !== n || probe.height !== n) {
      throw new Error(`the probe is ${probe?.height}×${probe?.width} but the patterns are ${n}×${n}: probe and patterns must have the same size N`);
    }
    if (probe.data.length !== 2 * n * n) throw new Error(`the probe holds ${probe.data.length} numbers; an ${n}×${n} complex probe needs ${2 * n * n}`);
    const { width, height } = opts.objectShape ?? ({} as { width: number; height: number });
    if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < n + 1 || height < n + 1) {
      throw new Error(`objectShape must be whole numbers of pixels, each side > N = ${n} (got ${height}×${width})`);
    }
    this.algorithm = opts.algorithm ?? 'epie';
    if (!ALGORITHMS.includes(this.algorithm)) throw new Error(`algorithm must be one of ${ALGORITHMS.join(', ')} (got ${String(opts.algorithm)})`);
    this.probeMode = opts.probeMode ?? 'fixed';
    if (!PROBE_MODES.includes(this.probeMode)) throw new Error(`probeMode must be 'fixed' or 'refine' (got ${String(opts.probeMode)})`);
    const rpie = this.algorithm === 'rpie';
    ({ alpha: this.alpha, beta: this.beta } = stepSizes(this.algorithm, opts.alpha, opts.beta));
    for (const [name, v] of [['alpha', this.alpha], ['beta', this.beta]] as const) {
      if (rpie ? !(v > 0 && v <= 1) : !(v > 0 && v <= 2)) {
        throw new Error(`${name} must be in ${rpie ? '(0, 1] for rPIE (a regularisation weight; 1 = ePIE)' : '(0, 2] for ePIE (a step size)'} (got ${v})`);
      }
    }
    this.probeStart = opts.probeStart ?? 1;
    if (!Number.isSafeInteger(this.probeStart) || this.probeStart < 0) throw new Error(`probeStart must be a whole number ≥ 0 (got ${opts.probeStart})`);
    this.momentum = opts.momentum ?? 0;
    this.friction = opts.friction ?? 0.9;
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`momentum must be in [0, 1] (got ${opts.momentum})`);
    if (!(this.friction >= 0 && this.friction < 1)) throw new Error(`friction must be in [0, 1) (got ${opts.friction})`);
    if (this.momentum > 0 && this.probeMode === 'refine') {
      throw new Error('momentum works with a fixed probe only: with probe refinement it destabilised the reconstruction in tests');
    }
    this.anneal = opts.anneal ?? 0;
    this.plannedIterations = opts.plannedIterations;
    if (!(this.anneal >= 0 && this.anneal < 1)) throw new Error(`anneal must be in [0, 1) (got ${opts.anneal})`);
    if (this.anneal > 0 && !(Number.isSafeInteger(this.plannedIterations) && this.plannedIterations! >= 1)) {
      throw new Error('anneal needs plannedIterations: the schedule runs over the last part of the planned iterations');
    }
    this.seed = opts.seed ?? 0;
    if (!Number.isSafeInteger(this.seed)) throw new Error(`seed must be an integer (got ${opts.seed})`);

    this.fp = footprints(opts.positions.xs, opts.positions.ys, n, width, height);
    this.patterns = this.fp.count;
    this.threads = opts.threads ?? 1;
    if (!(this.threads === 1 || this.threads === 2)) throw new Error(`threads must be 1 or 2 (got ${opts.threads})`);
    this.stripes = this.probeMode === 'fixed' ? planStripes(this.fp, n, width) : undefined;
    this.lists = this.stripes ? [0, 1, 2, 3].map(() => new Int32Array(this.patterns)) : [];
    this.threadScript = this.threads > 1 && this.stripes ? opts.threadScript ?? defaultThreadScript() : undefined;
    // The kernel first: it refuses a problem too large for its memory with the sizes.
    this.kernel = new PieKernel(n, width, height, this.fp, this.threadScript ? 2 : 1, READ_CHUNK);
    this.object = planes(width, height);
    this.object.re.fill(1);
    this.probe = planes(n, n);
    let energy = 0;
    for (let k = 0; k < n * n; k++) {
      const re = probe.data[2 * k];
      const im = probe.data[2 * k + 1];
      if (!Number.isFinite(re) || !Number.isFinite(im)) throw new Error(`the probe holds a non-finite value at row ${Math.floor(k / n)}, column ${k % n}`);
      this.probe.re[k] = re;
      this.probe.im[k] = im;
      energy += re * re + im * im;
    }
    if (!(energy > 0)) throw new Error('the probe is zero everywhere');
    this.order = new Int32Array(this.patterns);
    if (this.momentum > 0) {
      const size = width * height;
      this.mom = { startRe: new Float64Array(size), startIm: new Float64Array(size), velRe: new Float64Array(size), velIm: new Float64Array(size) };
    }
    if (opts.measuredEnergy !== undefined) this.scaleProbe(opts.measuredEnergy);
    this.maxProbe2 = maxIntensity(this.probe);
  }

  /** Iterations completed so far. */
  get iteration(): number {
    return this.iterationCount;
  }

  /** The factor the initial probe was scaled by (null before the data's energy is known). */
  get probeScale(): number | null {
    return this.scale;
  }

  /**
   * Runs `count` iterations (each visits every pattern once, in a seeded random order) over the measured
   * amplitudes, patterns in the order of the positions. Resolves with one report per iteration.
   */
  async iterate(source: AmplitudeSource, count: number, options: IterateOptions = {}): Promise<IterationReport[]> {
    if (!Number.isSafeInteger(count) || count < 0) throw new Error(`the iteration count must be a whole number ≥ 0 (got ${count})`);
    const stack = source instanceof Float32Array ? source : undefined;
    const n2 = this.n * this.n;
    if (stack) {
      if (stack.length !== this.patterns * n2) {
        const held = stack.length % n2 === 0 ? `${stack.length / n2} patterns of ${this.n}×${this.n}` : `${stack.length} values, not a whole number of ${this.n}×${this.n} patterns`;
        throw new Error(`the amplitude stack holds ${held}; expected ${this.patterns} patterns (one per position) of ${this.n}×${this.n}`);
      }
    } else if (!source || typeof (source as AmplitudeReader).read !== 'function') {
      throw new Error('the amplitude source must be a Float32Array stack or an object with read(indices, out, offset)');
    }
    if (this.scale === null) this.scaleProbe(await this.meanEnergy(source));
    const reports: IterationReport[] = [];
    for (let t = 0; t < count; t++) {
      await nextTurn(); // lets an abort (or other work) in between iterations
      if (options.signal?.aborted) throw cancelled();
      const started = performance.now();
      const rule: UpdateRule = {
        rpie: this.algorithm === 'rpie', alpha: this.alpha, beta: this.beta,
        refine: this.probeMode === 'refine' && this.iterationCount >= this.probeStart,
        objectStep: annealFactor(this.iterationCount, this.anneal, this.plannedIterations),
      };
      const order = this.order;
      for (let i = 0; i < order.length; i++) order[i] = i;
      new Rng(this.seed, 'iterative-order', this.iterationCount).shuffle(order);
      if (this.mom) {
        this.mom.startRe.set(this.object.re);
        this.mom.startIm.set(this.object.im);
      }
      const { kernel } = this;
      kernel.loadObject(this.object);
      kernel.loadProbe(this.probe);
      kernel.prepare(0, rule, this.maxProbe2);
      if (stack) kernel.useStack(stack);
      let twoThreads = false;
      if (this.stripes && !rule.refine) {
        twoThreads = await this.stripeIteration(source, order, rule);
      } else if (stack) {
        kernel.setList(0, order, order.length);
        kernel.run(0, order.length, 'stack');
      } else {
        await this.runChunks(source as AmplitudeReader, order);
      }
      const { err, energy, maxProbe2 } = this.collect(rule, twoThreads);
      kernel.storeObject(this.object);
      if (rule.refine) {
        kernel.storeProbe(this.probe);
        this.maxProbe2 = maxProbe2;
      }
      if (this.mom) this.applyMomentum();
      this.iterationCount++;
      const report: IterationReport = {
        iteration: this.iterationCount,
        mse: err / (this.patterns * n2),
        relativeError: energy > 0 ? err / energy : NaN,
        probeUpdated: rule.refine,
        seconds: (performance.now() - started) / 1000,
      };
      reports.push(report);
      options.onIteration?.(report);
    }
    return reports;
  }

  /**
   * One iteration in the stripe-grouped order (fixed probe): the random order split into four lists by stripe mod 4;
   * lists 0 and 2, then 1 and 3, touch disjoint pixels, so the second of each pair can run on the second thread at
   * the same time as the first (with one thread, or a reader source, they run one after the other: the same result).
   */
  private async stripeIteration(source: AmplitudeSource, order: Int32Array, rule: UpdateRule): Promise<boolean> {
    const { stripeOf } = this.stripes!;
    const lens = [0, 0, 0, 0];
    for (let q = 0; q < order.length; q++) {
      const p = order[q];
      const k = stripeOf[p] % 4;
      this.lists[k][lens[k]++] = p;
    }
    const pool = source instanceof Float32Array ? this.threadPool() : undefined;
    if (pool) this.kernel.prepare(1, rule, this.maxProbe2);
    for (const [mine, theirs] of [[0, 2], [1, 3]] as const) {
      if (pool) {
        pool.start(this.lists[theirs], lens[theirs]);
        try {
          this.kernel.setList(0, this.lists[mine], lens[mine]);
          this.kernel.run(0, lens[mine], 'stack');
        } finally {
          pool.finish();
        }
      } else {
        for (const k of [mine, theirs]) {
          if (source instanceof Float32Array) {
            this.kernel.setList(0, this.lists[k], lens[k]);
            this.kernel.run(0, lens[k], 'stack');
          } else {
            await this.runChunks(source, this.lists[k].subarray(0, lens[k]));
          }
        }
      }
    }
    return pool !== undefined;
  }

  /** Updates the patterns `ids` in order on this thread, reading their amplitudes READ_CHUNK at a time. */
  private async runChunks(source: AmplitudeReader, ids: Int32Array): Promise<void> {
    const chunk = this.kernel.chunkView();
    for (let q = 0; q < ids.length; q += READ_CHUNK) {
      const part = ids.subarray(q, Math.min(ids.length, q + READ_CHUNK));
      await source.read(part, chunk, 0);
      this.kernel.setList(0, part, part.length);
      this.kernel.run(0, part.length, 'chunk');
    }
  }

  /** The iteration's error and energy sums over the threads that ran, and the probe's max|P|² after it. */
  private collect(rule: UpdateRule, twoThreads: boolean): { err: number; energy: number; maxProbe2: number } {
    const mine = this.kernel.results(0);
    const theirs = twoThreads ? this.kernel.results(1) : { err: 0, energy: 0 };
    return { err: mine.err + theirs.err, energy: mine.energy + theirs.energy, maxProbe2: rule.refine ? mine.maxProbe2 : this.maxProbe2 };
  }

  /** The second thread (started on the first iteration that can use it). */
  private threadPool(): StripeThreads | undefined {
    if (!this.threadScript) return undefined;
    this.pool ??= new StripeThreads(this.threadScript, this.kernel);
    return this.pool;
  }

  /** Stops the second thread (if one was started). The reconstruction can go on, on one thread. */
  release(): void {
    this.pool?.close();
    this.pool = undefined;
  }

  /** Whether iterations run on two threads (a fixed probe, an object wide enough for 3 stripes, the thread script found). */
  get parallel(): boolean {
    return this.threadScript !== undefined;
  }

  /**
   * Heavy-ball momentum over whole iterations (after mPIE, Maiden, Johnson & Li 2017): v ← ΔO + η·v,
   * O ← O + γ·v, with ΔO the change the iteration made. It speeds up the slowly converging low spatial
   * frequencies of the phase (on the study's data, phase r 0.88 → 0.98 after 50 iterations).
   */
  private applyMomentum(): void {
    const m = this.mom!;
    const g = this.momentum;
    const eta = this.friction;
    const step = (x: Float64Array, start: Float64Array, vel: Float64Array): void => {
      for (let i = 0; i < x.length; i++) {
        const v = x[i] - start[i] + eta * vel[i];
        vel[i] = v;
        x[i] += g * v;
      }
    };
    step(this.object.re, m.startRe, m.velRe);
    step(this.object.im, m.startIm, m.velIm);
  }

  private async meanEnergy(source: AmplitudeSource): Promise<number> {
    const n2 = this.n * this.n;
    let total = 0;
    if (source instanceof Float32Array) {
      for (let i = 0; i < source.length; i++) total += source[i] * source[i];
    } else {
      const chunk = this.kernel.chunkView();
      const ids = new Int32Array(READ_CHUNK);
      for (let q = 0; q < this.patterns; q += READ_CHUNK) {
        const m = Math.min(READ_CHUNK, this.patterns - q);
        for (let j = 0; j < m; j++) ids[j] = q + j;
        await source.read(ids.subarray(0, m), chunk, 0);
        for (let i = 0; i < m * n2; i++) total += chunk[i] * chunk[i];
      }
    }
    if (!Number.isFinite(total)) throw new Error('the measured amplitudes hold NaN or infinite values');
    return total / this.patterns;
  }

  private scaleProbe(measuredEnergy: number): void {
    if (!(measuredEnergy > 0) || !Number.isFinite(measuredEnergy)) throw new Error(`the measured patterns have no energy (mean Σ A² = ${measuredEnergy}); nothing to reconstruct`);
    let probeEnergy = 0;
    for (let k = 0; k < this.probe.re.length; k++) probeEnergy += this.probe.re[k] * this.probe.re[k] + this.probe.im[k] * this.probe.im[k];
    const s = Math.sqrt(measuredEnergy / probeEnergy);
    for (let k = 0; k < this.probe.re.length; k++) {
      this.probe.re[k] *= s;
      this.probe.im[k] *= s;
    }
    this.scale = s;
    this.maxProbe2 = maxIntensity(this.probe);
  }

  /** Σ_p B_pᵀ|P|² over all positions with the current probe: the illumination (coverage) map, object-sized. */
  weight(): Float64Array {
    return illumination(this.fp, this.probe.re, this.probe.im, this.n, this.object.width, new Float64Array(this.object.width * this.object.height));
  }

  /** The object as an interleaved complex64 image (for an .npz `object` member). */
  objectImage(): ComplexImage {
    return interleave(this.object);
  }

  /** The probe as an interleaved complex64 image. */
  probeImage(): ComplexImage {
    return interleave(this.probe);
  }

  /** A deep copy of the state needed to resume: restore() on an equal configuration continues bit-identically. */
  snapshot(): ReconstructionSnapshot {
    return {
      version: 1, algorithm: this.algorithm, n: this.n, width: this.object.width, height: this.object.height,
      patterns: this.patterns, seed: this.seed, iteration: this.iterationCount, probeScale: this.scale,
      objectRe: this.object.re.slice(), objectIm: this.object.im.slice(), probeRe: this.probe.re.slice(), probeIm: this.probe.im.slice(),
      velocityRe: this.mom ? this.mom.velRe.slice() : null, velocityIm: this.mom ? this.mom.velIm.slice() : null,
    };
  }

  /** Puts a snapshot's object, probe, momentum and iteration back (the configuration must match the snapshot's). */
  restore(s: ReconstructionSnapshot): void {
    const want = { version: 1, algorithm: this.algorithm, n: this.n, width: this.object.width, height: this.object.height, patterns: this.patterns, seed: this.seed };
    for (const [key, value] of Object.entries(want)) {
      const got = (s as unknown as Record<string, unknown>)[key];
      if (got !== value) throw new Error(`the snapshot does not fit this reconstruction: ${key} is ${String(got)}, expected ${String(value)}`);
    }
    if (!Number.isSafeInteger(s.iteration) || s.iteration < 0) throw new Error(`the snapshot's iteration must be a whole number ≥ 0 (got ${s.iteration})`);
    if (s.probeScale !== null && !(s.probeScale > 0)) throw new Error(`the snapshot's probeScale must be positive or null (got ${s.probeScale})`);
    const arrays: [string, Float64Array | null, Float64Array | undefined][] = [
      ['objectRe', s.objectRe, this.object.re], ['objectIm', s.objectIm, this.object.im],
      ['probeRe', s.probeRe, this.probe.re], ['probeIm', s.probeIm, this.probe.im],
      ['velocityRe', s.velocityRe ?? null, this.mom?.velRe], ['velocityIm', s.velocityIm ?? null, this.mom?.velIm],
    ];
    for (const [name, src, dst] of arrays) {
      if (dst === undefined || src === null) continue; // no momentum here, or none recorded (a zero velocity)
      if (!(src instanceof Float64Array) || src.length !== dst.length) throw new Error(`the snapshot's ${name} must be a Float64Array of ${dst.length} values`);
    }
    for (const [, src, dst] of arrays) {
      if (dst === undefined) continue;
      if (src === null) dst.fill(0);
      else dst.set(src);
    }
    this.iterationCount = s.iteration;
    this.scale = s.probeScale;
    this.maxProbe2 = maxIntensity(this.probe);
  }
}

/**
 * The object step's factor in iteration t (0-based): 1 until the last `anneal` fraction of the planned iterations,
 * then falling linearly to 0.2. With momentum it took the study's dose-1e5 ePIE (bench:recon, 50 iterations) from
 * amplitude r 0.976 to 0.985 at the same phase r: a full step keeps each pattern's Poisson noise in the object.
 */
export function annealFactor(t: number, anneal: number, planned: number | undefined): number {
  if (!(anneal > 0) || !planned) return 1;
  const start = (1 - anneal) * planned;
  if (t < start) return 1;
  return Math.max(0.2, 1 - (0.8 * (t - start)) / (anneal * planned));
}

function maxIntensity(p: ComplexPlanes): number {
  let m = 0;
  for (let k = 0; k < p.re.length; k++) {
    const v = p.re[k] * p.re[k] + p.im[k] * p.im[k];
    if (v > m) m = v;
  }
  return m;
}

/** Split float64 planes as an interleaved complex64 image (the loader's and the artifacts' layout). */
export function interleave(p: ComplexPlanes): ComplexImage {
  const data = new Float32Array(2 * p.re.length);
  for (let k = 0; k < p.re.length; k++) {
    data[2 * k] = p.re[k];
    data[2 * k + 1] = p.im[k];
  }
  return { width: p.width, height: p.height, data };
}

/** A new reconstruction: object = 1 on objectShape, probe = opts.probe (scaled to the data on first use). */
export function createReconstruction(opts: ReconstructionOptions): Reconstruction {
  return new Reconstruction(opts);
}
