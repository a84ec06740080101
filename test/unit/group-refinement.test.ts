// The group-refinement analysis (scripts/group-refinement.ts, README "Reconstruction quality" item 43) on a small
// simulated study, with predictors that are not networks so the outcome is known: with noiseless data the truth is
// a fixed point of the group's likelihood descent (deviance 0, r 1), and from a prediction that misses it the
// descent lowers the deviance and brings the phase closer — the mechanics the README's table rests on.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveTrainingSettings } from '../../src/core/study/config';
import { settingTypeProblem } from '../../src/core/study/settingsKeys';
import { openTrainingDataset } from '../../src/core/train/data';
import { extractPatch, FarField } from '../../src/core/simulate/forward';
import { chooseRefinement, describeRefinementSelection, REFINEMENT_CANDIDATES, REFINEMENT_STEPS, SELECTION_MIN_PATTERNS, selectRefinement, type RefinementSelection } from '../../src/core/train/refinementSelection';
import type { CalibrationPatterns } from '../../src/core/train/patternFit';
import { refineGroups, type GroupPredictor } from '../../scripts/group-refinement';
import { describeGroupRefinement, GroupRefiner, rootPoissonNoise, rootPoissonNoiseTable } from '../../src/core/train/groupRefinement';
import { GroupRefinementThreads } from '../../src/core/train/refinementThreads';
import { syntheticProbe } from '../../src/core/simulate';
import { fft2d } from '../../src/core/fft';
import { tempDir } from './helpers/paths';
import { DELTA_METRICS, NETWORK_ALONE_METHOD, type DeltaEntry } from '../../src/core/report';
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

  it('gives each stage of one pass what a refiner of that many iterations gives (the auto selection\'s candidates)', () => {
    const x = measured();
    const counts = [0, 1, 3, 10];
    const stages = counts.map((iterations) => ({ iterations, amp: new Float32Array(n * n), phase: new Float32Array(n * n) }));
    const staged = prediction(0.4);
    new GroupRefiner({ width: n, height: n, data: probe.data }, 10, 4).refine(staged.amp, staged.phase, 0, x, 0, offsets, 0, stages);
    const errors = counts.map((iterations, s) => {
      const alone = prediction(0.4);
      if (iterations > 0) new GroupRefiner({ width: n, height: n, data: probe.data }, iterations, 4).refine(alone.amp, alone.phase, 0, x, 0, offsets, 0);
      for (let t = 0; t < n * n; t++) {
        assert.ok(Math.abs(stages[s].amp[t] - alone.amp[t]) < 1e-5, `stage ${iterations}: amplitude differs at ${t}`);
        assert.ok(Math.abs(Math.sin(stages[s].phase[t] - alone.phase[t])) < 1e-5, `stage ${iterations}: phase differs at ${t}`);
      }
      return phaseError(stages[s].phase);
    });
    assert.deepEqual(Array.from(staged.phase), Array.from(stages[3].phase), 'the refined prediction is the last stage');
    assert.ok(errors[3] < errors[1] && errors[1] < errors[0], `phase errors by stage: ${errors.join(', ')}`);
  });

  it('leaves a prediction that lights nothing as it is', () => {
    const amp = new Float32Array(n * n), phase = new Float32Array(n * n);
    const refiner = new GroupRefiner({ width: n, height: n, data: probe.data }, 5, 4);
    refiner.refine(amp, phase, 0, measured(), 0, offsets, 0);
    assert.ok(amp.every((v) => v === 0) && phase.every((v) => v === 0));
    assert.equal(refiner.summary().groups, 0);
  });

  // The evaluation shares each batch's groups between threads (refinementThreads.ts, README item 47): the same
  // numbers for any thread count, and every thread's error reaches the caller.
  describe('shared between threads', function () {
    this.timeout(60_000);
    const tmp = tempDir('ptycho-refine-threads-');
    after(() => tmp.cleanup());
    const script = path.join(__dirname, '..', '..', '..', 'dist', 'refinement-thread.js');
    const groups = 7;
    // Seven groups with different ripples; the fifth lights nothing (skipped, as GroupRefiner.refine skips it).
    const batch = () => {
      const amp = new Float32Array(groups * n * n), phase = new Float32Array(groups * n * n);
      const x = new Float32Array(groups * 4 * n * n), offs = new Float32Array(groups * 8);
      const one = measured();
      for (let g = 0; g < groups; g++) {
        const p = prediction(0.1 * g);
        if (g !== 4) { amp.set(p.amp, g * n * n); phase.set(p.phase, g * n * n); }
        x.set(one, g * 4 * n * n);
        offs.set(offsets, g * 8);
      }
      return { amp, phase, x, offs };
    };
    const stagesFor = () => [0, 2, 6].map((iterations) => ({ iterations, amp: new Float32Array(groups * n * n), phase: new Float32Array(groups * n * n) }));
    const setup = { probe: { width: n, height: n, data: probe.data }, iterations: 6, patternsPerGroup: 4, countScale: 1e4 };

    it('refines every group exactly as one thread does, stages and summary included, and records the threads', async () => {
      assert.ok(fs.existsSync(script), `${script} must be built (node esbuild.mjs)`);
      const serial = batch();
      const serialStages = stagesFor();
      const one = new GroupRefiner(setup.probe, setup.iterations, 4, setup.countScale);
      for (let g = 0; g < groups; g++) one.refine(serial.amp, serial.phase, g * n * n, serial.x, g * 4 * n * n, serial.offs, g * 8, serialStages);
      for (const threads of [1, 2, 3]) {
        const b = batch();
        const stages = stagesFor();
        const pool = new GroupRefinementThreads(setup, threads, script);
        try {
          // Two batches: 7 groups, then the first 3 (a short last batch), as the evaluation sends them.
          await pool.refineBatch(b.amp, b.phase, b.x, b.offs, groups, stages);
          assert.equal(pool.threads, threads);
          assert.deepEqual(Array.from(b.amp), Array.from(serial.amp), `${threads} threads: amplitude`);
          assert.deepEqual(Array.from(b.phase), Array.from(serial.phase), `${threads} threads: phase`);
          stages.forEach((s, i) => assert.deepEqual(Array.from(s.phase), Array.from(serialStages[i].phase), `${threads} threads: stage ${s.iterations}`));
          const { seconds: _a, threads: recorded, ...sums } = pool.summary();
          const { seconds: _b, ...serialSums } = one.summary();
          assert.deepEqual(sums, serialSums, `${threads} threads: the summary's sums`);
          assert.equal(sums.groups, groups - 1, 'the dark group is not counted');
          assert.equal(recorded, threads > 1 ? threads : undefined);
          if (threads > 1) assert.match(describeGroupRefinement(pool.summary()), new RegExp(`on ${threads} threads\\.$`));
          const again = batch();
          await pool.refineBatch(again.amp, again.phase, again.x, again.offs, 3);
          assert.deepEqual(Array.from(again.amp.subarray(0, 3 * n * n)), Array.from(serial.amp.subarray(0, 3 * n * n)));
          assert.deepEqual(Array.from(again.amp.subarray(3 * n * n)), Array.from(batch().amp.subarray(3 * n * n)), 'groups past the count stay as they were');
          assert.equal(pool.summary().groups, groups - 1 + 3);
        } finally {
          pool.close();
        }
      }
    });

    it('refines on the calling thread alone when the thread script is missing, and says a failed thread\'s error', async () => {
      const alone = new GroupRefinementThreads(setup, 2, null);
      try {
        const b = batch();
        await alone.refineBatch(b.amp, b.phase, b.x, b.offs, groups);
        assert.equal(alone.threads, 1);
        assert.equal(alone.summary().threads, undefined);
      } finally {
        alone.close();
      }
      const broken = path.join(tmp.dir, 'broken-thread.js');
      fs.writeFileSync(broken, 'throw new Error("no such kernel");\n');
      const failing = new GroupRefinementThreads(setup, 2, broken);
      try {
        const b = batch();
        await assert.rejects(failing.refineBatch(b.amp, b.phase, b.x, b.offs, groups), /a group-refinement thread failed: .*no such kernel/);
        await assert.rejects(failing.refineBatch(b.amp, b.phase, b.x, b.offs, groups), /a group-refinement thread failed/);
      } finally {
        failing.close();
      }
    });
  });
});

describe('training.groupRefinement through the CLI', function () {
  this.timeout(300_000);
  const tmp = tempDir('ptycho-grouprefine-run-');
  after(() => tmp.cleanup());
  const job = (view: string, gs: number): string => path.join(tmp.dir, 'phase_e', DOSE, view, `gs${gs}`);
  const json = (file: string): Record<string, any> => JSON.parse(fs.readFileSync(file, 'utf8'));
  before(() => simulateSmallStudy(tmp.dir, 120));

  it('is "auto" by default, refused out of range, recorded, and refines every gridsize-2 evaluation group when asked; gridsize 1 ignores it', async () => {
    assert.equal(resolveTrainingSettings().groupRefinement, 'auto');
    assert.equal(resolveTrainingSettings({ groupRefinement: 0 }).groupRefinement, 0);
    assert.throws(() => resolveTrainingSettings({ groupRefinement: 1.5 }), /groupRefinement must be "auto" or an integer from 0 to 1000/);
    assert.equal(resolveTrainingSettings({ groupRefinement: 'auto' }).groupRefinement, 'auto');
    // A settings file (VS Code's or the CLI's) may say "auto" or a whole number, nothing else.
    assert.equal(settingTypeProblem('training.groupRefinement', 'auto'), undefined);
    assert.equal(settingTypeProblem('training.groupRefinement', 30), undefined);
    assert.equal(settingTypeProblem('training.groupRefinement', 'most'), 'must be a whole number or "auto"');
    let r = cli(['dry-run', '--workspace', tmp.dir, '--view', 'dense', '--group-refinement', '-1']);
    assert.equal(r.code, 2, r.out + r.err);
    r = cli(['train', '--workspace', tmp.dir, '--view', 'dense', ...QUICK_TRAIN, '--group-refinement', '3'], 240_000);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /Group refinement: each of \d+ groups' predictions refined by 3 iterations of alternating projections on its own patterns/);
    const metrics = json(path.join(job('dense', 2), 'metrics.json'));
    assert.equal(metrics.groupRefinement.iterations, 3);
    // Beside the refined headline, the network's own stitch (the same groups and weightings), scored the same way.
    assert.ok(Number.isFinite(metrics.networkAlone?.amplitude?.pearsonCovered) && Number.isFinite(metrics.networkAlone?.phase?.msSsim), JSON.stringify(metrics.networkAlone));
    assert.notEqual(metrics.networkAlone.amplitude.pearsonCovered, metrics.amplitude.pearsonCovered, 'the refinement changed the headline stitch');
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

  it('the study report keeps the network alone beside the refined headline: CSV rows, summary, deltas against the iterative baseline, README', () => {
    // Follows the test above: the dense job is refined by 3 with its network alone scored; an ePIE of the same view.
    let r = cli(['reconstruct', '--workspace', tmp.dir, '--view', 'dense', '--iterations', '8'], 240_000);
    assert.equal(r.code, 0, r.out + r.err);
    const out = path.join(tmp.dir, 'report');
    r = cli(['report', '--workspace', tmp.dir, '--out', out]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /The network alone \(no group refinement\) − iterative: PINN better in \d+, iterative in \d+, ties \d+/);
    const metrics = json(path.join(job('dense', 2), 'metrics.json'));
    const csv = fs.readFileSync(path.join(out, 'comparison_metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
    const cell = (method: string, part: string, metric: string): number[] => csv.filter((c) => c[1] === 'dense' && c[2] === method && c[4] === part && c[5] === metric).map((c) => Number(c[6]));
    assert.deepEqual(cell(NETWORK_ALONE_METHOD, 'amplitude', 'pearson_covered'), [metrics.networkAlone.amplitude.pearsonCovered]);
    assert.deepEqual(cell(NETWORK_ALONE_METHOD, 'phase', 'ms_ssim'), [metrics.networkAlone.phase.msSsim]);
    assert.deepEqual(cell('pinn', 'phase', 'ms_ssim'), [metrics.phase.msSsim], 'the headline keeps its method');
    assert.equal(csv.filter((c) => c[1] === 'baseline' && c[2] === NETWORK_ALONE_METHOD).length, 0, 'gridsize 1 has no network-alone rows (nothing refined)');
    const summary = json(path.join(out, 'metrics_summary.json'));
    const dense = summary.jobs.find((j: { id: string }) => j.id === 'dose_10000/dense/gs2');
    assert.equal(dense.groupRefinementIterations, 3);
    assert.equal(dense.networkAlone.amplitude.ssim, metrics.networkAlone.amplitude.ssim);
    assert.equal(summary.jobs.find((j: { id: string }) => j.id === 'dose_10000/baseline/gs1').networkAlone, undefined);
    assert.equal(summary.aggregates.byMethod[NETWORK_ALONE_METHOD].phase.ssim.n, 1);
    const d = json(path.join(out, 'metrics_delta_summary.json'));
    const epie = json(path.join(tmp.dir, 'phase_f', DOSE, 'dense', 'test', 'epie', 'metrics.json'));
    const deltas = (d.deltas as DeltaEntry[]).filter((e) => e.view === 'dense');
    const headline = deltas.filter((e) => e.pinnEstimate === 'headline');
    const alone = deltas.filter((e) => e.pinnEstimate === 'network_alone');
    assert.equal(headline.length, 2 * DELTA_METRICS.length);
    assert.equal(alone.length, 2 * DELTA_METRICS.length);
    for (const e of alone) {
      const key = DELTA_METRICS.find((m) => m.metric === e.metric)!.key;
      assert.equal(e.pinn, metrics.networkAlone[e.part][key], `${e.part} ${e.metric}`);
      assert.equal(e.iterative, epie[e.part][key]);
      assert.equal(e.delta, e.pinn! - e.iterative!);
    }
    assert.equal(Object.values(d.tally as Record<string, number>).reduce((a, b) => a + b, 0), (d.deltas as DeltaEntry[]).filter((e) => e.pinnEstimate === 'headline').length, 'the tally counts the headline');
    assert.equal(Object.values(d.tallyNetworkAlone as Record<string, number>).reduce((a, b) => a + b, 0), alone.length);
    const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    assert.match(readme, /\| dose_10000\/dense\/gs2 \| pinn \(refined 3\) \|/);
    assert.match(readme, /\| dose_10000\/dense\/gs2 \| pinn_network_alone \|/);
    assert.match(readme, /### The network alone − iterative/);
  });
});

describe('training.groupRefinement \'auto\' through the CLI', function () {
  this.timeout(600_000);
  const tmp = tempDir('ptycho-grouprefine-auto-');
  after(() => tmp.cleanup());
  const job = (view: string, gs: number): string => path.join(tmp.dir, 'phase_e', DOSE, view, `gs${gs}`);
  const json = (file: string): Record<string, any> => JSON.parse(fs.readFileSync(file, 'utf8'));
  // Enough patterns that each half's stitch covers the other half's probes (120 patterns leave 3 to judge by, 400 leave 24).
  before(() => simulateSmallStudy(tmp.dir, 400));

  it('refines the two halves, scores each count on the other half\'s held-out patterns, and uses the best', async () => {
    let r = cli(['dry-run', '--workspace', tmp.dir, '--view', 'dense', '--group-refinement', 'most']);
    assert.equal(r.code, 2, r.out + r.err);
    // The half-set weightings off: 'auto' builds the pattern-disjoint halves itself (and no quarters are refined).
    r = cli(['train', '--workspace', tmp.dir, '--view', 'dense', ...QUICK_TRAIN, '--no-amplitude-filter', '--no-phase-filter', '--group-refinement', 'auto'], 540_000);
    assert.equal(r.code, 0, r.out + r.err);
    const metrics = json(path.join(job('dense', 2), 'metrics.json'));
    const selection = metrics.groupRefinementSelection as RefinementSelection;
    // The steps taken: each only where the largest count before it won (and the log says where it stopped).
    const tried = selection.candidates.map((c) => c.iterations);
    const steps = REFINEMENT_STEPS.map((step) => step.length).reduce<number[]>((acc, k) => [...acc, (acc[acc.length - 1] ?? 0) + k], []);
    assert.ok(steps.includes(tried.length), `whole steps only: ${tried}`);
    assert.deepEqual(tried, REFINEMENT_CANDIDATES.slice(0, tried.length));
    if (tried.length < REFINEMENT_CANDIDATES.length) {
      const largest = tried[tried.length - 1];
      assert.notEqual(selection.chosen, largest, JSON.stringify(selection));
      assert.match(r.out, new RegExp(`\\(${largest === 1 ? '1 iteration did not lower the held-out misfit' : `${largest} iterations did not lower the held-out misfit below ${selection.chosen}'s`}; ${REFINEMENT_CANDIDATES.slice(tried.length).join(', ')} not tried\\)`));
    } else {
      assert.equal(selection.stopped, undefined);
    }
    assert.ok(selection.candidates.every((c) => Number.isFinite(c.misfit) && c.misfit > 0), JSON.stringify(selection));
    assert.ok(selection.patterns[0] + selection.patterns[1] >= SELECTION_MIN_PATTERNS && selection.reason === undefined, `enough held-out patterns to judge by: ${JSON.stringify(selection)}`);
    assert.equal(selection.misfit, 'poisson-deviance');
    assert.equal(metrics.amplitudeFilter, undefined, 'the weightings stayed off');
    const best = Math.min(...selection.candidates.map((c) => c.misfit));
    assert.equal(selection.candidates.find((c) => c.iterations === selection.chosen)?.misfit, best, 'the lowest held-out misfit is chosen');
    // The main stitch is refined by the chosen count (none when 0 won), the network's own stitch scored beside it.
    assert.equal(metrics.groupRefinement?.iterations, selection.chosen === 0 ? undefined : selection.chosen);
    assert.equal(metrics.networkAlone !== undefined, selection.chosen > 0, 'the network alone is scored beside a refined headline');
    assert.match(r.out, new RegExp(`Group refinement 'auto': ${selection.chosen} iterations chosen — each half's stitch predicting the other half's patterns`));
    assert.equal(json(path.join(job('dense', 2), 'run-config.json')).training.groupRefinement, 'auto');
    const choice = (json(path.join(job('dense', 2), 'manifest.json')).config.openChoices as { key: string; value: unknown }[]).find((c) => c.key === 'groupRefinement');
    assert.equal(choice?.value, 'auto');
  });
});

describe('selectRefinement: held-out patterns decide how far to refine', () => {
  const n = 32;
  const probe = syntheticProbe(n);
  const region = { x0: 0, y0: 0, width: 96, height: 96 };
  const W = region.width, H = region.height;
  const truthAt = (x: number, y: number): [number, number] => [0.8 + 0.2 * Math.sin(y / 3.1) * Math.cos(x / 4.3), Math.sin(x / 5.2 + y / 7.7)];
  const object = (noise: number, seed: number): Float32Array => {
    let state = seed;
    const random = (): number => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
    const o = new Float32Array(2 * W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const [a, p] = truthAt(x, y);
      const q = p + noise * random();
      o[2 * (y * W + x)] = a * Math.cos(q);
      o[2 * (y * W + x) + 1] = a * Math.sin(q);
    }
    return o;
  };
  // A raster of positions inside the canvas, alternately in half 0 and half 1; their noiseless patterns.
  const positions: [number, number][] = [];
  for (let y = 24; y <= 72; y += 6) for (let x = 24; x <= 72; x += 6) positions.push([x, y]);
  const halves = [0, 1].map((h) => positions.filter((_, i) => i % 2 === h));
  const truth = { width: W, height: H, data: object(0, 1) };
  const farField = new FarField({ width: n, height: n, data: probe.data });
  const patternsOf = (list: [number, number][]): CalibrationPatterns => ({
    xs: list.map((p) => p[0]), ys: list.map((p) => p[1]), count: list.length,
    read: async (indices, out) => {
      const intensity = new Float64Array(n * n);
      indices.forEach((p, k) => {
        farField.intensity(truth, list[p][0], list[p][1], intensity);
        for (let t = 0; t < n * n; t++) out[k * n * n + t] = Math.sqrt(intensity[t]);
      });
    },
  });
  const weight = new Float32Array(W * H).fill(1);

  it('chooses the candidate whose stitch predicts the other half\'s patterns best, and never sees the truth otherwise', async () => {
    // Candidate 0: the truth with its phase disturbed (a network's error); 3: the truth; 10: the truth plus more noise.
    const stitches = [0, 1].map((h) => [object(0.6, 7 + h), object(0, 1), object(1.2, 11 + h)].map((o) => ({ object: o, weight })));
    const selection = await selectRefinement([0, 3, 10], region, [stitches[0], stitches[1]], [patternsOf(halves[0]), patternsOf(halves[1])], { width: n, height: n, data: probe.data });
    assert.equal(selection.chosen, 3, JSON.stringify(selection));
    const [m0, m3, m10] = selection.candidates.map((c) => c.misfit);
    assert.ok(m3 < 1e-6 && m0 > m3 && m10 > m0, JSON.stringify(selection.candidates));
    assert.equal(selection.misfit, 'amplitude-squared-error');
    assert.deepEqual(selection.patterns, [halves[1].length, halves[0].length]);
    assert.match(describeRefinementSelection(selection), /'auto': 3 iterations chosen/);
  });

  // Each count's stitches: the phase disturbed by a noise that depends on the count (0: the truth).
  const stitcherOf = (noiseOf: Record<number, number>, asked: number[][]) => async (counts: readonly number[]) => {
    asked.push([...counts]);
    const [a, b] = [0, 1].map((h) => counts.map((k) => ({ object: object(noiseOf[k], 7 + h + k), weight, iterations: k })));
    return [a, b] as const;
  };
  const patterns = (): [CalibrationPatterns, CalibrationPatterns] => [patternsOf(halves[0]), patternsOf(halves[1])];

  it('tries the larger counts only when one iteration beats none, and 100 only when 30 beats 10', async () => {
    const asked: number[][] = [];
    const { selection, halvesAt } = await chooseRefinement(stitcherOf({ 0: 0.6, 1: 0.4, 3: 0.2, 10: 0, 30: 0.3 }, asked), region, patterns(), { width: n, height: n, data: probe.data });
    assert.deepEqual(asked, [[0, 1], [3, 10, 30]]);
    assert.equal(selection.chosen, 10, JSON.stringify(selection));
    assert.deepEqual(selection.candidates.map((c) => c.iterations), [0, 1, 3, 10, 30]);
    assert.equal(selection.stopped, '30 iterations did not lower the held-out misfit below 10\'s; 100 not tried');
    assert.deepEqual(halvesAt(10).map((h) => h.iterations), [10, 10], 'the halves handed back are those of the count asked for');
    assert.deepEqual(halvesAt(0).map((h) => h.iterations), [0, 0]);
  });

  it('goes on to 100 where 30 won, and chooses among all six', async () => {
    for (const [noise100, chosen] of [[0, 100], [0.3, 30]] as const) {
      const asked: number[][] = [];
      const { selection, halvesAt } = await chooseRefinement(stitcherOf({ 0: 0.6, 1: 0.45, 3: 0.3, 10: 0.2, 30: 0.1, 100: noise100 }, asked), region, patterns(), { width: n, height: n, data: probe.data });
      assert.deepEqual(asked, [[0, 1], [3, 10, 30], [100]]);
      assert.deepEqual(selection.candidates.map((c) => c.iterations), [...REFINEMENT_CANDIDATES]);
      assert.equal(selection.chosen, chosen, JSON.stringify(selection));
      assert.equal(selection.stopped, undefined, 'every step was tried');
      assert.deepEqual(halvesAt(100).map((h) => h.iterations), [100, 100]);
    }
  });

  it('stops after one iteration when it does not lower the held-out misfit, and keeps the network\'s predictions', async () => {
    const asked: number[][] = [];
    // Even though 30 iterations would have won: the rule trusts the first step (README item 44's curves were monotone).
    const { selection, halvesAt } = await chooseRefinement(stitcherOf({ 0: 0.4, 1: 0.6, 3: 0.2, 10: 0.1, 30: 0 }, asked), region, patterns(), { width: n, height: n, data: probe.data });
    assert.deepEqual(asked, [[0, 1]]);
    assert.equal(selection.chosen, 0);
    assert.deepEqual(selection.candidates.map((c) => c.iterations), [0, 1]);
    assert.ok(selection.candidates[1].misfit > selection.candidates[0].misfit);
    assert.match(selection.stopped ?? '', /^1 iteration did not lower the held-out misfit; 3, 10, 30, 100 not tried$/);
    assert.match(describeRefinementSelection(selection), /'auto': 0 iterations chosen .* \(1 iteration did not lower the held-out misfit; 3, 10, 30, 100 not tried\)/);
    assert.deepEqual(halvesAt(0).map((h) => h.iterations), [0, 0]);
    assert.throws(() => halvesAt(30), /not stitched at 30 iterations \(tried: 0, 1\)/);
  });

  it('says so, and refines nothing, when too few held-out patterns fall on a covered canvas', async () => {
    const empty = new Float32Array(W * H);
    const stitches = [0, 1].map(() => [0, 1].map(() => ({ object: object(0, 1), weight: empty })));
    const selection = await selectRefinement([0, 1], region, [stitches[0], stitches[1]], [patternsOf(halves[0]), patternsOf(halves[1])], { width: n, height: n, data: probe.data }, 1e5);
    assert.equal(selection.chosen, 0);
    assert.match(selection.reason ?? '', /0 held-out patterns have ≥ 95 % of their probe light on the other half's covered canvas; 16 are needed/);
    assert.match(describeRefinementSelection(selection), /not judged/);
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
