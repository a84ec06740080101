// Like-for-like scoring (domain.md §7.3): every job of a dose is scored on the dose's Phase C test split over one
// object region (the scan's bounding box ± M/2, holes included), beside the untrained network and the flat
// predictor; FRC is reported as a spatial frequency (cycles/px, and 1/m with a known pixel size); Pearson r.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { cyclesPerMeter, evaluateReconstruction, fft2d, frc, pearson, shellToCyclesPerPixel } from '../../src/core/metrics';
import { openNpz } from '../../src/core/npy';
import {
  EVALUATION_ALIGNMENT, evaluateRun, flatPredictor, openEvaluationSet, pixelSizeFromMetadata, scanRegion, scoreOnRegion, type RunEvaluation,
} from '../../src/core/run/evaluation';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import { discoverStudy, listJobs, type StudyJob } from '../../src/core/study';
import { planEvaluation, planRun, type RunConfig } from '../../src/core/run/plan';
import { openTrainingDataset, quietOrt, Trainer, type TrainingDataset } from '../../src/core/train';
import { fixturesDir, tempDir } from './helpers/paths';

quietOrt(ort);

/** Deterministic noise in [−0.5, 0.5). */
function noise(n: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** `img` (n×n) with every spatial frequency of radius round(|k|) > kMax removed (exact, through the DFT). */
function lowPass(img: Float64Array, n: number, kMax: number): Float64Array {
  const re = Float64Array.from(img);
  const im = new Float64Array(n * n);
  fft2d(re, im, n, n);
  const signed = (k: number): number => (k <= n / 2 ? k : k - n);
  for (let ky = 0; ky < n; ky++) {
    for (let kx = 0; kx < n; kx++) {
      if (Math.round(Math.hypot(signed(kx), signed(ky))) > kMax) {
        re[ky * n + kx] = 0;
        im[ky * n + kx] = 0;
      }
    }
  }
  // Inverse DFT = conj(DFT(conj(X))) / n².
  for (let i = 0; i < n * n; i++) im[i] = -im[i];
  fft2d(re, im, n, n);
  return re.map((v) => v / (n * n));
}

describe('metrics: Pearson r', () => {
  it('known values: ±1 for (anti-)proportional images, 0.8 for a worked example, numpy\'s corrcoef on real images', async () => {
    assert.equal(pearson([1, 2, 3, 4, 5], [2, 4, 6, 8, 10]), 1);
    assert.equal(pearson([1, 2, 3, 4, 5], [10, 8, 6, 4, 2]), -1);
    // mean 2.5: Σ dadb = 4, Σ da² = Σ db² = 5 → r = 0.8.
    assert.ok(Math.abs(pearson([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-15);
    assert.ok(Math.abs(pearson([1, 2, 3, 4], [1 + 7, 3 + 7, 2 + 7, 4 + 7]) - 0.8) < 1e-15, 'invariant to an offset');
    const a = await openNpz(path.join(fixturesDir, 'metrics', 'functions.npz'));
    const f = async (k: string) => Float64Array.from((await a.readArray(k)).data as Float64Array);
    const [x, y, smooth] = [await f('a'), await f('b'), await f('smooth')];
    await a.close();
    // np.corrcoef(a.ravel(), b.ravel())[0, 1] and of (smooth, b), numpy 2.4.
    assert.ok(Math.abs(pearson(x, y) - 0.9195725108932515) < 1e-13, `${pearson(x, y)}`);
    assert.ok(Math.abs(pearson(smooth, y) - -0.0027660683124837463) < 1e-13, `${pearson(smooth, y)}`);
  });

  it('a constant image: r = 0 against a structured one, NaN when both are constant or the data hold NaN; bad input throws', () => {
    assert.equal(pearson([0.7, 0.7, 0.7], [1, 2, 5]), 0);
    assert.equal(pearson([1, 2, 5], [0, 0, 0]), 0);
    assert.ok(Number.isNaN(pearson([1, 1], [2, 2])));
    assert.ok(Number.isNaN(pearson([1, NaN, 3], [1, 2, 3])));
    assert.ok(Number.isNaN(pearson([1, 1, 1], [1, NaN, 3])));
    // Numerically constant (rounding residue far below the other image's spread) counts as constant.
    assert.equal(pearson([1e-17, -2e-17, 3e-17, 0], [0.1, 0.5, -0.3, 0.2]), 0);
    assert.ok(pearson([1e-6, -2e-6, 3e-6, 0], [0.1, 0.5, -0.3, 0.2]) !== 0, 'a small but real signal still correlates');
    assert.throws(() => pearson([], []), RangeError);
    assert.throws(() => pearson([1, 2], [1, 2, 3]), RangeError);
  });

  it('evaluateReconstruction reports Pearson r of the aligned amplitude and plane-removed phase', () => {
    const n = 24;
    const amp = noise(n * n, 5).map((v) => 1 + v);
    const phi = noise(n * n, 6).map((v) => 0.8 * v);
    const target = new Float64Array(2 * n * n);
    const pred = new Float64Array(2 * n * n);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
      const i = y * n + x;
      target[2 * i] = amp[i] * Math.cos(phi[i]);
      target[2 * i + 1] = amp[i] * Math.sin(phi[i]);
      // ×3 amplitude and a phase plane: both removed by the alignment, so r = 1.
      const p = phi[i] + 0.02 * x - 0.01 * y + 0.4;
      pred[2 * i] = 3 * amp[i] * Math.cos(p);
      pred[2 * i + 1] = 3 * amp[i] * Math.sin(p);
    }
    const m = evaluateReconstruction(pred, target, n, n);
    assert.ok(Math.abs(m.amplitude.pearson - 1) < 1e-12, `${m.amplitude.pearson}`);
    assert.ok(Math.abs(m.phase.pearson - 1) < 1e-9, `${m.phase.pearson}`);
  });
});

describe('metrics: FRC as a spatial frequency', () => {
  it('shell k of an L×L square is k/L cycles/px (L/2 = Nyquist 0.5); 1/m with a pixel size', () => {
    assert.equal(shellToCyclesPerPixel(8, 32), 0.25);
    assert.equal(shellToCyclesPerPixel(16, 32), 0.5);
    assert.equal(shellToCyclesPerPixel(3.5, 28), 0.125);
    assert.ok(Number.isNaN(shellToCyclesPerPixel(NaN, 32)));
    assert.throws(() => shellToCyclesPerPixel(1, 0), RangeError);
    assert.equal(cyclesPerMeter(0.25, 1e-8), 2.5e7);
    assert.throws(() => cyclesPerMeter(0.25, 0), RangeError);
  });

  it('a reconstruction that keeps every frequency up to shell 7 of a 32×32 image: FRC50 at shell 8 = 0.25 cycles/px', () => {
    const n = 32;
    const kMax = 7;
    const target = noise(n * n, 9);
    const pred = lowPass(target, n, kMax);
    const direct = frc(target, pred, n, n);
    assert.equal(direct.size, n);
    assert.equal(direct.frc50, kMax + 1, `curve ${direct.curve.map((v) => v.toFixed(2)).join(' ')}`);
    // Through evaluateReconstruction: amplitude 2 + image, zero phase, no trim → the same shell, in cycles/px.
    const z = (img: Float64Array): Float64Array => {
      const out = new Float64Array(2 * n * n);
      img.forEach((v, i) => (out[2 * i] = 2 + v));
      return out;
    };
    const m = evaluateReconstruction(z(pred), z(target), n, n, { trim: 0, pixelSizeMeters: 1e-8 });
    assert.equal(m.amplitude.frcSize, n);
    assert.equal(m.amplitude.frc50Shell, kMax + 1);
    assert.equal(m.amplitude.frc50, (kMax + 1) / n);
    assert.equal(m.amplitude.frc50, 0.25);
    assert.ok(m.amplitude.frc1over7 > 0.2 && m.amplitude.frc1over7 <= 0.25, `${m.amplitude.frc1over7}`);
    assert.equal(m.amplitude.frc1over7, m.amplitude.frc1over7Shell / n);
    assert.equal(m.amplitude.frc50PerMeter, 0.25 / 1e-8);
    assert.equal(m.amplitude.frc1over7PerMeter, m.amplitude.frc1over7 / 1e-8);
    // With a trim of 2 the square is 28 px: the same content now reads in 1/28 steps.
    const t = evaluateReconstruction(z(pred), z(target), n, n, { trim: 2 });
    assert.equal(t.amplitude.frcSize, 28);
    assert.equal(t.amplitude.frc50, t.amplitude.frc50Shell / 28);
    assert.equal(t.amplitude.frc50PerMeter, undefined, 'no pixel size, no 1/m');
  });

  it('the object pixel size is found in _metadata under object-specific or bare pixel-size keys, never a detector one', () => {
    assert.deepEqual(pixelSizeFromMetadata({ physics_parameters: { object_pixel_size: 1e-8 } }), { meters: 1e-8, key: 'physics_parameters.object_pixel_size' });
    assert.deepEqual(pixelSizeFromMetadata({ a: { pixel_size: 2e-8 }, b: { objectPixelSizeM: '3e-8' } }), { meters: 3e-8, key: 'b.objectPixelSizeM' });
    assert.equal(pixelSizeFromMetadata({ detector_pixel_size: 1e-6, det: { pixel: 1 } }), undefined);
    assert.equal(pixelSizeFromMetadata({ pixel_size: 64 }), undefined, 'not a plausible size in metres');
    assert.equal(pixelSizeFromMetadata(undefined), undefined);
  });
});

describe('the common evaluation of a dose', function () {
  this.timeout(300_000);
  const tmp = tempDir('ptycho-eval-');
  let jobs: StudyJob[];
  const configs = new Map<string, RunConfig>();
  const settings = { epochs: 1, batchSize: 8, nFiltersScale: 1, seed: 3 };
  before(async () => {
    const cfg = defaultSimulationConfig(tmp.dir);
    cfg.nImages = 120;
    cfg.doses = [1e4];
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
    jobs = await listJobs(await discoverStudy({ workspace: tmp.dir }));
    for (const id of ['dose_10000/baseline/gs1', 'dose_10000/dense/gs2']) {
      configs.set(id, planRun(jobs.find((j) => j.id === id)!, { settings, workerScript: 'unused' }).config);
    }
  });
  after(() => tmp.cleanup());

  it('is planned as the dose\'s Phase C test split for every job; a dose without one falls back to the job\'s own split, saying why', () => {
    const base = configs.get('dose_10000/baseline/gs1')!;
    const dense = configs.get('dose_10000/dense/gs2')!;
    const phaseCTest = path.join(tmp.dir, 'phase_c', 'dose_10000', 'patched_test.npz');
    assert.ok(fs.existsSync(phaseCTest));
    assert.deepEqual(base.evaluation, { datasetPath: phaseCTest, source: 'phase-c-test' });
    assert.deepEqual(dense.evaluation, base.evaluation);
    assert.notEqual(dense.testPath, phaseCTest, 'the dense job\'s own test split is another file');
    const job = jobs.find((j) => j.id === 'dose_10000/dense/gs2')!;
    const orphan: StudyJob = { ...job, evaluation: undefined };
    const plan = planEvaluation(orphan);
    assert.equal(plan.source, 'own-test');
    assert.equal(plan.datasetPath, job.test.path);
    assert.match(plan.fallbackReason!, /no Phase C test split.*not comparable/);
    const noTest = planEvaluation({ ...orphan, test: { ...orphan.test, exists: false } });
    assert.equal(noTest.source, 'own-train');
    assert.equal(noTest.datasetPath, job.train.path);
  });

  it('the baseline (gs1) and the dense view (gs2) open the same dataset and region; gs2 groups are deterministic', async () => {
    const sets = [];
    const owns: TrainingDataset[] = [];
    for (const id of ['dose_10000/baseline/gs1', 'dose_10000/dense/gs2', 'dose_10000/dense/gs2']) {
      const config = configs.get(id)!;
      const own = await openTrainingDataset(config.testPath!);
      owns.push(own);
      sets.push(await openEvaluationSet(config, { data: own, split: 'test' }));
    }
    try {
      const [gs1, gs2, again] = sets;
      assert.equal(gs1.dataset, gs2.dataset);
      assert.equal(gs1.source, 'phase-c-test');
      assert.equal(gs2.source, 'phase-c-test');
      assert.equal(gs1.fallbackReason, undefined);
      assert.deepEqual(gs1.region, gs2.region);
      assert.deepEqual(gs1.region, scanRegion(gs1.data.xs, gs1.data.ys, 20), 'the scan bounding box ± M/2');
      assert.equal(gs1.data, owns[0], 'the baseline\'s own test split is the Phase C test split: opened once');
      // gs1: every pattern one group, offset 0; gs2: groups of 4 from the same split, the same on every run.
      assert.equal(gs1.groups.count, gs1.data.count);
      assert.equal(gs1.groups.size, 1);
      assert.ok(gs1.groups.offsets.every((v) => v === 0));
      assert.equal(gs2.groups.size, 4);
      assert.equal(gs2.groups.count, gs2.data.count);
      assert.ok(gs2.groups.maxOffset > 0);
      assert.deepEqual(gs2.groups.indices, again.groups.indices);
      assert.deepEqual(gs2.groups.offsets, again.groups.offsets);
      assert.equal(gs1.pixelSize, undefined, 'the simulator records no object pixel size: FRC in cycles/px only');
    } finally {
      for (const s of sets) await s.close();
      for (const o of owns) await o.close();
    }
  });

  it('two jobs of one dose report the same evaluation region and dataset, and the same flat predictor; holes count', async () => {
    const results = new Map<string, RunEvaluation>();
    for (const id of ['dose_10000/baseline/gs1', 'dose_10000/dense/gs2']) {
      const config = configs.get(id)!;
      const train = await openTrainingDataset(config.trainPath);
      const test = await openTrainingDataset(config.testPath!);
      const t = new Trainer(config, train, test, { ort, providers: ['cpu'] });
      try {
        const plan = await t.prepare();
        const untrained = t.untrainedParameters();
        // A "trained" model that differs from the untrained one (no training needed to test the protocol).
        const trained = new Map([...untrained].map(([k, v]) => [k, Float32Array.from(v, (x) => x * 1.05)]));
        results.set(id, await evaluateRun({
          config, ort, provider: 'cpu', batch: 32, spec: plan.spec, trained, untrained, own: { data: test, groups: plan.testGroups!, split: 'test' },
        }));
      } finally {
        await t.release();
        await train.close();
        await test.close();
      }
    }
    const base = results.get('dose_10000/baseline/gs1')!;
    const dense = results.get('dose_10000/dense/gs2')!;
    // The contract: one dataset, one region, one alignment for every job of the dose.
    assert.equal(base.evaluation.dataset, dense.evaluation.dataset);
    assert.equal(base.evaluation.source, 'phase-c-test');
    assert.deepEqual(base.evaluation.region, dense.evaluation.region);
    assert.deepEqual(base.evaluation.alignment, EVALUATION_ALIGNMENT);
    assert.deepEqual(base.evaluation.alignment, { globalPhase: true, phase: 'plane', amplitude: 'mean-scale', trim: 2, holes: 'included' });
    assert.deepEqual(base.reconstruction.region, dense.reconstruction.region);
    assert.deepEqual(base.metrics.region, dense.metrics.region);
    assert.equal(base.evaluation.grouping.gridsize, 1);
    assert.equal(dense.evaluation.grouping.gridsize, 2);
    assert.equal(dense.evaluation.grouping.stream, 'evaluation');
    assert.deepEqual(base.metrics.metricRegion, { x: 0, y: 0, width: base.evaluation.region.width, height: base.evaluation.region.height }, 'the whole region, holes included');
    // The same ground truth over the same region: the flat predictor scores identically for both jobs.
    type Part = { mae: number; pearson: number | null; frc50: number; frc50Shell: number; frcSize: number };
    type Doc = { amplitude: Part; phase: Part; flat: { amplitude: Part; phase: Part }; untrained: { amplitude: Part; phase: Part }; ownSplit: { split: string; dataset: string; amplitude?: Part } };
    const b = base.metrics as unknown as Doc;
    const d = dense.metrics as unknown as Doc;
    assert.deepEqual(b.flat, d.flat);
    assert.equal(b.flat.amplitude.pearson, 0, 'a constant amplitude has no correlation');
    assert.equal(b.flat.phase.pearson, 0, 'zero phase has no correlation');
    for (const doc of [b, d]) {
      for (const part of [doc.amplitude, doc.phase, doc.untrained.amplitude, doc.flat.phase]) {
        assert.equal(part.frc50, part.frc50Shell / part.frcSize, 'FRC50 in cycles/px');
        assert.ok(part.frc50 >= 0 && part.frc50 <= 0.5);
      }
      assert.ok(typeof doc.amplitude.pearson === 'number');
    }
    // The secondary scoring: each job's own split, on its own covered rectangle.
    assert.equal(b.ownSplit.dataset, configs.get('dose_10000/baseline/gs1')!.testPath);
    assert.equal(d.ownSplit.dataset, configs.get('dose_10000/dense/gs2')!.testPath);
    assert.ok(b.ownSplit.amplitude && d.ownSplit.amplitude);
    assert.ok(base.summary && Object.keys(base.summary.phase).includes('pearson'));
    // Coverage of the common region by the stitched crops (the rest are holes, scored as 0).
    for (const r of [base, dense]) assert.ok(r.evaluation.coverage > 0.1 && r.evaluation.coverage <= 1, `${r.evaluation.coverage}`);
  });

  it('holes count against a reconstruction; the flat predictor is constant amplitude = mean |truth|, zero phase', () => {
    const n = 24;
    const gt = new Float32Array(2 * n * n);
    const amp = noise(n * n, 21);
    const phi = noise(n * n, 22);
    for (let i = 0; i < n * n; i++) {
      gt[2 * i] = (1 + amp[i]) * Math.cos(phi[i]);
      gt[2 * i + 1] = (1 + amp[i]) * Math.sin(phi[i]);
    }
    const perfect = scoreOnRegion(gt, gt, n, n);
    const holed = Float32Array.from(gt);
    for (let y = 8; y < 14; y++) holed.fill(0, 2 * (y * n + 6), 2 * (y * n + 12));
    const withHole = scoreOnRegion(holed, gt, n, n);
    assert.ok(perfect.metrics.amplitude.mae! < 1e-6);
    assert.ok(withHole.metrics.amplitude.mae! > 0.01, 'the uncovered pixels are scored as 0');
    assert.ok(withHole.metrics.phase.pearson! < perfect.metrics.phase.pearson!);
    const flat = flatPredictor(gt);
    let mean = 0;
    for (let i = 0; i < n * n; i++) mean += Math.hypot(gt[2 * i], gt[2 * i + 1]);
    mean /= n * n;
    assert.ok(Math.abs(flat.amplitude - mean) < 1e-12);
    for (let i = 0; i < n * n; i++) assert.ok(flat.object[2 * i] === Math.fround(mean) && flat.object[2 * i + 1] === 0);
    const f = scoreOnRegion(flat.object, gt, n, n);
    assert.equal(f.metrics.amplitude.pearson, 0);
    assert.ok(f.metrics.amplitude.mae! > 0.1, `${f.metrics.amplitude.mae}`);
    assert.ok(perfect.metrics.phase.ssim! > f.metrics.phase.ssim!);
  });
});
