// training.stitchContrastCalibration (README "Reconstruction quality", item 36): the stitched phase scaled about its
// mean plane by the one gain with which the forward model of the object reproduces the measured patterns best. A
// phase shrunk by a known factor is given its contrast back from Poisson-noisy patterns alone; the truth is left
// as it is; the amplitude and the holes are never touched; a phase near its wraps is refused; and a trained job
// records what was done in metrics.json ('auto': gridsize 2 only), and a resume re-scores with or without it.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNpz } from '../../src/core/npy';
import { FarField } from '../../src/core/simulate/forward';
import { Rng } from '../../src/core/simulate/rng';
import { syntheticObject, syntheticProbe, type ComplexImage } from '../../src/core/simulate/synthetic';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import { resolveGridsizeTwoSwitch, resolveTrainingSettings } from '../../src/core/study';
import { calibratePhaseContrast, meanPhaseGradient, misfit, type CalibrationPatterns, type ComplexArray } from '../../src/core/train';
import { repoRoot, tempDir } from './helpers/paths';

const CLI = path.join(repoRoot, 'dist', 'cli.js');
const N = 64;
const SIZE = 192;

/** The object with its phase about its mean plane (and mean) scaled by `gain`, as the calibration scales it. */
function scalePhase(object: Float32Array, width: number, gain: number): Float32Array {
  const weight = new Float32Array(object.length / 2).fill(1);
  const [gu, gv] = meanPhaseGradient(object, weight, width);
  let sr = 0, si = 0;
  const planeAt = (k: number): number => gu * (k % width) + gv * Math.floor(k / width);
  for (let k = 0; k < weight.length; k++) {
    const t = -planeAt(k), re = object[2 * k], im = object[2 * k + 1];
    sr += re * Math.cos(t) - im * Math.sin(t); si += re * Math.sin(t) + im * Math.cos(t);
  }
  const mean = Math.atan2(si, sr);
  const out = new Float32Array(object.length);
  for (let k = 0; k < weight.length; k++) {
    const re = object[2 * k], im = object[2 * k + 1], a = Math.hypot(re, im);
    const rel = Math.atan2(im, re) - planeAt(k) - mean;
    const wrappedRel = Math.atan2(Math.sin(rel), Math.cos(rel));
    const t = planeAt(k) + mean + gain * wrappedRel;
    out[2 * k] = a * Math.cos(t);
    out[2 * k + 1] = a * Math.sin(t);
  }
  return out;
}

/** Poisson-noisy patterns of `truth` on a grid of positions, as amplitudes x with counts = countScale·x². */
function measure(truth: ComplexImage, probe: ComplexImage, countScale: number): CalibrationPatterns & { data: Float32Array } {
  const xs: number[] = [], ys: number[] = [];
  for (let y = 44; y <= SIZE - 46; y += 8) for (let x = 44; x <= SIZE - 46; x += 8) { xs.push(x + 0.25); ys.push(y + 0.5); }
  const ff = new FarField(probe);
  const rng = new Rng(7, 'contrast-calibration-test');
  const data = new Float32Array(xs.length * N * N);
  const intensity = new Float64Array(N * N);
  for (let p = 0; p < xs.length; p++) {
    ff.intensity(truth, xs[p], ys[p], intensity);
    for (let k = 0; k < N * N; k++) data[p * N * N + k] = Math.sqrt(rng.poisson(countScale * intensity[k]) / countScale);
  }
  return {
    xs, ys, count: xs.length, data,
    read: async (indices, out) => { indices.forEach((p, i) => out.set(data.subarray(p * N * N, (p + 1) * N * N), i * N * N)); },
  };
}

describe('phase contrast calibrated by the measured patterns (training.stitchContrastCalibration)', () => {
  const probeImage = syntheticProbe(N);
  const probe: ComplexArray = { width: N, height: N, data: probeImage.data };
  const truth = syntheticObject(SIZE, N, 3);
  const region = { x0: 0, y0: 0, width: SIZE, height: SIZE };
  // About 1e4 photons per pattern, counted in the units of the patterns' x².
  const energy = (() => { const ff = new FarField(probeImage); const i = new Float64Array(N * N); return ff.intensity(truth, SIZE / 2, SIZE / 2, i); })();
  const countScale = 1e4 / energy;
  const patterns = measure(truth, probeImage, countScale);
  const full = new Float32Array(SIZE * SIZE).fill(1);

  it('gives a phase shrunk to 0.7 of its contrast its contrast back from the patterns alone, the amplitude untouched', async () => {
    const shrunk = scalePhase(truth.data, SIZE, 0.7);
    const { object, summary } = await calibratePhaseContrast({ region, object: shrunk, weight: full }, probe, patterns, countScale);
    assert.ok(summary.accepted, JSON.stringify(summary));
    assert.equal(summary.misfit, 'poisson-deviance');
    assert.ok(Math.abs(summary.phaseGain - 1 / 0.7) < 0.05, `gain ${summary.phaseGain} (expected ${(1 / 0.7).toFixed(3)})`);
    assert.ok(summary.misfitAfter < summary.misfitBefore);
    assert.equal(summary.patterns, patterns.count);
    // The misfit it reaches is the truth's (the Poisson noise), and the phase is the truth's again.
    const intensities = new Float64Array(patterns.count * N * N);
    const ff = new FarField(probeImage);
    for (let p = 0; p < patterns.count; p++) ff.intensity(truth, patterns.xs[p] as number, patterns.ys[p] as number, intensities, p * N * N);
    const truthMisfit = misfit(intensities, patterns.data, countScale);
    assert.ok(summary.misfitAfter < truthMisfit * 1.02, `${summary.misfitAfter} vs the truth's ${truthMisfit}`);
    let err = 0, before = 0;
    for (let k = 0; k < SIZE * SIZE; k++) {
      const a = Math.hypot(object[2 * k], object[2 * k + 1]), a0 = Math.hypot(shrunk[2 * k], shrunk[2 * k + 1]);
      assert.ok(Math.abs(a - a0) < 1e-5 * Math.max(1, a0), `amplitude at ${k}`);
      const d = (o: Float32Array): number => Math.atan2(o[2 * k + 1] * truth.data[2 * k] - o[2 * k] * truth.data[2 * k + 1], o[2 * k] * truth.data[2 * k] + o[2 * k + 1] * truth.data[2 * k + 1]);
      err += d(object) ** 2; before += d(shrunk) ** 2;
    }
    assert.ok(err < 0.1 * before, `phase error ${Math.sqrt(err / SIZE / SIZE)} rad rms, before ${Math.sqrt(before / SIZE / SIZE)}`);
  });

  it('leaves the truth as it is, and without the photon scale fits the amplitudes\' least squares instead', async () => {
    const same = await calibratePhaseContrast({ region, object: truth.data, weight: full }, probe, patterns, countScale);
    assert.ok(Math.abs(same.summary.fittedGain - 1) < 0.03, JSON.stringify(same.summary));
    const shrunk = scalePhase(truth.data, SIZE, 0.7);
    const lsq = await calibratePhaseContrast({ region, object: shrunk, weight: full }, probe, patterns);
    assert.equal(lsq.summary.misfit, 'amplitude-squared-error');
    assert.ok(lsq.summary.accepted && Math.abs(lsq.summary.phaseGain - 1 / 0.7) < 0.07, JSON.stringify(lsq.summary));
  });

  it('never touches the holes, uses only patterns lit by covered pixels, and refuses a phase near its wraps', async () => {
    const shrunk = scalePhase(truth.data, SIZE, 0.7);
    const weight = Float32Array.from(full);
    for (let y = 0; y < SIZE; y++) for (let x = 0; x < 60; x++) weight[y * SIZE + x] = 0;
    const { object, summary } = await calibratePhaseContrast({ region, object: shrunk, weight }, probe, patterns, countScale);
    assert.ok(summary.accepted && summary.patterns < patterns.count && summary.patterns > 0, JSON.stringify(summary));
    for (let y = 0; y < SIZE; y++) for (let x = 0; x < 60; x++) {
      const k = y * SIZE + x;
      assert.equal(object[2 * k], shrunk[2 * k]);
      assert.equal(object[2 * k + 1], shrunk[2 * k + 1]);
    }
    const rng = new Rng(11, 'wrapped-phase');
    const wild = Float32Array.from({ length: 2 * SIZE * SIZE }, (_, i) => (i % 2 === 0 ? 1 : 0));
    for (let k = 0; k < SIZE * SIZE; k++) { const t = rng.uniformIn(-Math.PI, Math.PI); wild[2 * k] = Math.cos(t); wild[2 * k + 1] = Math.sin(t); }
    const refused = await calibratePhaseContrast({ region, object: wild, weight: full }, probe, patterns, countScale);
    assert.equal(refused.summary.accepted, false);
    assert.match(refused.summary.reason ?? '', /wrap/);
    assert.equal(refused.object, wild, 'the object is returned as it was');
  });

  it('opt-in (\'auto\': gridsize 2 only); a trained job records it in metrics.json and logs it; a resume re-scores with or without it', async function () {
    this.timeout(300_000);
    assert.equal(resolveTrainingSettings().stitchContrastCalibration, false);
    assert.equal(resolveGridsizeTwoSwitch(resolveTrainingSettings().stitchContrastCalibration, 2), false);
    assert.equal(resolveGridsizeTwoSwitch('auto', 1), false);
    assert.equal(resolveGridsizeTwoSwitch('auto', 2), true);
    assert.equal(resolveGridsizeTwoSwitch(true, 1), true);
    assert.throws(() => resolveTrainingSettings({ stitchContrastCalibration: 'yes' as never }), /stitchContrastCalibration must be true, false or 'auto'/);
    const tmp = tempDir('ptycho-contrast-');
    try {
      const cfg = defaultSimulationConfig(tmp.dir);
      cfg.nImages = 200;
      cfg.doses = [1e5];
      cfg.timestamp = '2026-01-01T00:00:00Z';
      await simulateStudy(cfg);
      const jobOf = (view: string): string => path.join(tmp.dir, 'phase_e', 'dose_100000', view, view === 'baseline' ? 'gs1' : 'gs2');
      const train = (view: string, ...flags: string[]) => spawnSync(process.execPath, [CLI, 'train', '--workspace', tmp.dir, '--view', view, '--epochs', '1', '--batch-size', '8', '--n-filters-scale', '1', '--threads', '1', ...flags], { encoding: 'utf8', timeout: 240_000 });
      type Calibration = { accepted: boolean; phaseGain: number; fittedGain: number; misfitBefore: number; misfitAfter: number; misfit: string; patterns: number };
      const read = async (view: string): Promise<{ metrics: { contrastCalibration?: Calibration }; phase: Float32Array; amplitude: Float32Array; weight: Float32Array; choice: unknown }> => {
        const rec = await openNpz(path.join(jobOf(view), 'reconstruction.npz'));
        const [amplitude, phase, weight] = await Promise.all(['amplitude', 'phase', 'weight'].map(async (k) => (await rec.readArray(k)).data as Float32Array));
        await rec.close();
        const manifest = JSON.parse(fs.readFileSync(path.join(jobOf(view), 'manifest.json'), 'utf8')) as { config?: { openChoices?: { key: string; value: unknown; note: string }[] } };
        return { metrics: JSON.parse(fs.readFileSync(path.join(jobOf(view), 'metrics.json'), 'utf8')), amplitude, phase, weight, choice: manifest.config?.openChoices?.find((c) => c.key === 'stitchContrastCalibration') };
      };
      const logged = /Phase contrast: (the stitched phase scaled by \d\.\d{3} about its mean plane, the gain with which it reproduces \d+ of the evaluation's measured patterns best \(Poisson deviance per detector pixel [0-9.]+ → [0-9.]+; no ground truth\)|not calibrated \(.+\))\./;
      const recorded = (c: Calibration | undefined): void => {
        assert.ok(c && c.patterns > 0 && c.misfit === 'poisson-deviance', JSON.stringify(c));
        assert.ok(c.accepted ? c.misfitAfter < c.misfitBefore && c.phaseGain === c.fittedGain : c.phaseGain === 1, JSON.stringify(c));
      };
      // Off by default; 'auto' (a settings file) leaves gridsize 1 off; --contrast-calibration turns it on.
      const settings = path.join(tmp.dir, 'ptycho-study.json');
      fs.writeFileSync(settings, JSON.stringify({ 'ptychoStudy.training.stitchContrastCalibration': 'auto' }));
      let r = train('baseline');
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /Phase contrast/);
      const gs1 = await read('baseline');
      assert.equal(gs1.metrics.contrastCalibration, undefined);
      assert.match(JSON.stringify(gs1.choice), /"value":false.*auto: off for gridsize 1/);
      r = train('baseline', '--resume', '--contrast-calibration');
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, logged);
      recorded((await read('baseline')).metrics.contrastCalibration);
      // Gridsize 2: on under 'auto'; a resume with --no-contrast-calibration re-scores the same model without it.
      r = train('dense');
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, logged);
      const on = await read('dense');
      assert.match(JSON.stringify(on.choice), /"value":true.*auto: on for gridsize 2/);
      const c = on.metrics.contrastCalibration!;
      recorded(c);
      r = train('dense', '--resume', '--no-contrast-calibration');
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /Phase contrast/);
      const off = await read('dense');
      assert.equal(off.metrics.contrastCalibration, undefined);
      // Without the settings file (the default): off.
      fs.rmSync(settings);
      r = train('dense', '--resume');
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /Phase contrast/);
      // The amplitude is the same either way; the phase differs exactly when a gain other than 1 was applied.
      let phasesDiffer = 0;
      for (let i = 0; i < on.weight.length; i++) {
        assert.ok(Math.abs(on.amplitude[i] - off.amplitude[i]) < 1e-5, `amplitude at ${i}`);
        if (on.weight[i] > 0 && Math.abs(Math.atan2(Math.sin(on.phase[i] - off.phase[i]), Math.cos(on.phase[i] - off.phase[i]))) > 1e-4) phasesDiffer++;
      }
      assert.equal(phasesDiffer > 0, c.accepted && Math.abs(c.phaseGain - 1) > 1e-3, `${phasesDiffer} phases differ; ${JSON.stringify(c)}`);
    } finally {
      tmp.cleanup();
    }
  });
});
