// Scoring a reconstruction against the ground truth on its covered pixels (for tests and bench:recon; the job
// will use the study's common evaluation): the global phase offset is removed first (ptychography cannot fix
// it), then Pearson r of the amplitude (scale-free) and of the phase after a least-squares plane is removed
// from both phases over the same pixels (metrics/align.ts removePlaneAt; a phase ramp is another ambiguity).
import { removePlaneAt } from '../metrics/align';
import { pearson } from '../metrics/pearson';
import type { ComplexImage, ComplexPlanes } from './types';

export interface TruthComparison {
  amplitudeR: number;
  phaseR: number;
  /** Radians added to the reconstruction to match the truth's global phase: arg Σ truth·conj(recon). */
  globalPhase: number;
  /** Pixels compared. */
  pixels: number;
}

/** Pixels whose illumination is at least `level` (e.g. a fraction of the probe's peak intensity |P|²max). */
export function coverageMask(weight: Float64Array, level: number): Uint8Array {
  const mask = new Uint8Array(weight.length);
  for (let i = 0; i < weight.length; i++) mask[i] = weight[i] >= level ? 1 : 0;
  return mask;
}

/** Peak intensity max|P|² of a probe. */
export function probePeak(probe: ComplexPlanes): number {
  let m = 0;
  for (let k = 0; k < probe.re.length; k++) {
    const v = probe.re[k] * probe.re[k] + probe.im[k] * probe.im[k];
    if (v > m) m = v;
  }
  return m;
}

export function compareWithTruth(recon: ComplexPlanes, truth: ComplexImage, mask: Uint8Array): TruthComparison {
  const { width, height } = recon;
  if (truth.width !== width || truth.height !== height) throw new Error(`the ground truth is ${truth.height}×${truth.width} but the reconstruction is ${height}×${width}`);
  if (mask.length !== width * height) throw new Error(`the mask has ${mask.length} pixels, the images ${width * height}`);
  let sr = 0;
  let si = 0;
  let count = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const tr = truth.data[2 * i];
    const ti = truth.data[2 * i + 1];
    const rr = recon.re[i];
    const ri = recon.im[i];
    sr += tr * rr + ti * ri;
    si += ti * rr - tr * ri;
    count++;
  }
  if (count < 3) throw new Error(`only ${count} covered pixels: nothing to compare`);
  const offset = Math.atan2(si, sr);
  const c = Math.cos(offset);
  const s = Math.sin(offset);
  const ampR = new Float64Array(count);
  const ampT = new Float64Array(count);
  const phR = new Float64Array(count);
  const phT = new Float64Array(count);
  const xs = new Float64Array(count);
  const ys = new Float64Array(count);
  let j = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const rr = recon.re[i] * c - recon.im[i] * s;
    const ri = recon.re[i] * s + recon.im[i] * c;
    const tr = truth.data[2 * i];
    const ti = truth.data[2 * i + 1];
    ampR[j] = Math.hypot(rr, ri);
    ampT[j] = Math.hypot(tr, ti);
    phR[j] = Math.atan2(ri, rr);
    phT[j] = Math.atan2(ti, tr);
    xs[j] = i % width;
    ys[j] = Math.floor(i / width);
    j++;
  }
  return {
    amplitudeR: pearson(ampR, ampT),
    phaseR: pearson(removePlaneAt(phR, xs, ys), removePlaneAt(phT, xs, ys)),
    globalPhase: offset,
    pixels: count,
  };
}
