// Centroid-consistent stitching (README "Reconstruction quality", item 21): a pattern's measured far-field centroid
// equals the one the object under it predicts (the exact identity, checked against the project's FFT), and one step
// that adds to each patch the plane its patterns' misfit asks for brings a too-weak stitched phase towards the truth,
// with patterns at a group's offsets; the step is reported, guarded, and off unless asked for.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fft2d, fftshift2d } from '../../src/core/fft';
import { removePlaneAt } from '../../src/core/metrics';
import { normalizeProbe } from '../../src/core/model';
import { Rng, syntheticProbe } from '../../src/core/simulate';
import { resolveTrainingSettings } from '../../src/core/study/config';
import { AlignedStitch, CENTROID_STEP_MIN_DELIVERED, measuredCentroids, predictedCentroid, probeBlendFor, stitcherFor, type PatchPatterns } from '../../src/core/train';
import { makeStudy } from './helpers/study';
import { repoRoot, tempDir } from './helpers/paths';
import { truthCanvas } from './helpers/canvas';

const N = 32;
const SIZE = 112;
const CLI = path.join(repoRoot, 'dist', 'cli.js');

function truthAt(x: number, y: number): [number, number] {
  const a = 0.75 + 0.2 * Math.tanh(0.2 * (x - 50)) * Math.cos(0.06 * y);
  const p = 1.1 * Math.sin(0.045 * x + 0.3) * Math.cos(0.035 * y) + 0.4 * Math.tanh(0.25 * (y - 60));
  return [a, p];
}

describe('centroid-consistent stitching', () => {
  const probe = normalizeProbe(syntheticProbe(N).data, N);
  // The truth as a canvas over the whole object (region origin 0, 0), every pixel weighted.
  const truth = truthCanvas(SIZE, truthAt);
  const object = truth.object;

  /** The diffraction amplitude |fftshift(FFT2(P·O))| of the truth at integer position (px, py), scaled by `scale`. */
  function pattern(px: number, py: number, scale = 1): Float32Array {
    const re = new Float64Array(N * N), im = new Float64Array(N * N);
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
      const k = i * N + j, q = (py + i - N / 2) * SIZE + px + j - N / 2;
      const or = object[2 * q], oi = object[2 * q + 1];
      re[k] = probe.re[k] * or - probe.im[k] * oi;
      im[k] = probe.re[k] * oi + probe.im[k] * or;
    }
    fft2d(re, im, N, N);
    const mag = Float64Array.from(re, (v, k) => scale * Math.hypot(v, im[k]));
    return Float32Array.from(fftshift2d(mag, N, new Float64Array(N * N)));
  }

  it('the measured sin-weighted centroid of a pattern is the one the object under it predicts, whatever the scale', () => {
    for (const [px, py, scale] of [[40, 44, 1], [61, 57, 7.5], [70, 36, 0.01]]) {
      const out = new Float64Array(2);
      measuredCentroids(pattern(px, py, scale), 1, N, out);
      const [u, v] = predictedCentroid(truth, probe, px, py, N);
      assert.ok(Math.abs(out[0] - u) < 1e-6 && Math.abs(out[1] - v) < 1e-6, `measured (${out[0]}, ${out[1]}) vs predicted (${u}, ${v})`);
      assert.ok(Math.abs(u) + Math.abs(v) > 1e-3, 'the object moves the centroid at all');
    }
    const dark = new Float64Array(2);
    measuredCentroids(new Float32Array(N * N), 1, N, dark);
    assert.ok(Number.isNaN(dark[0]) && Number.isNaN(dark[1]), 'an empty pattern has no centroid');
    const empty = { ...truth, weight: new Float32Array(SIZE * SIZE) };
    assert.ok(predictedCentroid(empty, probe, 50, 50, N).every(Number.isNaN), 'no stitched light, no prediction');
  });

  // Groups of four patterns at offsets ±3 px from each group centre, on a grid of centres; each group predicts the
  // truth's amplitude with half the truth's phase (as the PINN's too-weak large scales), its own constant added.
  const offsets = [-3, -3, 3, -3, -3, 3, 3, 3];
  const centers: number[] = [];
  for (let y = 36; y <= 76; y += 5) for (let x = 36; x <= 76; x += 5) centers.push(x, y);
  const count = centers.length / 2;
  const amplitude = new Float32Array(count * N * N), phase = new Float32Array(count * N * N);
  const patterns: PatchPatterns[] = [];
  for (let g = 0; g < count; g++) {
    const constant = 2.5 * Math.sin(1.7 * g);
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
      const [a, p] = truthAt(centers[2 * g] + j - N / 2, centers[2 * g + 1] + i - N / 2);
      amplitude[g * N * N + i * N + j] = a;
      phase[g * N * N + i * N + j] = 0.5 * p + constant;
    }
    const measured = new Float64Array(8);
    for (let k = 0; k < 4; k++) measuredCentroids(pattern(centers[2 * g] + offsets[2 * k], centers[2 * g + 1] + offsets[2 * k + 1]), 1, N, measured, 2 * k);
    patterns.push({ offsets, centroids: measured });
  }
  const region = { x0: 34, y0: 34, width: 45, height: 45 };
  const blend = probeBlendFor(Float32Array.from({ length: 2 * N * N }, (_, k) => (k % 2 ? probe.im : probe.re)[k >> 1]), N);
  const stitch = (withCentroids: boolean, given = true, holes = false, taper = 0, byProbe = false, phases = phase): ReturnType<AlignedStitch['result']> => {
    const s = new AlignedStitch(region, N, 8, count, { anchor: 0, taper, ...(byProbe ? { probe: blend } : {}), ...(holes ? {} : { fill: { size: N, weight: 1e-3 } }), ...(withCentroids ? { centroids: { probe } } : {}) });
    for (let g = 0; g < count; g++) s.add(amplitude, phases, centers[2 * g], centers[2 * g + 1], g * N * N, given ? patterns[g] : undefined);
    return s.result();
  };
  /** rms of the stitched phase's error on the covered pixels, constant and plane removed. */
  const error = (o: Float32Array, weight: Float32Array): number => {
    const xs: number[] = [], ys: number[] = [], d: number[] = [];
    for (let y = 0; y < region.height; y++) for (let x = 0; x < region.width; x++) {
      const k = y * region.width + x;
      if (!(weight[k] >= 0.5)) continue;
      const [, p] = truthAt(region.x0 + x, region.y0 + y);
      const e = Math.atan2(o[2 * k + 1], o[2 * k]) - p;
      xs.push(x); ys.push(y); d.push(Math.atan2(Math.sin(e), Math.cos(e)));
    }
    // Unwrap-free: the errors stay well inside ±π once the common constant is removed.
    const mean = Math.atan2(d.reduce((s, v) => s + Math.sin(v), 0), d.reduce((s, v) => s + Math.cos(v), 0));
    const r = removePlaneAt(Float64Array.from(d, (v) => Math.atan2(Math.sin(v - mean), Math.cos(v - mean))), xs, ys);
    return Math.sqrt(r.reduce((s, v) => s + v * v, 0) / r.length);
  };

  it('one step at the groups\' pattern offsets moves a too-weak stitched phase towards the truth, and reports it', () => {
    const plain = stitch(false);
    const refined = stitch(true);
    assert.equal(plain.centroidRefinement, undefined, 'off unless asked for');
    const summary = refined.centroidRefinement!;
    assert.ok(summary, 'the step ran');
    assert.equal(summary.patterns, 4 * count);
    assert.ok(summary.accepted && summary.misfitAfter < 0.7 * summary.misfitBefore && summary.rmsStep > 0, JSON.stringify(summary));
    assert.ok(summary.delivered > 0.6 && summary.delivered < 1.5, `the stitch delivers most of the asked change: ${summary.delivered}`);
    assert.ok(Math.abs(summary.asked - summary.rmsStep) < 1e-9, 'with four patterns in every patch, asked and taken are the same rms');
    const before = error(plain.object, plain.weight), after = error(refined.object, refined.weight);
    assert.ok(after < 0.6 * before, `stitched phase error rms ${before} → ${after} rad`);
    // Amplitudes are not touched by a phase plane where the patches agree.
    let worst = 0;
    for (let k = 0; k < refined.weight.length; k++) if (refined.weight[k] >= 0.5) worst = Math.max(worst, Math.abs(Math.hypot(refined.object[2 * k], refined.object[2 * k + 1]) - Math.hypot(plain.object[2 * k], plain.object[2 * k + 1])));
    assert.ok(worst < 0.05, `amplitude moved by up to ${worst}`);
    // The study's holes kept in the reported stitch (--keep-holes): the centroids are still predicted from a whole object.
    const holesPlain = stitch(false, true, true), holesRefined = stitch(true, true, true);
    assert.ok(holesRefined.centroidRefinement?.accepted, JSON.stringify(holesRefined.centroidRefinement));
    assert.ok(Math.abs(holesRefined.centroidRefinement.misfitBefore - summary.misfitBefore) < 1e-9, 'the same misfit with or without holes');
    assert.ok(error(holesRefined.object, holesRefined.weight) < 0.6 * error(holesPlain.object, holesPlain.weight));
  });

  it('the Poisson variance of a measured centroid is the spread of its Poisson realisations', () => {
    // A pattern of mean 1,000 photons (dose 1e3, as the study's lowest) in amplitude units of any scale: counts k = countScale·x².
    const mean = pattern(52, 47);
    let energy = 0;
    for (const v of mean) energy += v * v;
    const countScale = 1000 / energy;
    const predicted = new Float64Array(2), variance = new Float64Array(2);
    measuredCentroids(mean, 1, N, predicted, 0, 0, { out: variance, countScale });
    const rng = new Rng(7, 'centroid-noise');
    const draws = 600;
    const sum = [0, 0], sq = [0, 0];
    const one = new Float64Array(2), x = new Float32Array(N * N);
    for (let d = 0; d < draws; d++) {
      for (let k = 0; k < N * N; k++) x[k] = Math.sqrt(rng.poisson(countScale * mean[k] ** 2));
      measuredCentroids(x, 1, N, one);
      for (const a of [0, 1]) { sum[a] += one[a]; sq[a] += one[a] ** 2; }
    }
    for (const a of [0, 1]) {
      const empirical = sq[a] / draws - (sum[a] / draws) ** 2;
      // The variance of a variance estimated from 600 draws: ±6 % (1σ); allow 20 %.
      assert.ok(Math.abs(empirical / variance[a] - 1) < 0.2, `axis ${a}: empirical ${empirical} vs Poisson ${variance[a]} px²`);
      assert.ok(Math.sqrt(variance[a]) > 0.05, `at 1,000 photons the centroid is noisy: ${Math.sqrt(variance[a])} px`);
    }
    // A hundred times the photons, a hundredth of the variance.
    const bright = new Float64Array(2);
    measuredCentroids(mean, 1, N, predicted, 0, 0, { out: bright, countScale: 100 * countScale });
    for (const a of [0, 1]) assert.ok(Math.abs((bright[a] * 100) / variance[a] - 1) < 1e-9);
  });

  it('the step is judged on what the signal asks for: the centroids\' Poisson noise is taken out of the asked change', () => {
    // The same measured centroids, each with a known variance σ² per axis: a patch of four asks σ²/4 of noise per axis.
    const withNoise = (sigma: number): NonNullable<ReturnType<AlignedStitch['result']>['centroidRefinement']> => {
      const s = new AlignedStitch(region, N, 8, count, { anchor: 0, taper: 0, fill: { size: N, weight: 1e-3 }, centroids: { probe } });
      for (let g = 0; g < count; g++) s.add(amplitude, phase, centers[2 * g], centers[2 * g + 1], g * N * N, { ...patterns[g], variances: new Float64Array(8).fill(sigma ** 2) });
      return s.result().centroidRefinement!;
    };
    const clean = stitch(true).centroidRefinement!;
    assert.equal(clean.askedNoise, 0, 'no variances, no noise');
    assert.equal(clean.noiseFloor, 0);
    const sigma = 0.6 * clean.asked;
    const noisy = withNoise(sigma);
    assert.ok(Math.abs(noisy.noiseFloor - sigma) < 1e-12, `noise floor ${noisy.noiseFloor} = σ`);
    assert.ok(noisy.misfitBefore > sigma, 'a misfit above the noise floor: the predictions are independent of the noise');
    assert.ok(Math.abs(noisy.askedNoise - sigma / 2) < 1e-12, `askedNoise ${noisy.askedNoise} = σ/2 = ${sigma / 2}`);
    // The same stitch and the same step: only the share delivered is judged against asked² − noise².
    assert.equal(noisy.misfitAfter, clean.misfitAfter);
    const expected = (clean.delivered * clean.asked ** 2) / (clean.asked ** 2 - (sigma / 2) ** 2);
    assert.ok(Math.abs(noisy.delivered - expected) < 1e-9 && noisy.delivered > clean.delivered, `${noisy.delivered} vs ${expected}`);
    // A misfit under the noise floor: the predictions follow their patterns' noise, so none is taken out (the
    // delivered share is the plain one).
    const tracked = withNoise(1.5 * clean.misfitBefore);
    assert.equal(tracked.askedNoise, 0);
    assert.equal(tracked.delivered, clean.delivered);
    assert.equal(tracked.accepted, clean.accepted);
  });

  it('with a taper (stitchBlend) the step is judged on the crops\' stitch, as its guard was measured, and the taper blends the result', () => {
    const crop = stitch(true);
    const tapered = stitch(true, true, false, N / 2);
    assert.deepEqual(tapered.centroidRefinement, crop.centroidRefinement, 'the same misfits, asked and delivered, the same decision');
    assert.ok(tapered.centroidRefinement?.accepted);
    assert.notDeepEqual(Array.from(tapered.object), Array.from(crop.object), 'the reported object is blended with the taper');
    assert.deepEqual(Array.from(tapered.weight), Array.from(crop.weight), 'over the crops\' coverage');
  });

  it('with the probe blend the step is judged on the probe\'s stitch of the whole patches, and brings the phase towards the truth', () => {
    // Patches that disagree (each its own ripple, strongest at its border, where its probe is weak), so that how they
    // are blended matters.
    const rippled = Float32Array.from(phase, (v, k) => {
      const g = Math.floor(k / (N * N)), i = Math.floor((k % (N * N)) / N) - N / 2, j = (k % N) - N / 2;
      return v + 0.2 * ((i * i + j * j) / (N * N / 4)) * Math.sin(0.7 * j + 1.3 * g);
    });
    const crop = stitch(true, true, false, 0, false, rippled);
    const plain = stitch(false, true, false, 0, true, rippled);
    const probed = stitch(true, true, false, 0, true, rippled);
    const summary = probed.centroidRefinement!;
    assert.ok(summary.accepted && summary.misfitAfter < 0.7 * summary.misfitBefore, JSON.stringify(summary));
    assert.ok(Math.abs(summary.misfitBefore - crop.centroidRefinement!.misfitBefore) > 1e-4, 'a different stitch judged: the probe\'s, not the crops\'');
    assert.ok(error(probed.object, probed.weight) < 0.6 * error(plain.object, plain.weight), 'the stitched phase error falls');
    assert.deepEqual(Array.from(probed.weight), Array.from(crop.weight), 'over the crops\' coverage');
  });

  it('the patterns\' offsets matter: the same centroids placed at the group centres explain the data worse', () => {
    const s = new AlignedStitch(region, N, 8, count, { anchor: 0, fill: { size: N, weight: 1e-3 }, centroids: { probe } });
    for (let g = 0; g < count; g++) s.add(amplitude, phase, centers[2 * g], centers[2 * g + 1], g * N * N, { offsets: new Float64Array(8), centroids: patterns[g].centroids });
    const misplaced = s.result().centroidRefinement!;
    const right = stitch(true).centroidRefinement!;
    assert.ok(misplaced.misfitBefore > 1.5 * right.misfitBefore, `misfit with the offsets ignored ${misplaced.misfitBefore} vs ${right.misfitBefore}`);
  });

  it('without the patterns, or with the setting off, the stitch is unchanged; a step that does not help is not kept', () => {
    const plain = stitch(false);
    const noPatterns = stitch(true, false);
    assert.equal(noPatterns.centroidRefinement, undefined);
    assert.deepEqual(Array.from(noPatterns.object), Array.from(plain.object));
    const off = stitcherFor(region, N, 8, count, { alignPhase: true, fillHoles: true, centroidRefinement: false }, interleaved(probe), 4);
    const on = stitcherFor(region, N, 8, count, { alignPhase: true, fillHoles: true, centroidRefinement: true }, interleaved(probe), 4);
    for (let g = 0; g < count; g++) { off.add(amplitude, phase, centers[2 * g], centers[2 * g + 1], g * N * N, patterns[g]); on.add(amplitude, phase, centers[2 * g], centers[2 * g + 1], g * N * N, patterns[g]); }
    assert.equal(off.result().centroidRefinement, undefined);
    assert.ok(on.result().centroidRefinement?.accepted);
    // Centroids no set of planes can follow (each group's asks for a 3-px slope, alternating in sign from group to
    // group, on top of what the stitch predicts): the step barely moves the misfit and the stitch is left as it was.
    const margin = N / 2;
    const wideRegion = { x0: region.x0 - margin, y0: region.y0 - margin, width: region.width + 2 * margin, height: region.height + 2 * margin };
    const wideBase = new AlignedStitch(wideRegion, N, 8, count, { anchor: 0, fill: { size: N, weight: 1e-3 } });
    const base = new AlignedStitch(region, N, 8, count, { anchor: 0, fill: { size: N, weight: 1e-3 } });
    for (let g = 0; g < count; g++) {
      wideBase.add(amplitude, phase, centers[2 * g], centers[2 * g + 1], g * N * N);
      base.add(amplitude, phase, centers[2 * g], centers[2 * g + 1], g * N * N);
    }
    const wide = { region: wideRegion, ...wideBase.result() };
    const s = new AlignedStitch(region, N, 8, count, { anchor: 0, fill: { size: N, weight: 1e-3 }, centroids: { probe } });
    for (let g = 0; g < count; g++) {
      const ask = g % 2 ? 3 : -3;
      const centroids: number[] = [];
      for (let k = 0; k < 4; k++) {
        const [u, v] = predictedCentroid(wide, probe, centers[2 * g] + offsets[2 * k], centers[2 * g + 1] + offsets[2 * k + 1], N);
        centroids.push(u + ask, v - ask);
      }
      s.add(amplitude, phase, centers[2 * g], centers[2 * g + 1], g * N * N, { offsets, centroids });
    }
    const guarded = s.result();
    assert.ok(guarded.centroidRefinement && !guarded.centroidRefinement.accepted && guarded.centroidRefinement.rmsStep === 0, JSON.stringify(guarded.centroidRefinement));
    assert.ok(guarded.centroidRefinement.delivered < CENTROID_STEP_MIN_DELIVERED && guarded.centroidRefinement.asked > 2.5);
    assert.deepEqual(Array.from(guarded.object), Array.from(base.result().object), 'a rejected step leaves the stitch as it was');
  });

  it('is on by default, recorded in the run config, and --no-centroid-refinement turns it off', async () => {
    assert.equal(resolveTrainingSettings().stitchCentroidRefinement, true);
    assert.throws(() => resolveTrainingSettings({ stitchCentroidRefinement: 'yes' as never }), /stitchCentroidRefinement must be true or false/);
    const tmp = tempDir('ptycho-centroids-');
    try {
      await makeStudy(tmp.dir, { doses: [1000], views: [] });
      const dry = (...flags: string[]) => spawnSync(process.execPath, [CLI, 'dry-run', '--workspace', tmp.dir, '--view', 'baseline', ...flags], { encoding: 'utf8', timeout: 60_000 });
      const config = (): { stitchCentroidRefinement: boolean } => JSON.parse(fs.readFileSync(path.join(tmp.dir, 'phase_e', 'dose_1000', 'baseline', 'gs1', 'run-config.json'), 'utf8')).training;
      let r = dry();
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(config().stitchCentroidRefinement, true);
      r = dry('--no-centroid-refinement');
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(config().stitchCentroidRefinement, false);
      r = dry('--centroid-refinement', '--no-centroid-refinement');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /exclude each other/);
    } finally {
      tmp.cleanup();
    }
  });

  it('a trained job records the Poisson noise floor of its measured centroids, from the dose\'s photon count, and its log says it', async function () {
    this.timeout(300_000);
    const tmp = tempDir('ptycho-centroid-noise-');
    try {
      await makeStudy(tmp.dir, { doses: [1000, 100000], views: [] });
      const noise: number[] = [];
      for (const dose of [1000, 100000]) {
        const r = spawnSync(process.execPath, [CLI, 'train', '--workspace', tmp.dir, '--dose', String(dose), '--view', 'baseline', '--epochs', '1', '--batch-size', '8', '--n-filters-scale', '1', '--threads', '1'], { encoding: 'utf8', timeout: 240_000 });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /Centroid step: .* px asked; the centroids' Poisson noise \d\.\d{3} px/);
        const step = (JSON.parse(fs.readFileSync(path.join(tmp.dir, 'phase_e', `dose_${dose}`, 'baseline', 'gs1', 'metrics.json'), 'utf8')) as { centroidRefinement: { misfitBefore: number; asked: number; noiseFloor: number; askedNoise: number } }).centroidRefinement;
        assert.ok(step.noiseFloor > 0, JSON.stringify(step));
        // Taken out only where the misfit lies above it (a gridsize-1 patch is predicted from its own, noisy pattern).
        if (step.misfitBefore > step.noiseFloor) assert.ok(step.askedNoise > 0 && step.askedNoise <= step.noiseFloor, JSON.stringify(step));
        else assert.equal(step.askedNoise, 0, JSON.stringify(step));
        noise.push(step.noiseFloor);
      }
      // A hundred times the photons: a tenth of the centroids' spread (the same positions and object, other counts).
      const ratio = noise[0] / noise[1];
      assert.ok(ratio > 8 && ratio < 12.5, `noise at 1e3 / at 1e5: ${ratio}`);
    } finally {
      tmp.cleanup();
    }
  });
});

function interleaved(p: { re: ArrayLike<number>; im: ArrayLike<number> }): Float32Array {
  const out = new Float32Array(2 * p.re.length);
  for (let k = 0; k < p.re.length; k++) { out[2 * k] = p.re[k]; out[2 * k + 1] = p.im[k]; }
  return out;
}
