// The parent side of a training run (used by the CLI and the extension): writes the plan, forks the bundled
// worker, relays its typed events, cancels it (cancel message → the worker checkpoints and stops), and when the
// worker dies without saying so (SIGKILL, a crash, out of memory) records `failed` with the signal or exit code
// and the last stderr lines, keeping everything already written.
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appendLines, writeJsonAtomic } from '../atomic';
import { ARTIFACT } from '../study/layout';
import { isProcessAlive, type JobManifest, type RunStatus } from '../study/manifest';
import type { RunConfig } from '../study/plan';
import { checkRequestedThreads } from '../runtime/threads';
import { describeEvent, RUN_EVENT_TYPES, type FailedEvent, type RunEvent, type WorkerCommand } from './events';

export interface LaunchOptions {
  /** Absolute path of dist/worker.js. */
  workerScript: string;
  /** Node executable for the worker (default: this process's). */
  nodePath?: string;
  resume?: boolean;
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

type Listener = (e: RunEvent) => void;

export class RunHandle {
  private readonly listeners = new Set<Listener>();
  private readonly stderrTail: string[] = [];
  private cancelTimer?: NodeJS.Timeout;
  private cancelling = false;
  readonly done: Promise<RunExit>;
  lastEvent?: RunEvent;

  constructor(readonly jobId: string, readonly jobDir: string, private readonly child: ChildProcess) {
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
      child.on('error', (err) => this.pushStderr(`failed to start the worker: ${err.message}`));
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

  /** Asks the worker to stop after its current step (it checkpoints and reports `cancelled`). */
  cancel(graceMs = CANCEL_GRACE_MS): void {
    if (this.cancelling || this.child.exitCode !== null) return;
    this.cancelling = true;
    const msg: WorkerCommand = { type: 'cancel' };
    if (this.child.connected) this.child.send(msg, () => undefined);
    else this.child.kill('SIGTERM');
    this.cancelTimer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    this.cancelTimer.unref();
  }

  /** Stops the worker at once (SIGKILL); the last epoch's checkpoint stays on disk. */
  kill(): void {
    this.child.kill('SIGKILL');
  }

  /** After exit: make the manifest tell the truth if the worker could not. */
  private async settle(code: number | null, signal: NodeJS.Signals | null): Promise<RunExit> {
    const manifestPath = path.join(this.jobDir, ARTIFACT.manifest);
    let manifest: JobManifest | undefined;
    try {
      manifest = JSON.parse(await fs.promises.readFile(manifestPath, 'utf8')) as JobManifest;
    } catch {
      manifest = undefined;
    }
    const workerPid = this.child.pid;
    const stillRunning = manifest?.status === 'running' && manifest.runtime?.pid === workerPid;
    if (manifest && !stillRunning && (manifest.status === 'succeeded' || manifest.status === 'cancelled' || manifest.status === 'failed')) {
      return { jobId: this.jobId, status: manifest.status, code, signal, reason: manifest.reason };
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const tail = this.stderrTail.slice(-12);
    const reason = `The worker ${how} before finishing${tail.length ? `: ${tail.at(-1)}` : ''}. Files written before that are kept (the last checkpoint can be resumed).`;
    const event: FailedEvent = { type: 'failed', time: new Date().toISOString(), jobId: this.jobId, message: reason, exitCode: code, signal, stderrTail: tail };
    try {
      await appendLines(path.join(this.jobDir, ARTIFACT.events), [JSON.stringify(event)]);
      await appendLines(path.join(this.jobDir, ARTIFACT.trainLog), [`[${event.time}] ${describeEvent(event)}`, ...tail.map((l) => `[${event.time}]   stderr: ${l}`)]);
      if (manifest) {
        const now = new Date().toISOString();
        manifest.status = 'failed';
        manifest.reason = reason;
        manifest.updatedAt = now;
        manifest.finishedAt = now;
        if (manifest.timing) manifest.timing.finishedAt = now;
        await writeJsonAtomic(manifestPath, manifest);
      }
    } catch {
      // The job folder is gone or unwritable; the exit is still reported.
    }
    for (const l of this.listeners) l(event);
    return { jobId: this.jobId, status: 'failed', code, signal, reason };
  }
}

/** Refuses to start a job whose manifest says a live process is running it. */
export async function assertNotRunning(jobDir: string): Promise<void> {
  try {
    const m = JSON.parse(await fs.promises.readFile(path.join(jobDir, ARTIFACT.manifest), 'utf8')) as JobManifest;
    if (m.status === 'running' && m.runtime?.pid !== undefined && isProcessAlive(m.runtime.pid)) {
      throw new RunAlreadyActiveError(`${m.job?.id ?? jobDir} is already running (pid ${m.runtime.pid}); cancel it first.`);
    }
  } catch (err) {
    if (err instanceof RunAlreadyActiveError) throw err;
  }
}

/** Writes `<job>/run-config.json` and forks the worker on it. */
export async function startRun(config: RunConfig, options: LaunchOptions): Promise<RunHandle> {
  const dir = config.artifactDir;
  if (options.threads !== undefined) checkRequestedThreads(options.threads, options.threadsSource === 'setting' ? 'ptychoStudy.training.threads' : '--threads');
  await assertNotRunning(dir);
  await fs.promises.mkdir(dir, { recursive: true });
  await writeJsonAtomic(path.join(dir, ARTIFACT.runConfig), config);
  const args = [
    '--job-dir', dir, ...(options.resume ? ['--resume'] : []),
    ...(options.threads ? ['--threads', String(options.threads), '--threads-source', options.threadsSource ?? 'cli'] : []),
  ];
  const child = fork(options.workerScript, args, {
    execPath: options.nodePath ?? process.execPath,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: options.env ?? process.env,
    serialization: 'json',
  });
  return new RunHandle(config.jobId, dir, child);
}
