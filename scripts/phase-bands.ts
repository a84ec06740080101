// Which scales hold a reconstruction's score down (README "Reconstruction quality", item 22): a job's
// reconstruction.npz against its ground truth, aligned exactly as the common evaluation scores it (the global
// phase, each phase's own plane, the amplitude scaled to the truth's mean, trimmed by 2 px; holes included).
// Per band of scales (differences of Gaussian smoothings, σ in px): the gain of the reconstruction on the truth
// (least-squares slope: 1 keeps the truth's contrast, below 1 shrinks it) and Pearson r; and the SSIM of each
// level of the study's MS-SSIM, whose product (weights 0.0448, 0.2856, 0.3001, 0.2363, 0.1333) is the score.
//
//   npm run analysis:bands -- <job folder or reconstruction.npz> [--json]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alignedImages, toUnitPhase } from '../src/core/metrics/evaluate';
import { DEFAULT_MS_SSIM_SIGMA, DEFAULT_TRIM, gaussianFilter, msSsimLevels, pearson, removeMean } from '../src/core/metrics';
import { openNpz } from '../src/core/npy';
import { globalPhaseOffset, rotatePhase } from '../src/core/run/artifacts';

/** Band edges (Gaussian σ, px): band k keeps what is finer than SCALES[k + 1] and coarser than SCALES[k]. */
export const SCALES = [0, 1, 2, 4, 8, 16, 32] as const;

export interface BandScore {
  /** σ of the finer and the coarser smoothing (0: none; the last band is everything coarser than its `from`). */
  from: number;
  to: number | null;
  gain: number;
  r: number;
  truthRms: number;
}

export interface ComponentBands {
  bands: BandScore[];
  msSsim: number;
  msSsimLevels: number[];
}

export interface BandsReport {
  file: string;
  width: number;
  height: number;
  phase: ComponentBands;
  amplitude: ComponentBands;
}

function bandsOf(pred: Float64Array, truth: Float64Array, w: number, h: number): BandScore[] {
  const smooth = (v: Float64Array, sigma: number): Float64Array => (sigma === 0 ? v : gaussianFilter(v, w, h, sigma));
  const p = removeMean(pred), t = removeMean(truth);
  const out: BandScore[] = [];
  for (let k = 0; k < SCALES.length; k++) {
    const lo = SCALES[k], hi = k + 1 < SCALES.length ? SCALES[k + 1] : null;
    const band = (v: Float64Array): Float64Array => {
      const fine = smooth(v, lo);
      if (hi === null) return fine;
      const coarse = smooth(v, hi);
      return Float64Array.from(fine, (x, i) => x - coarse[i]);
    };
    const pb = band(p), tb = band(t);
    let pt = 0, tt = 0;
    for (let i = 0; i < tb.length; i++) { pt += pb[i] * tb[i]; tt += tb[i] * tb[i]; }
    out.push({ from: lo, to: hi, gain: pt / tt, r: pearson(tb, pb), truthRms: Math.sqrt(tt / tb.length) });
  }
  return out;
}

export async function bands(input: string): Promise<BandsReport> {
  const file = fs.existsSync(input) && fs.statSync(input).isDirectory() ? path.join(input, 'reconstruction.npz') : input;
  const archive = await openNpz(file);
  try {
    if (!archive.has('ground_truth')) throw new Error(`${file} has no ground_truth (the dataset had no objectGuess)`);
    const object = await archive.readArray('object');
    const truth = await archive.readArray('ground_truth');
    const weight = await archive.readArray('weight');
    const [height, width] = object.shape;
    const pred = rotatePhase(object.data as Float32Array, globalPhaseOffset(object.data as Float32Array, truth.data as Float32Array, weight.data as Float32Array));
    const a = alignedImages(pred, truth.data as Float32Array, width, height, DEFAULT_TRIM, 'plane');
    const w = width - 2 * DEFAULT_TRIM, h = height - 2 * DEFAULT_TRIM;
    const phaseMs = msSsimLevels(toUnitPhase(a.phiTarget), toUnitPhase(a.phiPred), w, h, 0);
    const ampMs = msSsimLevels(a.ampTarget, a.ampPred, w, h, DEFAULT_MS_SSIM_SIGMA);
    return {
      file, width: w, height: h,
      phase: { bands: bandsOf(a.phiPred, a.phiTarget, w, h), msSsim: phaseMs.value, msSsimLevels: phaseMs.levels },
      amplitude: { bands: bandsOf(a.ampPred, a.ampTarget, w, h), msSsim: ampMs.value, msSsimLevels: ampMs.levels },
    };
  } finally {
    await archive.close();
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const input = argv.find((a) => !a.startsWith('--'));
  if (!input) {
    process.stderr.write('usage: analysis:bands -- <job folder or reconstruction.npz> [--json]\n');
    process.exit(2);
  }
  bands(input).then((r) => {
    if (argv.includes('--json')) { process.stdout.write(`${JSON.stringify(r)}\n`); return; }
    const f = (v: number): string => v.toFixed(3);
    process.stdout.write(`${r.file}: ${r.width}×${r.height} px scored\n`);
    process.stdout.write('| scales (px, Gaussian σ) | phase gain | phase r | truth rms (rad) | amplitude gain | amplitude r |\n|---|---|---|---|---|---|\n');
    r.phase.bands.forEach((b, k) => {
      const a = r.amplitude.bands[k];
      const name = b.to === null ? `coarser than ${b.from}` : b.from === 0 ? `finer than ${b.to}` : `${b.from}–${b.to}`;
      process.stdout.write(`| ${name} | ${f(b.gain)} | ${f(b.r)} | ${f(b.truthRms)} | ${f(a.gain)} | ${f(a.r)} |\n`);
    });
    process.stdout.write(`MS-SSIM phase ${f(r.phase.msSsim)} (levels ${r.phase.msSsimLevels.map(f).join(', ')}); amplitude ${f(r.amplitude.msSsim)} (levels ${r.amplitude.msSsimLevels.map(f).join(', ')})\n`);
  }).catch((err: Error) => { process.stderr.write(`analysis:bands: ${err.message}\n`); process.exit(1); });
}
