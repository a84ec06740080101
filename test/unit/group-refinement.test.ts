// The group-refinement analysis (scripts/group-refinement.ts, README "Reconstruction quality" item 43) on a small
// simulated study, with predictors that are not networks so the outcome is known: with noiseless data the truth is
// a fixed point of the group's likelihood descent (deviance 0, r 1), and from a prediction that misses it the
// descent lowers the deviance and brings the phase closer — the mechanics the README's table rests on.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveTrainingSettings } from '../../src/core/study/config';
import { openTrainingDataset } from '../../src/core/train/data';
import { extractPatch } from '../../src/core/simulate/forward';
import { refineGroups, type GroupPredictor } from '../../scripts/group-refinement';
import { describeGroupRefinement, GroupRefiner, rootPoissonNoise, rootPoissonNoiseTable } from '../../src/core/train/groupRefinement';
import { syntheticProbe } from '../../src/core/simulate';
import { fft2d } from '../../src/core/fft';
import { tempDir } from './helpers/paths';
import { cli, DOSE, QUICK_TRAIN, simulateSmallStudy } from './helpers/smallStudy';

describe('group refinement: a likelihood descent on one group\'s patterns from a prediction', function () {
  this.timeout(120_000);
  const tmp = tempDir('ptycho-grouprefine-');
  after(() => tmp.cleanup());

  it('keeps the truth on noiseless data and moves a perturbed prediction towards it', async () => {
    await simulateSmallStudy(tmp.dir, 120);
    const data = await openTrainingDataset(path.join(tmp.dir, 'phase_c', DOSE, 'patched_test.npz'));
    try {
      const n = data.n;
      // The truth's window around the group centre, its phase perturbed by a ripple of 0.4 rad (not a plane, which
      // the score removes, nor a gain, to which r is blind).
      const perturbed: GroupPredictor = async (_x, _offsets, [cx, cy]) => {
        const re = new Float64Array(n * n), im = new Float64Array(n * n);
        extractPatch(data.object!, cx, cy, n, re, im);
        return {
          amplitude: Array.from(re, (v, t) => Math.hypot(v, im[t])),
          phase: Array.from(re, (v, t) => Math.atan2(im[t], v) + 0.4 * Math.sin((t % n) / 2.5) * Math.cos(Math.floor(t / n) / 3.5)),
        };
      };
      const r = await refineGroups(data, perturbed, { groups: 3, iterations: [0, 40], step: 1, neighbours: 7, noiseless: true });
      assert.ok(r.groups >= 2, `groups scored: ${r.groups}`);
      assert.ok(r.truth.deviance < 1e-9 && r.truth.deviance2 < 1e-6, `the truth must fit noiseless data exactly (${r.truth.deviance}, ${r.truth.deviance2})`);
      assert.ok(r.truth.phaseR > 0.999, `the truth is a fixed point (r ${r.truth.phaseR})`);
      const [start, end] = r.rows;
      assert.deepEqual([start.iterations, end.iterations], [0, 40]);
      assert.ok(start.phaseR < 0.95, `the ripple must cost the prediction phase r (${start.phaseR})`);
      assert.ok(end.deviance < 0.5 * start.deviance, `the descent must lower the deviance (${start.deviance} → ${end.deviance})`);
      assert.ok(end.phaseR > start.phaseR + 0.01, `and bring the phase closer (${start.phaseR} → ${end.phaseR})`);
    } finally {
      await data.close();
    }
  });
});

// The product's refinement (src/core/train/groupRefinement.ts, training.groupRefinement): four patterns at integer
// offsets around a group centre, so every window is an exact crop and the data are exactly what the truth predicts.
describe('GroupRefiner: alternating projections on one group\'s patterns', () => {
  const n = 32;
  const probe = syntheticProbe(n);
  const offsets = [-3, -2, 3, -2, -3, 2, 3, 2];
  // A smooth complex object on the patch (amplitude 0.6–1, phase ±1 rad).
  const truth = (i: number, j: number): [number, number] => [0.8 + 0.2 * Math.sin(i / 3.1) * Math.cos(j / 4.3), 1.0 * Math.sin(j / 5.2 + i / 7.7)];
  // Measured amplitudes, fftshifted, at an arbitrary scale (the refiner fits one): |FFT2(P · window)| / N.
  const measured = (): Float32Array => {
    const x = new Float32Array(4 * n * n);
    const re = new Float64Array(n * n), im = new Float64Array(n * n);
    for (let q = 0; q < 4; q++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const [a, p] = truth(i + offsets[2 * q + 1], j + offsets[2 * q]);
          const ore = a * Math.cos(p), oim = a * Math.sin(p), t = i * n + j;
          re[t] = probe.data[2 * t] * ore - probe.data[2 * t + 1] * oim;
          im[t] = probe.data[2 * t] * oim + probe.data[2 * t + 1] * ore;
        }
      }
      fft2d(re, im, n, n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) x[q * n * n + ((i + n / 2) % n) * n + ((j + n / 2) % n)] = (3.7 * Math.hypot(re[i * n + j], im[i * n + j])) / n;
    }
    return x;
  };
  const prediction = (ripple: number): { amp: Float32Array; phase: Float32Array } => {
    const amp = new Float32Array(n * n), phase = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const [a, p] = truth(i, j);
      amp[i * n + j] = a;
      phase[i * n + j] = p + ripple * Math.sin(i / 1.7) * Math.cos(j / 2.3);
    }
    return { amp, phase };
  };
  /** rms phase error against the truth where the probes light the patch (its central half). */
  const phaseError = (phase: Float32Array): number => {
    let s = 0, m = 0;
    for (let i = n / 4; i < (3 * n) / 4; i++) for (let j = n / 4; j < (3 * n) / 4; j++) {
      const d = Math.atan2(Math.sin(phase[i * n + j] - truth(i, j)[1]), Math.cos(phase[i * n + j] - truth(i, j)[1]));
      s += d * d; m++;
    }
    return Math.sqrt(s / m);
  };

  it('leaves the truth where it is: the data already hold their moduli', () => {
    const x = measured();
    const { amp, phase } = prediction(0);
    const before = Float32Array.from(phase);
    const refiner = new GroupRefiner({ width: n, height: n, data: probe.data }, 20, 4);
    refiner.refine(amp, phase, 0, x, 0, offsets, 0);
    const s = refiner.summary();
    assert.equal(s.groups, 1);
    assert.equal(s.iterations, 20);
    assert.ok(s.misfitBefore < 1e-10 && s.misfitAfter < 1e-10, JSON.stringify(s));
    assert.ok(phaseError(phase) < 1e-4 && phaseError(before) < 1e-6, `the truth moved: ${phaseError(phase)}`);
  });

  it('brings a prediction with a phase ripple towards the truth and lowers its misfit, on its own patterns only', () => {
    const x = measured();
    const { amp, phase } = prediction(0.4);
    const start = phaseError(phase);
    const refiner = new GroupRefiner({ width: n, height: n, data: probe.data }, 30, 4);
    refiner.refine(amp, phase, 0, x, 0, offsets, 0);
    const s = refiner.summary();
    assert.ok(s.misfitAfter < 0.25 * s.misfitBefore, `misfit ${s.misfitBefore} → ${s.misfitAfter}`);
    assert.ok(phaseError(phase) < 0.6 * start, `phase error ${start} → ${phaseError(phase)}`);
    assert.match(describeGroupRefinement(s), /refined by 30 iterations of alternating projections on its own patterns/);
  });

  it('leaves a prediction that lights nothing as it is', () => {
    const amp = new Float32Array(n * n), phase = new Float32Array(n * n);
    const refiner = new GroupRefiner({ width: n, height: n, data: probe.data }, 5, 4);
    refiner.refine(amp, phase, 0, measured(), 0, offsets, 0);
    assert.ok(amp.every((v) => v === 0) && phase.every((v) => v === 0));
    assert.equal(refiner.summary().groups, 0);
  });
});

describe('training.groupRefinement through the CLI', function () {
  this.timeout(300_000);
  const tmp = tempDir('ptycho-grouprefine-run-');
  after(() => tmp.cleanup());
  const job = (view: string, gs: number): string => path.join(tmp.dir, 'phase_e', DOSE, view, `gs${gs}`);
  const json = (file: string): Record<string, any> => JSON.parse(fs.readFileSync(file, 'utf8'));

  it('is off by default, refused out of range, recorded, and refines every gridsize-2 evaluation group when asked; gridsize 1 ignores it', async () => {
    assert.equal(resolveTrainingSettings().groupRefinement, 0);
    assert.throws(() => resolveTrainingSettings({ groupRefinement: 1.5 }), /groupRefinement must be an integer from 0 to 1000/);
    await simulateSmallStudy(tmp.dir, 120);
    let r = cli(['dry-run', '--workspace', tmp.dir, '--view', 'dense', '--group-refinement', '-1']);
    assert.equal(r.code, 2, r.out + r.err);
    r = cli(['train', '--workspace', tmp.dir, '--view', 'dense', ...QUICK_TRAIN, '--group-refinement', '3'], 240_000);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /Group refinement: each of \d+ groups' predictions refined by 3 iterations of alternating projections on its own patterns/);
    const metrics = json(path.join(job('dense', 2), 'metrics.json'));
    assert.equal(metrics.groupRefinement.iterations, 3);
    assert.equal(metrics.groupRefinement.groups, metrics.evaluation.grouping.groups, 'every evaluation group is refined');
    assert.ok(metrics.groupRefinement.misfitAfter < metrics.groupRefinement.misfitBefore, JSON.stringify(metrics.groupRefinement));
    assert.ok(metrics.groupRefinement.noiseFloor > 0, 'the photon scale is known: the Poisson noise floor is recorded');
    assert.equal(json(path.join(job('dense', 2), 'run-config.json')).training.groupRefinement, 3);
    const choice = (json(path.join(job('dense', 2), 'manifest.json')).config.openChoices as { key: string; value: unknown }[]).find((c) => c.key === 'groupRefinement');
    assert.equal(choice?.value, 3);
    // Gridsize 1: one pattern does not hold its phase; the setting is recorded and nothing is refined.
    r = cli(['train', '--workspace', tmp.dir, '--view', 'baseline', ...QUICK_TRAIN, '--group-refinement', '3'], 240_000);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(json(path.join(job('baseline', 1), 'metrics.json')).groupRefinement, undefined);
    assert.doesNotMatch(r.out, /Group refinement:/);
  });
});

describe('rootPoissonNoise: the amplitude misfit Poisson noise alone leaves', () => {
  it('is 2λ for few photons, 1/4 for many, and its table agrees with the sum', () => {
    assert.ok(Math.abs(rootPoissonNoise(1e-5) / 2e-5 - 1) < 1e-2);
    assert.ok(Math.abs(rootPoissonNoise(1000) - 0.25) < 2e-4);
    assert.equal(rootPoissonNoise(0), 0);
    // A Poisson(1) pixel: E[(√k − 1)²] = 2 − 2·E[√k], E[√k] = e⁻¹·Σ √k / k!.
    let meanRoot = 0, factorial = 1;
    for (let k = 1; k < 40; k++) { factorial *= k; meanRoot += Math.sqrt(k) / factorial; }
    assert.ok(Math.abs(rootPoissonNoise(1) - (2 - 2 * Math.exp(-1) * meanRoot)) < 1e-9);
    const table = rootPoissonNoiseTable();
    for (const lambda of [1e-5, 3e-3, 0.1, 0.7, 2, 9, 50, 400, 3000, 5e4]) {
      const exact = lambda > 1e4 ? 0.25 : rootPoissonNoise(lambda);
      assert.ok(Math.abs(table(lambda) - exact) < 1e-4 * Math.max(exact, 1e-3), `λ ${lambda}: ${table(lambda)} against ${exact}`);
    }
  });
});
