// Each gridsize-2 prediction refined on its own group's patterns before stitching (README "Reconstruction quality",
// item 43). A network that reads four patterns returns an estimate that fits them less well than the truth does (on
// the held-out independent study: Poisson deviance 0.0089 per detector pixel against the truth's 0.0046), so the
// group's data still hold what the network missed. Alternating projections recover part of it: each pattern's exit
// wave ψ = P·O (its window of the group's object, bilinear at its offset) is given its measured modulus in the far
// field, and the object becomes the probe-weighted average of the corrected waves, O += Σ P*·(ψ' − ψ) / Σ|P|².
// Only the group's own patterns are used — no other group, no ground truth — so the stitched result stays a
// combination of per-group estimates, as the network's is; the joint fit of all patterns is the iterative baseline's.
import { FftPlan, ifftshift2d } from '../fft';
import type { ComplexArray } from './data';

/** A copy of the group's object after `iterations` iterations (refine's `stages`), written at the same offset. */
export interface RefinementStage {
  iterations: number;
  amp: Float32Array;
  phase: Float32Array;
}

/** What the refinement did over a set of groups (metrics.json `groupRefinement`). */
export interface GroupRefinementSummary {
  iterations: number;
  groups: number;
  /** Mean squared amplitude misfit per detector pixel (the loader's amplitude units), before and after. */
  misfitBefore: number;
  misfitAfter: number;
  /**
   * The misfit Poisson noise alone leaves at the refined intensities, same units (when the photon scale is known):
   * a refinement that goes below it fits the noise (the groups' own photons, not the object).
   */
  noiseFloor?: number;
  /** Wall time of the refinement passes. */
  seconds: number;
  /** Threads the groups were shared between (refinementThreads.ts); absent: one. */
  threads?: number;
}

/** One group's misfits per detector pixel (before, after, and Poisson noise's at the refined intensities). */
export type GroupMisfits = readonly [before: number, after: number, noise: number];

/** Floor of the probes' summed light in the update's denominator, as a share of the probe's peak |P|². */
const LIGHT_FLOOR = 1e-3;

/**
 * Refines group predictions in place. One refiner per stitch (it holds scratch and sums the summary); not shared
 * between threads.
 */
export class GroupRefiner {
  private readonly n: number;
  private readonly w: number;
  private readonly plan: FftPlan;
  private readonly pr: Float64Array;
  private readonly pi: Float64Array;
  private readonly peak: number;
  private readonly objRe: Float64Array;
  private readonly objIm: Float64Array;
  private readonly numRe: Float64Array;
  private readonly numIm: Float64Array;
  private readonly light: Float64Array;
  private readonly waveRe: Float64Array;
  private readonly waveIm: Float64Array;
  private readonly target: Float64Array;
  private readonly shifted: Float64Array;
  private misfitBefore = 0;
  private misfitAfter = 0;
  private noise = 0;
  private readonly noiseAt?: (lambda: number) => number;
  private groups = 0;
  private seconds = 0;

  /** `countScale`: photon counts per unit of the patterns' x² (the run's s²), for the noise floor; absent: none. */
  constructor(probe: ComplexArray, private readonly iterations: number, private readonly patternsPerGroup: number, private readonly countScale?: number) {
    const n = probe.width;
    this.n = n;
    this.w = 2 * n;
    this.plan = new FftPlan(n);
    this.pr = new Float64Array(n * n);
    this.pi = new Float64Array(n * n);
    let peak = 0;
    for (let t = 0; t < n * n; t++) {
      this.pr[t] = probe.data[2 * t];
      this.pi[t] = probe.data[2 * t + 1];
      peak = Math.max(peak, this.pr[t] ** 2 + this.pi[t] ** 2);
    }
    this.peak = peak;
    const area = this.w * this.w;
    this.objRe = new Float64Array(area);
    this.objIm = new Float64Array(area);
    this.numRe = new Float64Array(area);
    this.numIm = new Float64Array(area);
    this.light = new Float64Array(area);
    this.waveRe = new Float64Array(n * n);
    this.waveIm = new Float64Array(n * n);
    this.target = new Float64Array(patternsPerGroup * n * n);
    this.shifted = new Float64Array(n * n);
    if (countScale !== undefined && countScale > 0 && Number.isFinite(countScale)) this.noiseAt = rootPoissonNoiseTable();
  }

  /**
   * Refines one group's prediction: `amp`/`phase` N×N at `at` (overwritten), its C patterns' measured amplitudes
   * (fftshifted, the loader's scale) at `x[xAt…]`, their offsets (dx, dy) from the group centre at `offsets[offAt…]`.
   * `stages` (iterations ≤ this refiner's) also receive the object after their iterations, at `at`: one pass gives
   * every candidate the selection compares (refinementSelection.ts). Counted in the summary.
   */
  refine(amp: Float32Array, phase: Float32Array, at: number, x: Float32Array, xAt: number, offsets: ArrayLike<number>, offAt: number, stages: readonly RefinementStage[] = []): void {
    const started = performance.now();
    const misfits = this.refineGroup(amp, phase, at, x, xAt, offsets, offAt, stages);
    if (misfits) this.record(misfits);
    this.seconds += (performance.now() - started) / 1000;
  }

  /** Adds one group's misfits to the summary (in group order, so the sums do not depend on how groups were shared). */
  record(misfits: GroupMisfits): void {
    this.misfitBefore += misfits[0];
    this.misfitAfter += misfits[1];
    this.noise += misfits[2];
    this.groups++;
  }

  /** Adds wall time spent refining (the threaded passes time themselves). */
  addSeconds(seconds: number): void {
    this.seconds += seconds;
  }

  /** refine without the summary: the group's misfits, or undefined when it holds no light to refine by. */
  refineGroup(amp: Float32Array, phase: Float32Array, at: number, x: Float32Array, xAt: number, offsets: ArrayLike<number>, offAt: number, stages: readonly RefinementStage[] = []): GroupMisfits | undefined {
    const { n, w } = this;
    const c = this.patternsPerGroup;
    const half = n / 2;
    this.objRe.fill(0);
    this.objIm.fill(0);
    // The patch fills [N/2, 3N/2) of the 2N canvas; canvas (N, N) is the group centre, where patch pixel (N/2, N/2) sits.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const t = at + i * n + j, k = (i + half) * w + j + half;
        this.objRe[k] = amp[t] * Math.cos(phase[t]);
        this.objIm[k] = amp[t] * Math.sin(phase[t]);
      }
    }
    // Every stage starts as the prediction (what it stays if nothing can be refined).
    for (const stage of stages) {
      stage.amp.set(amp.subarray(at, at + n * n), at);
      stage.phase.set(phase.subarray(at, at + n * n), at);
    }
    // Measured moduli, unshifted (DC at index 0, as the FFT leaves it).
    let measuredEnergy = 0;
    for (let q = 0; q < c; q++) {
      const target = this.target.subarray(q * n * n, (q + 1) * n * n);
      for (let t = 0; t < n * n; t++) this.shifted[t] = x[xAt + q * n * n + t];
      ifftshift2d(this.shifted, n, target);
      for (let t = 0; t < n * n; t++) measuredEnergy += target[t] * target[t];
    }
    // One intensity scale for the group (as the network's log-scale is one number): the measured energy over the
    // modelled one, Σ|FFT2 ψ|²/N² = Σ|ψ|² (Parseval), so no transform is needed for it.
    let modelled = 0;
    for (let q = 0; q < c; q++) {
      this.window(offsets[offAt + 2 * q], offsets[offAt + 2 * q + 1]);
      for (let t = 0; t < n * n; t++) modelled += this.waveRe[t] ** 2 + this.waveIm[t] ** 2;
    }
    if (!(modelled > 0) || !(measuredEnergy > 0)) return undefined;
    const toModulus = n / Math.sqrt(measuredEnergy / modelled);
    let misfit = 0, noise = 0, before = 0;
    // The probes' summed light does not change between iterations: gathered on the first.
    this.light.fill(0);
    for (let iteration = 0; iteration <= this.iterations; iteration++) {
      for (const stage of stages) if (stage.iterations === iteration && iteration < this.iterations) this.writeObject(stage.amp, stage.phase, at);
      this.numRe.fill(0);
      this.numIm.fill(0);
      misfit = 0;
      for (let q = 0; q < c; q++) {
        const dx = offsets[offAt + 2 * q], dy = offsets[offAt + 2 * q + 1];
        this.exitWave(dx, dy);
        // Ψ' = the measured modulus with Ψ's phase; what is carried back is Ψ' − Ψ.
        const last = iteration === this.iterations;
        const { waveRe, waveIm } = this;
        for (let t = 0; t < n * n; t++) {
          const re = waveRe[t], im = waveIm[t];
          // Math.sqrt, not Math.hypot: this loop is most of the refinement's time, and hypot is several times slower.
          const modulus = Math.sqrt(re * re + im * im), want = toModulus * this.target[q * n * n + t];
          misfit += (modulus - want) * (modulus - want);
          if (last && this.noiseAt) noise += this.noiseAt(this.countScale! * (modulus / toModulus) ** 2) / this.countScale!;
          const f = modulus > 0 ? want / modulus - 1 : 0;
          waveRe[t] = re * f;
          waveIm[t] = im * f;
        }
        if (iteration === this.iterations) continue;
        this.plan.transform2d(this.waveRe, this.waveIm, true);
        this.scatter(dx, dy, iteration === 0);
      }
      misfit /= toModulus * toModulus;
      if (iteration === 0) before = misfit / (c * n * n);
      if (iteration === this.iterations) break;
      const floor = LIGHT_FLOOR * this.peak;
      for (let i = half; i < half + n; i++) {
        for (let j = half; j < half + n; j++) {
          const k = i * w + j, d = 1 / (this.light[k] + floor);
          this.objRe[k] += d * this.numRe[k];
          this.objIm[k] += d * this.numIm[k];
        }
      }
    }
    this.writeObject(amp, phase, at);
    for (const stage of stages) if (stage.iterations >= this.iterations) this.writeObject(stage.amp, stage.phase, at);
    return [before, misfit / (c * n * n), noise / (c * n * n)];
  }

  summary(): GroupRefinementSummary {
    const g = Math.max(this.groups, 1);
    return {
      iterations: this.iterations, groups: this.groups, misfitBefore: this.misfitBefore / g, misfitAfter: this.misfitAfter / g,
      ...(this.noiseAt ? { noiseFloor: this.noise / g } : {}), seconds: this.seconds,
    };
  }

  /** The group's object (the 2N canvas's centre N×N) as amplitude and phase into `amp`/`phase` at `at`. */
  private writeObject(amp: Float32Array, phase: Float32Array, at: number): void {
    const { n, w } = this;
    const half = n / 2;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const t = at + i * n + j, k = (i + half) * w + j + half;
        amp[t] = Math.sqrt(this.objRe[k] * this.objRe[k] + this.objIm[k] * this.objIm[k]);
        phase[t] = Math.atan2(this.objIm[k], this.objRe[k]);
      }
    }
  }

  /** FFT2(P · O's window at the pattern's offset) into waveRe/waveIm (unnormalised). */
  private exitWave(dx: number, dy: number): void {
    this.window(dx, dy);
    this.plan.transform2d(this.waveRe, this.waveIm, false);
  }

  /** ψ = P · O's window at the pattern's offset into waveRe/waveIm. */
  private window(dx: number, dy: number): void {
    const { n, w, objRe, objIm, pr, pi, waveRe, waveIm } = this;
    // Window pixel (i, j) reads canvas (N + dy − N/2 + i, N + dx − N/2 + j), bilinear.
    const cx = n + dx, cy = n + dy;
    const x0 = Math.floor(cx), y0 = Math.floor(cy), fx = cx - x0, fy = cy - y0;
    const w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx, w10 = fy * (1 - fx), w11 = fy * fx;
    for (let i = 0; i < n; i++) {
      const row = (y0 - n / 2 + i) * w + x0 - n / 2;
      for (let j = 0; j < n; j++) {
        const a = row + j, b = a + w, t = i * n + j;
        const ore = w00 * objRe[a] + w01 * objRe[a + 1] + w10 * objRe[b] + w11 * objRe[b + 1];
        const oim = w00 * objIm[a] + w01 * objIm[a + 1] + w10 * objIm[b] + w11 * objIm[b + 1];
        waveRe[t] = pr[t] * ore - pi[t] * oim;
        waveIm[t] = pr[t] * oim + pi[t] * ore;
      }
    }
  }


  /** Adds P*·Δψ (Δψ = the inverse FFT in waveRe/waveIm, still unnormalised), and |P|² when `light`, at the window: bilinear's adjoint. */
  private scatter(dx: number, dy: number, gatherLight: boolean): void {
    const { n, w, numRe, numIm, light, pr, pi, waveRe, waveIm } = this;
    const cx = n + dx, cy = n + dy;
    const x0 = Math.floor(cx), y0 = Math.floor(cy), fx = cx - x0, fy = cy - y0;
    const w00 = (1 - fy) * (1 - fx), w01 = (1 - fy) * fx, w10 = fy * (1 - fx), w11 = fy * fx;
    const norm = 1 / (n * n);
    for (let i = 0; i < n; i++) {
      const row = (y0 - n / 2 + i) * w + x0 - n / 2;
      for (let j = 0; j < n; j++) {
        const a = row + j, b = a + w, t = i * n + j;
        const dre = waveRe[t] * norm, dim = waveIm[t] * norm;
        const gre = pr[t] * dre + pi[t] * dim;
        const gim = pr[t] * dim - pi[t] * dre;
        numRe[a] += w00 * gre; numIm[a] += w00 * gim;
        numRe[a + 1] += w01 * gre; numIm[a + 1] += w01 * gim;
        numRe[b] += w10 * gre; numIm[b] += w10 * gim;
        numRe[b + 1] += w11 * gre; numIm[b + 1] += w11 * gim;
        if (gatherLight) {
          const l = pr[t] * pr[t] + pi[t] * pi[t];
          light[a] += w00 * l; light[a + 1] += w01 * l; light[b] += w10 * l; light[b + 1] += w11 * l;
        }
      }
    }
  }

}

/** One log line: what the refinement did, and whether it went below the data's Poisson noise. */
export function describeGroupRefinement(r: GroupRefinementSummary): string {
  const e = (v: number): string => v.toExponential(2);
  const floor = r.noiseFloor === undefined ? ''
    : r.misfitAfter < r.noiseFloor
      ? ` — below the ${e(r.noiseFloor)} Poisson noise alone leaves: part of what it adds is the patterns' noise, which only the stitch's averaging over overlapping groups and the half-set weights take out`
      : ` (Poisson noise alone: ${e(r.noiseFloor)})`;
  return `Group refinement: each of ${r.groups} groups' predictions refined by ${r.iterations} iterations of alternating projections on its own patterns (no other group, no ground truth); amplitude misfit ${e(r.misfitBefore)} → ${e(r.misfitAfter)} per detector pixel${floor}; ${r.seconds.toFixed(1)} s${r.threads ? ` on ${r.threads} threads` : ''}.`;
}

/**
 * E[(√k − √λ)²] for counts k ~ Poisson(λ): the squared amplitude misfit Poisson noise alone leaves at a pixel
 * expecting λ photons (≈ 2λ for λ ≪ 1, → 1/4 for λ ≫ 1), summed over the pmf.
 */
export function rootPoissonNoise(lambda: number): number {
  if (!(lambda > 0)) return 0;
  const spread = 12 * Math.sqrt(lambda) + 12;
  const lo = Math.max(0, Math.floor(lambda - spread)), hi = Math.ceil(lambda + spread);
  let meanRoot = 0;
  let logFactorial = 0;
  for (let k = 2; k < lo; k++) logFactorial += Math.log(k);
  for (let k = lo; k <= hi; k++) {
    if (k > 1) logFactorial += Math.log(k);
    meanRoot += Math.sqrt(k) * Math.exp(k * Math.log(lambda) - lambda - logFactorial);
  }
  return Math.max(0, 2 * lambda - 2 * Math.sqrt(lambda) * meanRoot);
}

/** rootPoissonNoise tabulated on a log grid (linear between points; 2λ below it, 1/4 above it): fast per pixel. */
export function rootPoissonNoiseTable(): (lambda: number) => number {
  const lo = Math.log(1e-4), hi = Math.log(1e4), points = 1024, step = (hi - lo) / (points - 1);
  const table = Float64Array.from({ length: points }, (_, i) => rootPoissonNoise(Math.exp(lo + i * step)));
  return (lambda: number): number => {
    if (!(lambda > 0)) return 0;
    const u = (Math.log(lambda) - lo) / step;
    if (u <= 0) return 2 * lambda;
    if (u >= points - 1) return 0.25;
    const i = Math.floor(u), f = u - i;
    return table[i] * (1 - f) + table[i + 1] * f;
  };
}
