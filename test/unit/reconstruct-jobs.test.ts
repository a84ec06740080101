// Phase F reconstruction jobs end to end: `ptycho-study reconstruct` (the real CLI, dist/cli.js) runs ePIE in the
// worker process (dist/worker.js) on a small study simulated with the project's simulator, and writes every
// artifact (read back here with the repo's npy reader), scored on the dose's common evaluation like the
// training jobs, clearly better than the flat predictor; a GPU provider is recorded and not used; `list` shows
// the jobs beside the training jobs; `ad` runs in onnxruntime (a CUDA request falls back to the CPU, recorded); Ctrl-C (SIGINT) cancels with a checkpoint, a second run
// of the same job is refused by its lock meanwhile, and --resume continues from the checkpoint's iteration to
// exactly the object an uninterrupted run reaches.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createReconstruction, optionsFromDataset } from '../../src/core/iterative';
import { openNpz } from '../../src/core/npy';
import { scanRegion } from '../../src/core/run/evaluation';
import { parseEvents, type IterationEvent, type ReconCancelledEvent, type ReconHalvesEvent, type ReconStartedEvent, type RunEvent } from '../../src/core/run/events';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import type { ReconstructionManifest } from '../../src/core/study/reconstructJobs';
import { openTrainingDataset } from '../../src/core/train/data';
import { cropObject } from '../../src/core/train/stitch';
import { repoRoot, tempDir } from './helpers/paths';

const CLI = path.join(repoRoot, 'dist', 'cli.js');
const DOSE = 'dose_100000';

function cli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** The JSON lines a `--json` run printed (events, then the summary). */
function jsonLines(out: string): Record<string, unknown>[] {
  return out.split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('Phase F reconstruction jobs (ptycho-study reconstruct)', function () {
  this.timeout(120_000);
  const tmp = tempDir('ptycho-recon-');
  const root = tmp.dir;
  const jobDir = (view: string, algorithm = 'epie', split = 'test'): string => path.join(root, 'phase_f', DOSE, view, split, algorithm);
  before(async () => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built (node esbuild.mjs)');
    const cfg = defaultSimulationConfig(root);
    cfg.nImages = 200;
    cfg.doses = [1e5];
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
  });
  after(() => tmp.cleanup());

  it('reconstructs a view through the CLI: every artifact, scored like the training jobs and far above the flat predictor; --ep cuda recorded, CPU used', async () => {
    const r = cli(['reconstruct', '--workspace', root, '--view', 'dense', '--iterations', '20', '--ep', 'cuda', '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const lines = jsonLines(r.out);
    const summary = lines.at(-1)!;
    assert.equal(summary.type, 'summary');
    assert.equal(summary.succeeded, 1);
    const runId = (summary.jobs as { runId: string; status: string }[])[0].runId;
    const dir = jobDir('dense');
    for (const f of ['recon.log', 'events.jsonl', 'manifest.json', 'run-config.json', 'checkpoint.npz', 'reconstruction.npz', 'metrics.json', 'amplitude.png', 'phase.png']) {
      assert.ok(fs.statSync(path.join(dir, f)).size > 0, `${f} written`);
    }
    assert.ok(!fs.existsSync(path.join(dir, 'run.lock')), 'the lock is released');
    for (const png of ['amplitude.png', 'phase.png']) assert.deepEqual([...fs.readFileSync(path.join(dir, png)).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);

    // The manifest: succeeded, with this run's id, the algorithm, every parameter, the data's hashes, the providers.
    const m = readJson<ReconstructionManifest>(path.join(dir, 'manifest.json'));
    assert.equal(m.kind, 'ptycho-study-reconstruction');
    assert.equal(m.status, 'succeeded');
    assert.equal(m.runId, runId);
    assert.deepEqual(m.job, { id: `${DOSE}/dense/test/epie`, dose: 1e5, view: 'dense', gridsize: 2, split: 'test', algorithm: 'epie' });
    assert.match(m.data.input.sha256!, /^[0-9a-f]{64}$/);
    assert.equal(m.data.input.path, path.join(root, 'phase_d', DOSE, 'dense', 'dense_test.npz'));
    assert.match(m.data.evaluation!.sha256!, /^[0-9a-f]{64}$/);
    assert.equal(m.runtime.executionProviderRequested, 'cuda');
    assert.equal(m.runtime.executionProviderUsed, 'cpu');
    assert.match(m.runtime.fallbackReason!, /epie runs in TypeScript on the CPU; the cuda provider was requested and is not used/);
    assert.deepEqual(m.reconstruction!.parameters, { algorithm: 'epie', probeMode: 'fixed', alpha: 1, beta: 1, probeStart: 1, momentum: 0, friction: 0.9, anneal: 0, seed: 42, iterations: 20, checkpointEvery: 10 });
    assert.equal(m.result!.iterations, 20);
    assert.equal(m.result!.history.length, 20);
    assert.ok(m.timing!.finishedAt && m.timing!.reconstructionSeconds! > 0);
    assert.match(fs.readFileSync(path.join(dir, 'recon.log'), 'utf8'), /STARTED dose_100000\/dense\/test\/epie[\s\S]*on cpu \(requested cuda\)[\s\S]*iteration 20\/20[\s\S]*FINISHED/);

    // events.jsonl: one iteration event per iteration, with its cost and its quality against objectGuess.
    const events = parseEvents(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8'));
    const iterations = events.filter((e): e is IterationEvent => e.type === 'iteration');
    assert.deepEqual(iterations.map((e) => e.iteration), Array.from({ length: 20 }, (_, i) => i + 1));
    assert.ok(iterations.every((e) => e.relativeError > 0 && e.quality !== null && e.updatesPerSec > 0));
    assert.ok(iterations[19].relativeError < iterations[0].relativeError, 'the error goes down');
    assert.ok(iterations[19].quality!.amplitude! > 0.85, `amplitude r after 20 iterations: ${iterations[19].quality!.amplitude}`);
    assert.deepEqual([...new Set(events.map((e) => e.type))].sort(), ['iteration', 'log', 'recon-checkpoint', 'recon-finished', 'recon-halves', 'recon-started']);
    // Then the half sets (for the weightings) report each of their iterations: the even patterns, then the odd.
    const halves = events.filter((e): e is ReconHalvesEvent => e.type === 'recon-halves');
    assert.deepEqual(halves.map((e) => `${e.half}:${e.iteration}/${e.iterations}`), [1, 2].flatMap((h) => Array.from({ length: 20 }, (_, i) => `${h}:${i + 1}/20`)));
    assert.equal(halves[0].patterns + halves[20].patterns, m.reconstruction!.patterns);
    assert.ok(halves.every((e) => e.seconds > 0 && e.etaSeconds >= 0) && halves.at(-1)!.etaSeconds === 0 && halves[0].etaSeconds > halves[20].etaSeconds);
    assert.ok(events.indexOf(halves[0]) > events.lastIndexOf(iterations[19]) && events.indexOf(halves.at(-1)!) < events.findIndex((e) => e.type === 'recon-finished'));
    assert.match(fs.readFileSync(path.join(dir, 'recon.log'), 'utf8'), new RegExp(`half set 2/2 \\(${halves[20].patterns} odd patterns\\): iteration 20/20  ETA 0s`));

    // reconstruction.npz, read back with the repo's reader: the contract's members, on the common region.
    const rec = await openNpz(path.join(dir, 'reconstruction.npz'));
    const arrays = Object.fromEntries(await Promise.all(['object', 'amplitude', 'phase', 'probe', 'weight', 'origin', 'ground_truth'].map(async (k) => [k, await rec.readArray(k)] as const)));
    await rec.close();
    assert.equal(arrays.object.dtype.descr, '<c8');
    assert.equal(arrays.ground_truth.dtype.descr, '<c8');
    assert.equal(arrays.probe.dtype.descr, '<c8');
    assert.deepEqual(arrays.probe.shape, [64, 64]);
    for (const k of ['amplitude', 'phase', 'weight']) assert.equal(arrays[k].dtype.descr, '<f4', k);
    const [h, w] = arrays.object.shape;
    for (const k of ['amplitude', 'phase', 'weight', 'ground_truth']) assert.deepEqual(arrays[k].shape, [h, w], k);
    // The region every training job of the dose is scored on: the Phase C test positions' box ± 10.
    const phaseC = await openTrainingDataset(path.join(root, 'phase_c', DOSE, 'patched_test.npz'));
    const region = scanRegion(phaseC.xs, phaseC.ys, 20);
    const truth = cropObject(phaseC.object!, region);
    await phaseC.close();
    assert.deepEqual([...(arrays.origin.data as Int32Array)], [region.x0, region.y0]);
    assert.deepEqual([w, h], [region.width, region.height]);
    assert.deepEqual(arrays.ground_truth.data, truth, 'ground_truth is objectGuess on the region, pixel for pixel');

    // metrics.json: schema 2, the common evaluation, far above the flat predictor.
    type Part = { pearson: number; pearsonCovered: number; ssim: number };
    type FlatPart = { pearson: number; pearsonCovered: number | null };
    const mt = readJson<{ schemaVersion: number; kind: string; amplitude: Part; phase: Part; flat: { amplitude: FlatPart; phase: FlatPart }; evaluation: { source: string; region: object; alignment: { holes: string } }; coverage: number; scan: { amplitudeR: number } }>(path.join(dir, 'metrics.json'));
    const report = `amplitude r ${mt.amplitude.pearson.toFixed(3)} (covered ${mt.amplitude.pearsonCovered.toFixed(3)}, flat ${mt.flat.amplitude.pearson.toFixed(3)}), phase r ${mt.phase.pearson.toFixed(3)} (covered ${mt.phase.pearsonCovered.toFixed(3)}), coverage ${mt.coverage.toFixed(3)}`;
    console.log(`      ${report}`);
    assert.equal(mt.schemaVersion, 2);
    assert.equal(mt.kind, 'reconstruct');
    assert.equal(mt.evaluation.source, 'phase-c-test');
    assert.deepEqual(mt.evaluation.region, { x0: region.x0, y0: region.y0, width: region.width, height: region.height });
    assert.equal(mt.evaluation.alignment.holes, 'included');
    assert.ok(mt.amplitude.pearsonCovered >= 0.85 && mt.amplitude.pearsonCovered >= (mt.flat.amplitude.pearsonCovered ?? 0) + 0.5, report);
    assert.ok(mt.amplitude.pearson >= mt.flat.amplitude.pearson + 0.3, report);
    assert.ok(mt.phase.pearsonCovered >= 0.4, report);
    assert.ok(mt.scan.amplitudeR > 0.85, report);

    // The Phase F root's records, with the original study's key names.
    const rm = readJson<{ jobs: { id: string; result?: { status: string } }[]; execution_results: { view: string; returncode: number }[]; total_jobs: number; missing_jobs: unknown[] }>(path.join(root, 'phase_f', 'reconstruction_manifest.json'));
    assert.equal(rm.jobs.find((j) => j.id === `${DOSE}/dense/test/epie`)!.result!.status, 'success');
    assert.deepEqual(rm.execution_results.map((e) => [e.view, e.returncode]), [['dense', 0]]);
    const skip = readJson<Record<string, unknown>>(path.join(root, 'phase_f', 'skip_summary.json'));
    for (const k of ['timestamp', 'skipped_count', 'skipped_jobs', 'missing_phase_d_count']) assert.ok(k in skip, k);
  });

  it('weights the amplitude and the phase by the FRC of the even and the odd patterns reconstructed apart, as a training job\'s; --resume --no-phase-filter / --no-amplitude-filter re-score without them', async () => {
    const dir = jobDir('dense');
    type Filter = { halfSetFrc50: number; halfSetFrc1over7: number; shellWeights: number[]; size: number; halves: [number, number]; unit: string; halvesSeconds: number };
    type Scored = { amplitude: { pearsonCovered: number }; phase: { pearsonCovered: number; ssim: number }; amplitudeFilter?: Filter; phaseFilter?: Filter };
    const read = async (): Promise<{ metrics: Scored; object: Float32Array; weight: Float32Array }> => {
      const rec = await openNpz(path.join(dir, 'reconstruction.npz'));
      const object = (await rec.readArray('object')).data as Float32Array;
      const weight = (await rec.readArray('weight')).data as Float32Array;
      await rec.close();
      return { metrics: readJson<Scored>(path.join(dir, 'metrics.json')), object, weight };
    };
    // Pixels (lit, not tiny) whose amplitude / phase differ between two scorings of the same reconstruction.
    const changed = (a: Float32Array, b: Float32Array, weight: Float32Array): { amplitude: number; phase: number } => {
      let amplitude = 0;
      let phase = 0;
      for (let i = 0; i < weight.length; i++) {
        if (weight[i] < 1e-3) continue;
        const ma = Math.hypot(a[2 * i], a[2 * i + 1]);
        const mb = Math.hypot(b[2 * i], b[2 * i + 1]);
        if (Math.abs(ma - mb) > 1e-5 * Math.max(mb, 1e-3)) amplitude++;
        const d = Math.atan2(a[2 * i + 1], a[2 * i]) - Math.atan2(b[2 * i + 1], b[2 * i]);
        if (ma > 1e-3 && Math.abs(Math.atan2(Math.sin(d), Math.cos(d))) > 1e-4) phase++;
      }
      return { amplitude, phase };
    };
    // The first test's run (default settings): both weighted.
    const on = await read();
    const f = on.metrics.amplitudeFilter!;
    assert.ok(f, 'metrics.json amplitudeFilter');
    const m = readJson<ReconstructionManifest>(path.join(dir, 'manifest.json'));
    const patterns = m.reconstruction!.patterns as number;
    for (const filter of [f, on.metrics.phaseFilter!]) {
      assert.ok(filter, 'metrics.json amplitudeFilter and phaseFilter');
      assert.deepEqual(filter.halves, [Math.ceil(patterns / 2), Math.floor(patterns / 2)]);
      assert.equal(filter.unit, 'cycles/px');
      assert.ok(filter.halvesSeconds > 0);
      assert.ok(filter.halfSetFrc50 > 0 && filter.halfSetFrc50 <= 0.5 && filter.halfSetFrc1over7 >= filter.halfSetFrc50, JSON.stringify(filter));
      assert.ok(filter.shellWeights.every((w) => w >= 0 && w <= 1) && filter.shellWeights.length > 4);
    }
    const log = fs.readFileSync(path.join(dir, 'recon.log'), 'utf8');
    assert.match(log, /Reconstructing the even and the odd patterns apart \(\d+ \+ \d+, 20 iterations each\) to weight the amplitude and phase by their FRC/);
    assert.match(log, /Amplitude weighted by its half-set FRC \(\d+ \+ \d+ patterns reconstructed apart in [\d.]+ s, no ground truth\): FRC50 /);
    assert.match(log, /Phase weighted by its half-set FRC \(the same halves\): FRC50 /);

    // Re-scored without the phase's weighting: the half sets run again (a pure function of data and settings), the
    // amplitudes are as they were, the phases are not.
    let r = cli(['reconstruct', '--workspace', root, '--view', 'dense', '--iterations', '20', '--resume', '--no-phase-filter']);
    assert.equal(r.code, 0, r.err + r.out);
    const amplitudeOnly = await read();
    assert.equal(amplitudeOnly.metrics.phaseFilter, undefined);
    assert.deepEqual(amplitudeOnly.metrics.amplitudeFilter!.shellWeights, f.shellWeights);
    assert.deepEqual(amplitudeOnly.weight, on.weight);
    const byPhase = changed(on.object, amplitudeOnly.object, on.weight);
    assert.equal(byPhase.amplitude, 0, 'the phase weighting left the amplitudes');
    assert.ok(byPhase.phase > on.weight.length / 4, `phases the weighting changed: ${byPhase.phase} of ${on.weight.length}`);

    // And without either: no half sets at all; the phases of the run before, other amplitudes.
    r = cli(['reconstruct', '--workspace', root, '--view', 'dense', '--iterations', '20', '--resume', '--no-phase-filter', '--no-amplitude-filter']);
    assert.equal(r.code, 0, r.err + r.out);
    const off = await read();
    assert.equal(off.metrics.amplitudeFilter, undefined);
    // The phases are the same pixel for pixel; the scores move a little only through the global phase the scoring
    // removes, which is weighted by the amplitude (Σ conj(truth)·object).
    assert.ok(Math.abs(off.metrics.phase.pearsonCovered - amplitudeOnly.metrics.phase.pearsonCovered) < 1e-6);
    assert.ok(Math.abs(off.metrics.phase.ssim - amplitudeOnly.metrics.phase.ssim) < 1e-3, `phase SSIM ${off.metrics.phase.ssim} vs ${amplitudeOnly.metrics.phase.ssim}`);
    assert.deepEqual(off.weight, on.weight);
    const byAmplitude = changed(amplitudeOnly.object, off.object, on.weight);
    assert.equal(byAmplitude.phase, 0, 'the amplitude weighting left the phases');
    assert.ok(byAmplitude.amplitude > on.weight.length / 4, `amplitudes the weighting changed: ${byAmplitude.amplitude} of ${on.weight.length}`);
    assert.doesNotMatch(fs.readFileSync(path.join(dir, 'recon.log'), 'utf8').split('resumed after iteration 20').at(-1)!, /Reconstructing the even and the odd/);
    console.log(`      half-set FRC50 amplitude ${f.halfSetFrc50.toFixed(3)}, phase ${on.metrics.phaseFilter!.halfSetFrc50.toFixed(3)} c/px; r covered amplitude ${off.metrics.amplitude.pearsonCovered.toFixed(3)} → ${on.metrics.amplitude.pearsonCovered.toFixed(3)}, phase ${off.metrics.phase.pearsonCovered.toFixed(3)} → ${on.metrics.phase.pearsonCovered.toFixed(3)} weighted`);
  });

  it('list (and list --json) shows the Phase F jobs beside the training jobs, with their kind and state', () => {
    const r = cli(['list', '--workspace', root, '--json']);
    assert.equal(r.code, 0, r.err);
    const jobs = (JSON.parse(r.out) as { jobs: { kind: string; id: string; state: string }[] }).jobs;
    assert.deepEqual(jobs.filter((j) => j.kind === 'train').map((j) => j.id), [`${DOSE}/baseline/gs1`, `${DOSE}/dense/gs2`, `${DOSE}/sparse/gs2`]);
    assert.deepEqual(jobs.filter((j) => j.kind === 'reconstruct').map((j) => `${j.id}:${j.state}`), [
      `${DOSE}/baseline/test/epie:ready`, `${DOSE}/baseline/test/rpie:ready`, `${DOSE}/dense/test/epie:succeeded`,
      `${DOSE}/dense/test/rpie:ready`, `${DOSE}/sparse/test/epie:ready`, `${DOSE}/sparse/test/rpie:ready`,
    ]);
    const text = cli(['list', '--workspace', root, '--view', 'dense']);
    assert.match(text.out, /Phase F reconstructions: .*phase_f\n[\s\S]*dose_100000\/dense\/test\/epie\s+1e5\s+dense\s+test\s+epie\s+succeeded\s+\d+\s+64/);
  });

  it('rpie with probe refinement on a train split: scored on its own region, and the metrics say why', () => {
    const r = cli(['reconstruct', '--workspace', root, '--view', 'sparse', '--split', 'train', '--algorithm', 'rpie', '--probe', 'refine', '--iterations', '8', '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const iterations = (jsonLines(r.out) as unknown as RunEvent[]).filter((e): e is IterationEvent => e.type === 'iteration');
    assert.deepEqual(iterations.map((e) => e.probeUpdated), [false, true, true, true, true, true, true, true], 'the probe is refined from the second iteration');
    const dir = jobDir('sparse', 'rpie', 'train');
    const m = readJson<ReconstructionManifest>(path.join(dir, 'manifest.json'));
    assert.equal(m.status, 'succeeded');
    assert.deepEqual(m.job, { id: `${DOSE}/sparse/train/rpie`, dose: 1e5, view: 'sparse', gridsize: 2, split: 'train', algorithm: 'rpie' });
    assert.equal((m.reconstruction!.parameters as { alpha: number }).alpha, 0.75);
    const mt = readJson<{ evaluation: { source: string; dataset: string; fallbackReason: string }; split: string; amplitude: { pearsonCovered: number } }>(path.join(dir, 'metrics.json'));
    assert.equal(mt.evaluation.source, 'own-train');
    assert.equal(mt.evaluation.dataset, path.join(root, 'phase_d', DOSE, 'sparse', 'sparse_train.npz'));
    assert.match(mt.evaluation.fallbackReason, /covers another part of the object than the dose's test split/);
    assert.equal(mt.split, 'train');
    assert.ok(mt.amplitude.pearsonCovered > 0.5, `amplitude r ${mt.amplitude.pearsonCovered}`);
    // rPIE's α is a regularisation weight: out of (0, 1] the job is not runnable, and nothing starts.
    const bad = cli(['reconstruct', '--workspace', root, '--view', 'sparse', '--algorithm', 'rpie', '--alpha', '1.5']);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /NOT RUNNABLE dose_100000\/sparse\/test\/rpie: alpha 1.5 is out of range for rpie/);
    assert.ok(!fs.existsSync(jobDir('sparse', 'rpie')));
  });

  it('the worker refuses a reconstruction plan that would write outside its own folder', () => {
    const planted = path.join(root, 'planted');
    fs.mkdirSync(planted);
    // A copy of the dense job's plan: its artifactDir still names the dense job's folder.
    fs.copyFileSync(path.join(jobDir('dense'), 'run-config.json'), path.join(planted, 'run-config.json'));
    const before = fs.statSync(path.join(jobDir('dense'), 'manifest.json')).mtimeMs;
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'dist', 'worker.js'), '--job-dir', planted], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /artifactDir .* is not the folder the plan is in/);
    assert.equal(fs.statSync(path.join(jobDir('dense'), 'manifest.json')).mtimeMs, before, 'the other job\'s folder is untouched');
    assert.deepEqual(fs.readdirSync(planted).filter((f) => f !== 'run.lock').sort(), ['run-config.json']);
  });

  it('--algorithm ad reconstructs in onnxruntime: a requested CUDA provider falls back to the CPU with the reason, every parameter in the manifest, scored like the others', () => {
    const r = cli(['reconstruct', '--workspace', root, '--view', 'dense', '--algorithm', 'ad', '--iterations', '25', '--ep', 'cuda', '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const dir = jobDir('dense', 'ad');
    const m = readJson<ReconstructionManifest>(path.join(dir, 'manifest.json'));
    assert.equal(m.status, 'succeeded');
    assert.equal(m.job.algorithm, 'ad');
    assert.equal(m.runtime.executionProviderRequested, 'cuda');
    assert.deepEqual(m.runtime.executionProviderCandidates, ['cuda', 'cpu']);
    assert.equal(m.runtime.executionProviderUsed, 'cpu');
    assert.match(String(m.runtime.fallbackReason), /^cuda: /, 'why CUDA was passed over');
    assert.ok(typeof m.runtime.threads === 'number' && m.runtime.threads >= 1, 'the thread count is recorded');
    const p = m.reconstruction!.parameters as Record<string, unknown>;
    assert.deepEqual([p.algorithm, p.loss, p.optimizer, p.learningRate, p.batchSize, p.iterations], ['ad', 'amplitude', 'adam', 0.1, 32, 25]);
    assert.match(String(p.schedule), /cosine over 25 iterations/);
    for (const f of ['reconstruction.npz', 'metrics.json', 'checkpoint.npz', 'amplitude.png', 'phase.png', 'recon.log', 'events.jsonl']) assert.ok(fs.existsSync(path.join(dir, f)), f);
    const metrics = readJson<{ evaluation: { region: unknown }; amplitude: { pearsonCovered: number }; phase: { pearsonCovered: number }; flat: { amplitude: { pearsonCovered: number } } }>(path.join(dir, 'metrics.json'));
    const epieMetrics = readJson<{ evaluation: { region: unknown } }>(path.join(jobDir('dense'), 'metrics.json'));
    assert.deepEqual(metrics.evaluation.region, epieMetrics.evaluation.region, 'the same common region as the epie job');
    assert.ok(metrics.amplitude.pearsonCovered > 0.85 && metrics.phase.pearsonCovered > 0.5, `ad: amplitude r ${metrics.amplitude.pearsonCovered}, phase r ${metrics.phase.pearsonCovered}`);
    assert.ok(!(metrics.flat.amplitude.pearsonCovered > 0.1));
    // ePIE options mean nothing to Adam: refused, not ignored.
    const bad = cli(['reconstruct', '--workspace', root, '--view', 'baseline', '--algorithm', 'ad', '--alpha', '0.5']);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /NOT RUNNABLE dose_100000\/baseline\/test\/ad: alpha is an ePIE\/rPIE step; ad takes --learning-rate/);
    assert.ok(!fs.existsSync(path.join(jobDir('baseline', 'ad'), 'manifest.json')));
    const badLoss = cli(['reconstruct', '--workspace', root, '--algorithm', 'ad', '--loss', 'l1']);
    assert.equal(badLoss.code, 2);
    assert.match(badLoss.err, /--loss must be one of amplitude, poisson/);
  });

  it('Ctrl-C cancels with a checkpoint while the lock refuses a second run; --resume continues to the uninterrupted result', async () => {
    const dir = jobDir('baseline');
    // No checkpoint yet: a resume is refused before anything starts.
    const early = cli(['reconstruct', '--workspace', root, '--view', 'baseline', '--resume']);
    assert.equal(early.code, 1);
    assert.match(early.out, /cannot resume, there is no .*checkpoint\.npz\. Start it from scratch instead \(ptycho-study reconstruct without --resume\)/);

    const child = spawn(process.execPath, [CLI, 'reconstruct', '--workspace', root, '--view', 'baseline', '--iterations', '100000', '--checkpoint-every', '100000', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if ((out.match(/"type":"iteration"/g) ?? []).length >= 3) resolve();
      });
      void exited.then((code) => reject(new Error(`the run ended (${code}) before 3 iterations: ${out}`)));
    });
    const second = cli(['reconstruct', '--workspace', root, '--view', 'baseline', '--iterations', '5']);
    assert.equal(second.code, 1, second.out + second.err);
    assert.match(second.out, new RegExp(`SKIP ${DOSE}/baseline/test/epie: ${DOSE}/baseline/test/epie is already being reconstructed \\(run \\S+ of pid ${child.pid} on `));
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    const lines = jsonLines(out) as unknown as RunEvent[];
    const cancelled = lines.find((e): e is ReconCancelledEvent => e.type === 'recon-cancelled')!;
    const k = cancelled.iteration;
    assert.ok(k >= 3, `cancelled after iteration ${k}`);
    const m = readJson<ReconstructionManifest>(path.join(dir, 'manifest.json'));
    assert.equal(m.status, 'cancelled');
    assert.match(m.reason!, new RegExp(`Cancelled after iteration ${k} of 100000 \\(Ctrl-C in the terminal, SIGINT\\); resume`));
    assert.equal(m.runId, (lines.at(-1) as unknown as { jobs: { runId: string }[] }).jobs[0].runId);
    const ck = await openNpz(path.join(dir, 'checkpoint.npz'));
    assert.equal(((await ck.readArray('iteration')).data as Int32Array)[0], k);
    assert.equal(ck.member('object').header.dtype.descr, '<c16');
    await ck.close();
    assert.ok(!fs.existsSync(path.join(dir, 'run.lock')), 'the lock is released after the cancel');

    const total = k + 4;
    // Without the half-set weightings, so that the object is the engine's own, pixel for pixel.
    const resumed = cli(['reconstruct', '--workspace', root, '--view', 'baseline', '--iterations', String(total), '--resume', '--no-amplitude-filter', '--no-phase-filter', '--json']);
    assert.equal(resumed.code, 0, resumed.err + resumed.out);
    const events = jsonLines(resumed.out) as unknown as RunEvent[];
    assert.deepEqual(events.find((e): e is ReconStartedEvent => e.type === 'recon-started')!.resumedFrom, { iteration: k });
    assert.deepEqual(events.filter((e): e is IterationEvent => e.type === 'iteration').map((e) => e.iteration), [k + 1, k + 2, k + 3, k + 4]);
    const done = readJson<ReconstructionManifest>(path.join(dir, 'manifest.json'));
    assert.equal(done.status, 'succeeded');
    assert.equal(done.result!.iterations, total);
    assert.deepEqual(done.result!.history.map((h) => h.iteration), Array.from({ length: total }, (_, i) => i + 1));

    // The same reconstruction in one go, in this process: the resumed object is identical wherever it was lit.
    const ds = await openTrainingDataset(path.join(root, 'phase_c', DOSE, 'patched_test.npz'));
    const ref = createReconstruction(optionsFromDataset(ds, { algorithm: 'epie', probeMode: 'fixed', seed: 42 }));
    await ref.iterate(ds.patterns, total);
    await ds.close();
    const rec = await openNpz(path.join(dir, 'reconstruction.npz'));
    const object = (await rec.readArray('object')).data as Float32Array;
    const weight = (await rec.readArray('weight')).data as Float32Array;
    const [x0, y0] = (await rec.readArray('origin')).data as Int32Array;
    const [h, w] = rec.member('object').header.shape;
    await rec.close();
    const expected = cropObject(ref.objectImage(), { x0, y0, width: w, height: h });
    let compared = 0;
    for (let i = 0; i < weight.length; i++) {
      if (weight[i] < 1e-3) continue;
      compared++;
      if (object[2 * i] !== expected[2 * i] || object[2 * i + 1] !== expected[2 * i + 1]) assert.fail(`pixel ${i}: resumed ${object[2 * i]}, ${object[2 * i + 1]} vs uninterrupted ${expected[2 * i]}, ${expected[2 * i + 1]}`);
    }
    assert.ok(compared > weight.length / 2, `compared ${compared} pixels`);

    // A resume with another step size is refused before anything is written: every file stays, the job succeeded.
    const files = ['manifest.json', 'run-config.json', 'events.jsonl', 'recon.log', 'checkpoint.npz', 'metrics.json', 'reconstruction.npz'];
    const snapshot = (): string[] => files.map((f) => fs.readFileSync(path.join(dir, f)).toString('base64'));
    const before = snapshot();
    const other = cli(['reconstruct', '--workspace', root, '--view', 'baseline', '--iterations', String(total), '--alpha', '0.5', '--resume']);
    assert.equal(other.code, 1, other.out + other.err);
    assert.match(other.out, /cannot resume from .*checkpoint\.npz: it was written with other settings \(alpha 1 → 0\.5\)\. .*ptycho-study reconstruct without --resume.*left as it was/);
    assert.deepEqual(snapshot(), before, 'no file of the job changed');
    assert.equal(readJson<ReconstructionManifest>(path.join(dir, 'manifest.json')).status, 'succeeded');
    assert.ok(!fs.existsSync(path.join(dir, 'run.lock')));
    // Naming the default explicitly is the same setting: that resume goes ahead (the finished run is evaluated again).
    const same = cli(['reconstruct', '--workspace', root, '--view', 'baseline', '--iterations', String(total), '--alpha', '1', '--resume']);
    assert.equal(same.code, 0, same.out + same.err);
    assert.equal(readJson<ReconstructionManifest>(path.join(dir, 'manifest.json')).status, 'succeeded');
  });

  it('Ctrl-C while the half sets are reconstructed cancels with the finished reconstruction kept; --resume scores it', async () => {
    const phaseF = path.join(root, 'phase_f_halves');
    const dir = path.join(phaseF, DOSE, 'dense', 'test', 'epie');
    const args = ['reconstruct', '--workspace', root, '--phase-f-root', phaseF, '--view', 'dense', '--iterations', '1000', '--checkpoint-every', '1000', '--json'];
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Reconstructing the even and the odd patterns apart')) resolve();
      });
      void exited.then((code) => reject(new Error(`the run ended (${code}) before the half sets: ${out.slice(-2000)}`)));
    });
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    const m = readJson<ReconstructionManifest>(path.join(dir, 'manifest.json'));
    assert.equal(m.status, 'cancelled');
    assert.match(m.reason!, /Cancelled while reconstructing the half sets for the amplitude and phase weighting \(Ctrl-C in the terminal, SIGINT\); the reconstruction itself is done: --resume scores it/);
    const ck = await openNpz(path.join(dir, 'checkpoint.npz'));
    assert.equal(((await ck.readArray('iteration')).data as Int32Array)[0], 1000, 'the checkpoint holds the finished reconstruction');
    await ck.close();
    assert.ok(!fs.existsSync(path.join(dir, 'metrics.json')), 'no score was written for the cancelled run');
    assert.ok(!fs.existsSync(path.join(dir, 'run.lock')));

    const resumed = cli(['reconstruct', '--workspace', root, '--phase-f-root', phaseF, '--view', 'dense', '--iterations', '1000', '--resume', '--json']);
    assert.equal(resumed.code, 0, resumed.err + resumed.out);
    const events = jsonLines(resumed.out) as unknown as RunEvent[];
    assert.equal(events.filter((e) => e.type === 'iteration').length, 0, 'no iteration runs again');
    assert.equal(readJson<ReconstructionManifest>(path.join(dir, 'manifest.json')).status, 'succeeded');
    assert.ok(readJson<{ amplitudeFilter?: unknown }>(path.join(dir, 'metrics.json')).amplitudeFilter, 'scored with the weighting');
  });
});
