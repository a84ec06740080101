// Train, Train All, Cancel, Resume: thin handlers over the RunManager. Each takes a job id or a tree item, or
// asks with a quick pick, and returns what it started so tests and other extensions can await it.
import * as vscode from 'vscode';
import type { StudyJob } from '../core/study';
import * as path from 'node:path';
import { LocalBackend } from '../core/run/backend';
import { CancelRefusedError } from '../core/run/cancelExternal';
import { resolveJob, UserError, MANAGE_TRUST, type CommandContext, type JobArg } from './commands';
import type { JobsNode } from './jobsTree';
import type { LiveRun, RunJob, RunManager } from './runs';

export interface TrainContext extends CommandContext {
  runs: RunManager;
}

function requireTrust(action: string): void {
  if (!vscode.workspace.isTrusted) {
    throw new UserError(vscode.l10n.t('{0} starts a training process and writes files, so it needs a trusted workspace (this one is in Restricted Mode).', action), [MANAGE_TRUST]);
  }
}

const trainable = (j: StudyJob): boolean => j.state !== 'missing' && j.state !== 'invalid' && j.state !== 'running';

export async function trainCommand(ctx: TrainContext, arg: JobArg, resume = false): Promise<LiveRun | undefined> {
  requireTrust(resume ? vscode.l10n.t('Resuming training') : vscode.l10n.t('Training'));
  const job = await resolveJob(ctx, arg, resume ? vscode.l10n.t('Resume training from the last checkpoint') : vscode.l10n.t('Train a job'), trainable);
  if (!job) return undefined;
  const folder = ctx.model.folderOf(job);
  if (!folder) throw new UserError(vscode.l10n.t('{0} belongs to no workspace folder.', job.id));
  if (job.state === 'missing' || job.state === 'invalid') throw new UserError(vscode.l10n.t('{0} cannot be trained: {1}', job.id, String(job.reason)));
  if (job.state === 'running' && !ctx.runs.get(folder, job)) {
    throw new UserError(vscode.l10n.t('{0} is already running in another process (pid {1}).', job.id, job.run?.manifest.runtime?.pid ?? '?'));
  }
  const [run] = ctx.runs.enqueue([{ job, folder }], resume);
  return run;
}

/** The jobs of a multi-selection in the tree (VS Code passes the clicked node and every selected node). */
export function selectedJobs(selected: readonly unknown[] | undefined): StudyJob[] | undefined {
  if (!Array.isArray(selected) || selected.length < 2) return undefined;
  const jobs = selected.filter((n): n is JobsNode & { kind: 'job' } => !!n && typeof n === 'object' && (n as JobsNode).kind === 'job').map((n) => n.job);
  return jobs.length ? jobs : undefined;
}

/**
 * Train or Resume of several selected jobs: each is queued (skipped with the reason when it cannot be trained); the
 * queue starts them `training.maxConcurrentJobs` at a time.
 */
export function trainSelectedCommand(ctx: TrainContext, jobs: readonly StudyJob[], resume = false): LiveRun[] {
  requireTrust(resume ? vscode.l10n.t('Resuming training') : vscode.l10n.t('Training'));
  const entries: { job: StudyJob; folder: vscode.WorkspaceFolder }[] = [];
  const skipped: string[] = [];
  for (const job of jobs) {
    const folder = ctx.model.folderOf(job);
    if (!folder || !trainable(job)) skipped.push(`${job.id} (${job.reason ?? job.state})`);
    else entries.push({ job, folder });
  }
  if (entries.length === 0) throw new UserError(vscode.l10n.t('None of the selected jobs can be trained: {0}.', skipped.join('; ')));
  if (skipped.length) void vscode.window.showWarningMessage(vscode.l10n.t('Skipped {0}.', skipped.join('; ')));
  return ctx.runs.enqueue(entries, resume);
}

export async function trainAllCommand(ctx: TrainContext): Promise<LiveRun[]> {
  requireTrust(vscode.l10n.t('Training'));
  await ctx.model.whenIdle();
  if (ctx.model.refreshCount === 0) await ctx.model.refresh();
  const entries = ctx.model.folders.flatMap((s) => s.jobs.filter((j) => trainable(j) && !ctx.runs.get(s.folder, j)).map((job) => ({ job, folder: s.folder })));
  if (entries.length === 0) throw new UserError(vscode.l10n.t('No job to train: every job is missing data, invalid, or already running.'));
  const skipped = ctx.model.allJobs().filter((j) => !trainable(j));
  const go = entries.length === 1 ? vscode.l10n.t('Train {0} job', entries.length) : vscode.l10n.t('Train {0} jobs', entries.length);
  const answer = await vscode.window.showInformationMessage(
    skipped.length
      ? vscode.l10n.t('Queue {0} job(s), one after another? {1} job(s) are skipped (missing or invalid data, or running).', entries.length, skipped.length)
      : vscode.l10n.t('Queue {0} job(s), one after another?', entries.length),
    { modal: true }, go,
  );
  if (answer !== go) return [];
  return ctx.runs.enqueue(entries);
}

/** Cancel of a run this window did not start: SIGINT to the worker its manifest records (cancelExternalRun). */
export async function cancelElsewhere(ctx: CommandContext, jobId: string, jobDir: string): Promise<boolean> {
  try {
    // The local backend's cancel of a run it holds no handle of: SIGINT after the pid / start-time / host check.
    const what = await new LocalBackend({ workerScript: path.join(ctx.extensionPath, 'dist', 'worker.js') }).cancel({ jobId, artifactDir: jobDir });
    ctx.log.info(`Cancel: ${what} (started by another window or the CLI).`);
    void vscode.window.showInformationMessage(vscode.l10n.t('Cancelling {0}: its worker stops after the current step and keeps a checkpoint.', jobId));
    ctx.model.requestRefresh(0);
    return true;
  } catch (err) {
    if (err instanceof CancelRefusedError) throw new UserError(err.message);
    throw err;
  }
}

/**
 * Cancels one job of either kind: its run in this window (dequeued, or stopped after its step), else a run of another
 * process through its manifest (cancelElsewhere).
 */
export async function cancelJob(ctx: TrainContext, job: RunJob): Promise<boolean> {
  const run = ctx.runs.get(ctx.model.folderOf(job), job);
  if (!run && job.state === 'running') return cancelElsewhere(ctx, job.id, job.artifactDir);
  if (!run) throw new UserError(vscode.l10n.t('{0} is not running or queued.', job.id));
  ctx.runs.cancel(run);
  return true;
}

export async function cancelCommand(ctx: TrainContext, arg: JobArg): Promise<boolean> {
  const live = ctx.runs.all();
  if (arg !== undefined) {
    // A job running in another process (a detached run left by a closed window, or the CLI): signal its worker.
    const job = await resolveJob(ctx, arg, vscode.l10n.t('Cancel a training job'));
    return job ? cancelJob(ctx, job) : false;
  }
  if (live.length === 0) throw new UserError(vscode.l10n.t('No training or reconstruction job is running or queued in this window.'));
  let run: LiveRun | undefined;
  if (arg === undefined) {
    if (live.length === 1) run = live[0];
    else {
      const pick = await vscode.window.showQuickPick(live.map((r) => ({ label: r.job.id, description: r.state, run: r })), { title: vscode.l10n.t('Cancel a training or reconstruction job') });
      run = pick?.run;
    }
  }
  if (!run) return false;
  ctx.runs.cancel(run);
  return true;
}
