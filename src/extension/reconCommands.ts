// Phase F from VS Code: Reconstruct (a Phase F node, a job id, or a pick) and the Phase F side of Cancel and
// Resume. Thin handlers over the RunManager, which runs the reconstruction in a worker process through the core
// reconstruction launcher (never in the extension host) on the queue it shares with training.
import * as vscode from 'vscode';
import { parseReconstructionJobId, type ReconstructionJob } from '../core/study/reconstructJobs';
import { inFolder, namedJob, UserError, MANAGE_TRUST, type CommandContext } from './commands';
import type { JobsNode } from './jobsTree';
import { STATE_LABEL } from './jobsTree';
import type { LiveRun } from './runs';
import { cancelJob, type TrainContext } from './trainCommands';

export type ReconArg = string | JobsNode | { jobId: string; folder?: string } | undefined;

/** Whether a command argument names a Phase F job (a `recon` node or an id `dose_<int>/<view>/<split>/<algorithm>`). */
export function isReconArg(arg: unknown): boolean {
  if (arg && typeof arg === 'object' && 'kind' in arg) return (arg as JobsNode).kind === 'recon';
  const id = typeof arg === 'string' ? arg : arg && typeof arg === 'object' && 'jobId' in arg ? (arg as { jobId: unknown }).jobId : undefined;
  return typeof id === 'string' && parseReconstructionJobId(id) !== undefined;
}

const reconstructable = (j: ReconstructionJob): boolean => j.state !== 'missing' && j.state !== 'invalid' && j.state !== 'running';

/** Resolves a command argument to one Phase F job; asks with a quick pick when it names none. */
export async function resolveRecon(ctx: CommandContext, arg: ReconArg, title: string, accept: (j: ReconstructionJob) => boolean = () => true): Promise<ReconstructionJob | undefined> {
  if (arg && typeof arg === 'object' && 'kind' in arg) {
    if (arg.kind === 'recon') return arg.job;
    arg = undefined;
  }
  const { id, folder } = await namedJob(ctx, arg);
  if (id !== undefined) {
    if (!parseReconstructionJobId(id)) throw new UserError(vscode.l10n.t('"{0}" is not a reconstruction job id (expected dose_<int>/<view>/<split>/<algorithm>, e.g. dose_1000/dense/test/epie).', id));
    const matches = ctx.model.findRecons(id).filter(inFolder(folder));
    if (matches.length === 0) throw new UserError(vscode.l10n.t('No reconstruction job {0} in this workspace.', id));
    if (matches.length === 1) return matches[0].job;
  }
  const multi = ctx.model.folders.filter((s) => s.recons.length > 0).length > 1;
  const items = ctx.model.folders.flatMap((s) => s.recons.filter((j) => id === undefined || j.id === id).map((job) => ({
    label: job.id, description: `${STATE_LABEL[job.state]}${multi ? ` · ${s.folder.name}` : ''}`, detail: job.reason, job,
  }))).sort((a, b) => Number(!accept(a.job)) - Number(!accept(b.job)));
  if (items.length === 0) throw new UserError(vscode.l10n.t('No Phase F reconstruction jobs in this workspace. Open a study folder or run "PtychoPINN Study: Generate Demo Study".'));
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: vscode.l10n.t('Choose a reconstruction job (dose/view/split/algorithm)'), matchOnDescription: true, matchOnDetail: true });
  return pick?.job;
}

/** Reconstruct (or, with `resume`, continue from checkpoint.npz) one Phase F job; returns its live run. */
export async function reconstructCommand(ctx: TrainContext, arg: ReconArg, resume = false): Promise<LiveRun | undefined> {
  if (!vscode.workspace.isTrusted) {
    throw new UserError(vscode.l10n.t('{0} starts a worker process and writes files, so it needs a trusted workspace (this one is in Restricted Mode).', resume ? vscode.l10n.t('Resuming a reconstruction') : vscode.l10n.t('Reconstructing')), [MANAGE_TRUST]);
  }
  const job = await resolveRecon(ctx, arg, resume ? vscode.l10n.t('Resume a reconstruction from its checkpoint') : vscode.l10n.t('Reconstruct (iterative, Phase F)'), reconstructable);
  if (!job) return undefined;
  const folder = ctx.model.folderOf(job);
  if (!folder) throw new UserError(vscode.l10n.t('{0} belongs to no workspace folder.', job.id));
  if (job.state === 'missing' || job.state === 'invalid') throw new UserError(vscode.l10n.t('{0} cannot be reconstructed: {1}', job.id, String(job.reason)));
  if (job.state === 'running' && !ctx.runs.get(folder, job)) {
    throw new UserError(vscode.l10n.t('{0} is already running in another process (pid {1}).', job.id, job.run?.manifest.runtime?.pid ?? '?'));
  }
  const [run] = ctx.runs.enqueue([{ job, folder }], resume);
  return run;
}

/** What Reconstruct All takes: a dose's "Iterative (Phase F)" node, or (tests, other extensions) options. */
export type ReconstructAllArg = JobsNode | { dose?: number; confirm?: boolean } | undefined;

/**
 * Reconstruct All: queues every listed Phase F job that has no result yet (ready, dry run, failed, cancelled) — of
 * one dose when started from its "Iterative (Phase F)" node — one after another on the shared queue, after a
 * modal confirmation that says what is skipped and why. Succeeded jobs are left alone (Reconstruct re-runs one).
 */
export async function reconstructAllCommand(ctx: TrainContext, arg: ReconstructAllArg): Promise<LiveRun[]> {
  if (!vscode.workspace.isTrusted) {
    throw new UserError(vscode.l10n.t('Reconstructing starts worker processes and writes files, so it needs a trusted workspace (this one is in Restricted Mode).'), [MANAGE_TRUST]);
  }
  await ctx.model.whenIdle();
  if (ctx.model.refreshCount === 0) await ctx.model.refresh();
  const dose = arg && 'kind' in arg ? (arg.kind === 'reconGroup' ? arg.dose : undefined) : arg?.dose;
  const confirm = !(arg && !('kind' in arg) && arg.confirm === false);
  const candidates = ctx.model.folders.flatMap((s) => s.recons.filter((j) => dose === undefined || j.dose === dose).map((job) => ({ job, folder: s.folder })));
  const runnable = candidates.filter(({ job, folder }) => reconstructable(job) && job.state !== 'succeeded' && !ctx.runs.get(folder, job));
  const doseLabel = dose === undefined ? undefined : dose.toExponential(0).replace('+', '');
  if (runnable.length === 0) {
    throw new UserError(doseLabel === undefined
      ? vscode.l10n.t('No Phase F job to reconstruct: each has succeeded, is running or queued, or lacks valid data.')
      : vscode.l10n.t('No Phase F job of dose {0} to reconstruct: each has succeeded, is running or queued, or lacks valid data.', doseLabel));
  }
  const done = candidates.filter(({ job }) => job.state === 'succeeded').length;
  const blocked = candidates.filter(({ job }) => job.state === 'missing' || job.state === 'invalid').length;
  const busy = candidates.length - runnable.length - done - blocked;
  if (confirm) {
    const go = runnable.length === 1 ? vscode.l10n.t('Reconstruct {0} job', runnable.length) : vscode.l10n.t('Reconstruct {0} jobs', runnable.length);
    const notes = [done && vscode.l10n.t('{0} already succeeded', done), blocked && vscode.l10n.t('{0} lack valid data', blocked), busy && vscode.l10n.t('{0} running or queued', busy)].filter(Boolean);
    const question = doseLabel === undefined
      ? vscode.l10n.t('Queue {0} Phase F reconstruction(s), one after another?', runnable.length)
      : vscode.l10n.t('Queue {0} Phase F reconstruction(s) of dose {1}, one after another?', runnable.length, doseLabel);
    const answer = await vscode.window.showInformationMessage(
      notes.length ? vscode.l10n.t('{0} Skipped: {1}.', question, notes.join(', ')) : question,
      { modal: true }, go,
    );
    if (answer !== go) return [];
  }
  return ctx.runs.enqueue(runnable);
}

/** Reveal Job Folder of a Phase F job (created when it does not exist yet, as for training jobs). */
export async function revealReconFolder(ctx: CommandContext, arg: ReconArg): Promise<void> {
  const job = await resolveRecon(ctx, arg, vscode.l10n.t('Reveal a reconstruction folder'));
  if (!job) return;
  await vscode.workspace.fs.createDirectory(vscode.Uri.file(job.artifactDir));
  await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(job.artifactDir));
}

/** Cancel of a Phase F job: removes it from the queue, or asks its worker to stop after the iteration. */
export async function cancelReconstruction(ctx: TrainContext, arg: ReconArg): Promise<boolean> {
  const job = await resolveRecon(ctx, arg, vscode.l10n.t('Cancel a reconstruction'));
  return job ? cancelJob(ctx, job) : false;
}
