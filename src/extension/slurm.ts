// Slurm in VS Code (issue 14): *Submit to Slurm…* on the Study node, a dose node or a job submits the matching
// training jobs as one job array through the same core as `ptycho-study submit` (core/run/slurm.ts), with the
// `ptychoStudy.slurm.*` options and the folder's training settings frozen into the plan; and a tracker that,
// while a recorded submission has unfinished tasks, polls `squeue` every 10 s so the tree shows each queued task's
// Slurm state and reason (pending: Resources, Priority, JobArrayTaskLimit, …). Once a task runs, its job folder's
// manifest is the truth, as for any run; Cancel of a queued task is `scancel <array>_<task>`.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { planSubmission, queueStates, readSubmissions, SlurmError, submitJobs, type QueueState, type SlurmOptions } from '../core/run/slurm';
import type { StudyJob } from '../core/study';
import { UserError, MANAGE_TRUST, type CommandContext } from './commands';
import type { JobsNode } from './jobsTree';
import { SECTION, trainingSettingsFor } from './settings';
import type { StudyModel } from './studyModel';

/** A queued or running Slurm task of a job. */
export interface SlurmTaskState extends QueueState {
  arrayJobId: string;
  task: number;
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const POLL_MS = 10_000;

export function slurmOptionsFor(folder: vscode.WorkspaceFolder | undefined): SlurmOptions {
  const cfg = vscode.workspace.getConfiguration(SECTION, folder?.uri);
  const str = (k: string): string | undefined => (cfg.get<string>(k) || undefined);
  const int = (k: string): number | undefined => {
    const v = cfg.get<number>(k);
    return typeof v === 'number' && v > 0 ? v : undefined;
  };
  return {
    partition: str('slurm.partition'), time: str('slurm.time'), mem: str('slurm.mem'), account: str('slurm.account'),
    cpusPerTask: int('slurm.cpusPerTask'), gpusPerTask: int('slurm.gpusPerTask'), arrayLimit: int('slurm.arrayLimit'),
  };
}

/** Follows the recorded submissions of every folder; `stateOf(job)` is what the tree shows. */
export class SlurmTracker implements vscode.Disposable {
  private states = new Map<string, SlurmTaskState>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly model: StudyModel, private readonly log: vscode.LogOutputChannel) {}

  /** The job's queued task, unless its manifest already records that task's run as finished (the truth). */
  stateOf(job: StudyJob): SlurmTaskState | undefined {
    const st = this.states.get(job.artifactDir);
    if (st && FINAL.has(job.state) && job.run?.manifest.scheduler?.arrayJobId === st.arrayJobId) return undefined;
    return st;
  }

  /** Polls now and keeps polling every 10 s while some recorded task has not finished. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    let active = false;
    try {
      const next = new Map<string, SlurmTaskState>();
      const byDir = new Map(this.model.allJobs().map((j) => [j.artifactDir, j]));
      const arrays = new Map<string, { task: number; artifactDir: string }[]>();
      for (const s of this.model.folders) {
        if (!s.layout) continue;
        for (const sub of await readSubmissions(s.layout.artifactRoot)) {
          const open = sub.tasks.filter((t) => {
            const job = byDir.get(t.artifactDir);
            // Unfinished: no manifest of this submission's run yet, or one still running.
            return job && !(FINAL.has(job.state) && job.run?.manifest.scheduler?.arrayJobId === sub.slurmJobId);
          });
          if (open.length) arrays.set(sub.slurmJobId, open.map((t) => ({ task: t.index, artifactDir: t.artifactDir })));
        }
      }
      if (arrays.size > 0) {
        const q = queueStates([...arrays.keys()]);
        if (q) {
          for (const [array, tasks] of arrays) {
            for (const t of tasks) {
              const st = q.get(`${array}_${t.task}`);
              if (st) {
                next.set(t.artifactDir, { ...st, arrayJobId: array, task: t.task });
                active = true;
              }
            }
          }
        } else {
          this.log.warn('squeue could not run: the Slurm states of submitted jobs are not shown.');
        }
      }
      const before = JSON.stringify([...this.states]);
      this.states = next;
      if (JSON.stringify([...next]) !== before) {
        this.changed.fire();
        this.model.requestRefresh(0); // tasks that started or ended wrote their manifests
      }
    } finally {
      this.polling = false;
      if (this.timer) clearTimeout(this.timer);
      this.timer = active ? setTimeout(() => void this.poll(), POLL_MS) : undefined;
    }
  }

  /** scancel of a job's queued or running task. */
  cancel(job: StudyJob): boolean {
    const st = this.stateOf(job);
    if (!st) return false;
    const r = spawnSync('scancel', [`${st.arrayJobId}_${st.task}`], { encoding: 'utf8', timeout: 20_000 });
    if (r.error || r.status !== 0) throw new UserError(`scancel ${st.arrayJobId}_${st.task} failed: ${(r.stderr || r.error?.message || '').trim()}`);
    this.log.info(`scancel ${st.arrayJobId}_${st.task} (${job.id})`);
    void this.poll();
    return true;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}

export type SubmitArg = JobsNode | { jobIds?: string[]; dose?: number; confirm?: boolean } | undefined;

/** Submit to Slurm…: the jobs of the node (Study: all; dose: its jobs; job: that one) as one array. */
export async function submitToSlurmCommand(ctx: CommandContext, tracker: SlurmTracker, arg: SubmitArg): Promise<{ slurmJobId: string; jobs: string[]; dir: string } | undefined> {
  if (!vscode.workspace.isTrusted) throw new UserError('Submitting to Slurm writes files and starts jobs, so it needs a trusted workspace.', [MANAGE_TRUST]);
  await ctx.model.whenIdle();
  if (ctx.model.refreshCount === 0) await ctx.model.refresh();
  const study = ctx.model.folders.find((s) => s.layout && s.jobs.length > 0);
  if (!study?.layout) throw new UserError('No study in this workspace to submit.');
  let jobs: StudyJob[] = study.jobs;
  let confirm = true;
  if (arg && 'kind' in arg) {
    if (arg.kind === 'dose') jobs = study.jobs.filter((j) => j.dose === arg.dose);
    else if (arg.kind === 'job') jobs = [arg.job];
  } else if (arg) {
    if (arg.jobIds) jobs = study.jobs.filter((j) => arg.jobIds!.includes(j.id));
    if (arg.dose !== undefined) jobs = jobs.filter((j) => j.dose === arg.dose);
    confirm = arg.confirm !== false;
  }
  const layout = study.layout;
  const roots = { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot };
  const { configs, skipped } = planSubmission(jobs, trainingSettingsFor(study.folder), roots, path.join(ctx.extensionPath, 'dist', 'worker.js'));
  if (configs.length === 0) throw new UserError(`Nothing to submit: ${skipped.map((s) => `${s.id} (${s.reason})`).join('; ') || 'no job'}.`);
  const options = slurmOptionsFor(study.folder);
  if (confirm) {
    const go = `Submit ${configs.length} job${configs.length === 1 ? '' : 's'}`;
    const opts = Object.entries(options).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${v}`).join(', ');
    const answer = await vscode.window.showInformationMessage(
      `Submit ${configs.length} training job(s) to Slurm as one job array${opts ? ` (${opts})` : ''}?${skipped.length ? ` Skipped: ${skipped.map((s) => s.id).join(', ')}.` : ''}`,
      { modal: true }, go);
    if (answer !== go) return undefined;
  }
  try {
    const r = await submitJobs(configs, skipped, roots, options, { node: process.execPath, cli: path.join(ctx.extensionPath, 'dist', 'cli.js') });
    ctx.log.info(`Submitted Slurm array ${r.slurmJobId}: ${configs.map((c) => c.jobId).join(', ')} (${r.scriptFile})`);
    void vscode.window.showInformationMessage(`Submitted ${configs.length} job(s) to Slurm as array ${r.slurmJobId}.`);
    void tracker.poll();
    return { slurmJobId: r.slurmJobId, jobs: configs.map((c) => c.jobId), dir: r.dir };
  } catch (err) {
    if (err instanceof SlurmError) throw new UserError(err.message);
    throw err;
  }
}
