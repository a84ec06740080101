// Run safety (issue 13), reproduced with real processes: `ptycho-study train` (dist/cli.js) and its workers on a
// tiny simulated study, faults injected with a --require preload (a worker killed at birth, a full disk, a
// folder that refuses writes), live and dead "holder" processes for the lock and the manifest.
//   8  one run per job: a second `train` 50 ms later is refused with the holder's pid and host;
//   9  a worker that dies before writing its manifest is `failed`, never the previous run's `succeeded`;
//  10  "running" is judged by pid + process start time + a fresh heartbeat, and a skipped busy job exits 1;
//  11  --resume checks the checkpoint first (--restart starts over); disk errors name the file and the job,
//      fail only that job, and a manifest that cannot be written fails the run.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEvents, type RunEvent } from '../../src/core/run/events';
import { acquireJobLock, JobLockedError, LOCK_FILE, type LockRecord } from '../../src/core/run/lock';
import { processStartTime } from '../../src/core/processInfo';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import { readRunRecord, type JobManifest } from '../../src/core/study';
import { repoRoot, tempDir } from './helpers/paths';

const CLI = path.join(repoRoot, 'dist', 'cli.js');
const WORKER = path.join(repoRoot, 'dist', 'worker.js');
const FAST = ['--dose', '10000', '--epochs', '1', '--batch-size', '8', '--n-filters-scale', '1', '--threads', '1'];
const HOST = os.hostname();

// Loaded into the CLI and its workers with NODE_OPTIONS=--require. FAULT_KILL / FAULT_EXIT kill the worker at
// birth; FAULT_<ROLE>_PATH (a regex of a path opened for writing; ROLE = WORKER or CLI) with FAULT_<ROLE>_CODE
// fails that open (EACCES, as Node reports it: with the path) or its write (ENOSPC: without a path), after
// FAULT_<ROLE>_SKIP successful opens.
const FAULT_JS = `
const fs = require('fs');
const role = /worker\\.js$/.test(process.argv[1] || '') ? 'WORKER' : 'CLI';
const env = (k) => process.env['FAULT_' + role + '_' + k];
if (role === 'WORKER' && process.env.FAULT_KILL) process.kill(process.pid, process.env.FAULT_KILL);
if (role === 'WORKER' && process.env.FAULT_EXIT) { process.stderr.write('fault: crashing on purpose\\n'); process.exit(Number(process.env.FAULT_EXIT)); }
if (env('PATH')) {
  const re = new RegExp(env('PATH'));
  let skip = Number(env('SKIP') || 0);
  const open = fs.promises.open;
  fs.promises.open = async function (p, flags, mode) {
    if (re.test(String(p)) && String(flags).startsWith('w') && skip-- <= 0) {
      const fail = (message, extra) => Object.assign(new Error(message), { code: env('CODE') }, extra);
      if (env('CODE') === 'ENOSPC') {
        const h = await open.call(this, p, flags, mode);
        h.writeFile = async () => { throw fail('ENOSPC: no space left on device, write', { errno: -28, syscall: 'write' }); };
        return h;
      }
      throw fail(env('CODE') + ": permission denied, open '" + p + "'", { errno: -13, syscall: 'open', path: String(p) });
    }
    return open.call(this, p, flags, mode);
  };
}
`;

interface CliRun {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; ms: number }>;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; ms: number }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, out, err, ms: Date.now() - t0 })));
  return { child, done };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/** A live process that is not a worker (a pid that exists), killed by the caller. */
function sleeper(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'], { stdio: 'ignore' });
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}

describe('run safety (issue 13)', function () {
  this.timeout(600_000);
  const tmp = tempDir('ptycho-safety-');
  const study = path.join(tmp.dir, 'study');
  const fault = path.join(tmp.dir, 'fault.js');
  const withFault = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ NODE_OPTIONS: `--require ${fault}`, ...env });
  const jobDir = (view: string): string => path.join(study, 'phase_e', 'dose_10000', view, view === 'baseline' ? 'gs1' : 'gs2');
  const baseline = jobDir('baseline');
  const manifestOf = (dir = baseline): JobManifest => readJson<JobManifest>(path.join(dir, 'manifest.json'));
  const eventsOf = (dir = baseline): RunEvent[] => parseEvents(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8'));
  const sleepers: ChildProcess[] = [];
  const liveSleeper = (): ChildProcess => {
    const s = sleeper();
    sleepers.push(s);
    return s;
  };

  before(async () => {
    assert.ok(fs.existsSync(CLI) && fs.existsSync(WORKER), 'dist/cli.js and dist/worker.js are built (node esbuild.mjs)');
    const cfg = defaultSimulationConfig(study);
    cfg.nImages = 120;
    cfg.doses = [1e4];
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
    fs.writeFileSync(fault, FAULT_JS);
  });
  after(() => {
    for (const s of sleepers) s.kill();
    tmp.cleanup();
  });

  it('8: two train commands on one job 50 ms apart: one trains, the other is refused with the holder\'s pid and host and exits 1', async () => {
    const since = Date.now();
    const a = cli(['train', '--workspace', study, '--view', 'baseline', ...FAST]);
    await sleep(50);
    const b = cli(['train', '--workspace', study, '--view', 'baseline', ...FAST]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const [winner, loser, winnerPid] = ra.code === 0 ? [ra, rb, a.child.pid] : [rb, ra, b.child.pid];
    assert.equal(winner.code, 0, winner.out + winner.err);
    assert.match(winner.out, /SUCCEEDED dose_10000\/baseline\/gs1/);
    assert.equal(loser.code, 1, loser.out + loser.err);
    assert.match(loser.out, new RegExp(`SKIP dose_10000/baseline/gs1: dose_10000/baseline/gs1 is already being trained \\(run \\S+ of pid ${winnerPid} on ${escape(HOST)}(, worker pid \\d+)?, since `));
    assert.match(loser.out, /0 succeeded, 0 failed, 0 cancelled, 1 skipped\./);
    // Exactly one worker ran on the folder, and the lock is gone with it.
    assert.equal(eventsOf().filter((e) => e.type === 'started' && Date.parse(e.time) >= since).length, 1);
    assert.ok(!fs.existsSync(path.join(baseline, LOCK_FILE)), 'lock released');
    assert.match(manifestOf().runId!, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
  });

  it('8: the lock is broken only when provably stale (same host; launcher and worker gone or their pids reused)', () => {
    const dir = path.join(tmp.dir, 'locks');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, LOCK_FILE);
    const live = liveSleeper();
    const liveStart = processStartTime(live.pid!);
    const put = (r: Partial<LockRecord>): void =>
      fs.writeFileSync(file, JSON.stringify({ pid: live.pid, hostname: HOST, startTime: liveStart, runId: 'old', jobId: 'j', createdAt: '2026-01-01T00:00:00Z', ...r }));
    const take = (): void => acquireJobLock(dir, { jobId: 'j', runId: 'new' }).release();

    put({});
    assert.throws(take, (e: Error) => e instanceof JobLockedError && new RegExp(`run old of pid ${live.pid} on ${escape(HOST)}`).test(e.message));
    put({ hostname: 'elsewhere.example', pid: deadPid() });
    assert.throws(take, /on elsewhere\.example.*If no run is active on elsewhere\.example, delete .*run\.lock/);
    // The launcher died but its worker still runs (and has not recorded its end): held.
    put({ pid: deadPid(), startTime: undefined, worker: { pid: live.pid!, startTime: liveStart } });
    assert.throws(take, JobLockedError);
    // ... until that worker records the run's end in the manifest.
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ runId: 'old', status: 'cancelled' }));
    take();
    assert.ok(!fs.existsSync(file));
    // Stale: a dead pid, pid 1, a pid whose process started at another time (reused).
    for (const r of [{ pid: deadPid() }, { pid: 1 }, ...(liveStart !== undefined ? [{ startTime: liveStart - 3600_000 }] : [])]) {
      put(r);
      take();
      assert.ok(!fs.existsSync(file), JSON.stringify(r));
    }
  });

  it('9: a worker killed before its first manifest write is failed with its signal, never the previous run\'s success', async () => {
    const previous = manifestOf();
    assert.equal(previous.status, 'succeeded', 'a successful earlier run');
    const killed = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST], withFault({ FAULT_KILL: 'SIGKILL' })).done;
    assert.equal(killed.code, 1, killed.out + killed.err);
    assert.doesNotMatch(killed.out, /SUCCEEDED/);
    assert.match(killed.out, /FAILED dose_10000\/baseline\/gs1: The worker was killed by SIGKILL before finishing/);
    const m = manifestOf();
    assert.equal(m.status, 'failed');
    assert.match(m.reason!, /killed by SIGKILL/);
    assert.notEqual(m.runId, previous.runId, 'the manifest is this run\'s');
    assert.match(m.runId!, /^\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    assert.equal(m.result, undefined, 'no results carried over from the earlier run');
    assert.ok(fs.existsSync(path.join(baseline, 'runs', previous.runId!, 'model.onnx')), 'the earlier run\'s files are kept (runs/<its run id>/)');
    assert.equal(JSON.parse(fs.readFileSync(path.join(baseline, 'runs', previous.runId!, 'manifest.json'), 'utf8')).status, 'succeeded', 'with its own manifest');
    assert.equal((await readRunRecord(baseline))!.status, 'failed');

    // An exit code instead of a signal, with the last stderr line.
    const crashed = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST], withFault({ FAULT_EXIT: '3' })).done;
    assert.equal(crashed.code, 1);
    assert.match(crashed.out, /FAILED dose_10000\/baseline\/gs1: The worker exited with code 3 before finishing: fault: crashing on purpose/);
    assert.match(manifestOf().reason!, /exited with code 3/);
    assert.ok(!fs.existsSync(path.join(baseline, LOCK_FILE)), 'lock released');
  });

  it('10: "running" is judged by pid, process start time and heartbeat; train skips a live run (exit 1) and runs a stale one', async () => {
    const live = liveSleeper();
    const startedAt = processStartTime(live.pid!);
    const now = Date.now();
    const base = manifestOf();
    const runtime = { ...base.runtime, hostname: HOST, pid: live.pid, processStartedAt: startedAt === undefined ? undefined : new Date(startedAt).toISOString(), heartbeatAt: new Date(now).toISOString() };
    const put = (rt: Record<string, unknown>): void =>
      fs.writeFileSync(path.join(baseline, 'manifest.json'), JSON.stringify({ ...base, status: 'running', runtime: { ...runtime, ...rt } }));
    const state = async (): Promise<string> => (await readRunRecord(baseline))!.status;

    put({});
    assert.equal(await state(), 'running');
    put({ hostname: 'elsewhere.example', pid: 1 });
    assert.equal(await state(), 'running', 'another host: a fresh heartbeat is enough');
    const stale: [string, Record<string, unknown>][] = [
      ['pid 1', { pid: 1 }], ['pid 0', { pid: 0 }], ['pid -5', { pid: -5 }], ['a string pid', { pid: String(live.pid) }],
      ['our own pid', { pid: process.pid }], ['a dead pid', { pid: deadPid() }],
      ['a heartbeat an hour ahead', { heartbeatAt: new Date(now + 3600_000).toISOString() }],
      ['a heartbeat 2 minutes old', { heartbeatAt: new Date(now - 120_000).toISOString() }],
      ['no heartbeat', { heartbeatAt: undefined }],
      ['another host, heartbeat ahead', { hostname: 'elsewhere.example', heartbeatAt: new Date(now + 3600_000).toISOString() }],
      ['another host, heartbeat old', { hostname: 'elsewhere.example', heartbeatAt: new Date(now - 120_000).toISOString() }],
    ];
    if (startedAt !== undefined) stale.push(['a reused pid (other start time)', { processStartedAt: new Date(startedAt - 3600_000).toISOString() }]);
    for (const [what, rt] of stale) {
      put(rt);
      assert.equal(await state(), 'failed', what);
    }

    // A live run (no lock: a worker of an earlier version) is skipped, and train says so with exit 1.
    put({});
    const busy = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST]).done;
    assert.equal(busy.code, 1, busy.out + busy.err);
    assert.match(busy.out, new RegExp(`SKIP dose_10000/baseline/gs1: .*already running \\(pid ${live.pid} on ${escape(HOST)}\\)`));
    assert.match(busy.out, /0 succeeded, 0 failed, 0 cancelled, 1 skipped\./);
    // A bogus one (pid 1) does not block: the job trains.
    put({ pid: 1 });
    const ran = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST]).done;
    assert.equal(ran.code, 0, ran.out + ran.err);
    assert.equal(manifestOf().status, 'succeeded');
    assert.ok(manifestOf().runtime.processStartedAt === undefined || Number.isFinite(Date.parse(manifestOf().runtime.processStartedAt!)));
  });

  it('8/11: Ctrl-C twice leaves the worker checkpointing; its lock turns stale when it ends, and --resume continues', async () => {
    const run = cli(['train', '--workspace', study, '--view', 'baseline', ...FAST, '--epochs', '200', '--json']);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress: ${out}`)), 120_000);
      run.child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/"type":"progress"/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    run.child.kill('SIGINT');
    await sleep(20);
    run.child.kill('SIGINT'); // the CLI leaves at once; its worker finishes its step and checkpoints
    assert.equal((await run.done).code, 130);
    const deadline = Date.now() + 120_000;
    while (manifestOf().status === 'running' && Date.now() < deadline) await sleep(100);
    assert.equal(manifestOf().status, 'cancelled');
    // The worker may still be exiting; its lock names a dead launcher and a run that has recorded its end.
    const resumed = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST, '--resume']).done;
    assert.equal(resumed.code, 0, resumed.out + resumed.err);
    assert.match(resumed.out, /TRAIN dose_10000\/baseline\/gs1 \(resume\)[\s\S]*SUCCEEDED dose_10000\/baseline\/gs1/);
    const started = eventsOf().filter((e) => e.type === 'started').at(-1) as { resumedFrom?: unknown };
    assert.ok(started.resumedFrom, 'resumed from the checkpoint');
    assert.ok(!fs.existsSync(path.join(baseline, LOCK_FILE)));
  });

  it('11: --resume checks the checkpoint before anything costly; a missing one is refused offering --restart, which starts over', async () => {
    const checkpoint = path.join(baseline, 'checkpoint.npz');
    const eventsBytes = (): number => fs.statSync(path.join(baseline, 'events.jsonl')).size;
    const runResume = () => cli(['train', '--workspace', study, '--view', 'baseline', ...FAST, '--resume']).done;

    // Corrupt (truncated): refused before any worker starts; nothing in the folder changes.
    fs.truncateSync(checkpoint, Math.floor(fs.statSync(checkpoint).size / 2));
    const before = { events: eventsBytes(), manifest: fs.readFileSync(path.join(baseline, 'manifest.json'), 'utf8') };
    const corrupt = await runResume();
    assert.equal(corrupt.code, 1, corrupt.out + corrupt.err);
    assert.match(corrupt.out, new RegExp(`FAILED dose_10000/baseline/gs1: dose_10000/baseline/gs1: cannot resume from ${escape(checkpoint)}: .*--restart`));
    assert.equal(eventsBytes(), before.events, 'no worker ran');
    assert.equal(fs.readFileSync(path.join(baseline, 'manifest.json'), 'utf8'), before.manifest, 'the manifest is untouched');
    // Garbage that is not an archive at all.
    fs.writeFileSync(checkpoint, 'not a zip archive');
    assert.match((await runResume()).out, /cannot resume from .*checkpoint\.npz/);

    // Missing: refused, offering --restart.
    fs.rmSync(checkpoint);
    const missing = await runResume();
    assert.equal(missing.code, 1);
    assert.match(missing.out, new RegExp(`cannot resume, there is no ${escape(checkpoint)}\\. Start it from scratch instead \\(ptycho-study train --restart`));
    assert.equal(eventsBytes(), before.events);

    // The worker started by hand refuses too, before reading any dataset, and records why.
    const direct = spawnSync(process.execPath, [WORKER, '--job-dir', baseline, '--resume'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(direct.status, 1, direct.stderr);
    assert.equal(manifestOf().status, 'failed');
    assert.match(manifestOf().reason!, /cannot resume, there is no .*checkpoint\.npz/);
    assert.equal(manifestOf().data.train.sha256, undefined, 'no dataset was hashed');
    assert.ok(!fs.existsSync(path.join(baseline, LOCK_FILE)), 'the worker released its own lock');

    const both = await cli(['train', '--workspace', study, '--resume', '--restart']).done;
    assert.equal(both.code, 2, both.err);
    assert.match(both.err, /--resume and --restart exclude each other/);

    // --restart discards a (corrupt) checkpoint and trains from scratch.
    fs.writeFileSync(checkpoint, 'not a zip archive');
    const restart = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST, '--restart']).done;
    assert.equal(restart.code, 0, restart.out + restart.err);
    const started = eventsOf().filter((e) => e.type === 'started').at(-1) as { resumedFrom?: unknown };
    assert.equal(started.resumedFrom, undefined);
    assert.ok(fs.statSync(checkpoint).size > 1000, 'a fresh checkpoint');
  });

  it('11: a resume with other settings is refused at launch, naming them, and the finished job stays as it was', async () => {
    // The job has just trained to the end (the test above): a resume with another learning rate must not touch it.
    const files = ['manifest.json', 'run-config.json', 'events.jsonl', 'train.log', 'checkpoint.npz', 'metrics.json'];
    const snapshot = (): string[] => files.map((f) => fs.readFileSync(path.join(baseline, f)).toString('base64'));
    assert.equal(manifestOf().status, 'succeeded');
    const before = snapshot();
    const other = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST, '--lr', '0.005', '--resume']).done;
    assert.equal(other.code, 1, other.out + other.err);
    assert.match(other.out, /FAILED dose_10000\/baseline\/gs1: dose_10000\/baseline\/gs1: cannot resume from .*checkpoint\.npz: it was written with other settings \(training\.learningRate [0-9.e-]+ → 0\.005\)\. .*--restart.*left as it was/);
    assert.deepEqual(snapshot(), before, 'no file of the job changed');
    assert.equal(manifestOf().status, 'succeeded');
    assert.ok(!fs.existsSync(path.join(baseline, LOCK_FILE)));
    // The same settings resume (a finished run is re-evaluated), and the checkpoint keeps its launch key.
    const same = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST, '--resume']).done;
    assert.equal(same.code, 0, same.out + same.err);
    assert.equal(manifestOf().status, 'succeeded');
  });

  it('11: a gridsize-2 run on the central support (the default before README item 29): the default refuses to resume it, saying how; --object-support centre resumes it', async () => {
    const dense = jobDir('dense');
    const centre = await cli(['train', '--workspace', study, '--view', 'dense', ...FAST, '--object-support', 'centre', '--restart']).done;
    assert.equal(centre.code, 0, centre.out + centre.err);
    const checkpoint = fs.readFileSync(path.join(dense, 'checkpoint.npz'));
    const refused = await cli(['train', '--workspace', study, '--view', 'dense', ...FAST, '--resume']).done;
    assert.equal(refused.code, 1, refused.out + refused.err);
    assert.match(refused.out, /written with other settings \(training\.objectSupport unset → "full"\)\. Resume with the settings it ran with \(gridsize 2 predicts the object on all N × N by default now: --object-support centre \(ptychoStudy\.training\.objectSupport 'centre'\) resumes this checkpoint\)/);
    assert.ok(checkpoint.equals(fs.readFileSync(path.join(dense, 'checkpoint.npz'))), 'the checkpoint stays as it was');
    const resumed = await cli(['train', '--workspace', study, '--view', 'dense', ...FAST, '--object-support', 'centre', '--resume']).done;
    assert.equal(resumed.code, 0, resumed.out + resumed.err);
    assert.equal(manifestOf(dense).status, 'succeeded');
  });

  it('11: a model with residual blocks (same shapes, another network): a resume without the flag is refused naming it; with it, it resumes', async () => {
    const residual = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST, '--residual-blocks']).done;
    assert.equal(residual.code, 0, residual.out + residual.err);
    const checkpoint = fs.readFileSync(path.join(baseline, 'checkpoint.npz'));
    const refused = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST, '--resume']).done;
    assert.equal(refused.code, 1, refused.out + refused.err);
    assert.match(refused.out, /written with other settings \(training\.residualBlocks true → unset\)/);
    assert.deepEqual(fs.readFileSync(path.join(baseline, 'checkpoint.npz')), checkpoint, 'the checkpoint is untouched');
    const resumed = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST, '--resume', '--residual-blocks']).done;
    assert.equal(resumed.code, 0, resumed.out + resumed.err);
    assert.equal(manifestOf().status, 'succeeded');
  });

  it('11: a study copied elsewhere: the resume is refused naming the training file it was trained on, and the copy stays as it was', async () => {
    // The dense job finished in the test above. A checkpoint is tied to its training file's path (fingerprint.ts).
    const moved = path.join(tmp.dir, 'moved-study');
    fs.cpSync(study, moved, { recursive: true });
    const copiedJob = path.join(moved, 'phase_e', 'dose_10000', 'dense', 'gs2');
    const checkpoint = fs.readFileSync(path.join(copiedJob, 'checkpoint.npz'));
    const refused = await cli(['train', '--workspace', moved, '--view', 'dense', ...FAST, '--object-support', 'centre', '--resume']).done;
    assert.equal(refused.code, 1, refused.out + refused.err);
    const trainFile = (root: string): string => escape(JSON.stringify(path.join(root, 'phase_d', 'dose_10000', 'dense', 'dense_train.npz')));
    assert.match(refused.out, new RegExp(`written with other settings \\(trainPath ${trainFile(study)} → ${trainFile(moved)}\\)\\. Resume with the settings it ran with \\(it was trained on .*dense_train\\.npz, this run reads .*: a checkpoint resumes only on the file it was trained on, so move the study back to where it was trained\\)`));
    assert.ok(checkpoint.equals(fs.readFileSync(path.join(copiedJob, 'checkpoint.npz'))), 'the copy\'s checkpoint stays as it was');
    assert.equal(manifestOf(copiedJob).status, 'succeeded');
  });

  it('11: a full disk or a refused write names the file and the job, fails only that job, and the loop goes on', async () => {
    const dense = jobDir('dense');
    const sparse = jobDir('sparse');
    const r = await cli(['train', '--workspace', study, ...FAST], withFault({
      FAULT_WORKER_PATH: 'baseline/gs1/\\.model\\.onnx\\.tmp', FAULT_WORKER_CODE: 'ENOSPC',
      FAULT_CLI_PATH: 'dense/gs2/\\.run-config\\.json\\.tmp', FAULT_CLI_CODE: 'EACCES',
    })).done;
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, /1 succeeded, 2 failed, 0 cancelled, 0 skipped\./);
    const enospc = `dose_10000/baseline/gs1: cannot write ${path.join(baseline, 'model.onnx')}: no space left on the device (ENOSPC).`;
    assert.match(r.out, new RegExp(`FAILED dose_10000/baseline/gs1: ${escape(enospc)}`));
    assert.equal(manifestOf().status, 'failed');
    assert.equal(manifestOf().reason, enospc);
    const eacces = `dose_10000/dense/gs2: cannot write ${path.join(dense, 'run-config.json')}: permission denied (EACCES).`;
    assert.match(r.out, new RegExp(`FAILED dose_10000/dense/gs2: ${escape(eacces)}`));
    assert.equal(manifestOf(dense).status, 'failed');
    assert.equal(manifestOf(dense).reason, eacces);
    assert.equal(manifestOf(sparse).status, 'succeeded', 'the next job still ran');
    for (const dir of [baseline, dense, sparse]) assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
  });

  it('11: a manifest the worker cannot write fails the run (never swallowed)', async () => {
    const r = await cli(['train', '--workspace', study, '--view', 'baseline', ...FAST], withFault({
      FAULT_WORKER_PATH: 'baseline/gs1/\\.manifest\\.json\\.tmp', FAULT_WORKER_CODE: 'EACCES', FAULT_WORKER_SKIP: '1',
    })).done;
    assert.equal(r.code, 1, r.out + r.err);
    const why = `dose_10000/baseline/gs1: cannot write ${path.join(baseline, 'manifest.json')}: permission denied (EACCES).`;
    assert.match(r.out, new RegExp(`FAILED dose_10000/baseline/gs1: .*${escape(why)}`));
    const m = manifestOf();
    assert.equal(m.status, 'failed');
    assert.match(m.reason!, new RegExp(escape(why)));
    assert.ok(!fs.existsSync(path.join(baseline, 'model.onnx')) || fs.statSync(path.join(baseline, 'model.onnx')).mtimeMs < Date.parse(m.startedAt!), 'no results written after the manifest failed');
  });
});
