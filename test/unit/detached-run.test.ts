// Runs that outlive their launcher (issue 14, local runs): a detached worker whose launcher goes away — its IPC
// channel closes, exactly what a closed or reloaded VS Code window or a killed CLI does to it — trains on to
// `succeeded` and removes the run lock the launcher can no longer release, while an attached one cancels; a run
// this process did not start is cancelled through its manifest (SIGINT to the recorded worker, checked against its
// start time and host), and every case where that would signal the wrong process is refused.
import { strict as assert } from 'node:assert';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cancelExternalRun } from '../../src/core/run/cancelExternal';
import { parseEvents } from '../../src/core/run/events';
import { LocalBackend } from '../../src/core/run/backend';
import { startRun, type RunHandle } from '../../src/core/run/launcher';
import { LOCK_FILE } from '../../src/core/run/lock';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import { discoverStudy, listJobs, type JobManifest } from '../../src/core/study';
import { planRun, type RunConfig } from '../../src/core/run/plan';
import { repoRoot, tempDir } from './helpers/paths';

const WORKER = path.join(repoRoot, 'dist', 'worker.js');
const FAST = { batchSize: 8, nFiltersScale: 1, seed: 5 };

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
/** What the worker sees when its launcher dies: the IPC channel closes. */
const launcherGoesAway = (run: RunHandle): void => (run as unknown as { child: ChildProcess }).child.disconnect();

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('detached runs and cancelling a run started elsewhere', function () {
  this.timeout(300_000);
  const tmp = tempDir('ptycho-detached-');
  async function configFor(id: string, epochs: number): Promise<RunConfig> {
    const layout = await discoverStudy({ workspace: tmp.dir });
    const job = (await listJobs(layout)).find((j) => j.id === id)!;
    return planRun(job, { settings: { ...FAST, epochs }, workerScript: WORKER, study: { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot } }).config;
  }
  const checkpointed = (dir: string): boolean => fs.existsSync(path.join(dir, 'events.jsonl')) && fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').includes('"type":"checkpoint"');

  before(async () => {
    assert.ok(fs.existsSync(WORKER), 'dist/worker.js is built (node esbuild.mjs)');
    const cfg = defaultSimulationConfig(tmp.dir);
    cfg.nImages = 96;
    cfg.doses = [1e4];
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
  });
  after(() => tmp.cleanup());

  it('a detached run whose launcher goes away trains on to succeeded and removes its run lock itself', async () => {
    const config = await configFor('dose_10000/baseline/gs1', 3);
    const run = await startRun(config, { workerScript: WORKER, detached: true });
    await until('the first checkpoint', () => checkpointed(config.artifactDir));
    launcherGoesAway(run);
    const exit = await run.done;
    assert.equal(exit.status, 'succeeded', exit.reason);
    const m = readJson<JobManifest>(path.join(config.artifactDir, 'manifest.json'));
    assert.equal(m.status, 'succeeded');
    assert.equal(m.result?.epochs, 3, 'every epoch ran after the launcher left');
    assert.ok(!parseEvents(fs.readFileSync(path.join(config.artifactDir, 'events.jsonl'), 'utf8')).some((e) => e.type === 'cancelled'));
    assert.ok(!fs.existsSync(path.join(config.artifactDir, LOCK_FILE)), 'the lock is gone');
    assert.ok(run.stderr.some((l) => /the launcher went away; the run continues \(detached\)/.test(l)), run.stderr.join('\n'));
  });

  it('an attached run (the default) whose launcher goes away cancels after its step, with a checkpoint', async () => {
    const config = await configFor('dose_10000/dense/gs2', 200);
    const run = await startRun(config, { workerScript: WORKER });
    await until('the first checkpoint', () => checkpointed(config.artifactDir));
    launcherGoesAway(run);
    const exit = await run.done;
    assert.equal(exit.status, 'cancelled', exit.reason);
    assert.ok(fs.existsSync(path.join(config.artifactDir, 'checkpoint.npz')));
  });

  it('cancelExternalRun stops a detached run through its manifest: SIGINT to the recorded worker, cancelled with a checkpoint', async () => {
    const config = await configFor('dose_10000/sparse/gs2', 200);
    const run = await startRun(config, { workerScript: WORKER, detached: true });
    await until('the first checkpoint', () => checkpointed(config.artifactDir));
    launcherGoesAway(run);
    const m = readJson<JobManifest>(path.join(config.artifactDir, 'manifest.json'));
    assert.equal(m.status, 'running');
    const sent = cancelExternalRun(config.artifactDir, 'dose_10000/sparse/gs2');
    assert.equal(sent.pid, run.pid);
    assert.equal(sent.runId, run.runId);
    const exit = await run.done;
    assert.equal(exit.status, 'cancelled', exit.reason);
    const after = readJson<JobManifest>(path.join(config.artifactDir, 'manifest.json'));
    assert.equal(after.status, 'cancelled');
    assert.ok(fs.existsSync(path.join(config.artifactDir, 'checkpoint.npz')));
    assert.ok(!fs.existsSync(path.join(config.artifactDir, LOCK_FILE)));
    // Cancelled already: nothing to signal.
    assert.throws(() => cancelExternalRun(config.artifactDir, 'x'), /x is not running \(its manifest says cancelled\)/);
  });

  it('refuses to signal anything not provably the run: a reused pid, another host, no pid, no manifest', () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'fake-'));
    const write = (runtime: Record<string, unknown>): void => fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ status: 'running', runId: 'r', runtime }));
    assert.throws(() => cancelExternalRun(dir, 'job'), /job has no readable manifest\.json/);
    // This test process is alive, but it is not the process that started in 2001: a reused pid is never signalled.
    write({ pid: process.pid, hostname: os.hostname(), processStartedAt: '2001-01-01T00:00:00Z' });
    assert.throws(() => cancelExternalRun(dir, 'job'), new RegExp(`job's worker \\(pid ${process.pid}, started 2001-01-01T00:00:00Z\\) is no longer running`));
    write({ pid: process.pid, hostname: 'another-host.example' });
    assert.throws(() => cancelExternalRun(dir, 'job'), /job runs on another-host\.example, not on this host/);
    for (const pid of [1, 0, -5, '123', null]) {
      write({ pid, hostname: os.hostname() });
      assert.throws(() => cancelExternalRun(dir, 'job'), /names no worker process/, String(pid));
    }
  });

  it('the local backend: submit starts a detached run, attach follows it from its folder, another launcher cancels it, a resume submission continues it', async () => {
    const config = await configFor('dose_10000/baseline/gs1', 200);
    const window1 = new LocalBackend({ workerScript: WORKER, detached: true });
    const sub = await window1.submit([config]);
    assert.equal(sub.backend, 'local');
    assert.equal(sub.handles?.length, 1);
    const run = sub.handles![0];
    // A second window (or the CLI) knows the job only by its folder.
    const window2 = new LocalBackend({ workerScript: WORKER, detached: true });
    const job = { jobId: config.jobId, artifactDir: config.artifactDir };
    const attached = window2.attach(job);
    const seen = await until('progress read from the folder', async () => {
      const p = await attached.poll();
      return p.status === 'running' && p.progress.progress ? p : undefined;
    });
    assert.equal(seen.progress.progress?.epochs, 200);
    assert.equal((await window2.describe([job])).get(config.artifactDir)?.state, 'running');
    await until('the first checkpoint', () => checkpointed(config.artifactDir));
    launcherGoesAway(run); // window 1 closes; the run goes on
    assert.match(await window2.cancel(job), /SIGINT sent to dose_10000\/baseline\/gs1 \(worker pid \d+, started elsewhere\)/);
    const exit = await run.done;
    assert.equal(exit.status, 'cancelled', exit.reason);
    assert.equal((await window2.describe([job])).get(config.artifactDir)?.state, 'cancelled');
    // Resume: submitted with resume, it continues from the checkpoint (short now: 1 more epoch planned).
    const shorter = { ...config, training: { ...config.training, epochs: 1 } };
    const again = await window2.submit([shorter], { resume: true });
    assert.deepEqual(again.skipped, []);
    const exit2 = await again.handles![0].done;
    assert.notEqual(exit2.status, 'running');
    const events = parseEvents(fs.readFileSync(path.join(config.artifactDir, 'events.jsonl'), 'utf8'));
    const started = events.filter((e) => e.type === 'started').at(-1) as { resumedFrom?: { epoch: number } } | undefined;
    assert.ok(started?.resumedFrom, 'the resumed run started from the checkpoint');
    // A job without a checkpoint is not resumable: skipped with the reason, nothing started.
    const fresh = await configFor('dose_10000/sparse/gs2', 1);
    fs.rmSync(path.join(fresh.artifactDir, 'checkpoint.npz'), { force: true });
    const none = await window2.submit([fresh], { resume: true });
    assert.equal(none.handles?.length, 0);
    assert.match(none.skipped[0]?.reason ?? '', /checkpoint/);
  });
});
