// One PIE pattern update, in place on the object and probe planes (see engine.ts for the equations). The
// patch, exit wave and spectrum live in scratch planes owned by the updater, so an update allocates nothing.
// Four passes over N×N: bilinear extraction (+ exit wave), the Fourier-modulus projection (two FFTs), one pass
// that forms ψ' − ψ, the object step and the probe update, and the bilinear adjoint of the object step as a gather.
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
  /** Factor on the object step (annealing; engine.ts annealFactor); default 1. */
  objectStep?: number;
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
  /** The object step before the bilinear adjoint, (N+2)² with a zero border, so step 4 gathers without bounds checks. */
  private readonly stepRe: Float64Array;
  private readonly stepIm: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.projector = new ModulusProjector(n);
    this.waveRe = new Float64Array(n * n);
    this.waveIm = new Float64Array(n * n);
    this.patchRe = new Float64Array(n * n);
    this.patchIm = new Float64Array(n * n);
    this.stepRe = new Float64Array((n + 2) * (n + 2));
    this.stepIm = new Float64Array((n + 2) * (n + 2));
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

    // 1. Bilinear patch B_p O and exit wave ψ = P · patch (each object value loaded once per row pair).
    let maxObj2 = 0;
    for (let i = 0; i < n; i++) {
      let a = base + i * width;
      let b = a + width;
      let ar0 = oRe[a];
      let ai0 = oIm[a];
      let br0 = oRe[b];
      let bi0 = oIm[b];
      const end = (i + 1) * n;
      for (let k = i * n; k < end; k++, a++, b++) {
        const ar1 = oRe[a + 1];
        const ai1 = oIm[a + 1];
        const br1 = oRe[b + 1];
        const bi1 = oIm[b + 1];
        const or = w00 * ar0 + w01 * ar1 + w10 * br0 + w11 * br1;
        const oi = w00 * ai0 + w01 * ai1 + w10 * bi0 + w11 * bi1;
        ar0 = ar1;
        ai0 = ai1;
        br0 = br1;
        bi0 = bi1;
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

    // 3. Δψ = ψ' − ψ (ψ recomputed from the unchanged probe and patch); the object step g (with the old probe)
    //    into the padded scratch, the probe step (with the old patch) in place.
    const { rpie, alpha, beta } = rule;
    const maxP2 = this.maxProbe2;
    const objectStep = rule.objectStep ?? 1;
    const objConst = (alpha * objectStep) / maxP2;
    const objFloor = alpha * maxP2;
    const refine = rule.refine && maxObj2 > 0;
    const probeConst = refine ? beta / maxObj2 : 0;
    const probeFloor = beta * maxObj2;
    const { stepRe, stepIm } = this;
    const s = n + 2;
    let newMaxP2 = 0;
    for (let i = 0; i < n; i++) {
      let q = (i + 1) * s + 1;
      const end = (i + 1) * n;
      for (let k = i * n; k < end; k++, q++) {
        const pr = pRe[k];
        const pi = pIm[k];
        const or = patchRe[k];
        const oi = patchIm[k];
        const dr = waveRe[k] - (pr * or - pi * oi);
        const di = waveIm[k] - (pr * oi + pi * or);
        const fo = rpie ? objectStep / ((1 - alpha) * (pr * pr + pi * pi) + objFloor) : objConst;
        stepRe[q] = (pr * dr + pi * di) * fo;
        stepIm[q] = (pr * di - pi * dr) * fo;
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

    // 4. The bilinear adjoint B_pᵀ g as a gather: object pixel (i, j) of the (N+1)² footprint receives
    //    w00·g[i][j] + w01·g[i][j−1] + w10·g[i−1][j] + w11·g[i−1][j−1] (zero outside g) — one write per pixel
    //    instead of four scattered read-modify-writes per patch pixel.
    if (w00 === 1) {
      // Integer position: a plain add over N×N.
      for (let i = 0; i < n; i++) {
        let a = base + i * width;
        let q = (i + 1) * s + 1;
        for (let j = 0; j < n; j++, a++, q++) {
          oRe[a] += stepRe[q];
          oIm[a] += stepIm[q];
        }
      }
    } else {
      for (let i = 0; i <= n; i++) {
        let a = base + i * width;
        // Row i of the footprint: g rows i (padded i + 1) and i − 1 (padded i), columns j and j − 1.
        let up = i * s;
        let here = (i + 1) * s;
        let hr0 = 0;
        let hi0 = 0;
        let ur0 = 0;
        let ui0 = 0;
        for (let j = 0; j <= n; j++, a++, up++, here++) {
          const hr1 = stepRe[here + 1];
          const hi1 = stepIm[here + 1];
          const ur1 = stepRe[up + 1];
          const ui1 = stepIm[up + 1];
          oRe[a] += w00 * hr1 + w01 * hr0 + w10 * ur1 + w11 * ur0;
          oIm[a] += w00 * hi1 + w01 * hi0 + w10 * ui1 + w11 * ui0;
          hr0 = hr1;
          hi0 = hi1;
          ur0 = ur1;
          ui0 = ui1;
        }
      }
    }
    if (refine && newMaxP2 > 0) this.maxProbe2 = newMaxP2;
    return err;
  }
}
