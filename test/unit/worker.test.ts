// Training runs as real child processes (dist/worker.js) with real onnxruntime on a simulated study: every
// artifact is written and valid, a requested-but-missing CUDA provider falls back to CPU and says why, cancel
// checkpoints and resume reaches the uninterrupted result, SIGKILL is recorded as failed with the signal,
// queued jobs run one after another, and a bad dataset fails only its own job.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { parse as npyjsParse } from 'npyjs';
import { openNpz } from '../../src/core/npy';
import { parseEvents, type RunEvent } from '../../src/core/run/events';
import { startRun } from '../../src/core/run/launcher';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import { discoverStudy, listJobs, readRunRecord, type JobManifest } from '../../src/core/study';
import { planRun, type RunConfig } from '../../src/core/run/plan';
import { listPreviews, readPreview } from '../../src/core/run/previews';
import type { QualityEvent } from '../../src/core/run/events';
import { repoRoot, tempDir } from './helpers/paths';
import { makeStudy } from './helpers/study';
import { simulateSmallStudy } from './helpers/smallStudy';

const WORKER = path.join(repoRoot, 'dist', 'worker.js');
const CLI = path.join(repoRoot, 'dist', 'cli.js');
const FAST = { epochs: 2, batchSize: 8, nFiltersScale: 1, seed: 5 };

async function configFor(root: string, id: string, settings: Record<string, unknown> = FAST): Promise<RunConfig> {
  const layout = await discoverStudy({ workspace: root });
  const job = (await listJobs(layout)).find((j) => j.id === id);
  if (!job) throw new Error(`no job ${id}`);
  return planRun(job, { settings, workerScript: WORKER, study: { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot } }).config;
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

function eventsOf(dir: string): RunEvent[] {
  return parseEvents(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8'));
}

async function paramsOf(file: string): Promise<Map<string, Float32Array>> {
  const a = await openNpz(file);
  const out = new Map<string, Float32Array>();
  for (const name of a.members.keys()) if (name.startsWith('param.')) out.set(name, (await a.readArray(name)).data as Float32Array);
  await a.close();
  return out;
}

describe('training runs in worker processes', function () {
  this.timeout(600_000);
  const tmp = tempDir('ptycho-worker-');
  before(async () => {
    assert.ok(fs.existsSync(WORKER), 'dist/worker.js is built (node esbuild.mjs)');
    const cfg = defaultSimulationConfig(tmp.dir);
    cfg.nImages = 120;
    cfg.doses = [1e4];
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
  });
  after(() => tmp.cleanup());

  let reference: { dir: string; config: RunConfig } | undefined;

  it('a run writes every artifact; CUDA requested without its provider trains on CPU and the manifest says why', async () => {
    const config = await configFor(tmp.dir, 'dose_10000/dense/gs2', { ...FAST, executionProvider: 'cuda' });
    const run = await startRun(config, { workerScript: WORKER });
    const seen: string[] = [];
    run.onEvent((e) => seen.push(e.type));
    const exit = await run.done;
    assert.equal(exit.status, 'succeeded', exit.reason);
    assert.equal(exit.code, 0);
    const dir = config.artifactDir;
    reference = { dir, config };
    for (const f of ['train.log', 'events.jsonl', 'manifest.json', 'checkpoint.npz', 'model.onnx', 'reconstruction.npz', 'metrics.json', 'amplitude.png', 'phase.png']) {
      assert.ok(fs.statSync(path.join(dir, f)).size > 0, `${f} written`);
    }
    for (const t of ['started', 'progress', 'epoch', 'checkpoint', 'finished']) assert.ok(seen.includes(t), `IPC event ${t}`);
    assert.deepEqual([...new Set(eventsOf(dir).map((e) => e.type))].filter((t) => t !== 'log').sort(), ['checkpoint', 'epoch', 'finished', 'progress', 'quality', 'started']);
    // Each measured epoch's window is a preview, announced by its quality event; the truth of the window once.
    const measured = eventsOf(dir).filter((e): e is QualityEvent => e.type === 'quality');
    assert.ok(measured.length > 0);
    for (const q of measured) {
      assert.equal(q.preview, `previews/epoch_${String(q.epoch).padStart(3, '0')}.npz`);
      const p = await readPreview(path.join(dir, q.preview!));
      assert.deepEqual([p.epoch, p.width, p.height], [q.epoch, q.region.width, q.region.height]);
    }
    assert.deepEqual(listPreviews(dir), measured.map((q) => q.epoch));
    assert.ok(fs.existsSync(path.join(dir, 'previews', 'truth.npz')));

    const m = readJson<JobManifest>(path.join(dir, 'manifest.json'));
    assert.equal(m.schemaVersion, 1);
    assert.equal(m.status, 'succeeded');
    assert.deepEqual(m.job, { id: 'dose_10000/dense/gs2', dose: 10000, view: 'dense', gridsize: 2 });
    assert.equal(m.config.training.epochs, 2);
    assert.equal(m.config.training.nFiltersScale, 1);
    assert.match(m.data.train.sha256!, /^[0-9a-f]{64}$/);
    assert.ok(m.data.train.bytes > 0 && m.data.train.nPatterns! > 0 && m.data.train.N === 64);
    assert.equal(m.runtime.executionProviderRequested, 'cuda');
    assert.equal(m.runtime.executionProviderUsed, 'cpu');
    assert.match(m.runtime.fallbackReason!, /CUDA execution provider not installed.*ONNXRUNTIME_NODE_INSTALL=cuda12/);
    assert.equal(m.runtime.onnxruntime, '1.30.0');
    assert.ok(m.timing!.startedAt && m.timing!.finishedAt && m.timing!.seconds! > 0);
    assert.equal(m.result!.epochs, 2);
    assert.ok(Number.isFinite(m.result!.finalLoss!));
    assert.ok(m.result!.metrics && (m.result!.metrics as { phase: { ssim: number } }).phase.ssim > -1);
    assert.match(m.artifacts!['model.onnx'].sha256!, /^[0-9a-f]{64}$/);
    assert.match(fs.readFileSync(path.join(dir, 'train.log'), 'utf8'), /STARTED dose_10000\/dense\/gs2[\s\S]*WARN: CUDA execution provider not installed[\s\S]*FINISHED/);
    // The simulated probe lies within the network's support: recorded, no warning.
    assert.ok((m.training!.probeOutsideSupport as number) < 0.05, `probeOutsideSupport ${m.training!.probeOutsideSupport}`);
    assert.doesNotMatch(fs.readFileSync(path.join(dir, 'train.log'), 'utf8'), /falls outside the central N\/2/);

    // reconstruction.npz: the contract keys and dtypes, aligned with the ground truth.
    const rec = await openNpz(path.join(dir, 'reconstruction.npz'));
    assert.equal(rec.member('object').header.dtype.descr, '<c8');
    assert.equal(rec.member('amplitude').header.dtype.descr, '<f4');
    assert.equal(rec.member('phase').header.dtype.descr, '<f4');
    assert.equal(rec.member('ground_truth').header.dtype.descr, '<c8');
    assert.deepEqual(rec.member('object').header.shape, rec.member('ground_truth').header.shape);
    const origin = (await rec.readArray('origin')).data as Int32Array;
    const gt = (await rec.readArray('ground_truth')).data as Float32Array;
    const [h, w] = rec.member('object').header.shape;
    await rec.close();
    // The ground truth region is objectGuess[y0 : y0 + h, x0 : x0 + w].
    const ds = await openNpz(config.testPath!);
    const obj = await ds.readArray('objectGuess');
    await ds.close();
    const ow = obj.shape[1];
    const od = obj.data as Float32Array;
    for (const [y, x] of [[0, 0], [h - 1, w - 1], [Math.floor(h / 2), Math.floor(w / 3)]]) {
      const k = 2 * ((origin[1] + y) * ow + origin[0] + x);
      assert.equal(gt[2 * (y * w + x)], od[k]);
      assert.equal(gt[2 * (y * w + x) + 1], od[k + 1]);
    }
    const metrics = readJson<Record<string, { ssim: number; frcCurve: number[] } | unknown>>(path.join(dir, 'metrics.json'));
    for (const k of ['amplitude', 'phase', 'untrained', 'flat', 'evaluation', 'ownSplit', 'region', 'coverage']) assert.ok(k in metrics, `metrics.json has ${k}`);
    assert.equal((metrics.evaluation as { source: string }).source, 'phase-c-test', 'scored on the dose\'s Phase C test split');
    assert.ok(Array.isArray((metrics.phase as { frcCurve: number[] }).frcCurve));

    // model.onnx is a standalone model: any batch, diffraction + offsets → amplitude, phase.
    ort.env.logLevel = 'fatal';
    const sess = await ort.InferenceSession.create(fs.readFileSync(path.join(dir, 'model.onnx')));
    for (const b of [1, 3]) {
      const out = await sess.run({
        diffraction: new ort.Tensor('float32', new Float32Array(b * 4 * 64 * 64).fill(0.3), [b, 4, 64, 64]),
        offsets: new ort.Tensor('float32', new Float32Array(b * 4 * 2), [b, 4, 2]),
      });
      assert.deepEqual(out.amplitude.dims, [b, 1, 64, 64]);
      assert.deepEqual(out.phase.dims, [b, 1, 64, 64]);
    }
    await sess.release();

    // Study level: training_manifest.json and skip_summary.json with the seed study's keys.
    const tm = readJson<Record<string, unknown>>(path.join(tmp.dir, 'phase_e', 'training_manifest.json'));
    for (const k of ['timestamp', 'phase_c_root', 'phase_d_root', 'artifact_root', 'jobs', 'skipped_views', 'skipped_count', 'skip_summary_path']) assert.ok(k in tm, k);
    const entry = (tm.jobs as { id: string; result?: { status: string; bundle_path: string; bundle_sha256: string } }[]).find((j) => j.id === 'dose_10000/dense/gs2')!;
    assert.equal(entry.result!.status, 'success');
    assert.equal(entry.result!.bundle_path, 'model.onnx');
    assert.equal(entry.result!.bundle_sha256, m.artifacts!['model.onnx'].sha256);
    const skip = readJson<Record<string, unknown>>(path.join(tmp.dir, 'phase_e', 'skip_summary.json'));
    assert.deepEqual(Object.keys(skip).sort(), ['skipped_count', 'skipped_views', 'timestamp']);
  });

  // Threads of this process now (Linux: /proc/<pid>/task); undefined elsewhere.
  const threadCount = (pid: number): number | undefined => {
    try {
      return fs.readdirSync(`/proc/${pid}/task`).length;
    } catch {
      return undefined;
    }
  };
  let oneThreadTasks: number | undefined;

  it('a probe wider than the network\'s support is recorded in the manifest and warned about at the start', async () => {
    // makeStudy's flat probe lights the whole window: 3/4 of its energy lies outside the central N/2.
    const root = path.join(tmp.dir, 'wide-probe');
    await makeStudy(root, { doses: [1000], views: [], dataset: { count: 24 } });
    const config = await configFor(root, 'dose_1000/baseline/gs1', { ...FAST, epochs: 1 });
    const exit = await (await startRun(config, { workerScript: WORKER })).done;
    assert.equal(exit.status, 'succeeded', exit.reason);
    const m = readJson<JobManifest>(path.join(config.artifactDir, 'manifest.json'));
    assert.ok(Math.abs((m.training!.probeOutsideSupport as number) - 0.75) < 1e-6, `probeOutsideSupport ${m.training!.probeOutsideSupport}`);
    assert.match(fs.readFileSync(path.join(config.artifactDir, 'train.log'), 'utf8'), /WARN: 75 % of the probe's energy falls outside the central N\/2 × N\/2 square[\s\S]*--probe-big[\s\S]*--object-support full[\s\S]*FINISHED/);
    // A network that predicts all N × N can explain that light: no warning.
    const full = await configFor(root, 'dose_1000/baseline/gs1', { ...FAST, epochs: 1, objectSupport: 'full' });
    const fullExit = await (await startRun(full, { workerScript: WORKER, restart: true })).done;
    assert.equal(fullExit.status, 'succeeded', fullExit.reason);
    const log = fs.readFileSync(path.join(full.artifactDir, 'train.log'), 'utf8');
    assert.doesNotMatch(log.slice(log.lastIndexOf('STARTED')), /energy falls outside/, 'train.log appends: the second run\'s part');
  });

  it('SLURM_CPUS_PER_TASK=1 is honoured by every session and recorded in the manifest, the started event and train.log', async () => {
    const base = await configFor(tmp.dir, 'dose_10000/baseline/gs1', { ...FAST, epochs: 1 });
    const config: RunConfig = { ...base, artifactDir: path.join(tmp.dir, 'phase_e', 'threads-slurm') };
    const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CPUS_PER_TASK: '1', OMP_NUM_THREADS: '7' };
    const run = await startRun(config, { workerScript: WORKER, env });
    run.onEvent((e) => {
      if (e.type === 'progress' && oneThreadTasks === undefined) oneThreadTasks = threadCount(run.pid!);
    });
    const exit = await run.done;
    assert.equal(exit.status, 'succeeded', exit.reason);
    const m = readJson<JobManifest>(path.join(config.artifactDir, 'manifest.json'));
    assert.equal(m.runtime.threads, 1);
    assert.equal(m.runtime.threadsSource, 'SLURM_CPUS_PER_TASK');
    const started = eventsOf(config.artifactDir).find((e) => e.type === 'started') as { threads?: number; threadsSource?: string };
    assert.equal(started.threads, 1);
    assert.equal(started.threadsSource, 'SLURM_CPUS_PER_TASK');
    assert.match(fs.readFileSync(path.join(config.artifactDir, 'train.log'), 'utf8'), /STARTED dose_10000\/baseline\/gs1 .*; onnxruntime: 1 intra-op thread \(SLURM_CPUS_PER_TASK\)\n/);
  });

  it('an explicit count (the setting) wins over the environment and onnxruntime starts those threads; bad counts are refused', async () => {
    const base = await configFor(tmp.dir, 'dose_10000/baseline/gs1', { ...FAST, epochs: 1 });
    const config: RunConfig = { ...base, artifactDir: path.join(tmp.dir, 'phase_e', 'threads-setting') };
    const run = await startRun(config, { workerScript: WORKER, threads: 4, threadsSource: 'setting', env: { ...process.env, SLURM_CPUS_PER_TASK: '1', OMP_NUM_THREADS: '1' } });
    let tasks: number | undefined;
    run.onEvent((e) => {
      if (e.type === 'progress' && tasks === undefined) {
        tasks = threadCount(run.pid!);
        run.cancel();
      }
    });
    const exit = await run.done;
    assert.equal(exit.status, 'cancelled', exit.reason);
    const m = readJson<JobManifest>(path.join(config.artifactDir, 'manifest.json'));
    assert.equal(m.runtime.threads, 4);
    assert.equal(m.runtime.threadsSource, 'setting');
    assert.deepEqual(m.worker?.command.slice(-4), ['--threads', '4', '--threads-source', 'setting']);
    // The train and eval sessions each run a pool of 4 − 1 extra threads where the SLURM run had none.
    if (tasks !== undefined && oneThreadTasks !== undefined) assert.ok(tasks - oneThreadTasks >= 3, `threads: ${tasks} with 4 intra-op threads vs ${oneThreadTasks} with 1`);

    await assert.rejects(startRun(config, { workerScript: WORKER, threads: -2, threadsSource: 'setting' }), /^ThreadsError: ptychoStudy\.training\.threads must be a whole number/);
    await assert.rejects(startRun(config, { workerScript: WORKER, threads: 1.5 }), /--threads must be a whole number/);
    const bad = spawnSync(process.execPath, [WORKER, '--job-dir', config.artifactDir, '--threads', 'many'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trim(), 'worker: --threads must be a whole number from 1 to 1024, or 0 for automatic (got "many").');
  });

  it('checkpoint.npz members parse with npyjs too (an independent reader)', async () => {
    const dir = reference!.dir;
    const a = await openNpz(path.join(dir, 'checkpoint.npz'));
    const name = [...a.members.keys()].find((k) => k.startsWith('param.'))!;
    const ours = (await a.readArray(name)).data as Float32Array;
    const m = a.member(name);
    await a.close();
    const bytes = fs.readFileSync(path.join(dir, 'checkpoint.npz'));
    const npy = bytes.subarray(m.dataOffset - m.header.headerBytes, m.dataOffset + m.header.dataBytes);
    const theirs = npyjsParse(npy.buffer.slice(npy.byteOffset, npy.byteOffset + npy.byteLength) as ArrayBuffer);
    assert.deepEqual(theirs.shape, m.header.shape);
    assert.deepEqual(Array.from(theirs.data as Float32Array), Array.from(ours));
  });

  it('cancel writes a checkpoint and reports cancelled; resume reaches the uninterrupted run\'s result', async () => {
    const ref = reference!;
    const config: RunConfig = { ...ref.config, artifactDir: path.join(tmp.dir, 'phase_e', 'resume-copy'), training: { ...ref.config.training, executionProvider: 'cpu' } };
    const run = await startRun(config, { workerScript: WORKER });
    let progress = 0;
    run.onEvent((e) => {
      if (e.type === 'progress' && ++progress === 3) run.cancel();
    });
    const exit = await run.done;
    assert.equal(exit.status, 'cancelled', exit.reason);
    assert.equal(exit.code, 0);
    const m = readJson<JobManifest>(path.join(config.artifactDir, 'manifest.json'));
    assert.equal(m.status, 'cancelled');
    assert.ok(fs.existsSync(path.join(config.artifactDir, 'checkpoint.npz')));
    const ev = eventsOf(config.artifactDir);
    assert.equal(ev.at(-1)!.type, 'cancelled');
    assert.ok(!fs.existsSync(path.join(config.artifactDir, 'model.onnx')), 'no results from a cancelled run');

    const resumed = await startRun(config, { workerScript: WORKER, resume: true });
    const exit2 = await resumed.done;
    assert.equal(exit2.status, 'succeeded', exit2.reason);
    const started = eventsOf(config.artifactDir).filter((e) => e.type === 'started');
    assert.equal(started.length, 2);
    assert.ok((started[1] as { resumedFrom?: unknown }).resumedFrom, 'the second start says it resumed');
    const a = await paramsOf(path.join(ref.dir, 'checkpoint.npz'));
    const b = await paramsOf(path.join(config.artifactDir, 'checkpoint.npz'));
    let worst = 0;
    for (const [k, v] of a) {
      const w = b.get(k)!;
      for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i] - w[i]));
    }
    assert.ok(worst < 1e-5, `resumed parameters differ from the uninterrupted run by ${worst}`);
  });

  it('a worker killed with SIGKILL is recorded as failed with its signal; its log and checkpoint are kept', async () => {
    const config = await configFor(tmp.dir, 'dose_10000/baseline/gs1', { ...FAST, epochs: 50 });
    const run = await startRun(config, { workerScript: WORKER });
    let sawCheckpoint = false;
    run.onEvent((e) => {
      if (e.type === 'checkpoint' && !sawCheckpoint) {
        sawCheckpoint = true;
        process.kill(run.pid!, 'SIGKILL');
      }
    });
    const exit = await run.done;
    assert.equal(exit.status, 'failed');
    assert.equal(exit.signal, 'SIGKILL');
    const m = readJson<JobManifest>(path.join(config.artifactDir, 'manifest.json'));
    assert.equal(m.status, 'failed');
    assert.match(m.reason!, /killed by SIGKILL/);
    const log = fs.readFileSync(path.join(config.artifactDir, 'train.log'), 'utf8');
    assert.match(log, /STARTED[\s\S]*EPOCH 1\/50[\s\S]*FAILED .*SIGKILL/);
    assert.ok(fs.existsSync(path.join(config.artifactDir, 'checkpoint.npz')));
    const last = eventsOf(config.artifactDir).at(-1)!;
    assert.equal(last.type, 'failed');
    assert.equal((last as { signal?: string }).signal, 'SIGKILL');
    const record = await readRunRecord(config.artifactDir);
    assert.equal(record!.status, 'failed');
  });

  it('killing the CLI (SIGKILL) mid-run: its worker sees the parent gone, checkpoints and records cancelled', async () => {
    const config = await configFor(tmp.dir, 'dose_10000/baseline/gs1', FAST);
    const child = spawn(process.execPath, [CLI, 'train', '--workspace', tmp.dir, '--dose', '10000', '--view', 'baseline', '--epochs', '200', '--batch-size', '8', '--n-filters-scale', '1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no checkpoint event: ${out}`)), 120_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (/"type":"checkpoint"/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGKILL');
    const manifestPath = path.join(config.artifactDir, 'manifest.json');
    const deadline = Date.now() + 120_000;
    let m: JobManifest;
    for (;;) {
      m = readJson<JobManifest>(manifestPath);
      if (m.status !== 'running' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(m.status, 'cancelled', m.reason);
    assert.ok(fs.existsSync(path.join(config.artifactDir, 'checkpoint.npz')));
    assert.equal(eventsOf(config.artifactDir).at(-1)!.type, 'cancelled');
  });

  it('the CLI runs queued jobs one after another; a broken dataset fails only its own job', async () => {
    // Break the sparse view's training file: only its job may fail.
    const sparse = path.join(tmp.dir, 'phase_d', 'dose_10000', 'sparse', 'sparse_train.npz');
    fs.truncateSync(sparse, Math.floor(fs.statSync(sparse).size / 2));
    const before = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'train', '--workspace', tmp.dir, '--epochs', '1', '--batch-size', '8', '--n-filters-scale', '1', '--stitch-phase-align', '--threads', '1', '--json'], { encoding: 'utf8', timeout: 540_000 });
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; jobId?: string; time?: string; reason?: string });
    const summary = lines.at(-1) as unknown as { succeeded: number; failed: number };
    assert.equal(summary.succeeded, 2);
    assert.equal(summary.failed, 1);
    const refused = lines.find((l) => l.type === 'refused');
    assert.equal(refused?.jobId, 'dose_10000/sparse/gs2');
    assert.match(refused!.reason!, /sparse_train\.npz/);
    // baseline (listed first) finished before dense started: one job at a time.
    const at = (job: string, type: string): number => Date.parse(lines.filter((l) => l.jobId === job && l.type === type && Date.parse(l.time!) >= before).at(-1)!.time!);
    assert.ok(at('dose_10000/baseline/gs1', 'finished') <= at('dose_10000/dense/gs2', 'started'));
    for (const id of ['baseline/gs1', 'dense/gs2']) {
      const m = readJson<JobManifest>(path.join(tmp.dir, 'phase_e', 'dose_10000', ...id.split('/'), 'manifest.json'));
      assert.equal(m.status, 'succeeded', id);
      // --stitch-phase-align reached the worker: recorded in the config and in metrics.json.
      assert.equal((m.config as { training: { stitchPhaseAlignment: boolean } }).training.stitchPhaseAlignment, true, id);
      assert.equal(readJson<{ stitchPhaseAlignment: boolean }>(path.join(tmp.dir, 'phase_e', 'dose_10000', ...id.split('/'), 'metrics.json')).stitchPhaseAlignment, true, id);
      // --threads reached the worker too: recorded with its source.
      assert.deepEqual([m.runtime.threads, m.runtime.threadsSource], [1, 'cli'], id);
    }
    // Like-for-like: both jobs of the dose were scored on the same dataset and object region.
    const evaluationOf = (id: string) => readJson<{ evaluation: { dataset: string; region: unknown } }>(path.join(tmp.dir, 'phase_e', 'dose_10000', ...id.split('/'), 'metrics.json')).evaluation;
    assert.equal(evaluationOf('baseline/gs1').dataset, path.join(tmp.dir, 'phase_c', 'dose_10000', 'patched_test.npz'));
    assert.equal(evaluationOf('dense/gs2').dataset, evaluationOf('baseline/gs1').dataset);
    assert.deepEqual(evaluationOf('dense/gs2').region, evaluationOf('baseline/gs1').region);
    assert.ok(!fs.existsSync(path.join(tmp.dir, 'phase_e', 'dose_10000', 'sparse', 'gs2', 'manifest.json')), 'nothing was written for the refused job');
  });
});

describe('a cancel while the trained model is scored', function () {
  this.timeout(600_000);
  const tmp = tempDir('ptycho-worker-scoring-');
  before(async () => {
    // A large test split and few training groups: training takes seconds, scoring much longer.
    await simulateSmallStudy(tmp.dir, 1600);
  });
  after(() => tmp.cleanup());

  it('ends the run cancelled at the next batch, with no model.onnx; resume scores it without training again', async () => {
    const config = await configFor(tmp.dir, 'dose_10000/baseline/gs1', { ...FAST, epochs: 1, nGroups: 48, executionProvider: 'cpu' });
    const run = await startRun(config, { workerScript: WORKER, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let scoringSince = 0;
    run.onEvent((e) => {
      if (e.type === 'log' && /^Training done; writing model\.onnx and reconstructing the evaluation set/.test((e as { message: string }).message)) {
        scoringSince = Date.now();
        run.cancel();
      }
    });
    const exit = await run.done;
    assert.ok(scoringSince > 0, 'the scoring began');
    assert.equal(exit.status, 'cancelled', exit.reason);
    const m = readJson<JobManifest & { reason?: string }>(path.join(config.artifactDir, 'manifest.json'));
    assert.equal(m.status, 'cancelled');
    assert.match(JSON.stringify(m), /Cancelled while reconstructing the evaluation set.*training had finished \(1 epochs, checkpoint\.npz\): resume scores the model without training again/);
    for (const name of ['model.onnx', 'metrics.json', 'reconstruction.npz']) assert.ok(!fs.existsSync(path.join(config.artifactDir, name)), `no ${name} from a cancelled run`);
    assert.equal(eventsOf(config.artifactDir).at(-1)!.type, 'cancelled');

    const resumed = await startRun(config, { workerScript: WORKER, resume: true, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    const exit2 = await resumed.done;
    assert.equal(exit2.status, 'succeeded', exit2.reason);
    const after = readJson<JobManifest>(path.join(config.artifactDir, 'manifest.json'));
    assert.equal(after.result!.epochs, 1, 'not trained again');
    const events = eventsOf(config.artifactDir);
    const second = events.map((e) => e.type).lastIndexOf('started');
    assert.ok(second > 0 && !events.slice(second).some((e) => e.type === 'progress' || e.type === 'epoch'), 'the resume took no training step');
    for (const name of ['model.onnx', 'metrics.json', 'reconstruction.npz']) assert.ok(fs.existsSync(path.join(config.artifactDir, name)), name);
  });
});
