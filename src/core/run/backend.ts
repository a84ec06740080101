// Where a training run executes (issue 14): one interface, two implementations. `local` starts each job in a
// worker process on this machine (the launcher: run lock, resume check, worker; detached runs outlive their
// launcher); `slurm` freezes the jobs into one job array (slurm.ts) whose tasks run the same worker on compute
// nodes. Whatever the backend, the job folder is the contract once a run has started — manifest (status,
// heartbeat, scheduler), events.jsonl, the log — so following a run (`attach`) is the same for both, and a
// backend only adds what happens before that (a queue) and how to stop it.
import { spawnSync } from 'node:child_process';
import { readRunRecord, type RunStatus } from '../study/manifest';
import { cancelExternalRun } from './cancelExternal';
import { startRun, type LaunchOptions, type RunHandle } from './launcher';
import { ProgressReader, type LiveProgress } from './liveProgress';
import type { RunConfig } from './plan';
import { checkResumable } from './resume';
import { FINAL_SLURM_STATES, finishedTaskState, queueStates, readSubmissions, SlurmError, submitJobs, type SlurmOptions, type SubmitPlan } from './slurm';

export type BackendKind = 'local' | 'slurm';
export const BACKEND_KINDS: readonly BackendKind[] = ['local', 'slurm'];

/** A job as a backend knows it: its id and folder (and, for tracking submissions, its study's artifact root). */
export interface BackendJob {
  jobId: string;
  artifactDir: string;
  artifactRoot?: string;
}

export interface SubmitOptions {
  /** Continue each job from its checkpoint.npz (jobs without a resumable checkpoint are skipped, with the reason). */
  resume?: boolean;
}

/** What a submission started: local worker handles, or a Slurm array. */
export interface Submission {
  backend: BackendKind;
  jobs: BackendJob[];
  skipped: { id: string; reason: string }[];
  /** local: one handle per started job, in order. */
  handles?: RunHandle[];
  /** slurm: the array's job id, its folder, plan and script. */
  slurm?: { jobId: string; submitId: string; dir: string; planFile: string; scriptFile: string };
}

/** Where a job stands as its backend sees it. */
export interface BackendState {
  /** `queued`: waiting in the backend's queue (Slurm PENDING); otherwise the job folder's status, or `none`. */
  state: 'queued' | RunStatus | 'none';
  /** The scheduler's reason for a queued task, or the manifest's for a finished run. */
  reason?: string;
  /** slurm: `<arrayJobId>_<task>` and Slurm's own state name, while the task is in the queue. */
  task?: { arrayJobId: string; index: number; slurmState: string };
}

/** A run followed from its job folder (the same for every backend; a closed window re-attaches this way). */
export interface AttachedRun {
  readonly job: BackendJob;
  /** Reads what the run wrote since the last call: its status (the manifest; a dead worker reads `failed`) and progress. */
  poll(): Promise<{ status: RunStatus | 'none'; reason?: string; progress: LiveProgress }>;
}

export interface Backend {
  readonly kind: BackendKind;
  /** Starts (local) or submits (slurm) the frozen jobs. */
  submit(configs: readonly RunConfig[], options?: SubmitOptions): Promise<Submission>;
  /** Where each job stands, by artifact folder. */
  describe(jobs: readonly BackendJob[]): Promise<Map<string, BackendState>>;
  /** Stops a job's run (local: the worker checkpoints and stops; slurm: scancel of its task). Says what it did. */
  cancel(job: BackendJob): Promise<string>;
  /** Follows a job's run from its folder. */
  attach(job: BackendJob): AttachedRun;
}

/** Follows a run from its job folder: manifest status (heartbeat-checked) and events.jsonl progress. */
export function attachRun(job: BackendJob): AttachedRun {
  const reader = new ProgressReader(job.artifactDir);
  return {
    job,
    async poll() {
      const record = await readRunRecord(job.artifactDir);
      const since = typeof record?.manifest.startedAt === 'string' ? record.manifest.startedAt : undefined;
      const progress = await reader.poll(since);
      return { status: record?.status ?? 'none', reason: record?.reason, progress };
    },
  };
}

/** Splits configs into those with a resumable checkpoint and those without (with the reason). */
async function resumable(configs: readonly RunConfig[]): Promise<{ ok: RunConfig[]; skipped: { id: string; reason: string }[] }> {
  const ok: RunConfig[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const c of configs) {
    try {
      await checkResumable(c.artifactDir, c.jobId);
      ok.push(c);
    } catch (err) {
      skipped.push({ id: c.jobId, reason: (err as Error).message });
    }
  }
  return { ok, skipped };
}

type FolderState = BackendState & { arrayJobId?: string; startedAt?: string };

async function describeFromFolders(jobs: readonly BackendJob[]): Promise<Map<string, FolderState>> {
  const out = new Map<string, FolderState>();
  for (const j of jobs) {
    const r = await readRunRecord(j.artifactDir);
    const started = r?.manifest.startedAt;
    out.set(j.artifactDir, { state: r?.status ?? 'none', reason: r?.reason, arrayJobId: r?.manifest.scheduler?.arrayJobId, ...(typeof started === 'string' ? { startedAt: started } : {}) });
  }
  return out;
}

/** A submit id's time (`20261203T094629Z-…`) as ISO, to compare with a manifest's startedAt. */
function submittedAt(submitId: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(submitId);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}` : undefined;
}

function strip(m: Map<string, FolderState>): Map<string, BackendState> {
  return new Map([...m].map(([k, { arrayJobId: _a, startedAt: _s, ...v }]) => [k, v]));
}

const FINISHED = new Set<BackendState['state']>(['succeeded', 'failed', 'cancelled']);

/** Local worker processes. `launch` carries the options every run of this backend starts with. */
export class LocalBackend implements Backend {
  readonly kind = 'local' as const;
  private readonly handles = new Map<string, RunHandle>();

  constructor(private readonly launch: LaunchOptions) {}

  /**
   * Starts one run now (the queues of the CLI and VS Code call this one job at a time). Refused — JobLockedError,
   * ResumeError, RunAlreadyActiveError — before anything is written when it cannot start.
   */
  async start(config: RunConfig, overrides: Partial<LaunchOptions> = {}): Promise<RunHandle> {
    const h = await startRun(config, { ...this.launch, ...overrides });
    this.handles.set(config.artifactDir, h);
    void h.done.then(() => this.handles.delete(config.artifactDir));
    return h;
  }

  async submit(configs: readonly RunConfig[], options: SubmitOptions = {}): Promise<Submission> {
    const { ok, skipped } = options.resume ? await resumable(configs) : { ok: [...configs], skipped: [] };
    const handles: RunHandle[] = [];
    for (const c of ok) handles.push(await this.start(c, options.resume !== undefined ? { resume: options.resume } : {}));
    return { backend: 'local', jobs: ok.map((c) => ({ jobId: c.jobId, artifactDir: c.artifactDir })), skipped, handles };
  }

  async describe(jobs: readonly BackendJob[]): Promise<Map<string, BackendState>> {
    return strip(await describeFromFolders(jobs));
  }

  async cancel(job: BackendJob): Promise<string> {
    const own = this.handles.get(job.artifactDir);
    if (own) {
      own.cancel();
      return `cancel sent to ${job.jobId} (worker pid ${own.pid})`;
    }
    // A run of another process (a closed window's detached run, the CLI): SIGINT after the pid/start-time check.
    const { pid } = cancelExternalRun(job.artifactDir, job.jobId);
    return `SIGINT sent to ${job.jobId} (worker pid ${pid}, started elsewhere)`;
  }

  attach(job: BackendJob): AttachedRun {
    return attachRun(job);
  }
}

/** One Slurm job array per submission; its tasks run `ptycho-study train --plan … --index i`. */
export class SlurmBackend implements Backend {
  readonly kind = 'slurm' as const;

  constructor(
    private readonly study: SubmitPlan['study'],
    private readonly options: SlurmOptions,
    /** The node executable and the bundled CLI the tasks run (they must be reachable from the compute nodes). */
    private readonly files: { node: string; cli: string },
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async submit(configs: readonly RunConfig[], options: SubmitOptions = {}): Promise<Submission> {
    const { ok, skipped } = options.resume ? await resumable(configs) : { ok: [...configs], skipped: [] };
    if (ok.length === 0) throw new SlurmError(`Nothing to submit${skipped.length ? `: ${skipped.map((s) => `${s.id} (${s.reason})`).join('; ')}` : ''}.`);
    const w = await submitJobs(ok, skipped, this.study, this.options, this.files, options.resume ?? false);
    return {
      backend: 'slurm', jobs: ok.map((c) => ({ jobId: c.jobId, artifactDir: c.artifactDir, artifactRoot: this.study.artifactRoot })), skipped,
      slurm: { jobId: w.slurmJobId, submitId: w.plan.submitId, dir: w.dir, planFile: w.planFile, scriptFile: w.scriptFile },
    };
  }

  /**
   * The job folders' status, and for each job whose latest recorded submission has not finished in its folder, the
   * task's queue state (squeue). Throws SlurmError when squeue cannot run while tasks are outstanding.
   */
  async describe(jobs: readonly BackendJob[]): Promise<Map<string, BackendState>> {
    const out: Map<string, FolderState> = await describeFromFolders(jobs);
    const roots = new Set(jobs.map((j) => j.artifactRoot ?? this.study.artifactRoot));
    const latest = new Map<string, { arrayJobId: string; index: number; submitId: string }>();
    for (const root of roots) {
      for (const sub of await readSubmissions(root)) {
        for (const t of sub.tasks) {
          const prev = latest.get(t.artifactDir);
          // submit ids are start times: the later submission of a job wins
          if (!prev || sub.submitId > prev.submitId) latest.set(t.artifactDir, { arrayJobId: sub.slurmJobId, index: t.index, submitId: sub.submitId });
        }
      }
    }
    // Outstanding: submitted, and the folder records neither that submission's run as finished nor a run started
    // after it (a local run since then is the job's state, whatever became of the task).
    const outstanding = jobs.filter((j) => {
      const t = latest.get(j.artifactDir);
      const folder = out.get(j.artifactDir)!;
      if (!t || (FINISHED.has(folder.state) && folder.arrayJobId === t.arrayJobId)) return false;
      const at = submittedAt(t.submitId);
      return !(folder.startedAt && at && folder.startedAt.slice(0, 19) > at && folder.arrayJobId !== t.arrayJobId);
    });
    if (outstanding.length === 0) return strip(out);
    const q = queueStates([...new Set(outstanding.map((j) => latest.get(j.artifactDir)!.arrayJobId))], this.env);
    if (!q) throw new SlurmError('squeue could not run: is the Slurm controller reachable from here?');
    for (const j of outstanding) {
      const t = latest.get(j.artifactDir)!;
      const st = q.get(`${t.arrayJobId}_${t.index}`);
      if (!st) {
        // Out of the queue and its run recorded nothing of it: cancelled while pending, killed before it could write
        // (NODE_FAIL, TIMEOUT at start-up), or just finishing. scontrol remembers its end for a while.
        const fin = finishedTaskState(t.arrayJobId, t.index, this.env);
        const mapped = fin ? FINAL_SLURM_STATES[fin.state] : undefined;
        if (fin && mapped && mapped !== 'succeeded') {
          out.set(j.artifactDir, { state: mapped, reason: `${fin.state} on Slurm${fin.reason && fin.reason !== 'None' ? ` (${fin.reason})` : ''} before its run recorded anything`, task: { arrayJobId: t.arrayJobId, index: t.index, slurmState: fin.state } });
        }
        continue; // otherwise the job folder tells
      }
      const folder = out.get(j.artifactDir);
      // A task that has started writes `running` to its manifest; until then the queue is the only truth.
      if (st.state === 'PENDING' || folder?.state !== 'running') {
        out.set(j.artifactDir, { state: st.state === 'PENDING' ? 'queued' : 'running', reason: st.reason, task: { arrayJobId: t.arrayJobId, index: t.index, slurmState: st.state } });
      } else {
        out.set(j.artifactDir, { ...folder!, task: { arrayJobId: t.arrayJobId, index: t.index, slurmState: st.state } });
      }
    }
    return strip(out);
  }

  async cancel(job: BackendJob): Promise<string> {
    const st = (await this.describe([job])).get(job.artifactDir);
    if (!st?.task) throw new SlurmError(`${job.jobId} has no task in the Slurm queue.`);
    const target = `${st.task.arrayJobId}_${st.task.index}`;
    const r = spawnSync('scancel', [target], { encoding: 'utf8', env: this.env, timeout: 20_000 });
    if (r.error || r.status !== 0) throw new SlurmError(`scancel ${target} failed: ${(r.stderr || r.error?.message || '').trim()}`);
    return `scancel ${target} (${job.jobId})`;
  }

  attach(job: BackendJob): AttachedRun {
    return attachRun(job);
  }

  /** scancel of a whole submission (every task of the array: running ones checkpoint and stop, queued ones never start). */
  cancelSubmission(arrayJobId: string): string {
    if (!/^\d+$/.test(arrayJobId)) throw new SlurmError(`${JSON.stringify(arrayJobId)} is not a Slurm job id.`);
    const r = spawnSync('scancel', [arrayJobId], { encoding: 'utf8', env: this.env, timeout: 20_000 });
    if (r.error || r.status !== 0) throw new SlurmError(`scancel ${arrayJobId} failed: ${(r.stderr || r.error?.message || '').trim()}`);
    return `scancel ${arrayJobId}`;
  }
}
