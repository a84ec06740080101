// Where a gridsize-2 model's stitched phase goes wrong (README "Reconstruction quality", items 20–21): the model's
// predictions for every group of a dose's common evaluation are kept once and stitched several ways — plain
// averaging, synchronised with anchors 0 (the product's, GROUP_SYNC_ANCHOR; with and without the centroid-consistency
// step against the patterns' measured centroids, on the crops and with the probe blend of item 29) / 0.1 / 1, and
// with each group's slope re-explained with the stitched amplitude (the gridsize-1 crosstalk correction applied per
// group: the mean over the group's patterns of share(group amplitude) − share(stitched amplitude)). Each is scored on the covered pixels: the
// study's phase r, and the gain of the stitched phase on the truth's (least-squares slope, plane removed) for all of
// it and for its part smoother than a 32-px box — how much of the truth's contrast the stitch keeps, where a pull
// towards each group's own phase acts. Per group: its predicted phase slopes regressed on the truth's and on
// share(group amplitude) − share(true amplitude) (a model that explains each centroid with its own amplitude has
// −1 there; the correction assumes it). The centroid misfit (measured − predicted, detector px) of the truth and of
// the default stitch before and after its step says how far each object is from explaining the data's centroids.
//
//   npm run analysis:stitch-groups -- --model <run>/model.onnx --data <study>/phase_c/dose_100000/patched_test.npz [--json]
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { pearson, removePlaneAt } from '../src/core/metrics';
import { probeCentroidShare, probePhaseGradient } from '../src/core/model';
import { COVERED_WEIGHT, globalPhaseOffset, rotatePhase } from '../src/core/run/artifacts';
import { evaluationGroups, scanRegion } from '../src/core/run/evaluation';
import { countScaleFor } from '../src/core/study/config';
import { parseDoseFolder } from '../src/core/study/layout';
import { AlignedStitch, centroidMisfit, cropObject, crosstalkCorrectionFor, groupPatterns, measuredCentroids, openTrainingDataset, Stitcher, stitcherFor, stitchFillFor, type CentroidRefinementSummary, type PatchPatterns, type StitchRegion, type StitchResult } from '../src/core/train';
import { analysisArgs, centred, plane, regress2 } from './phase-ramps';

export interface GroupStitchScore {
  phaseR: number;
  /** Least-squares gain of the stitched phase on the truth's (planes removed): all scales, and wider than 32 px. */
  gain: number;
  gainWide: number;
  amplitudeR: number;
}

export interface GroupStitchStudy {
  groups: number;
  /** Predicted group slopes ≈ onTruth·truth's + onShare·(share(group amplitude) − share(true amplitude)), detector px. */
  slopes: { onTruth: number; onShare: number; r: number };
  modes: Record<string, GroupStitchScore>;
  /** Centroid misfit (rms, detector px) of the true object, and the step of the crops' and of the probe blend's stitch. */
  centroids: { truthMisfit: number; step: CentroidRefinementSummary | undefined; probeStep: CentroidRefinementSummary | undefined };
}

/** Separable box mean of `v` over the covered pixels (a hole does not count), half-width `h`. */
function boxMean(v: Float64Array, covered: Uint8Array, width: number, height: number, h: number): Float64Array {
  const pass = (src: Float64Array, wsrc: Float64Array, horizontal: boolean): [Float64Array, Float64Array] => {
    const out = new Float64Array(src.length), wout = new Float64Array(src.length);
    const [outer, inner] = horizontal ? [height, width] : [width, height];
    for (let a = 0; a < outer; a++) {
      for (let b = 0; b < inner; b++) {
        let s = 0, w = 0;
        for (let d = Math.max(0, b - h); d <= Math.min(inner - 1, b + h); d++) {
          const k = horizontal ? a * width + d : d * width + a;
          s += src[k]; w += wsrc[k];
        }
        const k = horizontal ? a * width + b : b * width + a;
        out[k] = s; wout[k] = w;
      }
    }
    return [out, wout];
  };
  const w0 = Float64Array.from(covered);
  const v0 = Float64Array.from(v, (x, k) => (covered[k] ? x : 0));
  const [v1, w1] = pass(v0, w0, true);
  const [v2, w2] = pass(v1, w1, false);
  return Float64Array.from(v2, (x, k) => (w2[k] > 0 ? x / w2[k] : 0));
}

function gainOf(pred: Float64Array, truth: Float64Array): number {
  let a = 0, b = 0;
  const mp = pred.reduce((s, x) => s + x, 0) / pred.length, mt = truth.reduce((s, x) => s + x, 0) / truth.length;
  for (let i = 0; i < pred.length; i++) { a += (pred[i] - mp) * (truth[i] - mt); b += (truth[i] - mt) ** 2; }
  return a / b;
}

function score(object: Float32Array, weight: Float32Array, truth: Float32Array, width: number): GroupStitchScore {
  const height = weight.length / width;
  const aligned = rotatePhase(object, globalPhaseOffset(object, truth, weight));
  const covered = Uint8Array.from(weight, (w) => (w >= COVERED_WEIGHT ? 1 : 0));
  const idx: number[] = [];
  for (let q = 0; q < covered.length; q++) if (covered[q]) idx.push(q);
  const qx = idx.map((q) => q % width), qy = idx.map((q) => Math.floor(q / width));
  const pick = (f: (q: number) => number): Float64Array => Float64Array.from(idx, f);
  const tPhase = removePlaneAt(pick((q) => Math.atan2(truth[2 * q + 1], truth[2 * q])), qx, qy);
  const study = removePlaneAt(pick((q) => Math.atan2(aligned[2 * q + 1], aligned[2 * q])), qx, qy);
  // The stitched phase as truth + wrapped error (no 2π jumps), for the gains.
  const err = removePlaneAt(pick((q) => {
    const a = aligned[2 * q], b = aligned[2 * q + 1], c = truth[2 * q], d = truth[2 * q + 1];
    return Math.atan2(b * c - a * d, a * c + b * d);
  }), qx, qy);
  const pred = Float64Array.from(err, (e, k) => tPhase[k] + e);
  const full = (v: Float64Array): Float64Array => { const out = new Float64Array(covered.length); idx.forEach((q, k) => { out[q] = v[k]; }); return out; };
  const wide = (v: Float64Array): Float64Array => { const b = boxMean(full(v), covered, width, height, 16); return Float64Array.from(idx, (q) => b[q]); };
  return {
    phaseR: pearson(study, tPhase), gain: gainOf(pred, tPhase), gainWide: gainOf(wide(pred), wide(tPhase)),
    amplitudeR: pearson(pick((q) => Math.hypot(aligned[2 * q], aligned[2 * q + 1])), pick((q) => Math.hypot(truth[2 * q], truth[2 * q + 1]))),
  };
}

export async function study(modelFile: string, testFile: string, cropSize = 20): Promise<GroupStitchStudy> {
  const data = await openTrainingDataset(testFile);
  if (!data.object) { await data.close(); throw new Error(`${testFile} has no objectGuess`); }
  const object = data.object;
  const session = await ort.InferenceSession.create(fs.readFileSync(modelFile));
  try {
    const n = data.n;
    // The default grouping (training.neighborCount 7, seed 42), as a default run's evaluation forms it.
    const groups = evaluationGroups(data.xs, data.ys, { gridsize: 2, neighborCount: 7, seed: 42 });
    const c = groups.size, count = groups.count;
    if (c < 2) throw new Error('a gridsize-2 model is needed');
    const amplitude = new Float32Array(count * n * n), phase = new Float32Array(count * n * n);
    const centroids = new Float64Array(count * c * 2);
    // The centroids' Poisson noise, in the counts a run of this dose assumes (s², item 30), when the data sit in a
    // Phase C dose folder; elsewhere the step is judged without it.
    const dose = parseDoseFolder(path.basename(path.dirname(testFile)));
    const variances = dose !== undefined ? { out: new Float64Array(count * c * 2), countScale: countScaleFor(dose, n) } : undefined;
    const batch = 16;
    const x = new Float32Array(batch * c * n * n), offsets = new Float32Array(batch * c * 2), patterns = new Int32Array(batch * c);
    for (let start = 0; start < count; start += batch) {
      const valid = Math.min(batch, count - start);
      for (let k = 0; k < batch; k++) {
        const g = start + (k < valid ? k : 0);
        patterns.set(groups.indices.subarray(g * c, (g + 1) * c), k * c);
        offsets.set(groups.offsets.subarray(g * c * 2, (g + 1) * c * 2), k * c * 2);
      }
      await data.patterns.read(patterns, x);
      const out = await session.run({ diffraction: new ort.Tensor('float32', x, [batch, c, n, n]), offsets: new ort.Tensor('float32', offsets, [batch, c, 2]) });
      measuredCentroids(x, valid * c, n, centroids, start * c * 2, 0, variances);
      for (let k = 0; k < valid; k++) {
        amplitude.set((out.amplitude.data as Float32Array).subarray(k * n * n, (k + 1) * n * n), (start + k) * n * n);
        phase.set((out.phase.data as Float32Array).subarray(k * n * n, (k + 1) * n * n), (start + k) * n * n);
      }
    }
    const region = scanRegion(data.xs, data.ys, cropSize);
    const truth = cropObject(object, region);
    const fill = stitchFillFor(n, cropSize);
    const centers = groups.centers;
    const probe = crosstalkCorrectionFor(data.probe.data, n).probe;
    const patchPatterns: PatchPatterns[] = Array.from({ length: count }, (_, g) => groupPatterns(groups, g, centroids, g, variances?.out));
    // anchor 'default': the product's gridsize-2 stitch (stitcherFor), centroid step included, on the crops; 'probe': the
    // same with the probe blend (README item 29; the default for a full-support model).
    const stitched = (ph: Float32Array, anchor: number | null | 'default' | 'probe', into: StitchRegion = region): StitchResult => {
      const st = anchor === 'default' || anchor === 'probe'
        ? stitcherFor(into, n, cropSize, count, { alignPhase: true, fillHoles: true, centroidRefinement: true, blend: anchor === 'probe' ? 'probe' : 'crop' }, data.probe.data, c)
        : anchor === null ? new Stitcher(into, n, cropSize, fill) : new AlignedStitch(into, n, cropSize, count, { fill, anchor });
      for (let g = 0; g < count; g++) {
        if (st instanceof Stitcher) st.add(amplitude, ph, centers[2 * g], centers[2 * g + 1], g * n * n);
        else st.add(amplitude, ph, centers[2 * g], centers[2 * g + 1], g * n * n, patchPatterns[g]);
      }
      return st.result();
    };
    let step: CentroidRefinementSummary | undefined;
    let probeStep: CentroidRefinementSummary | undefined;
    const scored = (ph: Float32Array, anchor: number | null | 'default' | 'probe'): GroupStitchScore => {
      const r = stitched(ph, anchor, region);
      if (anchor === 'default') step = r.centroidRefinement;
      if (anchor === 'probe') probeStep = r.centroidRefinement;
      return score(r.object, r.weight, truth, region.width);
    };

    // Per group and pattern: the probe's share of the centroid under the group's amplitude (shifted by the pattern's
    // offset), under the stitched amplitude (anchor 0.1, on a canvas N/2 wider) and under the truth's.
    const maps = probePhaseGradient(probe, n);
    const q = n / 4;
    const support = (i: number, j: number): boolean => i >= q && i < n - q && j >= q && j < n - q;
    const margin = n / 2;
    const wide: StitchRegion = { x0: region.x0 - margin, y0: region.y0 - margin, width: region.width + 2 * margin, height: region.height + 2 * margin };
    const first = stitched(phase, 0.1, wide);
    const sample = (img: (X: number, Y: number) => number | undefined, px: number, py: number, fallback: (k: number) => number) => (k: number): number => {
      const v = img(px + (k % n) - n / 2, py + Math.floor(k / n) - n / 2);
      return v === undefined ? fallback(k) : v;
    };
    const stitchedAmplitude = (X: number, Y: number): number | undefined => {
      const xx = Math.round(X) - wide.x0, yy = Math.round(Y) - wide.y0;
      if (xx < 0 || yy < 0 || xx >= wide.width || yy >= wide.height || !(first.weight[yy * wide.width + xx] > 0)) return undefined;
      return Math.hypot(first.object[2 * (yy * wide.width + xx)], first.object[2 * (yy * wide.width + xx) + 1]);
    };
    const trueAmplitude = (X: number, Y: number): number | undefined => {
      const xx = Math.round(X), yy = Math.round(Y);
      if (xx < 0 || yy < 0 || xx >= object.width || yy >= object.height) return undefined;
      return Math.hypot(object.data[2 * (yy * object.width + xx)], object.data[2 * (yy * object.width + xx) + 1]);
    };
    const corrected = Float32Array.from(phase);
    const predicted: number[] = [], truthSlopes: number[] = [], shareGap: number[] = [];
    const toPixels = n / (2 * Math.PI);
    for (let g = 0; g < count; g++) {
      let du = 0, dv = 0, tu = 0, tv = 0;
      for (let k = 0; k < c; k++) {
        const dx = groups.offsets[(g * c + k) * 2], dy = groups.offsets[(g * c + k) * 2 + 1];
        const rx = Math.round(dx), ry = Math.round(dy);
        const own = (t: number): number => { const i = Math.floor(t / n) + ry, j = (t % n) + rx; return i >= 0 && j >= 0 && i < n && j < n ? amplitude[g * n * n + i * n + j] : 0; };
        const px = centers[2 * g] + dx, py = centers[2 * g + 1] + dy;
        const [pu, pv] = probeCentroidShare(own, maps, n, support);
        const [su, sv] = probeCentroidShare(sample(stitchedAmplitude, px, py, own), maps, n, support);
        const [au, av] = probeCentroidShare(sample(trueAmplitude, px, py, own), maps, n, support);
        du += (pu - su) / c; dv += (pv - sv) / c; tu += (pu - au) / c; tv += (pv - av) / c;
      }
      if (!Number.isFinite(du + dv)) { du = 0; dv = 0; }
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) corrected[g * n * n + i * n + j] += (2 * Math.PI * (du * (j - n / 2) + dv * (i - n / 2))) / n;
      // The group's slopes and the truth's on the group's central N/2 where it predicts.
      const at = g * n * n;
      const mask = Float64Array.from({ length: n * n }, (_, k) => (amplitude[at + k] > 0 && support(Math.floor(k / n), k % n) ? 1 : 0));
      const cx = centers[2 * g], cy = centers[2 * g + 1];
      const tr = (k: number, part: 0 | 1): number => {
        const X = Math.round(cx + (k % n) - n / 2), Y = Math.round(cy + Math.floor(k / n) - n / 2);
        return X >= 0 && Y >= 0 && X < object.width && Y < object.height ? object.data[2 * (Y * object.width + X) + part] : 0;
      };
      const ps = plane(centred((k) => amplitude[at + k] * Math.cos(phase[at + k]), (k) => amplitude[at + k] * Math.sin(phase[at + k]), mask), mask, n).slice(1);
      const ts = plane(centred((k) => tr(k, 0), (k) => tr(k, 1), mask), mask, n).slice(1);
      if (![...ps, ...ts, tu, tv].every(Number.isFinite)) continue;
      predicted.push(ps[0] * toPixels, ps[1] * toPixels);
      truthSlopes.push(ts[0] * toPixels, ts[1] * toPixels);
      shareGap.push(tu, tv);
    }
    const fit = regress2(predicted, truthSlopes, shareGap);
    const truthCanvas = { region: { x0: 0, y0: 0, width: object.width, height: object.height }, object: object.data, weight: new Float32Array(object.width * object.height).fill(1) };
    const truthMisfit = centroidMisfit(truthCanvas, probe, n, centers, patchPatterns).rms;
    const modes: Record<string, GroupStitchScore> = {
      plain: scored(phase, null),
      'synchronised, anchor 0, centroid step (crops)': scored(phase, 'default'),
      'synchronised, anchor 0, centroid step, probe blend': scored(phase, 'probe'),
      'synchronised, anchor 0, no centroid step': scored(phase, 0),
      'synchronised, anchor 0.1 (before)': scored(phase, 0.1),
      'synchronised, anchor 1': scored(phase, 1),
      'group slopes re-explained, anchor 0': scored(corrected, 0),
      'group slopes re-explained, anchor 0.1': scored(corrected, 0.1),
    };
    return { groups: count, slopes: { onTruth: fit.a, onShare: fit.b, r: pearson(Float64Array.from(predicted), Float64Array.from(truthSlopes)) }, modes, centroids: { truthMisfit, step, probeStep } };
  } finally {
    await session.release();
    await data.close();
  }
}

if (require.main === module) {
  const args = analysisArgs('stitch-groups');
  study(args.model, args.data, args.crop).then((s) => {
    if (args.json) { process.stdout.write(`${JSON.stringify(s)}\n`); return; }
    const f = (v: number): string => v.toFixed(3);
    process.stdout.write(`${s.groups} groups; predicted group slopes = ${f(s.slopes.onTruth)}·truth's + ${f(s.slopes.onShare)}·(share under the group's amplitude − under the truth's) (detector px; r with the truth's ${f(s.slopes.r)})\n`);
    const said = (st: CentroidRefinementSummary | undefined): string => (st ? `${f(st.misfitBefore)} → ${f(st.misfitAfter)} after its step (${st.accepted ? 'kept' : 'not kept'})` : '—');
    process.stdout.write(`centroid misfit (measured − predicted, rms detector px): the true object ${f(s.centroids.truthMisfit)}; the crops' stitch ${said(s.centroids.step)}; the probe blend's ${said(s.centroids.probeStep)}\n`);
    process.stdout.write('| stitching | phase r (study) | phase gain, all / wider than 32 px | amplitude r |\n|---|---|---|---|\n');
    for (const [name, m] of Object.entries(s.modes)) process.stdout.write(`| ${name} | ${f(m.phaseR)} | ${f(m.gain)} / ${f(m.gainWide)} | ${f(m.amplitudeR)} |\n`);
  }).catch((err: Error) => { process.stderr.write(`stitch-groups: ${err.message}\n`); process.exit(1); });
}
