// Automatic-differentiation ptychography ('ad'): the object (and, when refined, the probe) are the parameters of
// a graph built with the workbench's own ONNX compiler (src/core/onnx), fitted to the measured amplitudes by Adam
// in mini-batches — one onnxruntime `run` per batch computes the forward model, its gradient and the Adam step,
// so the reconstruction runs on whatever provider the session was created for (CUDA or WebGPU where installed,
// the CPU elsewhere). The forward model is the PINN's far field (src/core/model farFieldIntensity: I = |F(P·o)|²/N²
// with the shifted DFT) applied to the object patch of each scan position, extracted exactly as ePIE and the
// simulator do (footprint.ts: bilinear at sub-pixel positions, on objectGuess's grid):
//   o_p = Σ_k w_k(p) · O[base_p + δ_k + (i·W + j)],  k over the four bilinear neighbours δ ∈ {0, 1, W, W+1}
// — a Gather whose backward is a ScatterND 'add', so overlapping patches accumulate their gradients.
// Losses: 'amplitude' (Gaussian on amplitudes, Σ(√I − A)², the default — what ePIE's modulus projection fits) or
// 'poisson' (the PINN's Poisson NLL Σ(I − A²·log I) with the data's A² as counts; any global count scale only
// rescales the loss, which Adam ignores). Mini-batches visit the patterns in a random order per iteration from
// Rng(seed, 'ad-order', iteration), and the Adam moments and step count are part of the snapshot, so a resume
// continues exactly where the checkpoint was written.
import { Graph, adamOutputNames, adamStepSize, adamUpdate, gradients, op, type Value } from '../onnx';
import { probedFarField } from '../model/graphs';
import { Rng } from '../simulate/rng';
import type { OrtModule, OrtSession } from '../train/runtime';
import { createSession } from '../train/runtime';
import { interleave } from './engine';
import { footprints, illumination, type Footprints } from './footprint';
import type { AmplitudeSource, ComplexImage, ComplexPlanes, IterateOptions, IterationReport, ProbeMode, ReconstructionSnapshot } from './types';
import { abortError } from '../abort';

export type AdLoss = 'amplitude' | 'poisson';
export const AD_LOSSES: readonly AdLoss[] = ['amplitude', 'poisson'];

export interface AdOptions {
  n: number;
  probe: ComplexImage;
  positions: { xs: ArrayLike<number>; ys: ArrayLike<number> };
  objectShape: { width: number; height: number };
  /** Mean over patterns of Σ A² of the amplitudes the source delivers (required: it scales the probe). */
  measuredEnergy: number;
  probeMode?: ProbeMode;
  /** First iteration (0-based) that refines the probe when probeMode is 'refine'; default 1. */
  probeStart?: number;
  loss?: AdLoss;
  /** Adam step size for the object (default AD_DEFAULTS.learningRate). */
  learningRate?: number;
  /** Adam step size for the probe, relative to the object's (default 0.1). */
  probeLearningRateScale?: number;
  /** Patterns per Adam step (default 32). */
  batchSize?: number;
  /**
   * The planned number of iterations: the step size follows a cosine from learningRate down to
   * learningRate × finalLearningRateScale over them (a function of the iteration alone, so a resume agrees).
   * Without it the step size stays constant.
   */
  iterations?: number;
  /** Where the cosine schedule ends, relative to learningRate (default 0.05). */
  finalLearningRateScale?: number;
  seed?: number;
}

export const AD_DEFAULTS = Object.freeze({ learningRate: 0.1, finalLearningRateScale: 0.05, probeLearningRateScale: 0.1, batchSize: 32, loss: 'amplitude' as AdLoss, probeStart: 1 });

/** Where the graphs run: onnxruntime, the providers to try in order, and the intra-op threads. */
export interface AdRuntime {
  ort: OrtModule;
  providers: readonly string[];
  threads?: number;
}

interface BatchGraph {
  session: OrtSession;
  refinesProbe: boolean;
}

const OBJECT_PARAMS = ['object_re', 'object_im'] as const;
const PROBE_PARAMS = ['probe_re', 'probe_im'] as const;
/** Added under the square root of the intensity: keeps d√I finite where the model is dark. */
const AMPLITUDE_EPS = 1e-9;
const POISSON_EPS = 1e-6;

const cancelled = (): Error => abortError('The reconstruction was cancelled.');

export class AdReconstruction {
  readonly algorithm = 'ad' as const;
  readonly n: number;
  readonly patterns: number;
  readonly probeMode: ProbeMode;
  readonly probeStart: number;
  readonly loss: AdLoss;
  readonly learningRate: number;
  readonly probeLearningRateScale: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly iterations: number | null;
  readonly finalLearningRateScale: number;
  readonly width: number;
  readonly height: number;
  /** The provider the sessions run on, and why others were passed over. */
  provider = 'cpu';
  fallbacks: { provider: string; reason: string }[] = [];
  readonly object: ComplexPlanes;
  readonly probe: ComplexPlanes;
  private readonly fp: Footprints;
  private readonly moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  private step = 0;
  private completed = 0;
  private scale: number;
  private graphs = new Map<string, BatchGraph>();
  // float32 working copies fed to the sessions (the planes above are the float64 view the worker scores)
  private objRe: Float32Array;
  private objIm: Float32Array;
  private prRe: Float32Array;
  private prIm: Float32Array;

  private constructor(opts: AdOptions, private readonly runtime: AdRuntime) {
    const n = opts.n;
    if (!Number.isInteger(n) || n < 4 || (n & (n - 1)) !== 0) throw new Error(`n must be a power of two ≥ 4 (got ${n})`);
    if (opts.probe.width !== n || opts.probe.height !== n) throw new Error(`the probe is ${opts.probe.height}×${opts.probe.width}, expected ${n}×${n}`);
    if (!(opts.measuredEnergy > 0) || !Number.isFinite(opts.measuredEnergy)) throw new Error(`measuredEnergy must be a positive number (got ${opts.measuredEnergy})`);
    this.n = n;
    this.width = opts.objectShape.width;
    this.height = opts.objectShape.height;
    this.fp = footprints(opts.positions.xs, opts.positions.ys, n, this.width, this.height);
    this.patterns = this.fp.count;
    this.probeMode = opts.probeMode ?? 'fixed';
    if (this.probeMode !== 'fixed' && this.probeMode !== 'refine') throw new Error(`probeMode must be 'fixed' or 'refine' (got ${String(this.probeMode)})`);
    this.probeStart = opts.probeStart ?? AD_DEFAULTS.probeStart;
    this.loss = opts.loss ?? AD_DEFAULTS.loss;
    if (!AD_LOSSES.includes(this.loss)) throw new Error(`loss must be one of ${AD_LOSSES.join(', ')} (got ${String(this.loss)})`);
    this.learningRate = opts.learningRate ?? AD_DEFAULTS.learningRate;
    if (!(this.learningRate > 0) || !Number.isFinite(this.learningRate)) throw new Error(`learningRate must be a positive number (got ${this.learningRate})`);
    this.probeLearningRateScale = opts.probeLearningRateScale ?? AD_DEFAULTS.probeLearningRateScale;
    this.batchSize = Math.min(opts.batchSize ?? AD_DEFAULTS.batchSize, this.patterns);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error(`batchSize must be a positive integer (got ${opts.batchSize})`);
    this.seed = opts.seed ?? 0;
    this.iterations = opts.iterations ?? null;
    if (this.iterations !== null && (!Number.isInteger(this.iterations) || this.iterations < 1)) throw new Error(`iterations must be a positive integer (got ${this.iterations})`);
    this.finalLearningRateScale = opts.finalLearningRateScale ?? AD_DEFAULTS.finalLearningRateScale;
    if (!(this.finalLearningRateScale > 0 && this.finalLearningRateScale <= 1)) throw new Error(`finalLearningRateScale must be in (0, 1] (got ${this.finalLearningRateScale})`);
    const size = this.width * this.height;
    this.object = { width: this.width, height: this.height, re: new Float64Array(size).fill(1), im: new Float64Array(size) };
    this.probe = { width: n, height: n, re: new Float64Array(n * n), im: new Float64Array(n * n) };
    // The probe is scaled once so that a unit object reproduces the data's mean energy (as ePIE's engine does):
    // Σ|FFT2(P·1)|²/N² = Σ|P|² (Parseval) = mean Σ A².
    let e = 0;
    for (let k = 0; k < n * n; k++) e += opts.probe.data[2 * k] ** 2 + opts.probe.data[2 * k + 1] ** 2;
    if (!(e > 0)) throw new Error('the probe is all zeros');
    this.scale = Math.sqrt(opts.measuredEnergy / e);
    for (let k = 0; k < n * n; k++) {
      this.probe.re[k] = opts.probe.data[2 * k] * this.scale;
      this.probe.im[k] = opts.probe.data[2 * k + 1] * this.scale;
    }
    this.objRe = Float32Array.from(this.object.re);
    this.objIm = Float32Array.from(this.object.im);
    this.prRe = Float32Array.from(this.probe.re);
    this.prIm = Float32Array.from(this.probe.im);
    for (const name of [...OBJECT_PARAMS, ...PROBE_PARAMS]) {
      const len = name.startsWith('object') ? size : n * n;
      this.moments.set(name, { m: new Float32Array(len), v: new Float32Array(len) });
    }
  }

  /** Builds the engine and its first session (the provider is chosen here). */
  static async create(opts: AdOptions, runtime: AdRuntime): Promise<AdReconstruction> {
    const rec = new AdReconstruction(opts, runtime);
    await rec.graph(false);
    return rec;
  }

  get iteration(): number {
    return this.completed;
  }

  /** The factor applied to probeGuess (fixed at construction). */
  get probeScale(): number {
    return this.scale;
  }

  /** The parameters that define the iterates (recorded in the manifest and the resume fingerprint). */
  parameters(): Record<string, unknown> {
    return {
      algorithm: 'ad', loss: this.loss, optimizer: 'adam', learningRate: this.learningRate, probeLearningRateScale: this.probeLearningRateScale,
      schedule: this.iterations === null ? 'constant' : `cosine over ${this.iterations} iterations to ×${this.finalLearningRateScale}`,
      batchSize: this.batchSize, probeMode: this.probeMode, probeStart: this.probeStart, seed: this.seed,
    };
  }

  /** The step size of iteration `k` (0-based). */
  learningRateAt(k: number): number {
    if (this.iterations === null) return this.learningRate;
    const t = Math.min(1, k / Math.max(1, this.iterations - 1));
    const f = this.finalLearningRateScale;
    return this.learningRate * (f + (1 - f) * 0.5 * (1 + Math.cos(Math.PI * t)));
  }

  private async graph(refinesProbe: boolean): Promise<BatchGraph> {
    const key = refinesProbe ? 'probe' : 'object';
    const have = this.graphs.get(key);
    if (have) return have;
    const model = this.buildGraph(refinesProbe).toModel();
    const choice = await createSession(this.runtime.ort, model, { providers: [...this.runtime.providers], optimization: 'all', intraOpThreads: this.runtime.threads });
    this.provider = choice.provider;
    if (choice.fallbacks.length) this.fallbacks = choice.fallbacks;
    const built = { session: choice.session, refinesProbe };
    this.graphs.set(key, built);
    return built;
  }

  /**
   * One mini-batch: inputs the parameters, their Adam moments, the batch's patch bases and bilinear weights, the
   * measured amplitudes, the valid-pattern mask and lr_t; outputs the updated parameters and moments and the
   * batch's summed squared amplitude error.
   */
  private buildGraph(refinesProbe: boolean): Graph {
    const { n, width, height } = this;
    const B = this.batchSize;
    const size = width * height;
    const g = new Graph(`ad_${refinesProbe ? 'object_probe' : 'object'}`);
    const oRe = g.input('object_re', [size], { requiresGrad: true });
    const oIm = g.input('object_im', [size], { requiresGrad: true });
    const pRe = g.input('probe_re', [n, n], { requiresGrad: refinesProbe });
    const pIm = g.input('probe_im', [n, n], { requiresGrad: refinesProbe });
    const base = g.input('base', [B, 1, 1, 1], { dtype: 'int64' });
    const w = g.input('weights', [B, 4, 1, 1]);
    const amp = g.input('amplitude', [B, n, n]);
    const valid = g.input('valid', [B, 1, 1]);
    const lrT = g.input('lr_t', []);
    const lrProbe = g.input('lr_t_probe', []);
    // Object index of patch pixel (i, j) for each bilinear neighbour, relative to the pattern's base.
    const offsets = new BigInt64Array(4 * n * n);
    const deltas = [0, 1, width, width + 1];
    for (let k = 0; k < 4; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) offsets[k * n * n + i * n + j] = BigInt(deltas[k] + i * width + j);
    const table = g.initializer('patch_offsets', offsets, [4, n, n]);
    const idx = g.node('Add', [base, table], [{ shape: [B, 4, n, n], dtype: 'int64' }])[0];
    const patch = (plane: Value): Value => op.reduceSum(op.mul(op.gather(plane, idx), w), [1]);
    const re = patch(oRe);
    const im = patch(oIm);
    // ψ = P·o, far field through the shifted DFT (the PINN's physics), I = |F ψ|²/N².
    const intensity = probedFarField(re, im, pRe, pIm);
    const perPixel = B * n * n;
    let loss: Value;
    if (this.loss === 'amplitude') {
      const model = op.sqrt(op.addConst(intensity, AMPLITUDE_EPS));
      loss = op.scale(op.reduceSum(op.mul(op.square(op.sub(model, amp)), valid)), 1 / perPixel);
    } else {
      const counts = g.untaped(() => op.square(amp));
      const nll = op.sub(intensity, op.mul(counts, op.log(op.addConst(intensity, POISSON_EPS))));
      loss = op.scale(op.reduceSum(op.mul(nll, valid)), 1 / perPixel);
    }
    const wrt = refinesProbe ? [oRe, oIm, pRe, pIm] : [oRe, oIm];
    const grads = gradients(loss, wrt);
    wrt.forEach((param, k) => {
      const m = g.input(`m_${param.name}`, param.shape);
      const v = g.input(`v_${param.name}`, param.shape);
      const upd = adamUpdate(g, param, grads[k], m, v, k < 2 ? lrT : lrProbe);
      g.output(upd.param);
      g.output(upd.m);
      g.output(upd.v);
    });
    // The batch's squared amplitude error (for the reports), whatever the loss.
    g.untaped(() => {
      const err = op.reduceSum(op.mul(op.square(op.sub(op.sqrt(op.addConst(intensity, AMPLITUDE_EPS)), amp)), valid));
      g.output(g.node('Identity', [err], [{ shape: [] }], { outputNames: ['squared_error'] })[0]);
    });
    return g;
  }

  /** Runs `count` iterations (each visits every pattern once, in mini-batches of batchSize). */
  async iterate(source: AmplitudeSource, count: number, options: IterateOptions = {}): Promise<IterationReport[]> {
    const { n } = this;
    const B = this.batchSize;
    const ort = this.runtime.ort;
    const reports: IterationReport[] = [];
    const amps = new Float32Array(B * n * n);
    const base = new BigInt64Array(B);
    const weights = new Float32Array(B * 4);
    const valid = new Float32Array(B);
    let dataEnergy = 0;
    for (let it = 0; it < count; it++) {
      if (options.signal?.aborted) throw cancelled();
      const t0 = performance.now();
      const refine = this.probeMode === 'refine' && this.completed >= this.probeStart;
      const { session } = await this.graph(refine);
      const order = new Int32Array(this.patterns);
      for (let k = 0; k < order.length; k++) order[k] = k;
      new Rng(this.seed, 'ad-order', this.completed).shuffle(order);
      let sq = 0;
      dataEnergy = 0;
      const lrIteration = this.learningRateAt(this.completed);
      for (let s = 0; s < this.patterns; s += B) {
        const v = Math.min(B, this.patterns - s);
        const idx = new Int32Array(B);
        for (let k = 0; k < B; k++) idx[k] = order[s + Math.min(k, v - 1)];
        await this.readAmplitudes(source, idx, amps);
        for (let k = 0; k < B; k++) {
          const p = idx[k];
          base[k] = BigInt(this.fp.base[p]);
          for (let q = 0; q < 4; q++) weights[4 * k + q] = this.fp.weights[4 * p + q];
          valid[k] = k < v ? 1 : 0;
          if (k < v) for (let q = k * n * n; q < (k + 1) * n * n; q++) dataEnergy += amps[q] * amps[q];
        }
        this.step++;
        const lrT = adamStepSize(lrIteration, this.step);
        const feeds: Record<string, InstanceType<OrtModule['Tensor']>> = {
          object_re: new ort.Tensor('float32', this.objRe, [this.objRe.length]),
          object_im: new ort.Tensor('float32', this.objIm, [this.objIm.length]),
          probe_re: new ort.Tensor('float32', this.prRe, [n, n]),
          probe_im: new ort.Tensor('float32', this.prIm, [n, n]),
          base: new ort.Tensor('int64', base, [B, 1, 1, 1]),
          weights: new ort.Tensor('float32', weights, [B, 4, 1, 1]),
          amplitude: new ort.Tensor('float32', amps, [B, n, n]),
          valid: new ort.Tensor('float32', valid, [B, 1, 1]),
          lr_t: new ort.Tensor('float32', Float32Array.of(lrT), []),
          lr_t_probe: new ort.Tensor('float32', Float32Array.of(lrT * this.probeLearningRateScale), []),
        };
        const names = refine ? [...OBJECT_PARAMS, ...PROBE_PARAMS] : [...OBJECT_PARAMS];
        for (const name of names) {
          const mo = this.moments.get(name)!;
          const shape = name.startsWith('object') ? [mo.m.length] : [n, n];
          feeds[`m_${name}`] = new ort.Tensor('float32', mo.m, shape);
          feeds[`v_${name}`] = new ort.Tensor('float32', mo.v, shape);
        }
        const out = await session.run(feeds);
        for (const name of names) {
          const o = adamOutputNames(name);
          const mo = this.moments.get(name)!;
          mo.m = out[o.m].data as Float32Array;
          mo.v = out[o.v].data as Float32Array;
          const p = out[o.param].data as Float32Array;
          if (name === 'object_re') this.objRe = p;
          else if (name === 'object_im') this.objIm = p;
          else if (name === 'probe_re') this.prRe = p;
          else this.prIm = p;
        }
        sq += (out.squared_error.data as Float32Array)[0];
        await new Promise((r) => setImmediate(r)); // keep the event loop (cancel signals, heartbeats) alive
      }
      if (!Number.isFinite(sq)) throw new Error(`the ad reconstruction diverged at iteration ${this.completed + 1} (non-finite error): lower the learning rate (${this.learningRate})`);
      this.completed++;
      this.syncPlanes();
      const report: IterationReport = {
        iteration: this.completed, mse: sq / (this.patterns * n * n), relativeError: dataEnergy > 0 ? sq / dataEnergy : 0,
        probeUpdated: refine, seconds: (performance.now() - t0) / 1000,
      };
      reports.push(report);
      options.onIteration?.(report);
    }
    return reports;
  }

  private async readAmplitudes(source: AmplitudeSource, idx: Int32Array, out: Float32Array): Promise<void> {
    const nn = this.n * this.n;
    if (source instanceof Float32Array) {
      for (let k = 0; k < idx.length; k++) out.set(source.subarray(idx[k] * nn, (idx[k] + 1) * nn), k * nn);
    } else {
      await source.read(idx, out, 0);
    }
  }

  private syncPlanes(): void {
    for (let k = 0; k < this.objRe.length; k++) {
      this.object.re[k] = this.objRe[k];
      this.object.im[k] = this.objIm[k];
    }
    for (let k = 0; k < this.prRe.length; k++) {
      this.probe.re[k] = this.prRe[k];
      this.probe.im[k] = this.prIm[k];
    }
  }

  /** Σ_p B_pᵀ|P|² on the object grid (the coverage), with the current probe. */
  weight(): Float64Array {
    return illumination(this.fp, this.probe.re, this.probe.im, this.n, this.width, new Float64Array(this.width * this.height));
  }

  objectImage(): ComplexImage {
    return interleave(this.object);
  }

  probeImage(): ComplexImage {
    return interleave(this.probe);
  }

  snapshot(): ReconstructionSnapshot {
    const moments: Record<string, Float64Array> = {};
    for (const [name, mo] of this.moments) {
      moments[`m_${name}`] = Float64Array.from(mo.m);
      moments[`v_${name}`] = Float64Array.from(mo.v);
    }
    return {
      version: 1, algorithm: 'ad', n: this.n, width: this.width, height: this.height, patterns: this.patterns, seed: this.seed,
      iteration: this.completed, probeScale: this.scale,
      objectRe: Float64Array.from(this.objRe), objectIm: Float64Array.from(this.objIm), probeRe: Float64Array.from(this.prRe), probeIm: Float64Array.from(this.prIm),
      velocityRe: null, velocityIm: null, optimizer: { step: this.step, moments },
    };
  }

  restore(s: ReconstructionSnapshot): void {
    if (s.algorithm !== 'ad') throw new Error(`the snapshot is of a ${s.algorithm} reconstruction, not ad`);
    if (s.n !== this.n || s.width !== this.width || s.height !== this.height || s.patterns !== this.patterns) {
      throw new Error(`the snapshot is of ${s.patterns} patterns of ${s.n}×${s.n} on a ${s.height}×${s.width} object, this reconstruction ${this.patterns} of ${this.n}×${this.n} on ${this.height}×${this.width}`);
    }
    if (!s.optimizer) throw new Error('the snapshot holds no optimizer state');
    this.objRe = Float32Array.from(s.objectRe);
    this.objIm = Float32Array.from(s.objectIm);
    this.prRe = Float32Array.from(s.probeRe);
    this.prIm = Float32Array.from(s.probeIm);
    for (const [name, mo] of this.moments) {
      const m = s.optimizer.moments[`m_${name}`];
      const v = s.optimizer.moments[`v_${name}`];
      if (!m || !v || m.length !== mo.m.length || v.length !== mo.v.length) throw new Error(`the snapshot's optimizer state for ${name} is missing or the wrong size`);
      mo.m = Float32Array.from(m);
      mo.v = Float32Array.from(v);
    }
    this.step = s.optimizer.step;
    this.completed = s.iteration;
    if (s.probeScale !== null) this.scale = s.probeScale;
    this.syncPlanes();
  }

  async release(): Promise<void> {
    for (const g of this.graphs.values()) await g.session.release();
    this.graphs.clear();
  }
}
