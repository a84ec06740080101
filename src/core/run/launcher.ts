// The parent side of a run (used by the CLI and the extension; training here, Phase F reconstructions through
// reconstructionLauncher.ts): takes the job's run lock, writes the plan, forks the bundled worker with a run
// id, relays its typed events, cancels it (cancel message → the worker checkpoints and stops), and when the
// worker dies without recording its end (SIGKILL, a crash, out of memory) records `failed` with the signal or
// exit code and the last stderr lines, keeping everything written.
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appendLines, writeJsonAtomic } from '../atomic';
import { resolveObjectSupport, resolveTrainingSettings } from '../study/config';
import { ARTIFACT } from '../study/layout';
import { readRunConfig } from '../study/runConfigFile';
import { fingerprintDifferences, launchKeyOf } from '../train/fingerprint';
import { runningProcessGone, type JobManifest, type RunStatus } from '../study/manifest';
import type { RunConfig } from './plan';
import { checkRequestedThreads } from '../runtime/threads';
import { describeEvent, RUN_EVENT_TYPES, type FailedEvent, type RunEvent, type WorkerCommand } from './events';
import { explainIoError, isIoFailure, writing } from './ioError';
import { acquireJobLock, LOCK_FILE, newRunId, type JobLock } from './lock';
import { failedTrainingManifest, readJobManifest, recordFailedRun, type FailedRunAt, type RunManifestLike } from './manifestWriter';
import { checkResumable, ResumeError } from './resume';
import { archivePreviousRun, RUNS_DIR } from './runHistory';

export { JobLockedError } from './lock';
export { ResumeError } from './resume';

export interface LaunchOptions {
  /** Absolute path of dist/worker.js. */
  workerScript: string;
  /** Node executable for the worker (default: this process's). */
  nodePath?: string;
  /** Continue from checkpoint.npz; refused (ResumeError) before anything starts when it is missing or unreadable. */
  resume?: boolean;
  /** Start from scratch, discarding checkpoint.npz. */
  restart?: boolean;
  /**
   * The worker outlives its launcher (a closed or reloaded VS Code window): its own process group, and a lost IPC
   * channel is not a cancel — only SIGINT/SIGTERM are (cancelExternalRun). Progress stays readable from the job
   * folder (manifest heartbeat, events.jsonl, the log). Default false: the launcher's death cancels the run.
   */
  detached?: boolean;
  /**
   * Intra-op threads for every onnxruntime session of the run (undefined or 0: automatic, the worker takes
   * SLURM_CPUS_PER_TASK, OMP_NUM_THREADS or every available core); recorded in the manifest with its source.
   */
  threads?: number;
  /** Where an explicit `threads` came from, for the manifest (default `cli`). */
  threadsSource?: 'cli' | 'setting';
  env?: NodeJS.ProcessEnv;
}

export interface RunExit {
  jobId: string;
  runId?: string;
  status: RunStatus;
  code: number | null;
  signal: NodeJS.Signals | null;
  reason?: string;
}

const STDERR_TAIL = 40;
/** How long a cancel may take (finish the step, write the checkpoint) before the worker is terminated. */
export const CANCEL_GRACE_MS = 120_000;

export class RunAlreadyActiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunAlreadyActiveError';
  }
}

/**
 * What the launcher needs of a job, whatever runs in the worker: a training run (startRun) or a Phase F
 * reconstruction (reconstructionLauncher.ts).
 */
export interface WorkerJob {
  jobId: string;
  artifactDir: string;
  /** The resolved plan, written to `<job>/run-config.json` for the worker. */
  config: object;
  /** The job's human-readable log in its folder (`train.log`, `recon.log`). */
  logName: string;
  /** What a refusal says the holder is doing: `trained`, `reconstructed`. */
  activity: string;
  /** Checks `<job>/checkpoint.npz` before a resume starts anything (throws ResumeError). */
  checkResumable(): Promise<unknown>;
  /**
   * A whole manifest for a run whose worker wrote none (its status and reason are set by the caller); `previous`
   * is the folder's earlier manifest, whose creation date and findings carry over.
   */
  failedManifest(at: FailedRunAt): RunManifestLike;
}

type Listener = (e: RunEvent) => void;

export class RunHandle {
  private readonly listeners = new Set<Listener>();
  private readonly stderrTail: string[] = [];
  private cancelTimer?: NodeJS.Timeout;
  private cancelling = false;
  readonly done: Promise<RunExit>;
  lastEvent?: RunEvent;
  readonly jobId: string;
  readonly jobDir: string;

  constructor(
    private readonly job: WorkerJob,
    /** This run's id, passed to the worker and recorded in its manifest. */
    readonly runId: string,
    private readonly child: ChildProcess,
    private readonly lock: JobLock | undefined,
    private readonly startedAt: Date,
  ) {
    this.jobId = job.jobId;
    this.jobDir = job.artifactDir;
    child.on('message', (m: unknown) => {
      if (!m || typeof m !== 'object' || !RUN_EVENT_TYPES.includes((m as RunEvent).type)) return;
      this.lastEvent = m as RunEvent;
      for (const l of this.listeners) l(m as RunEvent);
    });
    let partial = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) this.pushStderr(l);
    });
    child.stdout?.resume();
    this.done = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        if (partial) this.pushStderr(partial);
        clearTimeout(this.cancelTimer);
        void this.settle(code, signal).then(resolve);
      });
      child.on('error', (err) => {
        this.pushStderr(`failed to start the worker: ${err.message}`);
        // A worker that never started emits no 'exit': settle here, or the run (and its lock) would hang.
        if (child.pid === undefined) void this.settle(null, null).then(resolve);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get stderr(): readonly string[] {
    return this.stderrTail;
  }

  private pushStderr(line: string): void {
    if (!line.trim()) return;
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
  }

  onEvent(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Asks the worker to stop after its current step (it checkpoints and reports `cancelled`, with `reason` when given). */
  cancel(graceMs = CANCEL_GRACE_MS, reason?: string): void {
    if (this.cancelling || this.child.exitCode !== null) return;
    this.cancelling = true;
    const msg: WorkerCommand = { type: 'cancel', ...(reason ? { reason: reason.slice(0, 300) } : {}) };
    if (this.child.connected) this.child.send(msg, () => undefined);
    else this.child.kill('SIGTERM');
    this.cancelTimer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    this.cancelTimer.unref();
  }

  /** Stops the worker at once (SIGKILL); the last epoch's checkpoint stays on disk. */
  kill(): void {
    this.child.kill('SIGKILL');
  }

  /**
   * After exit: make the manifest tell the truth if the worker could not. Only a manifest carrying this run's
   * id is believed; anything else (the previous run's `succeeded`, no manifest, ours still `running`) means the
   * worker died without recording its end, so the run is `failed` with the signal or exit code and stderr.
   */
  private async settle(code: number | null, signal: NodeJS.Signals | null): Promise<RunExit> {
    try {
      const manifest = await readJobManifest(this.jobDir);
      const ours = manifest?.runId === this.runId ? manifest : undefined;
      if (ours && (ours.status === 'succeeded' || ours.status === 'cancelled' || ours.status === 'failed')) {
        return { jobId: this.jobId, runId: this.runId, status: ours.status, code, signal, reason: ours.reason };
      }
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = this.stderrTail.slice(-12);
      const last = [...tail].reverse().find((l) => !/^\s+at /.test(l)); // the error, not a stack frame
      const reason = `The worker ${how} before finishing${last ? `: ${last}` : ''}. Files written before that are kept (the last checkpoint can be resumed).`;
      const event: FailedEvent = { type: 'failed', time: new Date().toISOString(), jobId: this.jobId, message: reason, exitCode: code, signal, stderrTail: tail };
      try {
        await appendLines(path.join(this.jobDir, ARTIFACT.events), [JSON.stringify(event)]);
        await appendLines(path.join(this.jobDir, this.job.logName), [`[${event.time}] ${describeEvent(event)}`, ...tail.map((l) => `[${event.time}]   stderr: ${l}`)]);
        await recordFailure(this.job, this.runId, reason, { manifest, pid: this.child.pid, startedAt: this.startedAt });
      } catch {
        // The job folder is gone or unwritable; the exit is still reported.
      }
      for (const l of this.listeners) l(event);
      return { jobId: this.jobId, runId: this.runId, status: 'failed', code, signal, reason };
    } finally {
      this.lock?.release();
    }
  }
}

/** The training job of a RunConfig, for the launcher. */
function trainingJob(config: RunConfig): WorkerJob {
  return {
    jobId: config.jobId,
    artifactDir: config.artifactDir,
    config,
    logName: ARTIFACT.trainLog,
    activity: 'trained',
    checkResumable: async () => checkLaunchKey(config, await checkResumable(config.artifactDir, config.jobId)),
    failedManifest: (at) => failedTrainingManifest(config, at),
  };
}

/**
 * Refuses, before anything is written, a resume whose settings differ from those that wrote the checkpoint (its
 * `launchKey`; checkpoints written before launch keys are checked by the worker only), naming the settings that
 * differ when the job's run-config.json is the configuration that wrote it.
 */
async function checkLaunchKey(config: RunConfig, state: Record<string, unknown>): Promise<void> {
  const next = { ...config, training: resolveTrainingSettings(config.training) };
  await refuseOtherSettings(config, state, launchKeyOf(next), async () => {
    const ran = await readRunConfig(config.artifactDir, { forComparison: true });
    ran.training = resolveTrainingSettings(ran.training);
    const support = (c: RunConfig): 'centre' | 'full' => resolveObjectSupport(c.training, c.gridsize);
    // A gridsize-2 run from before the default became the full support (README item 29) meets 'auto' here.
    const hint = next.training.objectSupport === 'auto' && support(ran) !== support(next)
      ? `gridsize ${config.gridsize} predicts the object on ${support(next) === 'full' ? 'all N × N' : 'the central N/2'} by default now: --object-support ${support(ran)} (ptychoStudy.training.objectSupport '${support(ran)}') resumes this checkpoint`
      // A checkpoint is tied to the path of the file it was trained on: a study moved or copied elsewhere is
      // other data as far as the key can tell.
      : path.resolve(ran.trainPath) !== path.resolve(config.trainPath)
        ? `it was trained on ${ran.trainPath}, this run reads ${config.trainPath}: a checkpoint resumes only on the file it was trained on, so move the study back to where it was trained`
        : undefined;
    return { key: launchKeyOf(ran), differences: fingerprintDifferences(ran, next), ...(hint ? { hint } : {}) };
  }, 'ptycho-study train --restart, or Train in VS Code');
}

/**
 * The launch-key check of a resume (training and Phase F): refused with ResumeError when the checkpoint's `launchKey`
 * differs from `key`, listing the differences that `ranWith` finds when the job's run-config.json is the plan that
 * wrote the checkpoint, and its hint of how to resume. A checkpoint without a launch key (older versions) is left to
 * the worker's check.
 */
export async function refuseOtherSettings(
  job: { jobId: string; artifactDir: string }, state: Record<string, unknown>, key: string,
  ranWith: () => Promise<{ key: string; differences: string[]; hint?: string }>, restart: string,
): Promise<void> {
  if (typeof state.launchKey !== 'string' || state.launchKey === key) return;
  let differences: string[] = [];
  let hint: string | undefined;
  try {
    const ran = await ranWith();
    if (ran.key === state.launchKey) ({ differences, hint } = ran);
  } catch {
    // No readable record of the settings that ran: the refusal stands without the list.
  }
  const file = path.join(job.artifactDir, ARTIFACT.checkpoint);
  const which = differences.length ? ` (${differences.join('; ')})` : '';
  const how = hint ? ` (${hint})` : '';
  throw new ResumeError(`${job.jobId}: cannot resume from ${file}: it was written with other settings${which}. Resume with the settings it ran with${how}, or start over (${restart}). The job was left as it was.`);
}

/** `failed` with `reason` for run `runId` of `job` (manifestWriter.recordFailedRun). */
async function recordFailure(job: WorkerJob, runId: string, reason: string, at: { manifest?: JobManifest; pid?: number; startedAt: Date }): Promise<void> {
  await recordFailedRun(job.artifactDir, runId, reason, at.manifest, (previous) => job.failedManifest({ runId, startedAt: at.startedAt, pid: at.pid, previous }));
}

/**
 * Refuses to start a job whose manifest says a live process runs it (a worker of a version without run locks,
 * or one on another host with a fresh heartbeat), judged as readRunRecord does.
 */
export async function assertNotRunning(jobDir: string): Promise<void> {
  const m = await readJobManifest(jobDir);
  if (m?.status === 'running' && !runningProcessGone(m.runtime, new Date())) {
    throw new RunAlreadyActiveError(`${m.job?.id ?? jobDir} is already running (pid ${m.runtime?.pid} on ${m.runtime?.hostname}); cancel it first.`);
  }
}

/**
 * Starts a training run: takes the job's run lock (refused, with the holder's pid and host, while another run
 * has it), checks the checkpoint of a resume before anything costly, writes `<job>/run-config.json` and forks
 * the worker with a fresh run id. The CLI and the VS Code launcher both come through here.
 */
export async function startRun(config: RunConfig, options: LaunchOptions): Promise<RunHandle> {
  if (options.threads !== undefined) checkRequestedThreads(options.threads, options.threadsSource === 'setting' ? 'ptychoStudy.training.threads' : '--threads');
  const threadArgs = options.threads ? ['--threads', String(options.threads), '--threads-source', options.threadsSource ?? 'cli'] : [];
  return launchWorker(trainingJob(config), options, threadArgs);
}

/**
 * Starts any job in a worker process (training: startRun; reconstruction: startReconstruction): the run lock,
 * the resume check, run-config.json, the fork with a fresh run id and `extraArgs`.
 */
export async function launchWorker(job: WorkerJob, options: Omit<LaunchOptions, 'threads' | 'threadsSource'>, extraArgs: string[] = []): Promise<RunHandle> {
  const dir = job.artifactDir;
  const jobId = job.jobId;
  if (options.resume && options.restart) throw new ResumeError(`${jobId}: resume and restart exclude each other.`);
  const startedAt = new Date();
  const runId = newRunId(startedAt);
  await writing(jobId, dir, () => fs.promises.mkdir(dir, { recursive: true }));
  let lock: JobLock;
  try {
    lock = acquireJobLock(dir, { jobId, runId, activity: job.activity });
  } catch (err) {
    throw explainIoError(err, jobId, path.join(dir, LOCK_FILE));
  }
  let wroteNothing = true;
  try {
    await assertNotRunning(dir);
    if (options.resume) await job.checkResumable();
    wroteNothing = false;
    // A fresh run never overwrites the previous one: its files move to runs/<its run id>/ (a resume continues it).
    if (!options.resume) await writing(jobId, path.join(dir, RUNS_DIR), () => archivePreviousRun(dir));
    if (options.restart) await writing(jobId, path.join(dir, ARTIFACT.checkpoint), () => fs.promises.rm(path.join(dir, ARTIFACT.checkpoint), { force: true }));
    await writing(jobId, path.join(dir, ARTIFACT.runConfig), () => writeJsonAtomic(path.join(dir, ARTIFACT.runConfig), job.config));
    const args = ['--job-dir', dir, '--run-id', runId, ...(options.resume ? ['--resume'] : []), ...(options.detached ? ['--detached'] : []), ...extraArgs];
    const child = fork(options.workerScript, args, {
      execPath: options.nodePath ?? process.execPath,
      detached: options.detached ?? false,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: options.env ?? process.env,
      serialization: 'json',
    });
    try {
      lock.setWorker(child.pid);
    } catch {
      // The lock still names this launcher; the worker is recorded only to survive the launcher's death.
    }
    return new RunHandle(job, runId, child, lock, startedAt);
  } catch (err) {
    const e = explainIoError(err, jobId);
    // A refused start (busy, bad checkpoint) leaves the folder as it was; a write that failed is recorded.
    if (!wroteNothing && isIoFailure(err)) await recordFailure(job, runId, (e as Error).message, { startedAt }).catch(() => undefined);
    lock.release();
    throw e;
  }
}
