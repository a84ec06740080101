import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { discoverStudy, listJobs, readRunRecord, resolveTrainingSettings, ConfigError, countScaleFor, intensityScaleFor, type JobManifest } from '../../src/core/study';
import { planRun, PlanError } from '../../src/core/run/plan';
import { writeDryRun } from '../../src/core/run/dryRun';
import { planProviders } from '../../src/core/runtime/providers';
import { processStartTime } from '../../src/core/processInfo';
import { LOCK_FILE } from '../../src/core/run/lock';
import { makeStudy, writeDataset } from './helpers/study';
import { repoRoot, tempDir } from './helpers/paths';

const WORKER = '/opt/ptycho/dist/worker.js';
const CLI = path.join(repoRoot, 'dist', 'cli.js');

describe('run planning and dry runs', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  async function jobs(deep = true) {
    return listJobs(await discoverStudy({ workspace: dir }), { deep });
  }

  it('resolves one explicit config from the job, the data and the settings', async () => {
    await makeStudy(dir, { doses: [1000] });
    const job = (await jobs()).find((j) => j.id === 'dose_1000/dense/gs2')!;
    const plan = planRun(job, { workerScript: WORKER, settings: { epochs: 3, executionProvider: 'cpu' }, nodePath: '/usr/bin/node' });
    assert.equal(plan.config.jobId, 'dose_1000/dense/gs2');
    assert.equal(plan.config.gridsize, 2);
    assert.equal(plan.config.groupSize, 4);
    assert.equal(plan.config.n, 64);
    assert.equal(plan.config.trainPatterns, 12);
    assert.equal(plan.config.testPatterns, 12);
    assert.equal(plan.config.nGroups, 12);
    assert.equal(plan.config.training.epochs, 3);
    assert.equal(plan.config.training.batchSize, 16);
    assert.equal(plan.config.training.learningRate, 2.5e-4);
    assert.ok(Math.abs(plan.config.intensityScale - Math.sqrt(1000) / 32) < 1e-12);
    assert.deepEqual(plan.providers.candidates, ['cpu']);
    assert.deepEqual(plan.workerCommand, ['/usr/bin/node', WORKER, '--job-dir', job.artifactDir]);
    assert.equal(plan.runnable, true);
  });

  it('gridsize 2 trains no fewer groups than the dose\'s Phase C training split has patterns: every view of a dose, as many steps per epoch', async () => {
    await makeStudy(dir, { doses: [1000] });
    // The sparse view holds 5 of the dose's 12 patterns.
    await writeDataset(path.join(dir, 'phase_d', 'dose_1000', 'sparse', 'sparse_train.npz'), { count: 5 });
    const all = await jobs();
    const byId = new Map(all.map((j) => [j.id, j]));
    assert.equal(byId.get('dose_1000/sparse/gs2')!.dosePatterns, 12);
    assert.equal(byId.get('dose_1000/baseline/gs1')!.dosePatterns, undefined, 'the baseline is the Phase C split itself');
    // Read once per listing: every job of the dose shares the baseline's inspection of the Phase C training split.
    assert.equal(byId.get('dose_1000/baseline/gs1')!.train.info!.patternCount, 12);
    // A listing of the sparse view alone still reads it.
    const sparseOnly = await listJobs(await discoverStudy({ workspace: dir }), { filter: { view: 'sparse' } });
    assert.deepEqual(sparseOnly.map((j) => [j.id, j.dosePatterns]), [['dose_1000/sparse/gs2', 12]]);
    const plan = (id: string, settings = {}) => planRun(byId.get(id)!, { workerScript: WORKER, settings });
    const sparse = plan('dose_1000/sparse/gs2');
    assert.deepEqual([sparse.config.trainPatterns, sparse.config.nGroups], [5, 12], 'seeds drawn with replacement');
    const choice = sparse.config.openChoices!.find((c) => c.key === 'nGroups')!;
    assert.equal(choice.value, 12);
    assert.match(choice.note, /as many as the dose's Phase C training split has patterns \(12\), so that every view of the dose trains as many optimizer steps per epoch: 5 training patterns, seeds drawn with replacement/);
    assert.deepEqual([plan('dose_1000/dense/gs2').config.nGroups, plan('dose_1000/baseline/gs1').config.nGroups], [12, 12]);
    // An explicit setting wins, below or above.
    assert.equal(plan('dose_1000/sparse/gs2', { nGroups: 4 }).config.nGroups, 4);
    assert.match(plan('dose_1000/sparse/gs2', { nGroups: 4 }).config.openChoices!.find((c) => c.key === 'nGroups')!.note, /set explicitly/);
    // A dose whose Phase C training split is gone: the view's own patterns.
    fs.rmSync(path.join(dir, 'phase_c', 'dose_1000', 'patched_train.npz'));
    const orphan = (await jobs()).find((j) => j.id === 'dose_1000/sparse/gs2')!;
    assert.equal(orphan.dosePatterns, undefined);
    assert.equal(planRun(orphan, { workerScript: WORKER }).config.nGroups, 5);
  });

  it('intensity scale follows s = sqrt(nphotons)/(N/2)', () => {
    assert.ok(Math.abs(intensityScaleFor(1e3, 64) - 0.98821) < 1e-5);
    assert.ok(Math.abs(intensityScaleFor(1e5, 128) - 4.94106) < 1e-5);
    // The counts per unit of normalized intensity: dose / (N/2)² (the centroid step's noise floor uses it).
    assert.ok(Math.abs(countScaleFor(1e5, 64) - 1e5 / 1024) < 1e-9);
  });

  it('settings are checked with clear errors', () => {
    assert.throws(() => resolveTrainingSettings({ epochs: 0 }), (e: Error) => e instanceof ConfigError && /epochs must be a positive integer/.test(e.message));
    assert.throws(() => resolveTrainingSettings({ learningRate: 2 }), /learningRate must be in/);
    assert.throws(() => resolveTrainingSettings({ executionProvider: 'tpu' as never }), /executionProvider must be one of/);
    assert.throws(() => resolveTrainingSettings({ bogus: 1 } as never), /Unknown training setting "bogus"/);
  });

  it('provider plans: cpu only, cuda then cpu, auto without the CUDA library is cpu', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ortbin-'));
    try {
      assert.deepEqual(planProviders('cpu', empty).candidates, ['cpu']);
      assert.deepEqual(planProviders('cuda', empty).candidates, ['cuda', 'cpu']);
      assert.deepEqual(planProviders('webgpu', empty).candidates, ['webgpu', 'cpu']);
      assert.deepEqual(planProviders('auto', empty).candidates, ['cpu']);
      assert.match(planProviders('auto', empty).notes.join(' '), /CUDA provider library is not installed/);
      fs.writeFileSync(path.join(empty, 'libonnxruntime_providers_cuda.so'), '');
      assert.deepEqual(planProviders('auto', empty).candidates, ['cuda', 'cpu']);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('a dry run writes manifest.json, run-config.json and train.log in the job folder only', async () => {
    await makeStudy(dir, { doses: [1000, 10000] });
    const all = await jobs();
    const job = all.find((j) => j.id === 'dose_1000/baseline/gs1')!;
    const r = await writeDryRun(job, { workerScript: WORKER }, new Date('2026-11-24T10:00:00Z'));
    const manifest = JSON.parse(fs.readFileSync(r.manifestPath, 'utf8')) as JobManifest;
    assert.equal(manifest.status, 'dry-run');
    assert.equal(manifest.job.id, job.id);
    assert.equal(manifest.config.trainPath, job.train.path);
    assert.equal(manifest.data.train.nPatterns, 12);
    assert.ok(manifest.data.train.bytes > 0);
    assert.equal(manifest.runtime.executionProviderRequested, 'auto');
    assert.deepEqual(manifest.worker.command.slice(1), [WORKER, '--job-dir', job.artifactDir]);
    assert.deepEqual(JSON.parse(fs.readFileSync(r.runConfigPath, 'utf8')), manifest.config);
    const log = fs.readFileSync(job.logPath, 'utf8');
    assert.match(log, /DRY RUN dose_1000\/baseline\/gs1 \(no training\)/);
    assert.match(log, /would try/);
    // Nothing else in the artifact root.
    const files = fs.readdirSync(path.join(dir, 'phase_e'), { recursive: true }).map(String).sort();
    assert.deepEqual(files, ['dose_1000', 'dose_1000/baseline', 'dose_1000/baseline/gs1', 'dose_1000/baseline/gs1/manifest.json', 'dose_1000/baseline/gs1/run-config.json', 'dose_1000/baseline/gs1/train.log']);
    // The state is read back from disk.
    const again = (await jobs(false)).find((j) => j.id === job.id)!;
    assert.equal(again.state, 'dry-run');
    // A second dry run appends to the log.
    await writeDryRun(again, { workerScript: WORKER });
    assert.equal(fs.readFileSync(job.logPath, 'utf8').match(/DRY RUN/g)!.length, 2);
  });

  it('refuses to plan a missing job and never writes for it', async () => {
    await makeStudy(dir, { doses: [1000], skip: ['1000/sparse'] });
    const sparse = (await jobs()).find((j) => j.id === 'dose_1000/sparse/gs2')!;
    assert.throws(() => planRun(sparse, { workerScript: WORKER }), (e: Error) => e instanceof PlanError && /view "sparse" not found/.test(e.message));
    await assert.rejects(writeDryRun(sparse, { workerScript: WORKER }), PlanError);
    assert.equal(fs.existsSync(sparse.artifactDir), false);
  });

  it('an invalid job is planned but marked not runnable, with its findings', async () => {
    await makeStudy(dir, { doses: [1000], views: [], dataset: { values: 'counts' } });
    const job = (await jobs()).find((j) => j.view === 'baseline')!;
    assert.equal(job.state, 'invalid');
    const r = await writeDryRun(job, { workerScript: WORKER });
    assert.equal(r.plan.runnable, false);
    assert.match(r.plan.blockers.join(' '), /NORMALIZATION-001/);
    // Invalid data wins over the dry-run record when the state is read back.
    assert.equal((await jobs()).find((j) => j.view === 'baseline')!.state, 'invalid');
  });

  it('keeps an earlier real run manifest and refuses to replace a live run', async () => {
    await makeStudy(dir, { doses: [1000], views: [] });
    const job = (await jobs()).find((j) => j.view === 'baseline')!;
    fs.mkdirSync(job.artifactDir, { recursive: true });
    const real = { schemaVersion: 1, status: 'succeeded', finishedAt: '2026-11-01T12:00:00.000Z', updatedAt: '2026-11-01T12:00:00.000Z', runtime: { hostname: os.hostname(), pid: 1 } };
    fs.writeFileSync(path.join(job.artifactDir, 'manifest.json'), JSON.stringify(real));
    const r = await writeDryRun(job, { workerScript: WORKER });
    assert.ok(r.previousManifest && fs.existsSync(r.previousManifest));
    assert.equal(JSON.parse(fs.readFileSync(r.previousManifest, 'utf8')).status, 'succeeded');
    // A live run (a live child process with a fresh heartbeat; never this process's own pid) must not be replaced.
    const worker = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      const live = { ...real, status: 'running', runtime: { hostname: os.hostname(), pid: worker.pid, heartbeatAt: new Date().toISOString() } };
      fs.writeFileSync(path.join(job.artifactDir, 'manifest.json'), JSON.stringify(live));
      await assert.rejects(writeDryRun(job, { workerScript: WORKER }), /is running/);
      assert.equal((await jobs(false))[0].state, 'running');
    } finally {
      worker.kill();
    }
  });

  it('a dry run takes the run lock: a job being trained is refused with the holder\'s pid and host, its folder untouched', async function () {
    this.timeout(60_000);
    await makeStudy(dir, { doses: [1000], views: [] });
    const job = (await jobs()).find((j) => j.view === 'baseline')!;
    fs.mkdirSync(job.artifactDir, { recursive: true });
    // A training start in progress: its lock names a live launcher; the manifest is still the previous run's.
    const launcher = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const files = {
      [LOCK_FILE]: JSON.stringify({
        pid: launcher.pid, hostname: os.hostname(), startTime: processStartTime(launcher.pid!), runId: '20260101T000000Z-abcdef',
        jobId: job.id, createdAt: new Date().toISOString(),
      }),
      'manifest.json': JSON.stringify({ schemaVersion: 1, status: 'succeeded', runId: 'previous', updatedAt: '2026-01-01T00:00:00.000Z' }),
      'run-config.json': '{"the": "training run\'s"}',
    };
    const snapshot = (): Record<string, string> => Object.fromEntries(fs.readdirSync(job.artifactDir).sort().map((f) => [f, fs.readFileSync(path.join(job.artifactDir, f), 'utf8')]));
    try {
      for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(job.artifactDir, name), text);
      const host = os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const holder = new RegExp(`pid ${launcher.pid} on ${host}`);
      await assert.rejects(writeDryRun(job, { workerScript: WORKER }), (e: Error) => e instanceof PlanError && holder.test(e.message) && e.message.includes(job.id));
      assert.deepEqual(snapshot(), files, 'nothing in the job folder changed');
      // The CLI says so for that job and exits 1.
      if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run node esbuild.mjs first`);
      const r = spawnSync(process.execPath, [CLI, 'dry-run', '--workspace', dir, '--view', 'baseline'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`ERROR dose_1000/baseline/gs1: .*${holder.source}`));
      assert.deepEqual(snapshot(), files, 'nothing in the job folder changed (CLI)');
    } finally {
      launcher.kill();
    }
    // The launcher is gone: its lock is stale, the dry run goes ahead and leaves no lock behind.
    await new Promise((r) => (launcher.exitCode !== null || launcher.signalCode !== null ? r(undefined) : launcher.once('exit', r)));
    const r = await writeDryRun(job, { workerScript: WORKER });
    assert.equal(JSON.parse(fs.readFileSync(r.manifestPath, 'utf8')).status, 'dry-run');
    assert.equal(fs.existsSync(path.join(job.artifactDir, LOCK_FILE)), false);
  });

  it('a "running" manifest whose process is gone reads as failed, never running', async () => {
    await makeStudy(dir, { doses: [1000], views: [] });
    const job = (await jobs()).find((j) => j.view === 'baseline')!;
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    fs.mkdirSync(job.artifactDir, { recursive: true });
    fs.writeFileSync(path.join(job.artifactDir, 'manifest.json'), JSON.stringify({ status: 'running', runtime: { hostname: os.hostname(), pid: deadPid } }));
    const rec = await readRunRecord(job.artifactDir);
    assert.equal(rec!.status, 'failed');
    assert.match(rec!.reason!, new RegExp(`pid ${deadPid}\\) is no longer running`));
    const again = (await jobs(false))[0];
    assert.equal(again.state, 'failed');
    // Another host: trusted only while its heartbeat is fresh.
    const remote = { status: 'running', runtime: { hostname: 'elsewhere', pid: 1, heartbeatAt: new Date().toISOString() } };
    fs.writeFileSync(path.join(job.artifactDir, 'manifest.json'), JSON.stringify(remote));
    assert.equal((await readRunRecord(job.artifactDir))!.status, 'running');
    assert.equal((await readRunRecord(job.artifactDir, new Date(Date.now() + 3600e3)))!.status, 'failed');
    // A torn or corrupt manifest is a failed record with a reason, not a crash.
    fs.writeFileSync(path.join(job.artifactDir, 'manifest.json'), '{"status": "runn');
    assert.match((await readRunRecord(job.artifactDir))!.reason!, /manifest\.json cannot be read/);
  });
});
