// Command handlers. Each command takes a job id, a tree node or nothing (then it asks with a quick pick),
// and returns its result so tests and other extensions can use it.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseJobId, type StudyJob } from '../core/study';
import { PlanError } from '../core/run/plan';
import { writeDryRun, type DryRunResult } from '../core/run/dryRun';
import { DEMO_FOLDER, generateDemoStudy, studyExistsAt, type DemoResult } from './demoStudy';
import { STATE_LABEL, type JobsNode } from './jobsTree';
import { demoImagesFor, trainingSettingsFor } from './settings';
import type { StudyModel } from './studyModel';

export interface CommandContext {
  model: StudyModel;
  log: vscode.LogOutputChannel;
  extensionPath: string;
}

export type JobArg = string | JobsNode | { jobId: string; folder?: string } | undefined;

/**
 * The job id and workspace folder a command argument names (a string id or `{ jobId, folder }`; nothing for a
 * tree node of another kind or no argument), once the study model is current.
 */
export async function namedJob(ctx: CommandContext, arg: JobArg): Promise<{ id?: string; folder?: string }> {
  await ctx.model.whenIdle();
  if (ctx.model.refreshCount === 0) await ctx.model.refresh();
  if (typeof arg === 'string') return { id: arg };
  if (arg && typeof arg === 'object' && 'jobId' in arg) return { id: arg.jobId, folder: arg.folder };
  return {};
}

/** Whether a match lies in the workspace folder named (by name or path; any folder when none is named). */
export const inFolder = (folder: string | undefined) => (m: { folder: vscode.WorkspaceFolder }): boolean => !folder || m.folder.name === folder || m.folder.uri.fsPath === folder;

/** Resolves a command argument to one job; asks with a quick pick when it names none. */
export async function resolveJob(ctx: CommandContext, arg: JobArg, title: string, accept: (j: StudyJob) => boolean = () => true): Promise<StudyJob | undefined> {
  if (arg && typeof arg === 'object' && 'kind' in arg) {
    if (arg.kind === 'job') return arg.job;
    arg = undefined;
  }
  const { id, folder } = await namedJob(ctx, arg);
  if (id !== undefined) {
    if (!parseJobId(id)) throw new UserError(vscode.l10n.t('"{0}" is not a job id (expected dose_<int>/<view>/gs<g>, e.g. dose_1000/baseline/gs1).', id));
    const matches = ctx.model.findJobs(id).filter(inFolder(folder));
    if (matches.length === 0) throw new UserError(vscode.l10n.t('No job {0} in this workspace.', id));
    if (matches.length === 1) return matches[0].job;
    arg = undefined; // ambiguous across workspace folders: ask
  }
  const candidates = ctx.model.folders.flatMap((s) => s.jobs.map((job) => ({ job, folder: s.folder })));
  if (candidates.length === 0) throw new UserError(vscode.l10n.t('No study jobs in this workspace. Open a study folder or run "PtychoPINN Study: Generate Demo Study".'));
  const multi = ctx.model.folders.filter((s) => s.jobs.length > 0).length > 1;
  const items = candidates
    .filter((c) => id === undefined || c.job.id === id)
    .map((c) => ({
      label: c.job.id,
      description: `${STATE_LABEL[c.job.state]}${multi ? ` · ${c.folder.name}` : ''}`,
      detail: c.job.reason,
      job: c.job,
    }))
    .sort((a, b) => Number(!accept(a.job)) - Number(!accept(b.job)));
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: vscode.l10n.t('Choose a job'), matchOnDescription: true, matchOnDetail: true });
  return pick?.job;
}

/** A button on an error message: runs a command. */
export interface ErrorAction {
  title: string;
  command: string;
}

/** An error meant for the user: shown as-is, without a stack, with optional buttons. */
export class UserError extends Error {
  constructor(message: string, readonly actions: ErrorAction[] = []) {
    super(message);
    this.name = 'UserError';
  }
}

export const MANAGE_TRUST: ErrorAction = {
  get title(): string {
    return vscode.l10n.t('Manage Workspace Trust');
  },
  command: 'workbench.trust.manage',
};

export function requireTrust(action: string): void {
  if (!vscode.workspace.isTrusted) {
    throw new UserError(vscode.l10n.t('{0} writes files, so it needs a trusted workspace (this one is in Restricted Mode). Trust this folder to enable it; browsing and validating the study work without it.', action), [MANAGE_TRUST]);
  }
}

export async function dryRunCommand(ctx: CommandContext, arg: JobArg): Promise<DryRunResult | undefined> {
  requireTrust(vscode.l10n.t('A dry run'));
  const job = await resolveJob(ctx, arg, vscode.l10n.t('Dry run: plan a training job without training'), (j) => j.state !== 'missing');
  if (!job) return undefined;
  const folder = ctx.model.folderOf(job);
  try {
    const result = await writeDryRun(job, {
      settings: trainingSettingsFor(folder),
      workerScript: path.join(ctx.extensionPath, 'dist', 'worker.js'),
    });
    ctx.log.info(`Dry run ${job.id}: wrote ${result.manifestPath}${result.plan.runnable ? '' : ` — NOT runnable: ${result.plan.blockers.join(' ')}`}`);
    ctx.model.requestRefresh(0);
    const open = vscode.l10n.t('Open Manifest');
    const log = vscode.l10n.t('Open Log');
    const message = result.plan.runnable
      ? vscode.l10n.t('Dry run of {0} planned: {1} patterns, N={2}, {3}.', job.id, result.plan.config.trainPatterns, result.plan.config.n, result.plan.providers.candidates.join(' → '))
      : vscode.l10n.t('Dry run of {0} written, but the job is not runnable: {1}', job.id, result.plan.blockers[0]);
    const show = result.plan.runnable ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
    void show(message, open, log).then((choice) => {
      if (choice === open) void vscode.window.showTextDocument(vscode.Uri.file(result.manifestPath));
      if (choice === log) void vscode.window.showTextDocument(vscode.Uri.file(result.logPath));
    });
    return result;
  } catch (err) {
    if (err instanceof PlanError) throw new UserError(err.message);
    throw err;
  }
}

export interface DemoArgs {
  /** Folder to create the study in; default <workspace folder>/demo-study. */
  outDir?: string;
  nImages?: number;
  /** Replace an existing study there without asking. */
  overwrite?: boolean;
}

export async function generateDemoCommand(ctx: CommandContext, args: DemoArgs = {}): Promise<DemoResult | undefined> {
  requireTrust(vscode.l10n.t('Generating a demo study'));
  const folders = vscode.workspace.workspaceFolders ?? [];
  let folder = folders[0];
  if (!args.outDir) {
    if (folders.length === 0) throw new UserError(vscode.l10n.t('Open a folder first: the demo study is written into the workspace.'));
    if (folders.length > 1) {
      folder = (await vscode.window.showWorkspaceFolderPick({ placeHolder: vscode.l10n.t('Workspace folder to write the demo study into') }))!;
      if (!folder) return undefined;
    }
  }
  const outDir = args.outDir ?? path.join(folder.uri.fsPath, DEMO_FOLDER);
  if (studyExistsAt(outDir) && !args.overwrite) {
    const replace = vscode.l10n.t('Replace');
    const answer = await vscode.window.showWarningMessage(vscode.l10n.t('{0} already holds a study. Replace its Phase C and Phase D files?', outDir), { modal: true }, replace);
    if (answer !== replace) return undefined;
  }
  const nImages = args.nImages ?? (folder ? demoImagesFor(folder) : 400);
  const result = await generateDemoStudy(path.join(ctx.extensionPath, 'dist', 'cli.js'), { outDir, nImages }, ctx.log);
  if (!result) return undefined;
  ctx.log.info(`Demo study written to ${outDir}: ${result.files.length} files in ${result.seconds.toFixed(1)} s.`);
  await ctx.model.refresh();
  void vscode.window.showInformationMessage(vscode.l10n.t('Demo study generated in {0}/ ({1} files, {2} s).', path.basename(outDir), result.files.length, result.seconds.toFixed(1)));
  return result;
}

export async function revealArtifactsCommand(ctx: CommandContext, arg: JobArg): Promise<void> {
  const job = await resolveJob(ctx, arg, vscode.l10n.t('Reveal a job folder'));
  if (!job) return;
  await vscode.workspace.fs.createDirectory(vscode.Uri.file(job.artifactDir));
  await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(job.artifactDir));
}

export async function openDatasetCommand(ctx: CommandContext, arg: JobArg): Promise<void> {
  const job = await resolveJob(ctx, arg, vscode.l10n.t('Open a job dataset'), (j) => j.train.exists);
  if (!job) return;
  if (!job.train.exists) throw new UserError(vscode.l10n.t('{0} has no training file: {1}', job.id, String(job.reason)));
  await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(job.train.path));
}
