// One PIE pattern update, in place on the object and probe planes (see engine.ts for the equations). The
// patch, exit wave and spectrum live in scratch planes owned by the updater, so an update allocates nothing.
// Three passes over N×N: bilinear extraction (+ exit wave), the Fourier-modulus projection (two FFTs), and one
// fused pass that forms ψ' − ψ, scatters the object step through the bilinear adjoint and updates the probe.
import type { Footprints } from './footprint';
import { ModulusProjector } from './modulus';
import type { ComplexPlanes } from './types';

export interface UpdateRule {
  /** rPIE weights (1 / ((1 − α)|P|² + α max|P|²)) instead of ePIE's (α / max|P|²). */
  rpie: boolean;
  alpha: number;
  beta: number;
  /** Update the probe too. */
  refine: boolean;
}

export class PatternUpdater {
  readonly n: number;
  /** max|P|² of the current probe: set by the owner after it changes the probe, kept up to date by refining updates. */
  maxProbe2 = 0;
  /** Σ A² of the last pattern (for the relative error). */
  lastEnergy = 0;
  private readonly projector: ModulusProjector;
  private readonly waveRe: Float64Array;
  private readonly waveIm: Float64Array;
  private readonly patchRe: Float64Array;
  private readonly patchIm: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.projector = new ModulusProjector(n);
    this.waveRe = new Float64Array(n * n);
    this.waveIm = new Float64Array(n * n);
    this.patchRe = new Float64Array(n * n);
    this.patchIm = new Float64Array(n * n);
  }

  /** Updates for pattern `p` (amplitudes[offset …]); returns Σ(|Ψ|/N − A)² of the estimate before the update. */
  update(object: ComplexPlanes, probe: ComplexPlanes, fp: Footprints, p: number, amplitudes: Float32Array, offset: number, rule: UpdateRule): number {
    const n = this.n;
    const width = object.width;
    const oRe = object.re;
    const oIm = object.im;
    const pRe = probe.re;
    const pIm = probe.im;
    const { waveRe, waveIm, patchRe, patchIm } = this;
    const base = fp.base[p];
    const w = fp.weights;
    const w00 = w[4 * p];
    const w01 = w[4 * p + 1];
    const w10 = w[4 * p + 2];
    const w11 = w[4 * p + 3];

    // 1. Bilinear patch B_p O and exit wave ψ = P · patch.
    let maxObj2 = 0;
    for (let i = 0; i < n; i++) {
      let a = base + i * width;
      let b = a + width;
      const end = (i + 1) * n;
      for (let k = i * n; k < end; k++, a++, b++) {
        const or = w00 * oRe[a] + w01 * oRe[a + 1] + w10 * oRe[b] + w11 * oRe[b + 1];
        const oi = w00 * oIm[a] + w01 * oIm[a + 1] + w10 * oIm[b] + w11 * oIm[b + 1];
        patchRe[k] = or;
        patchIm[k] = oi;
        const m2 = or * or + oi * oi;
        if (m2 > maxObj2) maxObj2 = m2;
        const pr = pRe[k];
        const pi = pIm[k];
        waveRe[k] = pr * or - pi * oi;
        waveIm[k] = pr * oi + pi * or;
      }
    }

    // 2. ψ' with the measured modulus.
    const err = this.projector.project(waveRe, waveIm, amplitudes, offset);
    this.lastEnergy = this.projector.lastEnergy;

    // 3. Δψ = ψ' − ψ (ψ recomputed from the unchanged probe and patch); object step scattered through B_pᵀ with
    //    the old probe, probe step with the old patch.
    const { rpie, alpha, beta } = rule;
    const maxP2 = this.maxProbe2;
    const objConst = alpha / maxP2;
    const objFloor = alpha * maxP2;
    const refine = rule.refine && maxObj2 > 0;
    const probeConst = refine ? beta / maxObj2 : 0;
    const probeFloor = beta * maxObj2;
    const whole = w00 === 1; // integer position: the adjoint is a plain add
    let newMaxP2 = 0;
    for (let i = 0; i < n; i++) {
      let a = base + i * width;
      let b = a + width;
      const end = (i + 1) * n;
      for (let k = i * n; k < end; k++, a++, b++) {
        const pr = pRe[k];
        const pi = pIm[k];
        const or = patchRe[k];
        const oi = patchIm[k];
        const dr = waveRe[k] - (pr * or - pi * oi);
        const di = waveIm[k] - (pr * oi + pi * or);
        const fo = rpie ? 1 / ((1 - alpha) * (pr * pr + pi * pi) + objFloor) : objConst;
        const gr = (pr * dr + pi * di) * fo;
        const gi = (pr * di - pi * dr) * fo;
        if (whole) {
          oRe[a] += gr;
          oIm[a] += gi;
        } else {
          oRe[a] += w00 * gr;
          oIm[a] += w00 * gi;
          oRe[a + 1] += w01 * gr;
          oIm[a + 1] += w01 * gi;
          oRe[b] += w10 * gr;
          oIm[b] += w10 * gi;
          oRe[b + 1] += w11 * gr;
          oIm[b + 1] += w11 * gi;
        }
        if (refine) {
          const fp = rpie ? 1 / ((1 - beta) * (or * or + oi * oi) + probeFloor) : probeConst;
          const nr = pr + (or * dr + oi * di) * fp;
          const ni = pi + (or * di - oi * dr) * fp;
          pRe[k] = nr;
          pIm[k] = ni;
          const m2 = nr * nr + ni * ni;
          if (m2 > newMaxP2) newMaxP2 = m2;
        }
      }
    }
    if (refine && newMaxP2 > 0) this.maxProbe2 = newMaxP2;
    return err;
  }
}
