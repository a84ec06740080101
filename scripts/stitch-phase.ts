// Where a gridsize-1 model's stitched phase goes wrong (README "Reconstruction quality", item 17): the model's
// predictions on a dose's common evaluation (every pattern of the test split at its own position) are kept once and
// stitched several ways — the product's aligned stitching (synchronised, mean phase gradient removed) with and without
// the crosstalk correction, plain averaging, synchronised with anchors 0 / 0.1 (default) / 1, and with the patches'
// constant phases integrated from their predicted slopes instead of their overlaps — and each result is scored on the
// covered pixels: the study's phase r (plane fitted to the wrapped phase), the same r with the error wrapped
// relative to the truth (what the wrapping of a drifting phase costs), and how much of the error copies the truth's
// amplitude (phase–amplitude crosstalk). Per pattern: the predicted slopes regressed on the truth's phase slopes and
// on the truth's amplitude slopes under the probe.
//
//   npm run analysis:stitch-phase -- --model <run>/model.onnx --data <study>/phase_c/dose_100000/patched_test.npz [--json]
import * as ort from 'onnxruntime-node';
import { pearson, removePlaneAt } from '../src/core/metrics';
import { COVERED_WEIGHT, globalPhaseOffset, rotatePhase } from '../src/core/run/artifacts';
import { scanRegion } from '../src/core/run/evaluation';
import { synchronizePhases } from '../src/core/train/phaseSync';
import { AlignedStitch, cropObject, crosstalkCorrectionFor, Stitcher, stitchFillFor } from '../src/core/train/stitch';
import { probeCentroidShare, probePhaseGradient } from '../src/core/model';
import { analysisArgs, centred, openScored, plane, regress2, truthUnderPattern } from './phase-ramps';

export interface StitchScore {
  /** Covered-pixel phase r as the evaluation computes it (plane fitted to each wrapped phase). */
  phaseR: number;
  /** The same with the error angle(recon·conj(truth)) wrapped to (−π, π] first: no 2π jumps where the phase drifts. */
  phaseRErrorWrapped: number;
  /** rms of the plane-removed phase error (rad) and its Pearson r with the truth's amplitude. */
  errorRms: number;
  errorVsAmplitude: number;
  /** Least squares error ≈ α·(truth phase) + β·(truth amplitude) + plane: how much of the truth each carries. */
  alpha: number;
  beta: number;
  amplitudeR: number;
  coverage: number;
}

export interface StitchStudy {
  patterns: number;
  /** Predicted slopes regressed on the truth's phase slopes and amplitude slopes (pooled x and y), with r. */
  slopes: { onPhase: number; onAmplitude: number; r: number; rAmplitude: number; spread: [number, number]; truthPhaseVsAmplitude: number };
  /** The probe's share of the centroid under the predicted vs the true amplitude: Pearson r and spreads (detector px). */
  shares: { r: number; spread: [number, number] };
  modes: Record<string, StitchScore>;
}

interface Predictions {
  n: number;
  count: number;
  amplitude: Float32Array;
  phase: Float32Array;
  xs: Float64Array;
  ys: Float64Array;
  /** Predicted (centre phase, gx, gy) per pattern, and the truth's phase and amplitude slopes. */
  planes: Float64Array;
  truthSlopes: Float64Array;
  amplitudeSlopes: Float64Array;
  /** The probe's share of each pattern's far-field centroid (detector px, x then y) under the predicted and the true amplitude (support only). */
  sharePredicted: Float64Array;
  shareTruth: Float64Array;
  probe: { re: ArrayLike<number>; im: ArrayLike<number> };
  maps: { w: Float32Array; gu: Float32Array; gv: Float32Array };
}

/** The probe's share of the centroid with `a` on the model's support, the central N/2. */
const probeShare = (a: (k: number) => number, maps: { w: Float32Array; gu: Float32Array; gv: Float32Array }, n: number): [number, number] =>
  probeCentroidShare(a, maps, n, (i, j) => i >= n / 4 && i < n - n / 4 && j >= n / 4 && j < n - n / 4);
async function predict(modelFile: string, testFile: string): Promise<{ p: Predictions; truth: { width: number; height: number; data: Float32Array } }> {
  const { data, session, object, w, close } = await openScored(modelFile, testFile);
  try {
    const { n } = data;
    const count = data.count;
    const batch = 16;
    const x = new Float32Array(batch * n * n);
    const amplitude = new Float32Array(count * n * n);
    const phase = new Float32Array(count * n * n);
    const planes = new Float64Array(3 * count);
    const truthSlopes = new Float64Array(2 * count);
    const amplitudeSlopes = new Float64Array(2 * count);
    const { probe } = crosstalkCorrectionFor(data.probe.data, n);
    const maps = probePhaseGradient(probe, n);
    const sharePredicted = new Float64Array(2 * count);
    const shareTruth = new Float64Array(2 * count);
    const tre = new Float64Array(n * n), tim = new Float64Array(n * n), tam = new Float64Array(n * n);
    for (let start = 0; start < count; start += batch) {
      const idx = Array.from({ length: batch }, (_, k) => Math.min(start + k, count - 1));
      await data.patterns.read(idx, x);
      const out = await session.run({ diffraction: new ort.Tensor('float32', x, [batch, 1, n, n]) });
      const amp = out.amplitude.data as Float32Array;
      const ph = out.phase.data as Float32Array;
      for (let k = 0; k < Math.min(batch, count - start); k++) {
        const p = start + k;
        amplitude.set(amp.subarray(k * n * n, (k + 1) * n * n), p * n * n);
        phase.set(ph.subarray(k * n * n, (k + 1) * n * n), p * n * n);
        truthUnderPattern(object, data.xs[p], data.ys[p], n, tre, tim);
        for (let t = 0; t < n * n; t++) tam[t] = Math.hypot(tre[t], tim[t]);
        const pp = ph.subarray(k * n * n, (k + 1) * n * n);
        let sr = 0, si = 0;
        for (let t = 0; t < n * n; t++) if (w[t]) { sr += w[t] * Math.cos(pp[t]); si += w[t] * Math.sin(pp[t]); }
        const fp = plane(centred((t) => Math.cos(pp[t]), (t) => Math.sin(pp[t]), w), w, n);
        planes.set([Math.atan2(si, sr) + fp[0], fp[1], fp[2]], 3 * p);
        const ft = plane(centred((t) => tre[t], (t) => tim[t], w), w, n);
        truthSlopes.set([ft[1], ft[2]], 2 * p);
        const fa = plane(tam, w, n);
        amplitudeSlopes.set([fa[1], fa[2]], 2 * p);
        const pa = amp.subarray(k * n * n, (k + 1) * n * n);
        sharePredicted.set(probeShare((t) => pa[t], maps, n), 2 * p);
        shareTruth.set(probeShare((t) => tam[t], maps, n), 2 * p);
      }
    }
    return { p: { n, count, amplitude, phase, xs: data.xs, ys: data.ys, planes, truthSlopes, amplitudeSlopes, sharePredicted, shareTruth, maps, probe }, truth: object };
  } finally {
    await close();
  }
}


/**
 * Constant phases integrated from the predicted slopes: ρ minimising Σ_pairs (ρ_j + c_j − ρ_i − c_i − ḡ_ij·(x_j − x_i))²
 * over each pattern's `k` nearest neighbours (c: the patch's own centre phase, ḡ: the pair's mean predicted slope),
 * with a tiny pull to 0 for the gauge; conjugate gradients on the graph Laplacian.
 */
export function slopeIntegratedRotations(p: Predictions, k = 8): Float64Array {
  const { count, xs, ys, planes } = p;
  const pairs: [number, number, number][] = [];
  const seen = new Set<number>();
  for (let i = 0; i < count; i++) {
    const d = Array.from({ length: count }, (_, j) => ({ j, d: (xs[j] - xs[i]) ** 2 + (ys[j] - ys[i]) ** 2 })).filter((e) => e.j !== i).sort((a, b) => a.d - b.d).slice(0, k);
    for (const { j } of d) {
      const id = Math.min(i, j) * count + Math.max(i, j);
      if (seen.has(id)) continue;
      seen.add(id);
      const gx = (planes[3 * i + 1] + planes[3 * j + 1]) / 2, gy = (planes[3 * i + 2] + planes[3 * j + 2]) / 2;
      // Target ρ_j − ρ_i, the difference of centre phases taken modulo 2π towards the slope's prediction.
      const want = gx * (xs[j] - xs[i]) + gy * (ys[j] - ys[i]);
      let dc = planes[3 * i] - planes[3 * j] + want;
      dc = Math.atan2(Math.sin(dc), Math.cos(dc));
      pairs.push([i, j, dc]);
    }
  }
  const eps = 1e-6;
  const apply = (v: Float64Array): Float64Array => {
    const out = Float64Array.from(v, (x) => eps * x);
    for (const [i, j] of pairs) { const d = v[j] - v[i]; out[j] += d; out[i] -= d; }
    return out;
  };
  const b = new Float64Array(count);
  for (const [i, j, t] of pairs) { b[j] += t; b[i] -= t; }
  const xsol = new Float64Array(count);
  const r = b.slice();
  const dir = r.slice();
  let rr = r.reduce((s, v) => s + v * v, 0);
  for (let it = 0; it < 5000 && rr > 1e-20; it++) {
    const ad = apply(dir);
    const alpha = rr / dir.reduce((s, v, i) => s + v * ad[i], 0);
    for (let i = 0; i < count; i++) { xsol[i] += alpha * dir[i]; r[i] -= alpha * ad[i]; }
    const next = r.reduce((s, v) => s + v * v, 0);
    for (let i = 0; i < count; i++) dir[i] = r[i] + (next / rr) * dir[i];
    rr = next;
  }
  return xsol;
}

function score(object: Float32Array, weight: Float32Array, truth: Float32Array, width: number): StitchScore {
  const aligned = rotatePhase(object, globalPhaseOffset(object, truth, weight));
  const idx: number[] = [];
  for (let q = 0; q < weight.length; q++) if (weight[q] >= COVERED_WEIGHT) idx.push(q);
  const qx = idx.map((q) => q % width), qy = idx.map((q) => Math.floor(q / width));
  const pick = (f: (q: number) => number): Float64Array => Float64Array.from(idx, f);
  const tPhase = removePlaneAt(pick((q) => Math.atan2(truth[2 * q + 1], truth[2 * q])), qx, qy);
  const tAmp = pick((q) => Math.hypot(truth[2 * q], truth[2 * q + 1]));
  const study = removePlaneAt(pick((q) => Math.atan2(aligned[2 * q + 1], aligned[2 * q])), qx, qy);
  // Error relative to the truth, wrapped: angle(recon·conj(truth)).
  const err = removePlaneAt(pick((q) => {
    const a = aligned[2 * q], b = aligned[2 * q + 1], c = truth[2 * q], d = truth[2 * q + 1];
    return Math.atan2(b * c - a * d, a * c + b * d);
  }), qx, qy);
  const unwrapped = Float64Array.from(err, (e, k) => tPhase[k] + e);
  const fit = regress2(Float64Array.from(unwrapped), tPhase, tAmp);
  const rms = Math.sqrt(err.reduce((s, v) => s + v * v, 0) / err.length);
  return {
    phaseR: pearson(study, tPhase), phaseRErrorWrapped: pearson(unwrapped, tPhase), errorRms: rms, errorVsAmplitude: pearson(err, tAmp),
    alpha: fit.a, beta: fit.b,
    amplitudeR: pearson(pick((q) => Math.hypot(aligned[2 * q], aligned[2 * q + 1])), tAmp), coverage: idx.length / weight.length,
  };
}

export async function study(modelFile: string, testFile: string, cropSize = 20): Promise<StitchStudy> {
  const { p, truth } = await predict(modelFile, testFile);
  const { n, count } = p;
  const region = scanRegion(p.xs, p.ys, cropSize);
  const truthCrop = cropObject(truth, region);
  const fill = stitchFillFor(n, cropSize);
  const stitch = (rotations?: Float64Array): StitchScore => {
    const s = new Stitcher(region, n, cropSize, fill);
    for (let g = 0; g < count; g++) s.add(p.amplitude, p.phase, p.xs[g], p.ys[g], g * n * n, rotations ? rotations[g] : 0);
    const { object, weight } = s.result();
    return score(object, weight, truthCrop, region.width);
  };
  // The synchroniser's input: each patch's central N/2 window.
  const side = n / 2;
  const re = new Float32Array(count * side * side), im = new Float32Array(count * side * side);
  const centers = new Float64Array(2 * count);
  for (let g = 0; g < count; g++) {
    centers[2 * g] = p.xs[g];
    centers[2 * g + 1] = p.ys[g];
    for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) {
      const k = g * n * n + (n / 4 + i) * n + n / 4 + j;
      re[g * side * side + i * side + j] = p.amplitude[k] * Math.cos(p.phase[k]);
      im[g * side * side + i * side + j] = p.amplitude[k] * Math.sin(p.phase[k]);
    }
  }
  const windows = (ph: Float32Array): { re: Float32Array; im: Float32Array } => {
    const wr = new Float32Array(count * side * side), wi = new Float32Array(count * side * side);
    for (let g = 0; g < count; g++) for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) {
      const k = g * n * n + (n / 4 + i) * n + n / 4 + j;
      wr[g * side * side + i * side + j] = p.amplitude[k] * Math.cos(ph[k]);
      wi[g * side * side + i * side + j] = p.amplitude[k] * Math.sin(ph[k]);
    }
    return { re: wr, im: wi };
  };
  const sync = (anchor: number, ph = p.phase): Float64Array => synchronizePhases({ side, ...(ph === p.phase ? { re, im } : windows(ph)), centers }, { anchor }).rotations;
  const stitchPhase = (ph: Float32Array, rotations: Float64Array): StitchScore => {
    const s = new Stitcher(region, n, cropSize, fill);
    for (let g = 0; g < count; g++) s.add(p.amplitude, ph, p.xs[g], p.ys[g], g * n * n, rotations[g]);
    const { object, weight } = s.result();
    return score(object, weight, truthCrop, region.width);
  };
  // Each pattern's slope re-explained with another amplitude: the model fits the centroid with its own amplitude
  // plus its ramp, so g' = g + share(A_predicted) − share(A_other), added as a plane on the support.
  const reExplained = (other: Float64Array): Float32Array => {
    const out = Float32Array.from(p.phase);
    for (let g = 0; g < count; g++) {
      const dx = p.sharePredicted[2 * g] - other[2 * g], dy = p.sharePredicted[2 * g + 1] - other[2 * g + 1];
      for (let i = n / 4; i < n - n / 4; i++) for (let j = n / 4; j < n - n / 4; j++) out[g * n * n + i * n + j] += (2 * Math.PI * (dx * (j - n / 2) + dy * (i - n / 2))) / n;
    }
    return out;
  };
  // The plain-stitched amplitude under each pattern (bilinear), as the better amplitude estimate.
  const amplitudeShares = (ph = p.phase, rotations?: Float64Array): Float64Array => {
    const st = new Stitcher(region, n, cropSize, fill);
    for (let g = 0; g < count; g++) st.add(p.amplitude, ph, p.xs[g], p.ys[g], g * n * n, rotations ? rotations[g] : 0);
    const { object } = st.result();
    const W = region.width, H = region.height;
    const amp = (x: number, y: number): number => {
      const ix = Math.floor(x), iy = Math.floor(y), fx = x - ix, fy = y - iy;
      const at = (xx: number, yy: number): number => (xx < 0 || yy < 0 || xx >= W || yy >= H ? 0 : Math.hypot(object[2 * (yy * W + xx)], object[2 * (yy * W + xx) + 1]));
      return (1 - fy) * ((1 - fx) * at(ix, iy) + fx * at(ix + 1, iy)) + fy * ((1 - fx) * at(ix, iy + 1) + fx * at(ix + 1, iy + 1));
    };
    const out = new Float64Array(2 * count);
    for (let g = 0; g < count; g++) {
      const ox = p.xs[g] - region.x0 - n / 2, oy = p.ys[g] - region.y0 - n / 2;
      out.set(probeShare((k) => amp(ox + (k % n), oy + Math.floor(k / n)), p.maps, n), 2 * g);
    }
    return out;
  };
  const withStitched = reExplained(amplitudeShares());
  const withTruth = reExplained(p.shareTruth);
  // Iterated: the amplitude of the previous synchronised stitch (phases that agree average to a truer amplitude).
  const iterated = (rounds: number, anchor: number): StitchScore => {
    let ph = p.phase;
    let rot = sync(0.1);
    for (let r = 0; r < rounds; r++) {
      ph = reExplained(amplitudeShares(ph, rot));
      rot = sync(anchor, ph);
    }
    return stitchPhase(ph, rot);
  };
  // The product's stitching (train/stitch.ts AlignedStitch): synchronised, or with the crosstalk correction.
  const aligned = (crosstalk: boolean): StitchScore => {
    const a = new AlignedStitch(region, n, cropSize, count, { fill, ...(crosstalk ? { crosstalk: { probe: p.probe } } : {}) });
    for (let g = 0; g < count; g++) a.add(p.amplitude, p.phase, p.xs[g], p.ys[g], g * n * n);
    const { object, weight } = a.result();
    return score(object, weight, truthCrop, region.width);
  };
  const modes: Record<string, StitchScore> = {
    'product: synchronised (--no-crosstalk-correction)': aligned(false),
    'product: crosstalk-corrected (default)': aligned(true),
    plain: stitch(),
    'sync anchor 0': stitch(sync(0)),
    'sync anchor 0.1 (default)': stitch(sync(0.1)),
    'sync anchor 1': stitch(sync(1)),
    'slopes integrated': stitch(slopeIntegratedRotations(p)),
    're-explained (stitched amplitude), sync 0.1': stitchPhase(withStitched, sync(0.1, withStitched)),
    're-explained (stitched amplitude), sync 0': stitchPhase(withStitched, sync(0, withStitched)),
    're-explained (synced amplitude) ×1, sync 0': iterated(1, 0),
    're-explained (synced amplitude) ×3, sync 0': iterated(3, 0),
    're-explained (true amplitude, oracle), sync 0': stitchPhase(withTruth, sync(0, withTruth)),
    're-explained (true amplitude, oracle), sync 0.1': stitchPhase(withTruth, sync(0.1, withTruth)),
  };
  const predictedSlopes = Float64Array.from(p.planes.filter((_, i) => i % 3 !== 0));
  const fit = regress2(predictedSlopes, p.truthSlopes, p.amplitudeSlopes);
  const sd = (a: Float64Array): number => { const m = a.reduce((s, v) => s + v, 0) / a.length; return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length); };
  const sharesR = pearson(p.sharePredicted, p.shareTruth);
  return {
    shares: { r: sharesR, spread: [sd(p.sharePredicted), sd(p.shareTruth)] },
    patterns: count,
    slopes: { onPhase: fit.a, onAmplitude: fit.b, r: pearson(predictedSlopes, p.truthSlopes), rAmplitude: pearson(predictedSlopes, p.amplitudeSlopes), spread: [sd(predictedSlopes), sd(p.truthSlopes)], truthPhaseVsAmplitude: pearson(p.truthSlopes, p.amplitudeSlopes) },
    modes,
  };
}


if (require.main === module) {
  const args = analysisArgs('stitch-phase');
  study(args.model, args.data, args.crop).then((s) => {
    if (args.json) { process.stdout.write(`${JSON.stringify(s)}\n`); return; }
    const f = (v: number): string => v.toFixed(3);
    process.stdout.write(`${s.patterns} patterns; predicted slopes = ${f(s.slopes.onPhase)}·truth's + ${f(s.slopes.onAmplitude)}·amplitude slope (r ${f(s.slopes.r)} with the phase slopes, ${f(s.slopes.rAmplitude)} with the amplitude's; spread ${s.slopes.spread.map((v) => v.toFixed(4)).join(' vs ')} rad/px; the truth's own phase and amplitude slopes: r ${f(s.slopes.truthPhaseVsAmplitude)})\n`);
    process.stdout.write(`the probe's share of each centroid, predicted vs true amplitude: r ${f(s.shares.r)}, spread ${s.shares.spread.map(f).join(' vs ')} px\n`);
    process.stdout.write('| stitching | phase r (study) | phase r, error wrapped | error rms rad | error vs amplitude r | α (phase) | β (amplitude) | amplitude r |\n|---|---|---|---|---|---|---|---|\n');
    for (const [name, m] of Object.entries(s.modes)) process.stdout.write(`| ${name} | ${f(m.phaseR)} | ${f(m.phaseRErrorWrapped)} | ${f(m.errorRms)} | ${f(m.errorVsAmplitude)} | ${f(m.alpha)} | ${f(m.beta)} | ${f(m.amplitudeR)} |\n`);
  }).catch((err: Error) => { process.stderr.write(`stitch-phase: ${err.message}\n`); process.exit(1); });
}
