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
    if (!parseReconstructionJobId(id)) throw new UserError(`"${id}" is not a reconstruction job id (expected dose_<int>/<view>/<split>/<algorithm>, e.g. dose_1000/dense/test/epie).`);
    const matches = ctx.model.findRecons(id).filter(inFolder(folder));
    if (matches.length === 0) throw new UserError(`No reconstruction job ${id} in this workspace.`);
    if (matches.length === 1) return matches[0].job;
  }
  const multi = ctx.model.folders.filter((s) => s.recons.length > 0).length > 1;
  const items = ctx.model.folders.flatMap((s) => s.recons.filter((j) => id === undefined || j.id === id).map((job) => ({
    label: job.id, description: `${STATE_LABEL[job.state]}${multi ? ` · ${s.folder.name}` : ''}`, detail: job.reason, job,
  }))).sort((a, b) => Number(!accept(a.job)) - Number(!accept(b.job)));
  if (items.length === 0) throw new UserError('No Phase F reconstruction jobs in this workspace. Open a study folder or run "PtychoPINN Study: Generate Demo Study".');
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: 'Choose a reconstruction job (dose/view/split/algorithm)', matchOnDescription: true, matchOnDetail: true });
  return pick?.job;
}

/** Reconstruct (or, with `resume`, continue from checkpoint.npz) one Phase F job; returns its live run. */
export async function reconstructCommand(ctx: TrainContext, arg: ReconArg, resume = false): Promise<LiveRun | undefined> {
  if (!vscode.workspace.isTrusted) {
    throw new UserError(`${resume ? 'Resuming a reconstruction' : 'Reconstructing'} starts a worker process and writes files, so it needs a trusted workspace (this one is in Restricted Mode).`, [MANAGE_TRUST]);
  }
  const job = await resolveRecon(ctx, arg, resume ? 'Resume a reconstruction from its checkpoint' : 'Reconstruct (iterative, Phase F)', reconstructable);
  if (!job) return undefined;
  const folder = ctx.model.folderOf(job);
  if (!folder) throw new UserError(`${job.id} belongs to no workspace folder.`);
  if (job.state === 'missing' || job.state === 'invalid') throw new UserError(`${job.id} cannot be reconstructed: ${job.reason}`);
  if (job.state === 'running' && !ctx.runs.get(folder, job)) {
    throw new UserError(`${job.id} is already running in another process (pid ${job.run?.manifest.runtime?.pid ?? '?'}).`);
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
    throw new UserError('Reconstructing starts worker processes and writes files, so it needs a trusted workspace (this one is in Restricted Mode).', [MANAGE_TRUST]);
  }
  await ctx.model.whenIdle();
  if (ctx.model.refreshCount === 0) await ctx.model.refresh();
  const dose = arg && 'kind' in arg ? (arg.kind === 'reconGroup' ? arg.dose : undefined) : arg?.dose;
  const confirm = !(arg && !('kind' in arg) && arg.confirm === false);
  const candidates = ctx.model.folders.flatMap((s) => s.recons.filter((j) => dose === undefined || j.dose === dose).map((job) => ({ job, folder: s.folder })));
  const runnable = candidates.filter(({ job, folder }) => reconstructable(job) && job.state !== 'succeeded' && !ctx.runs.get(folder, job));
  const where = dose === undefined ? '' : ` of dose ${dose.toExponential(0).replace('+', '')}`;
  if (runnable.length === 0) {
    throw new UserError(`No Phase F job${where} to reconstruct: each has succeeded, is running or queued, or lacks valid data.`);
  }
  const done = candidates.filter(({ job }) => job.state === 'succeeded').length;
  const blocked = candidates.filter(({ job }) => job.state === 'missing' || job.state === 'invalid').length;
  const busy = candidates.length - runnable.length - done - blocked;
  if (confirm) {
    const go = `Reconstruct ${runnable.length} job${runnable.length === 1 ? '' : 's'}`;
    const notes = [done && `${done} already succeeded`, blocked && `${blocked} lack valid data`, busy && `${busy} running or queued`].filter(Boolean);
    const answer = await vscode.window.showInformationMessage(
      `Queue ${runnable.length} Phase F reconstruction(s)${where}, one after another?${notes.length ? ` Skipped: ${notes.join(', ')}.` : ''}`,
      { modal: true }, go,
    );
    if (answer !== go) return [];
  }
  return ctx.runs.enqueue(runnable);
}

/** Reveal Job Folder of a Phase F job (created when it does not exist yet, as for training jobs). */
export async function revealReconFolder(ctx: CommandContext, arg: ReconArg): Promise<void> {
  const job = await resolveRecon(ctx, arg, 'Reveal a reconstruction folder');
  if (!job) return;
  await vscode.workspace.fs.createDirectory(vscode.Uri.file(job.artifactDir));
  await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(job.artifactDir));
}

/** Cancel of a Phase F job: removes it from the queue, or asks its worker to stop after the iteration. */
export async function cancelReconstruction(ctx: TrainContext, arg: ReconArg): Promise<boolean> {
  const job = await resolveRecon(ctx, arg, 'Cancel a reconstruction');
  return job ? cancelJob(ctx, job) : false;
}
