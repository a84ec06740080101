// Registration of the result panels — the reconstruction viewer (ptychoStudy.showReconstruction) and the
// study comparison (ptychoStudy.compareStudy) — with their panel serializers, and the API they add to
// WorkbenchApi (tests and the benchmark reach the panels, their message channels and renders through it).
import * as vscode from 'vscode';
import { resolveJob, UserError, type CommandContext, type JobArg } from '../commands';
import { isReconArg, resolveRecon, type ReconArg } from '../reconCommands';
import type { JobsNode } from '../jobsTree';
import type { RunManager } from '../runs';
import { COMPARISON_VIEW_TYPE, ComparisonPanels, type ComparisonPanel } from './comparisonPanel';
import { Limiter } from './reconData';
import { RECONSTRUCTION_VIEW_TYPE, ReconstructionPanels, type ReconstructionPanel } from './reconPanel';

export { COMPARISON_VIEW_TYPE, ComparisonPanels, type ComparisonPanel } from './comparisonPanel';
export { RECONSTRUCTION_VIEW_TYPE, ReconstructionPanels, type ReconstructionPanel } from './reconPanel';

export interface ResultsApi {
  reconstruction: ReconstructionPanels;
  comparison: ComparisonPanels;
}

type Register = <A extends unknown[], R>(id: string, fn: (...args: A) => Promise<R>) => void;

/** A Jobs-tree node, a workspace folder name or uri, or nothing (the one study, or a pick). */
export type StudyArg = JobsNode | { folder?: string } | string | undefined;

export async function resolveStudyFolder(ctx: CommandContext, arg: StudyArg): Promise<vscode.WorkspaceFolder | undefined> {
  await ctx.model.whenIdle();
  if (ctx.model.refreshCount === 0) await ctx.model.refresh();
  if (arg && typeof arg === 'object' && 'kind' in arg && 'study' in arg) return arg.study.folder;
  const name = typeof arg === 'string' ? arg : arg && typeof arg === 'object' && 'folder' in arg ? arg.folder : undefined;
  const studies = ctx.model.folders.filter((s) => s.jobs.length > 0);
  if (name) {
    const s = ctx.model.folders.find((x) => x.folder.name === name || x.folder.uri.toString() === name || x.folder.uri.fsPath === name);
    if (!s) throw new UserError(`No workspace folder "${name}".`);
    return s.folder;
  }
  if (studies.length === 0) throw new UserError('No study jobs in this workspace to compare. Open a study folder or run "PtychoPINN Study: Generate Demo Study".');
  if (studies.length === 1) return studies[0].folder;
  const pick = await vscode.window.showQuickPick(studies.map((s) => ({ label: s.folder.name, description: `${s.jobs.length} jobs`, folder: s.folder })), { title: 'Compare the study of which folder?' });
  return pick?.folder;
}

export function registerResultPanels(context: vscode.ExtensionContext, ctx: CommandContext, runs: RunManager, register: Register): ResultsApi {
  // Decoding objects is CPU work on the extension host: two at a time for both panels together.
  const limiter = new Limiter(2);
  const reconstruction = new ReconstructionPanels({ extensionUri: context.extensionUri, model: ctx.model, log: ctx.log, limiter });
  const comparison = new ComparisonPanels({ extensionUri: context.extensionUri, model: ctx.model, runs, log: ctx.log, limiter, recon: reconstruction });
  context.subscriptions.push(
    reconstruction, comparison,
    vscode.window.registerWebviewPanelSerializer(RECONSTRUCTION_VIEW_TYPE, reconstruction),
    vscode.window.registerWebviewPanelSerializer(COMPARISON_VIEW_TYPE, comparison),
  );
  register('ptychoStudy.showReconstruction', async (arg?: JobArg): Promise<ReconstructionPanel | undefined> => {
    // A Phase F job opens in the same viewer (its probe beside the metrics).
    if (isReconArg(arg)) {
      const recon = await resolveRecon(ctx, arg as ReconArg, 'Show a reconstruction', (j) => j.state === 'succeeded');
      return recon ? reconstruction.show(recon, ctx.model.folderOf(recon)) : undefined;
    }
    const job = await resolveJob(ctx, arg, 'Show a reconstruction', (j) => j.state === 'succeeded');
    if (!job) return undefined;
    return reconstruction.show(job, ctx.model.folderOf(job));
  });
  register('ptychoStudy.compareStudy', async (arg?: StudyArg): Promise<ComparisonPanel | undefined> => {
    const folder = await resolveStudyFolder(ctx, arg);
    return folder ? comparison.show(folder) : undefined;
  });
  return { reconstruction, comparison };
}
