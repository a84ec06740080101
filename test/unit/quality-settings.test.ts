// The settings the reconstruction-quality work added: the energy probe normalisation, the absolute min_delta and
// the explicit early-stopping monitor, the study's open choices recorded in the plan, and the per-epoch quality
// window.
import { strict as assert } from 'node:assert';
import { buildArchitecture, initialParameters, modelProbe, normalizeProbe, normalizeProbeEnergy, PROBE_OUTSIDE_SUPPORT_WARN, probeEnergyOutsideSupport, TARGET_MEAN_AMPLITUDE } from '../../src/core/model';
import { warmupFactor } from '../../src/core/train/trainer';
import { smoothObject, syntheticProbe } from '../../src/core/simulate';
import { ConfigError, DEFAULT_TRAINING, minDeltaAt, resolveTrainingSettings } from '../../src/core/study/config';
import { removePlane, removePlaneAt } from '../../src/core/metrics';
import { openChoicesOf } from '../../src/core/run/plan';
import { centralGroups } from '../../src/core/train/qualityMonitor';
import { buildGroups } from '../../src/core/train/groups';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeStudy } from './helpers/study';
import { repoRoot, tempDir } from './helpers/paths';

const CLI = path.join(repoRoot, 'dist', 'cli.js');

describe('reconstruction-quality settings', () => {
  it('energy normalisation: an object of amplitude 0.5 reproduces the loader-normalised mean energy (N/2)² for any probe', () => {
    const n = 64;
    const disc = syntheticProbe(n).data;
    // A focused probe: a narrow Gaussian spot, most of its energy inside a few pixels.
    const spot = new Float32Array(2 * n * n);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) spot[2 * (y * n + x)] = Math.exp(-((x - n / 2) ** 2 + (y - n / 2) ** 2) / (2 * 3 ** 2));
    for (const probe of [disc, spot]) {
      const p = normalizeProbeEnergy(probe, n);
      let energy = 0;
      for (let i = 0; i < n * n; i++) energy += p.re[i] ** 2 + p.im[i] ** 2;
      assert.ok(Math.abs(energy * TARGET_MEAN_AMPLITUDE ** 2 - (n / 2) ** 2) < 1e-2 * (n / 2) ** 2, `Σ|P|²·a² = ${energy * 0.25}`);
    }
    // The reference recipe leaves the required amplitude probe-dependent: energies differ by more than 2×.
    const e = (q: { re: Float32Array; im: Float32Array }): number => q.re.reduce((s, v, i) => s + v * v + q.im[i] * q.im[i], 0);
    assert.ok(e(normalizeProbe(spot, n)) / e(normalizeProbe(disc, n)) > 2);
    assert.equal(modelProbe(disc, n, 'energy').factor, normalizeProbeEnergy(disc, n).factor);
    assert.equal(modelProbe(disc, n, 'mask-mean').factor, normalizeProbe(disc, n).factor);
    assert.throws(() => normalizeProbeEnergy(new Float32Array(2 * n * n), n), /no finite, non-zero energy/);
  });

  it('defaults and validation of probeNormalization, minDelta, earlyStoppingMonitor', () => {
    const d = resolveTrainingSettings();
    assert.equal(d.probeNormalization, 'energy');
    assert.equal(d.minDelta, 1e-4);
    assert.equal(d.earlyStoppingMonitor, 'val_loss');
    assert.throws(() => resolveTrainingSettings({ probeNormalization: 'peak' as never }), ConfigError);
    assert.throws(() => resolveTrainingSettings({ minDelta: -1 }), /minDelta/);
    assert.throws(() => resolveTrainingSettings({ earlyStoppingMonitor: 'accuracy' as never }), /earlyStoppingMonitor/);
    assert.equal(resolveTrainingSettings({ earlyStoppingMonitor: 'loss', minDelta: 0 }).earlyStoppingMonitor, 'loss');
  });

  it('minDelta is the threshold at dose 1e5 and scales with the dose (README item 37); the plan records the scaled value', () => {
    const d = resolveTrainingSettings();
    assert.equal(minDeltaAt(d, 1e5), 1e-4);
    assert.ok(Math.abs(minDeltaAt(d, 1e3) - 1e-6) < 1e-18);
    assert.ok(Math.abs(minDeltaAt(d, 1e4) - 1e-5) < 1e-17);
    assert.equal(minDeltaAt({ minDelta: 0 }, 1e3), 0);
    assert.equal(minDeltaAt(d, NaN), 1e-4);
    const at1e3 = openChoicesOf(d, 1000, 1000, 2, 1e3).find((c) => c.key === 'minDelta')!;
    assert.ok(Math.abs((at1e3.value as number) - 1e-6) < 1e-18);
    assert.match(at1e3.note, /minDelta 0\.0001 at dose 1e5, scaled by the dose \(1000 \/ 1e5\)/);
  });

  it('learning rate, weight initialisation and warm-up: defaults, validation, and what each rule draws', () => {
    const d = resolveTrainingSettings();
    // 1e-3 (PtychoPINN's) collapsed gridsize-2 models to the flat object; README, Reconstruction quality.
    assert.equal(d.learningRate, 2.5e-4);
    assert.equal(d.weightInit, 'glorot');
    assert.equal(d.warmupSteps, 0);
    assert.throws(() => resolveTrainingSettings({ weightInit: 'xavier' as never }), /weightInit/);
    assert.throws(() => resolveTrainingSettings({ warmupSteps: -1 }), /warmupSteps/);
    assert.throws(() => resolveTrainingSettings({ warmupSteps: 1.5 }), /warmupSteps/);
    assert.deepEqual([1, 50, 100, 101, 5000].map((step) => warmupFactor(step, 100)), [0.01, 0.5, 1, 1, 1]);
    assert.equal(warmupFactor(1, 0), 1);

    const arch = buildArchitecture({ n: 16, gridsize: 2, filterScale: 1, filters: { encoder: [4], decoder: [] } });
    const glorot = initialParameters(arch, 7, 3, 'glorot');
    const he = initialParameters(arch, 7, 3, 'he');
    const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (const p of arch.params) {
      const g = glorot.get(p.name)!;
      const h = he.get(p.name)!;
      if (p.init === 'relu') {
        // Same draws, scaled by √(6/fan_in) instead of √(6/(fan_in + fan_out)).
        const ratio = Math.sqrt((p.fanIn! + p.fanOut!) / p.fanIn!);
        g.forEach((v, i) => assert.ok(Math.abs(h[i] - v * ratio) < 1e-5, p.name));
        assert.ok(maxAbs(h) <= Math.sqrt(6 / p.fanIn!) && maxAbs(h) > 0.5 * Math.sqrt(6 / p.fanIn!));
      } else if (p.init === 'head') {
        // Zero heads: the untrained 'he' model is exactly the flat object (σ(0) = 0.5, phase 0).
        assert.equal(maxAbs(h), 0, p.name);
        assert.ok(maxAbs(g) > 0, p.name);
      } else {
        assert.deepEqual(h, g, p.name);
      }
    }
    assert.equal(glorot.get('log_scale')![0], Math.fround(Math.log(3)));
  });

  it('the plan records the choices the original study left open, with the reference values', () => {
    const choices = openChoicesOf(resolveTrainingSettings(), 1000, 1000, 1, 1e5);
    const byKey = new Map(choices.map((c) => [c.key, c]));
    for (const k of ['nGroups', 'neighborCount', 'earlyStoppingMonitor', 'minDelta', 'probeNormalization', 'stitchPhaseAlignment', 'probeBig', 'rampHead', 'residualBlocks', 'backprojectedInput', 'learningRate', 'weightInit']) assert.ok(byKey.has(k), k);
    assert.equal(byKey.get('nGroups')!.value, 1000);
    assert.match(byKey.get('nGroups')!.reference, /512/);
    assert.equal(byKey.get('earlyStoppingMonitor')!.value, 'val_loss');
    assert.equal(byKey.get('probeBig')!.value, false);
    assert.equal(byKey.get('rampHead')!.value, true);
    assert.match(byKey.get('rampHead')!.reference, /absent/);
    assert.equal(byKey.get('residualBlocks')!.value, false);
    assert.match(byKey.get('residualBlocks')!.reference, /plain Conv\+ReLU/);
    assert.equal(byKey.get('backprojectedInput')!.value, false);
    assert.match(byKey.get('backprojectedInput')!.reference, /diffraction amplitudes only/);
    assert.equal(byKey.get('stitchPhaseAlignment')!.value, true);
    assert.equal(byKey.get('regroupEachEpoch')!.value, false);
    assert.match(byKey.get('regroupEachEpoch')!.note, /gridsize 1/);
    const gs2 = new Map(openChoicesOf(resolveTrainingSettings({ regroupEachEpoch: true }), 1000, 1000, 2, 1e5).map((c) => [c.key, c]));
    assert.equal(gs2.get('regroupEachEpoch')!.value, true);
    assert.match(gs2.get('regroupEachEpoch')!.note, /drawn afresh/);
    assert.match(gs2.get('regroupEachEpoch')!.reference, /one grouping per run/);
    assert.equal(byKey.get('symmetryAugment')!.value, false, 'gridsize 1: auto leaves the patterns as measured');
    const turned = new Map(openChoicesOf(resolveTrainingSettings({ symmetryAugment: true }), 1000, 1000, 2, 1e5).map((c) => [c.key, c]));
    assert.match(turned.get('symmetryAugment')!.note, /mirror or rotation .* leaves the probe unchanged/);
    assert.match(turned.get('symmetryAugment')!.reference, /as measured/);
    assert.match(new Map(openChoicesOf(resolveTrainingSettings({ symmetryAugment: false }), 1000, 1000, 2, 1e5).map((c) => [c.key, c])).get('symmetryAugment')!.note, /as measured/);
  });

  it('stitching, probe.big and the ramp head: defaults, validation, and the CLI flags that reach the run config', async () => {
    const d = resolveTrainingSettings();
    assert.equal(d.stitchPhaseAlignment, true, 'phase-synchronised stitching is the default');
    assert.equal(d.probeBig, false);
    assert.equal(d.rampHead, true, 'the ramp head is on by default');
    assert.throws(() => resolveTrainingSettings({ rampHead: 'no' as never }), /rampHead must be true or false/);
    assert.equal(d.residualBlocks, false, 'residual blocks are off by default (PtychoPINN\'s plain pairs)');
    assert.throws(() => resolveTrainingSettings({ residualBlocks: 1 as never }), /residualBlocks must be true or false/);
    assert.equal(d.backprojectedInput, false, 'the back-projected input is off by default (PtychoPINN\'s input)');
    assert.throws(() => resolveTrainingSettings({ backprojectedInput: 'on' as never }), /backprojectedInput must be true or false/);
    assert.throws(() => resolveTrainingSettings({ regroupEachEpoch: 'yes' as never }), /regroupEachEpoch must be true or false/);
    assert.throws(() => resolveTrainingSettings({ symmetryAugment: 'yes' as never }), /symmetryAugment must be true, false or 'auto'/);
    assert.equal(d.stitchFillHoles, true, 'holes between crops are filled by default');
    assert.throws(() => resolveTrainingSettings({ probeBig: 'yes' as never }), /probeBig/);
    assert.throws(() => resolveTrainingSettings({ stitchFillHoles: 1 as never }), /stitchFillHoles must be true or false/);
    const tmp = tempDir('ptycho-settings-');
    try {
      await makeStudy(tmp.dir, { doses: [1000], views: [] });
      const dry = (...flags: string[]) => spawnSync(process.execPath, [CLI, 'dry-run', '--workspace', tmp.dir, '--view', 'baseline', ...flags], { encoding: 'utf8', timeout: 60_000 });
      const config = (): { stitchPhaseAlignment: boolean; probeBig: boolean; stitchFillHoles: boolean; rampHead: boolean; residualBlocks: boolean; backprojectedInput: boolean; regroupEachEpoch: boolean; symmetryAugment: boolean | 'auto' } =>
        JSON.parse(fs.readFileSync(path.join(tmp.dir, 'phase_e', 'dose_1000', 'baseline', 'gs1', 'run-config.json'), 'utf8')).training;
      // A dry run that must succeed, and the training settings it planned.
      const planned = (...flags: string[]): ReturnType<typeof config> => {
        const run = dry(...flags);
        assert.equal(run.status, 0, run.stdout + run.stderr);
        return config();
      };
      const switches = (t: ReturnType<typeof config>): boolean[] => [t.stitchPhaseAlignment, t.probeBig, t.stitchFillHoles, t.rampHead, t.residualBlocks, t.backprojectedInput];
      assert.deepEqual(switches(planned('--plain-stitch', '--probe-big', '--keep-holes', '--no-ramp-head', '--residual-blocks', '--backprojected-input')), [false, true, false, false, true, true]);
      assert.deepEqual(switches(planned()), [true, false, true, true, false, false]);
      let r = dry('--plain-stitch', '--stitch-phase-align');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /exclude each other/);
      r = dry('--ramp-head', '--no-ramp-head');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--ramp-head and --no-ramp-head exclude each other/);
      // A settings file that turns a switch away from its default, and the flag that overrides it.
      for (const [key, value, flag] of [['rampHead', false, '--ramp-head'], ['residualBlocks', true, '--no-residual-blocks'], ['backprojectedInput', true, '--no-backprojected-input'], ['regroupEachEpoch', true, '--no-regroup-each-epoch'], ['symmetryAugment', false, '--symmetry-augment']] as const) {
        fs.writeFileSync(path.join(tmp.dir, 'ptycho-study.json'), JSON.stringify({ [`ptychoStudy.training.${key}`]: value }));
        assert.equal(planned()[key], value, key);
        assert.equal(planned(flag)[key], !value, flag);
      }
      // symmetryAugment also takes 'auto' (its default) from a file; the flags override it either way.
      fs.writeFileSync(path.join(tmp.dir, 'ptycho-study.json'), JSON.stringify({ 'ptychoStudy.training.symmetryAugment': 'auto' }));
      assert.equal(planned().symmetryAugment, 'auto');
      assert.equal(planned('--no-symmetry-augment').symmetryAugment, false);
      r = dry('--residual-blocks', '--no-residual-blocks');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--residual-blocks and --no-residual-blocks exclude each other/);
    } finally {
      tmp.cleanup();
    }
  });

  it('the quality window: the groups nearest the scan centre whose crops fit a fixed square', () => {
    const xs = new Float64Array(400);
    const ys = new Float64Array(400);
    for (let i = 0; i < 400; i++) {
      xs[i] = 40 + 8 * (i % 20);
      ys[i] = 40 + 8 * Math.floor(i / 20);
    }
    const groups = buildGroups(xs, ys, { gridsize: 1, neighborCount: 7, seed: 1, stream: 'test' });
    const { which, region } = centralGroups(groups, 96, 20, 64);
    assert.deepEqual(region, { x0: 116 - 48, y0: 116 - 48, width: 96, height: 96 });
    assert.ok(which.length > 0 && which.length <= 64);
    for (const g of which) {
      assert.ok(Math.abs(groups.centers[2 * g] - 116) <= 38 && Math.abs(groups.centers[2 * g + 1] - 116) <= 38);
    }
    const again = centralGroups(groups, 96, 20, 64);
    assert.deepEqual([...again.which], [...which], 'deterministic');
  });

  it('the preview window: a centre the user picks moves it there; previewCenter and previewSize are checked', () => {
    assert.deepEqual([DEFAULT_TRAINING.previewCenter, DEFAULT_TRAINING.previewSize], [null, 96]);
    assert.throws(() => resolveTrainingSettings({ previewCenter: [1, Number.NaN] as [number, number] }), /previewCenter must be null or \[x, y\]/);
    assert.throws(() => resolveTrainingSettings({ previewCenter: [1] as unknown as [number, number] }), /previewCenter/);
    assert.throws(() => resolveTrainingSettings({ previewSize: 8 }), /previewSize must be a whole number of pixels in 16…512/);
    assert.deepEqual(resolveTrainingSettings({ previewCenter: [120, 80], previewSize: 64 }).previewCenter, [120, 80]);
  });

  it('the probe energy outside the network\'s support: a flat window 3/4, a wide Gaussian as erf predicts, the simulated probe under the warning threshold', () => {
    const n = 64;
    assert.ok(Math.abs(probeEnergyOutsideSupport(new Float32Array(2 * n * n).map((_, i) => (i % 2 ? 0 : 1)), n) - 0.75) < 1e-9);
    const sigma = 16;
    const gauss = new Float32Array(2 * n * n);
    // Complex, so both parts count: amplitude exp(−r²/4σ²) (intensity σ), phase a tilt.
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
      const a = Math.exp(-((x - n / 2) ** 2 + (y - n / 2) ** 2) / (4 * sigma ** 2));
      gauss[2 * (y * n + x)] = a * Math.cos(0.3 * x);
      gauss[2 * (y * n + x) + 1] = a * Math.sin(0.3 * x);
    }
    // Inside fraction ≈ (P(|x| < N/4 | σ) / P(|x| < N/2 | σ))² for the sampled Gaussian intensity.
    const erf = (z: number): number => { const t = 1 / (1 + 0.3275911 * Math.abs(z)); const e = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z); return Math.sign(z) * e; };
    const expected = 1 - (erf(16 / (sigma * Math.SQRT2)) / erf(32 / (sigma * Math.SQRT2))) ** 2;
    assert.ok(Math.abs(probeEnergyOutsideSupport(gauss, n) - expected) < 0.03, `${probeEnergyOutsideSupport(gauss, n)} vs ${expected}`);
    assert.ok(probeEnergyOutsideSupport(syntheticProbe(n).data, n) < PROBE_OUTSIDE_SUPPORT_WARN);
  });

  it('the smooth test object stays in amplitude (0.55, 1) and phase (−1.2, 1.2), reproducibly', () => {
    const a = smoothObject(128, 64, 3);
    const b = smoothObject(128, 64, 3);
    assert.deepEqual(a.data, b.data);
    for (let i = 0; i < 128 * 128; i++) {
      const amp = Math.hypot(a.data[2 * i], a.data[2 * i + 1]);
      const ph = Math.atan2(a.data[2 * i + 1], a.data[2 * i]);
      assert.ok(amp > 0.55 && amp < 1 && Math.abs(ph) < 1.2, `pixel ${i}: ${amp}, ${ph}`);
    }
  });

  it('plane removal on scattered pixels: an exact plane goes to zero; on a full grid it agrees with removePlane', () => {
    const w = 9;
    const h = 7;
    const img = new Float64Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[y * w + x] = 0.3 * x - 0.2 * y + 1 + Math.sin(x * y);
    const xs = Array.from({ length: w * h }, (_, q) => q % w);
    const ys = Array.from({ length: w * h }, (_, q) => Math.floor(q / w));
    const full = removePlane(img, w, h);
    const scattered = removePlaneAt(img, xs, ys);
    for (let q = 0; q < w * h; q++) assert.ok(Math.abs(full[q] - scattered[q]) < 1e-9, `pixel ${q}`);
    const plane = Float64Array.from(xs, (x, k) => 2 * x + 3 * ys[k] - 1);
    for (const v of removePlaneAt(plane.subarray(5, 40), xs.slice(5, 40), ys.slice(5, 40))) assert.ok(Math.abs(v) < 1e-9);
    assert.deepEqual([...removePlaneAt(Float64Array.from([1, 2]), [0, 1], [0, 0])], [1, 2], 'degenerate set unchanged');
  });
});
