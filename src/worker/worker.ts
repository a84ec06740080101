// The worker: a separate Node process (forked by the extension or the CLI, never run inside the extension host), a
// thin shell over core: its arguments, the run lock, signals and the launcher's IPC channel; the run itself is
// core/run/trainingRun.ts (a training job) or core/run/reconstructionRun.ts (a Phase F job), from the resolved plan in
// `<job>/run-config.json`: typed events over IPC and into events.jsonl and the job's log (train.log, recon.log),
// manifest.json true at every moment, the artifacts.
//   node dist/worker.js --job-dir <dir> [--run-id ID] [--resume] [--detached] [--threads N [--threads-source cli|setting]]
// With --run-id the launcher holds the job's run lock for that run (checked here); without it (started by
// hand) the worker takes the lock itself and releases it on exit. A worker whose launcher goes away (its IPC channel
// closes: an editor window closed or reloaded, a CLI killed) cancels after the current step — unless --detached:
// then it runs on (its own process group), only SIGINT/SIGTERM cancel it, and at its end it removes the run lock the
// vanished launcher can no longer release.
// Every onnxruntime session gets the intra-op threads resolveThreads() decides: --threads (0 = automatic), else
// SLURM_CPUS_PER_TASK, else OMP_NUM_THREADS, else every core this process may use.
// Exit code 0: succeeded or cancelled (see the manifest); 1: failed; 2: bad invocation; 3: the job is locked by another run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireJobLock, JobLockedError, LOCK_FILE, newRunId, readLock } from '../core/run/lock';
import { checkRequestedThreads, resolveThreads, type ResolvedThreads } from '../core/runtime/threads';
import { isReconstructionConfig } from '../core/study/reconstructJobs';
import { readRunPlan, RunConfigError } from '../core/study/runConfigFile';
import { runReconstruction } from '../core/run/reconstructionRun';
import { runTraining } from '../core/run/trainingRun';
import type { WorkerIo } from '../core/run/runSupport';

function parseArgs(argv: string[]): { jobDir: string; runId?: string; resume: boolean; detached: boolean; threads: ResolvedThreads } {
  let jobDir: string | undefined;
  let runId: string | undefined;
  let resume = false;
  let detached = false;
  let threadsArg: string | undefined;
  let threadsSource: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--job-dir') jobDir = argv[++i];
    else if (a === '--run-id') runId = argv[++i];
    else if (a === '--resume') resume = true;
    else if (a === '--detached') detached = true;
    else if (a === '--threads') threadsArg = argv[++i] ?? '';
    else if (a === '--threads-source') threadsSource = argv[++i];
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node worker.js --job-dir <artifact folder with run-config.json> [--run-id ID] [--resume] [--detached] [--threads N [--threads-source cli|setting]]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!jobDir) throw new Error('--job-dir is required');
  if (threadsSource !== undefined && threadsSource !== 'cli' && threadsSource !== 'setting') throw new Error(`--threads-source must be cli or setting (got "${threadsSource}")`);
  const requested = threadsArg === undefined ? undefined : checkRequestedThreads(threadsArg, '--threads');
  const threads = resolveThreads({ requested, requestedFrom: threadsSource as 'cli' | 'setting' | undefined, env: process.env, available: os.availableParallelism() });
  if (runId !== undefined && !/^[\w.-]{1,80}$/.test(runId)) throw new Error(`--run-id must be a short word (got "${runId}")`);
  return { jobDir: path.resolve(jobDir), runId, resume, detached, threads };
}

async function main(): Promise<number> {
  // A parent that dies closes our pipes; writing to them must not crash a run that is checkpointing.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
    if (!fs.existsSync(path.join(args.jobDir, 'run-config.json'))) throw new Error(`${args.jobDir} has no run-config.json (write the run plan first: ptycho-study train or dry-run)`);
    if (args.runId !== undefined) {
      // Never train a folder whose lock names another run: that run (or its successor) owns the folder.
      const holder = readLock(path.join(args.jobDir, LOCK_FILE));
      if (holder?.runId !== args.runId) throw new Error(`${path.join(args.jobDir, LOCK_FILE)} is not held for run ${args.runId}${holder ? ` (it holds run ${holder.runId} of pid ${holder.pid} on ${holder.hostname})` : ''}`);
    } else {
      const runId = newRunId();
      acquireJobLock(args.jobDir, { jobId: path.basename(args.jobDir), runId }); // released on exit
      args.runId = runId;
    }
  } catch (err) {
    process.stderr.write(`worker: ${(err as Error).message}\n`);
    return err instanceof JobLockedError ? 3 : 2;
  }
  let cancelRequested = false;
  let cancelReason: string | undefined;
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    cancelRequested = true;
    cancelReason ??= process.env.SLURM_JOB_ID && sig === 'SIGTERM' ? 'SIGTERM from Slurm: its time limit is near, or it was cancelled' : `${sig} to the worker`;
    if (signals > 1) {
      process.stderr.write(`worker: ${sig} again; stopping now (the last epoch checkpoint is kept)\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('message', (m: unknown) => {
    if (m && typeof m === 'object' && (m as { type?: string }).type === 'cancel') {
      cancelRequested = true;
      const why = (m as { reason?: unknown }).reason;
      if (typeof why === 'string' && why.length > 0) cancelReason = why.slice(0, 300); // the launcher knows better than a bare signal
    }
  });
  // A parent that disappears (editor closed, CLI killed) is a cancel: finish the step, checkpoint, stop — unless the
  // run is detached, which is made to outlive its launcher.
  let launcherGone = false;
  process.on('disconnect', () => {
    launcherGone = true;
    if (!args.detached) {
      cancelRequested = true;
      cancelReason ??= 'its launcher went away (the editor window closed, or the CLI was killed)';
    }
    else process.stderr.write('worker: the launcher went away; the run continues (detached)\n');
  });
  if (args.detached) {
    // At the end, the lock a vanished launcher held for this run is ours to remove (a live launcher removes it itself).
    process.on('exit', () => {
      if (!launcherGone) return;
      try {
        const file = path.join(args.jobDir, LOCK_FILE);
        if (readLock(file)?.runId === args.runId) fs.rmSync(file, { force: true });
      } catch {
        // a lock left behind is judged stale by the next starter (staleReason)
      }
    });
  }
  const io: WorkerIo = {
    send: (e) => {
      if (process.connected) process.send?.(e, undefined, {}, () => undefined);
    },
    cancelled: () => cancelRequested,
    cancelReason: () => cancelReason,
    stderr: (line) => process.stderr.write(line + '\n'),
  };
  // A Phase F job's plan is a ReconstructionConfig (kind 'reconstruct'); anything else is a training run.
  // Read safely (a regular file of bounded size, valid JSON): a refusal names run-config.json.
  if (isReconstructionConfig(await readRunPlan(args.jobDir))) {
    return runReconstruction(args.jobDir, { runId: args.runId, resume: args.resume, threads: args.threads }, io);
  }
  return runTraining(args.jobDir, { runId: args.runId, resume: args.resume, threads: args.threads }, io);
}

main().then(
  (code) => {
    process.exitCode = code;
    // Let IPC flush, then leave even if a handle lingers.
    setTimeout(() => process.exit(code), 200).unref();
    if (process.connected) process.disconnect();
  },
  (err) => {
    // A bad plan is the user's to fix: its message (naming the file) is the last line; anything else, the stack.
    process.stderr.write(`worker: ${err instanceof RunConfigError ? err.message : (err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
