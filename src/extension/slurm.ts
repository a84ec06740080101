// Slurm in VS Code (issue 14): *Submit to Slurm…* on the Study node, a dose node or a job submits the matching
// training jobs as one job array through the same core as `ptycho-study submit` (core/run/slurm.ts), with the
// `ptychoStudy.slurm.*` options and the folder's training settings frozen into the plan; and a tracker that,
// while a recorded submission has unfinished tasks, polls `squeue` every 10 s so the tree shows each queued task's
// Slurm state and reason (pending: Resources, Priority, JobArrayTaskLimit, …). Once a task runs, its job folder's
// manifest is the truth, as for any run; Cancel of a queued task is `scancel <array>_<task>`.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SlurmBackend } from '../core/run/backend';
import { FINAL_SLURM_STATES, planSubmission, SlurmError, type QueueState, type SlurmOptions } from '../core/run/slurm';
import type { StudyJob } from '../core/study';
import { UserError, MANAGE_TRUST, type CommandContext } from './commands';
import type { JobsNode } from './jobsTree';
import { SECTION, trainingSettingsFor } from './settings';
import { slurmOptionsFromSettings } from '../core/study/settingsKeys';
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
  return slurmOptionsFromSettings((k) => cfg.get<unknown>(k), { unchecked: true }); // the mapping the CLI shares
}

/** Follows the recorded submissions of every folder; `stateOf(job)` is what the tree shows. */
export class SlurmTracker implements vscode.Disposable {
  private states = new Map<string, SlurmTaskState>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly model: StudyModel, private readonly log: vscode.LogOutputChannel, private readonly extensionPath: string) {}

  /** The job's queued task, unless its manifest already records that task's run as finished (the truth). */
  stateOf(job: StudyJob): SlurmTaskState | undefined {
    const st = this.states.get(job.artifactDir);
    if (st && FINAL.has(job.state) && job.run?.manifest.scheduler?.arrayJobId === st.arrayJobId) return undefined;
    return st;
  }

  private backendOf(artifactRoot: string): SlurmBackend {
    return new SlurmBackend({ artifactRoot }, {}, { node: process.execPath, cli: path.join(this.extensionPath, 'dist', 'cli.js') });
  }

  /** The submissions with queued or running tasks: array job id → the jobs waiting or running in it. */
  activeSubmissions(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const byDir = new Map(this.model.allJobs().map((j) => [j.artifactDir, j.id]));
    for (const [dir, st] of this.states) {
      if (st.state in FINAL_SLURM_STATES) continue;
      const list = out.get(st.arrayJobId) ?? [];
      list.push(byDir.get(dir) ?? dir);
      out.set(st.arrayJobId, list);
    }
    return out;
  }

  /** scancel of a whole array (SlurmBackend.cancelSubmission). */
  async cancelSubmission(arrayJobId: string): Promise<string> {
    const root = this.model.folders.find((s) => s.layout)?.layout?.artifactRoot ?? '';
    try {
      const what = this.backendOf(root).cancelSubmission(arrayJobId);
      this.log.info(what);
      await this.poll();
      return what;
    } catch (err) {
      if (err instanceof SlurmError) throw new UserError(err.message);
      throw err;
    }
  }

  /** The job's task is waiting or running on Slurm (not one that ended before its run started). */
  isQueued(job: StudyJob): boolean {
    const st = this.stateOf(job);
    return !!st && !(st.state in FINAL_SLURM_STATES);
  }

  /** Polls now (the Slurm backend's describe: recorded submissions × squeue × the job folders) and every 10 s while tasks are queued. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    let active = false;
    try {
      const next = new Map<string, SlurmTaskState>();
      for (const s of this.model.folders) {
        if (!s.layout) continue;
        const root = s.layout.artifactRoot;
        let states;
        try {
          states = await this.backendOf(root).describe(s.jobs.map((j) => ({ jobId: j.id, artifactDir: j.artifactDir, artifactRoot: root })));
        } catch (err) {
          this.log.warn(`${(err as Error).message} The Slurm states of submitted jobs are not shown.`);
          continue;
        }
        for (const [dir, st] of states) {
          if (!st.task) continue;
          next.set(dir, { state: st.task.slurmState, reason: st.reason ?? '', arrayJobId: st.task.arrayJobId, task: st.task.index });
          // Queued or running: keep polling; a task that ended without its run recording it is shown, not polled.
          if (!(st.task.slurmState in FINAL_SLURM_STATES)) active = true;
        }
      }
      const before = JSON.stringify([...this.states]);
      this.states = next;
      void vscode.commands.executeCommand('setContext', 'ptychoStudy.slurmActive', active);
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

  /** scancel of a job's queued or running task (the Slurm backend's cancel). */
  async cancel(job: StudyJob): Promise<boolean> {
    const root = this.model.folders.find((s) => s.jobs.includes(job))?.layout?.artifactRoot;
    if (!root || !this.isQueued(job)) return false;
    try {
      const what = await this.backendOf(root).cancel({ jobId: job.id, artifactDir: job.artifactDir, artifactRoot: root });
      this.log.info(what);
    } catch (err) {
      if (err instanceof SlurmError) throw new UserError(err.message);
      throw err;
    }
    void this.poll();
    return true;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}

export type SubmitArg = JobsNode | { jobIds?: string[]; dose?: number; confirm?: boolean; resume?: boolean } | undefined;

/** The training jobs a node (or several selected nodes) stands for: Study: all; dose: its jobs; job: that one. */
function jobsOfNodes(study: { jobs: StudyJob[] }, nodes: readonly JobsNode[]): StudyJob[] {
  const out = new Set<StudyJob>();
  for (const n of nodes) {
    if (n.kind === 'dose') study.jobs.filter((j) => j.dose === n.dose).forEach((j) => out.add(j));
    else if (n.kind === 'job') out.add(n.job);
    else if (n.kind === 'study' || n.kind === 'folder') study.jobs.forEach((j) => out.add(j));
  }
  return [...out];
}

/**
 * Submit to Slurm…: the jobs of the node — or of every selected node (multi-select) — as one array through the
 * Slurm backend (core/run/backend.ts), as `ptycho-study submit` does; `resume` resubmits from the checkpoints.
 */
export async function submitToSlurmCommand(ctx: CommandContext, tracker: SlurmTracker, arg: SubmitArg, selected?: readonly JobsNode[]): Promise<{ slurmJobId: string; jobs: string[]; dir: string } | undefined> {
  if (!vscode.workspace.isTrusted) throw new UserError(vscode.l10n.t('Submitting to Slurm writes files and starts jobs, so it needs a trusted workspace.'), [MANAGE_TRUST]);
  await ctx.model.whenIdle();
  if (ctx.model.refreshCount === 0) await ctx.model.refresh();
  const fromNode = arg && 'kind' in arg ? ctx.model.folders.find((s) => s.folder === arg.study.folder) : undefined;
  const fromIds = arg && !('kind' in arg) && arg.jobIds ? ctx.model.folders.find((s) => s.jobs.some((j) => arg.jobIds!.includes(j.id))) : undefined;
  const study = fromNode ?? fromIds ?? ctx.model.folders.find((s) => s.layout && s.jobs.length > 0);
  if (!study?.layout) throw new UserError(vscode.l10n.t('No study in this workspace to submit.'));
  let jobs: StudyJob[] = study.jobs;
  let confirm = true;
  let resume = false;
  if (arg && 'kind' in arg) {
    jobs = jobsOfNodes(study, selected && selected.length > 1 ? selected : [arg]);
  } else if (arg) {
    if (arg.jobIds) jobs = study.jobs.filter((j) => arg.jobIds!.includes(j.id));
    if (arg.dose !== undefined) jobs = jobs.filter((j) => j.dose === arg.dose);
    confirm = arg.confirm !== false;
    resume = arg.resume === true;
  }
  const layout = study.layout;
  const roots = { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot };
  const { configs, skipped } = planSubmission(jobs, trainingSettingsFor(study.folder), roots, path.join(ctx.extensionPath, 'dist', 'worker.js'));
  if (configs.length === 0) throw new UserError(vscode.l10n.t('Nothing to submit: {0}.', skipped.map((s) => `${s.id} (${s.reason})`).join('; ') || vscode.l10n.t('no job')));
  const options = slurmOptionsFor(study.folder);
  if (confirm) {
    const n = configs.length;
    const go = resume
      ? (n === 1 ? vscode.l10n.t('Resubmit {0} job', n) : vscode.l10n.t('Resubmit {0} jobs', n))
      : (n === 1 ? vscode.l10n.t('Submit {0} job', n) : vscode.l10n.t('Submit {0} jobs', n));
    const opts = Object.entries(options).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${v}`).join(', ');
    const withOpts = opts ? ` (${opts})` : '';
    const question = resume
      ? vscode.l10n.t('Resubmit {0} training job(s) to Slurm as one job array, each continuing from its checkpoint{1}?', n, withOpts)
      : vscode.l10n.t('Submit {0} training job(s) to Slurm as one job array{1}?', n, withOpts);
    const answer = await vscode.window.showInformationMessage(
      skipped.length ? vscode.l10n.t('{0} Skipped: {1}.', question, skipped.map((s) => s.id).join(', ')) : question,
      { modal: true }, go);
    if (answer !== go) return undefined;
  }
  try {
    const backend = new SlurmBackend(roots, options, { node: process.execPath, cli: path.join(ctx.extensionPath, 'dist', 'cli.js') });
    const sub = await backend.submit(configs, { resume });
    const r = sub.slurm!;
    const ids = sub.jobs.map((j) => j.jobId);
    ctx.log.info(`Submitted Slurm array ${r.jobId}${resume ? ' (resume)' : ''}: ${ids.join(', ')} (${r.scriptFile})${sub.skipped.length ? `; skipped ${sub.skipped.map((s) => `${s.id}: ${s.reason}`).join('; ')}` : ''}`);
    const done = resume ? vscode.l10n.t('Resubmitted {0} job(s) to Slurm as array {1}.', ids.length, r.jobId) : vscode.l10n.t('Submitted {0} job(s) to Slurm as array {1}.', ids.length, r.jobId);
    void vscode.window.showInformationMessage(sub.skipped.length ? vscode.l10n.t('{0} Skipped {1} (no resumable checkpoint).', done, sub.skipped.map((s) => s.id).join(', ')) : done);
    void tracker.poll();
    return { slurmJobId: r.jobId, jobs: ids, dir: r.dir };
  } catch (err) {
    if (err instanceof SlurmError) throw new UserError(err.message);
    throw err;
  }
}

/**
 * Cancel Slurm Submission…: scancel of a whole array with queued or running tasks — picked from the active ones (or
 * `{ arrayJobId }`), after a confirmation naming its jobs. Running tasks checkpoint and stop; queued ones never start.
 */
export async function cancelSubmissionCommand(ctx: CommandContext, tracker: SlurmTracker, arg?: JobsNode | { arrayJobId?: string; confirm?: boolean }): Promise<string | undefined> {
  await tracker.poll();
  const active = tracker.activeSubmissions();
  if (active.size === 0) throw new UserError(vscode.l10n.t('No Slurm submission of this workspace has queued or running tasks.'));
  let array = arg && !('kind' in arg) ? arg.arrayJobId : undefined;
  if (arg && 'kind' in arg && arg.kind === 'job') array = tracker.stateOf(arg.job)?.arrayJobId;
  if (array === undefined) {
    if (active.size === 1) array = [...active.keys()][0];
    else {
      const pick = await vscode.window.showQuickPick([...active].map(([id, jobs]) => ({ label: vscode.l10n.t('array {0}', id), description: vscode.l10n.t('{0} job(s) queued or running', jobs.length), detail: jobs.join(', '), id })), { title: vscode.l10n.t('Cancel a Slurm submission') });
      array = pick?.id;
    }
  }
  if (array === undefined) return undefined;
  const jobs = active.get(array);
  if (!jobs) throw new UserError(vscode.l10n.t('Slurm array {0} has no queued or running task of this workspace.', array));
  if (!(arg && !('kind' in arg) && arg.confirm === false)) {
    const go = vscode.l10n.t('Cancel Submission');
    const answer = await vscode.window.showWarningMessage(vscode.l10n.t('Cancel Slurm array {0}? {1} — running tasks stop after their step with a checkpoint; queued ones never start.', array, jobs.join(', ')), { modal: true }, go);
    if (answer !== go) return undefined;
  }
  const what = await tracker.cancelSubmission(array);
  ctx.log.info(`${what}: ${jobs.join(', ')}`);
  return array;
}
