// The manifest viewer's document model: a trained job's manifest (every section, the execution provider,
// the fallback reason highlighted), a dry run (no result, timing or artifacts), the study manifest, and files
// with unknown or missing fields.
import { strict as assert } from 'node:assert';
import { manifestDocument, type ManifestDocument, type Section } from '../../src/webview/manifest/model';

const trained = {
  schemaVersion: 1, kind: 'ptycho-study-job', job: { id: 'dose_10000/baseline/gs1', dose: 10000, view: 'baseline', gridsize: 1 },
  status: 'succeeded', createdAt: '2026-12-02T08:53:15.090Z', updatedAt: '2026-12-02T08:53:22.532Z', startedAt: '2026-12-02T08:53:15.090Z',
  data: {
    train: { path: '/s/phase_c/dose_10000/patched_train.npz', bytes: 1683252, mtimeMs: 1796201594781.8, sha256: '42c42fe390b0005e6984aafd1d0a1671b4da5974ec9994a306ebfbeb47c88d8c', nPatterns: 68, N: 64 },
    test: { path: '/s/phase_c/dose_10000/patched_test.npz', bytes: 1420412, mtimeMs: 1796201594805.8, nPatterns: 52, N: 64 },
    layout: 'unknown',
  },
  config: {
    jobId: 'dose_10000/baseline/gs1', dose: 10000, view: 'baseline', gridsize: 1, groupSize: 1, trainPath: '/s/a.npz', testPath: '/s/b.npz',
    diffractionKey: 'diffraction', diffractionLayout: 'nhw', n: 64, trainPatterns: 68, testPatterns: 52, nGroups: 68, intensityScale: 3.125,
    training: {
      epochs: 2, batchSize: 8, learningRate: 0.001, minLearningRate: 0.0001, plateauFactor: 0.5, plateauPatience: 2, earlyStoppingPatience: 3,
      validationFraction: 0.05, neighborCount: 7, nFiltersScale: 1, intensityScaleTrainable: true, probeTrainable: false, stitchCropSize: 20, seed: 42,
      executionProvider: 'cuda', futureKnob: 3,
    },
    artifactDir: '/s/phase_e/dose_10000/baseline/gs1', study: { phaseCRoot: '/s/phase_c', phaseDRoot: '/s/phase_d', artifactRoot: '/s/phase_e' },
  },
  runtime: {
    hostname: 'vm', platform: 'linux-x64', node: 'v20.20.2', onnxruntime: '1.30.0', pid: 11603, executionProviderRequested: 'cuda',
    executionProviderCandidates: ['cuda', 'cpu'], executionProviderUsed: 'cpu', fallbackReason: 'CUDA provider library not installed; fell back to CPU.',
    heartbeatAt: '2026-12-02T08:53:20.772Z', peakRssMB: 454, threads: 2, threadsSource: 'available',
  },
  worker: { command: ['/usr/bin/node', '/x/dist/worker.js', '--job-dir', '/s/phase_e/dose_10000/baseline/gs1'] },
  findings: [],
  timing: { startedAt: '2026-12-02T08:53:15.090Z', trainingSeconds: 13.389, finishedAt: '2026-12-02T08:53:22.532Z', seconds: 7.442 },
  training: { parameters: 563875, batchSize: 8, stepsPerEpoch: 8, trainGroups: 64, validationGroups: 4, testGroups: 52, canvas: 34, graphNodes: 784, sessionMs: 160,
    normalization: { train: 1.54, test: 1.56 }, probeNormalization: 1.399, patternsStreamed: false },
  progress: { epoch: 2, epochs: 2, step: 8, stepsPerEpoch: 8, loss: -2.21, imagesPerSec: 25.2, etaSeconds: 0 },
  result: {
    epochs: 2, steps: 16, finalLoss: -3.138, bestValLoss: -4.2046, stopReason: 'completed 2 epochs',
    history: [{ epoch: 1, trainLoss: -2.88, valLoss: -4.2, lr: 0.001, seconds: 2.5 }, { epoch: 2, trainLoss: -3.14, valLoss: -4.16, lr: 0.001, seconds: 2.8 }],
    metrics: {
      amplitude: { mae: 0.0712, mse: 0.00715, psnr: 13.5, ssim: 0.232, msSsim: 0.585, frc50: 1 },
      phase: { mae: 0.533, mse: 0.356, psnr: 10.5, ssim: 0.497, msSsim: 0.0639, frc50: null },
      testLoss: -3.21,
    },
  },
  artifacts: { 'model.onnx': { bytes: 2261203, sha256: '42e2a0074ad5178ae7bd5375afa0f75383120c1551cb86ea6c39c3a6cd07d2cc' }, 'checkpoint.npz': { bytes: 6795626 } },
  finishedAt: '2026-12-02T08:53:22.532Z',
};

const sec = (d: ManifestDocument, id: string): Section => {
  const s = d.sections.find((x) => x.id === id);
  assert.ok(s, `section ${id} in ${d.sections.map((x) => x.id).join(', ')}`);
  return s;
};
const fieldValue = (s: Section, id: string): string | undefined => s.groups.flatMap((g) => g.fields).find((f) => f.id === id)?.value;

describe('manifest viewer: document model', () => {
  it('a trained job manifest has every section, in order', () => {
    const d = manifestDocument(trained, 'job');
    assert.equal(d.kind, 'job');
    assert.equal(d.status, 'succeeded');
    assert.deepEqual(d.sections.map((s) => s.id), ['status', 'result', 'runtime', 'timing', 'progress', 'config', 'data', 'training', 'artifacts']);
    assert.equal(d.title, 'Manifest of dose_10000/baseline/gs1');
  });

  it('the runtime section names the execution provider used, and the fallback reason is highlighted and warned about', () => {
    const d = manifestDocument(trained, 'job');
    const rt = sec(d, 'runtime');
    assert.equal(fieldValue(rt, 'field-executionProviderUsed'), 'cpu');
    assert.equal(fieldValue(rt, 'field-executionProviderRequested'), 'cuda');
    assert.equal(fieldValue(rt, 'field-executionProviderCandidates'), 'cuda, cpu');
    const fb = rt.groups[0].fields.find((f) => f.id === 'field-fallbackReason');
    assert.equal(fb?.kind, 'warn');
    assert.ok(d.warnings.some((w) => /fallback: CUDA provider/.test(w)));
    assert.match(fieldValue(rt, 'field-workerCommand')!, /worker\.js --job-dir/);
    assert.equal(fieldValue(rt, 'field-threads'), '2');
    assert.equal(fieldValue(rt, 'field-threadsSource'), 'available');
  });

  it('every hyperparameter is shown, grouped; unknown ones under "Other training settings"', () => {
    const cfg = sec(manifestDocument(trained, 'job'), 'config');
    const all = cfg.groups.flatMap((g) => g.fields.map((f) => f.id));
    for (const k of Object.keys(trained.config.training)) assert.ok(all.includes(`field-${k}`), k);
    assert.ok(cfg.groups.some((g) => g.title === 'Other training settings' && g.fields.some((f) => f.id === 'field-futureKnob')));
    assert.deepEqual(cfg.groups.map((g) => g.title), ['Job and data', 'Optimisation', 'Model', 'Grouping and stitching', 'Reproducibility and runtime', 'Other training settings', 'Study roots']);
  });

  it('the training plan names the turns of symmetry augmentation and lists each one\'s probe mismatch', () => {
    const m = structuredClone(trained) as typeof trained & { training: Record<string, unknown> };
    m.training.symmetries = ['identity', 'mirror-x', 'mirror-y', 'rotate-180'];
    m.training.probeSymmetryMismatch = { identity: 0, 'mirror-x': 0.0276, transpose: 0.31 };
    const t = sec(manifestDocument(m, 'job'), 'training');
    assert.equal(fieldValue(t, 'field-symmetries'), 'identity, mirror-x, mirror-y, rotate-180');
    const mismatch = t.groups.find((g) => g.title === 'probeSymmetryMismatch');
    assert.deepEqual(mismatch?.fields.map((f) => f.label), ['identity', 'mirror-x', 'transpose']);
    assert.equal(fieldValue(sec(manifestDocument(trained, 'job'), 'training'), 'field-symmetries'), undefined, 'absent when the run did not augment');
  });

  it('data provenance: paths, sizes, pattern counts, N and sha256 (absent ones say why)', () => {
    const t = sec(manifestDocument(trained, 'job'), 'data').tables[0];
    assert.equal(t.rows.length, 2);
    const [train, test] = t.rows;
    assert.equal(train[1].text, '/s/phase_c/dose_10000/patched_train.npz');
    assert.match(train[2].text, /^1\.6 MiB/);
    assert.equal(train[3].text, '68');
    assert.equal(train[4].text, '64');
    assert.equal(train[6].title, trained.data.train.sha256);
    assert.match(test[6].text, /not recorded/);
  });

  it('the result has the metrics table (amplitude and phase), the history and the test loss', () => {
    const r = sec(manifestDocument(trained, 'job'), 'result');
    const m = r.tables.find((t) => t.id === 'metrics-table')!;
    assert.deepEqual(m.columns, ['', 'MAE', 'MSE', 'PSNR (dB)', 'SSIM', 'MS-SSIM', 'Pearson r', 'FRC50 (shell)'], 'a run before the common evaluation: FRC50 as a shell index');
    assert.deepEqual(m.rows.map((row) => row[0].text), ['amplitude', 'phase']);
    assert.equal(m.rows[1][7].text, '—', 'null metric');
    assert.equal(m.rows[1][6].text, '', 'no Pearson r recorded by this run');
    assert.equal(r.tables.find((t) => t.id === 'history-table')!.rows.length, 2);
    assert.equal(fieldValue(r, 'field-testLoss'), '−3.21');
    assert.equal(fieldValue(r, 'field-stopReason'), 'completed 2 epochs');
    assert.equal(fieldValue(r, 'field-history'), undefined, 'the history is a table, not a JSON line');
  });

  it('a run on the common evaluation: FRC50 in cycles/px, Pearson r, and the evaluation set and region', () => {
    const common = JSON.parse(JSON.stringify(trained)) as typeof trained;
    const metrics = {
      amplitude: { mae: 0.07, mse: 0.007, psnr: 13.5, ssim: 0.23, msSsim: 0.58, pearson: 0.41, frc50: 0.0625 },
      phase: { mae: 0.5, mse: 0.36, psnr: 10.5, ssim: 0.5, msSsim: 0.06, pearson: 0.12, frc50: 0.03125 },
      testLoss: -3.21, frcUnit: 'cycles/px',
      evaluation: { dataset: '/s/phase_c/dose_10000/patched_test.npz', source: 'phase-c-test', region: { x0: 22, y0: 23, width: 85, height: 84 } },
    };
    (common.result as Record<string, unknown>).metrics = metrics;
    const r = sec(manifestDocument(common, 'job'), 'result');
    const m = r.tables.find((t) => t.id === 'metrics-table')!;
    assert.deepEqual(m.columns, ['', 'MAE', 'MSE', 'PSNR (dB)', 'SSIM', 'MS-SSIM', 'Pearson r', 'FRC50 (cycles/px)']);
    assert.equal(m.rows[0][6].text, '0.41');
    assert.match(m.caption ?? '', /common evaluation \(patched_test\.npz\)/);
    assert.equal(fieldValue(r, 'field-evaluationDataset'), '/s/phase_c/dose_10000/patched_test.npz');
    assert.equal(fieldValue(r, 'field-evaluationRegion'), '85 × 84 px at (22, 23)');
  });

  it('timing in readable units; artifacts with sizes and hashes', () => {
    const d = manifestDocument(trained, 'job');
    assert.equal(fieldValue(sec(d, 'timing'), 'field-seconds'), '7.44 s');
    const a = sec(d, 'artifacts').tables[0];
    assert.deepEqual(a.rows.map((r) => r[0].text), ['model.onnx', 'checkpoint.npz']);
    assert.equal(a.rows[1][2].text, '—');
  });

  it('a dry-run manifest shows what is there: no timing, result or artifacts, and says why', () => {
    const dry = { ...trained, status: 'dry-run' } as Record<string, unknown>;
    for (const k of ['timing', 'result', 'artifacts', 'training', 'progress', 'finishedAt', 'startedAt']) delete dry[k];
    dry.runtime = { hostname: 'vm', platform: 'linux-x64', node: 'v20.20.2', executionProviderRequested: 'auto', executionProviderCandidates: ['cpu'] };
    const d = manifestDocument(dry, 'job');
    assert.deepEqual(d.sections.map((s) => s.id), ['status', 'runtime', 'config', 'data']);
    assert.match(sec(d, 'status').note!, /dry run/i);
    assert.equal(fieldValue(sec(d, 'runtime'), 'field-executionProviderUsed'), 'not started (dry run)');
  });

  it('a failed run carries its reason; unknown top-level fields are kept; a wrong schema version is warned about', () => {
    const d = manifestDocument({ ...trained, status: 'failed', reason: 'The worker was killed (SIGKILL).', schemaVersion: 2, extraThing: { a: 1 } }, 'job');
    assert.equal(d.reason, 'The worker was killed (SIGKILL).');
    assert.equal(sec(d, 'status').groups[0].fields.find((f) => f.id === 'field-reason')!.kind, 'error');
    assert.deepEqual(sec(d, 'other').extra, { extraThing: { a: 1 } });
    assert.ok(d.warnings.some((w) => /Schema version 2/.test(w)));
  });

  it('a Phase F reconstruction manifest: the reconstruction section with every parameter, the per-iteration history, progress in iterations', () => {
    const recon = {
      schemaVersion: 1, kind: 'ptycho-study-reconstruction', job: { id: 'dose_100000/dense/test/ad', dose: 100000, view: 'dense', gridsize: 2, split: 'test', algorithm: 'ad' },
      status: 'succeeded', runtime: { executionProviderRequested: 'cuda', executionProviderCandidates: ['cuda', 'cpu'], executionProviderUsed: 'cpu', fallbackReason: 'cuda: library missing', threads: 2, engine: 'onnxruntime' },
      progress: { iteration: 20, iterations: 20, relativeError: 0.0064, updatesPerSec: 2031, etaSeconds: 0 },
      reconstruction: {
        engine: 'onnxruntime: an ONNX graph', parameters: { algorithm: 'ad', loss: 'amplitude', learningRate: 0.1, batchSize: 32, schedule: 'cosine over 20 iterations to ×0.05' },
        patterns: 132, n: 64, probeScale: 1.7, configKey: 'abc', updateOrder: 'mini-batches', forwardModel: 'far field', loss: 'Σ(√I − A)²',
      },
      result: { iterations: 20, relativeError: 0.0064, mse: 0.001, stopReason: '20 iterations done', history: [{ iteration: 1, relativeError: 0.03, mse: 0.01, amplitudeR: 0.85, phaseR: 0.31, seconds: 1.05 }] },
    };
    const d = manifestDocument(recon, 'job');
    assert.equal(d.title, 'Manifest of dose_100000/dense/test/ad');
    assert.ok(!d.sections.some((x) => x.id === 'other'), `nothing unknown: ${d.sections.map((x) => x.id).join(', ')}`);
    const rc = sec(d, 'reconstruction');
    assert.equal(fieldValue(rc, 'field-engine'), 'onnxruntime: an ONNX graph');
    const params = rc.groups.find((g) => g.title === 'parameters')!;
    assert.deepEqual(params.fields.map((f) => f.label), ['algorithm', 'loss', 'learningRate', 'batchSize', 'schedule']);
    const result = sec(d, 'result');
    assert.equal(fieldValue(result, 'field-iterations'), '20');
    assert.match(result.note!, /relative error/);
    const hist = result.tables.find((t) => t.id === 'history-table')!;
    assert.deepEqual(hist.columns, ['iteration', 'relative error', 'amplitude r', 'phase r', 'seconds']);
    assert.equal(hist.rows[0][3].text, '0.31');
    assert.equal(fieldValue(sec(d, 'progress'), 'field-updatesPerSec'), '2,031');
  });

  it('garbage is not fatal: a non-object, an empty object', () => {
    assert.equal(manifestDocument('hello', 'job').kind, 'unknown');
    assert.equal(manifestDocument([], 'study').kind, 'unknown');
    const empty = manifestDocument({}, 'job');
    assert.deepEqual(empty.sections.map((s) => s.id), ['status']);
  });

  it('the study manifest: roots, a jobs table with states, losses, SSIM and provider, and a job id per row', () => {
    const study = {
      timestamp: '2026-12-02T08:53:22.605Z', phase_c_root: '/s/phase_c', phase_d_root: '/s/phase_d', artifact_root: '/s/phase_e',
      jobs: [
        { id: 'dose_10000/baseline/gs1', gridsize: 1, state: 'succeeded', result: { status: 'success', final_loss: -3.138, best_val_loss: -4.2, epochs_completed: 2,
          metrics: { amplitude: { ssim: 0.232 }, phase: { ssim: 0.497 } }, execution_provider: 'cpu', reason: null } },
        { id: 'dose_10000/dense/gs2', gridsize: 2, state: 'ready' },
      ],
      skipped_views: [{ dose: 1000, view: 'sparse', reason: 'missing' }], skipped_count: 1, skip_summary_path: 'skip_summary.json',
    };
    const d = manifestDocument(study, 'study');
    assert.equal(d.kind, 'study');
    assert.deepEqual(d.sections.map((s) => s.id), ['study', 'jobs', 'skipped']);
    const jobs = sec(d, 'jobs').tables[0];
    assert.deepEqual(jobs.rowJobIds, ['dose_10000/baseline/gs1', 'dose_10000/dense/gs2']);
    assert.deepEqual(jobs.rows[0].map((c) => c.text).slice(0, 9), ['dose_10000/baseline/gs1', 'succeeded', '1', '2', '−3.138', '−4.2', '0.232', '0.497', 'cpu']);
    assert.match(fieldValue(sec(d, 'study'), 'field-jobs')!, /2 \(1 succeeded, 1 ready\)/);
  });
});
