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
import { RUN_COMPARE_VIEW_TYPE, RunComparePanels, type RunComparePanel, type RunSelection } from './runComparePanel';
import { listRunsSync } from '../../core/run/runHistory';

export { COMPARISON_VIEW_TYPE, ComparisonPanels, type ComparisonPanel } from './comparisonPanel';
export { RECONSTRUCTION_VIEW_TYPE, ReconstructionPanels, type ReconstructionPanel } from './reconPanel';
export { RUN_COMPARE_VIEW_TYPE, RunComparePanels, type RunComparePanel } from './runComparePanel';

export interface ResultsApi {
  reconstruction: ReconstructionPanels;
  comparison: ComparisonPanels;
  runCompare: RunComparePanels;
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
    if (!s) throw new UserError(vscode.l10n.t('No workspace folder "{0}".', name));
    return s.folder;
  }
  if (studies.length === 0) throw new UserError(vscode.l10n.t('No study jobs in this workspace to compare. Open a study folder or run "PtychoPINN Study: Generate Demo Study".'));
  if (studies.length === 1) return studies[0].folder;
  const pick = await vscode.window.showQuickPick(studies.map((s) => ({ label: s.folder.name, description: vscode.l10n.t('{0} jobs', s.jobs.length), folder: s.folder })), { title: vscode.l10n.t('Compare the study of which folder?') });
  return pick?.folder;
}

export function registerResultPanels(context: vscode.ExtensionContext, ctx: CommandContext, runs: RunManager, register: Register): ResultsApi {
  // Decoding objects is CPU work on the extension host: two at a time for both panels together.
  const limiter = new Limiter(2);
  const reconstruction = new ReconstructionPanels({ extensionUri: context.extensionUri, model: ctx.model, log: ctx.log, limiter });
  const comparison = new ComparisonPanels({ extensionUri: context.extensionUri, model: ctx.model, runs, log: ctx.log, limiter, recon: reconstruction });
  const runCompare = new RunComparePanels({ extensionUri: context.extensionUri, model: ctx.model, log: ctx.log, limiter });
  context.subscriptions.push(
    reconstruction, comparison, runCompare,
    vscode.window.registerWebviewPanelSerializer(RECONSTRUCTION_VIEW_TYPE, reconstruction),
    vscode.window.registerWebviewPanelSerializer(COMPARISON_VIEW_TYPE, comparison),
    vscode.window.registerWebviewPanelSerializer(RUN_COMPARE_VIEW_TYPE, runCompare),
  );
  register('ptychoStudy.showReconstruction', async (arg?: JobArg): Promise<ReconstructionPanel | undefined> => {
    // A Phase F job opens in the same viewer (its probe beside the metrics).
    if (isReconArg(arg)) {
      const recon = await resolveRecon(ctx, arg as ReconArg, vscode.l10n.t('Show a reconstruction'), (j) => j.state === 'succeeded');
      return recon ? reconstruction.show(recon, ctx.model.folderOf(recon)) : undefined;
    }
    const job = await resolveJob(ctx, arg, vscode.l10n.t('Show a reconstruction'), (j) => j.state === 'succeeded');
    if (!job) return undefined;
    return reconstruction.show(job, ctx.model.folderOf(job));
  });
  register('ptychoStudy.compareStudy', async (arg?: StudyArg): Promise<ComparisonPanel | undefined> => {
    const folder = await resolveStudyFolder(ctx, arg);
    return folder ? comparison.show(folder) : undefined;
  });
  register('ptychoStudy.compareRuns', async (arg?: JobsNode | { runs: RunSelection[] }, selected?: JobsNode[]): Promise<RunComparePanel | undefined> => {
    const selection = await runSelection(ctx, arg, selected);
    return selection ? runCompare.show(selection) : undefined;
  });
  return { reconstruction, comparison, runCompare };
}

type RunCarrier = Extract<JobsNode, { kind: 'job' | 'recon' | 'run' }>;
const carriesRuns = (n: unknown): n is RunCarrier => !!n && typeof n === 'object' && ['job', 'recon', 'run'].includes((n as JobsNode).kind);

/**
 * What Compare Runs compares: the runs (or jobs — their latest runs) multi-selected in the Jobs tree; with one job or
 * run selected, a pick of that job's runs; from the palette, a job with two or more runs, then its runs.
 */
async function runSelection(ctx: CommandContext, arg: JobsNode | { runs: RunSelection[] } | undefined, selected: JobsNode[] | undefined): Promise<RunSelection[] | undefined> {
  if (arg && typeof arg === 'object' && 'runs' in arg && Array.isArray(arg.runs)) {
    if (arg.runs.length < 2) throw new UserError(vscode.l10n.t('Compare Runs needs two or more runs.'));
    return arg.runs;
  }
  const of = (n: RunCarrier): RunSelection => ({
    jobId: n.job.id, folder: n.study.folder.uri.fsPath, ...(n.kind === 'run' && !n.run.latest ? { runId: n.run.id } : {}),
  });
  const nodes = (selected && selected.length > 1 ? selected : arg ? [arg] : []).filter(carriesRuns);
  if (nodes.length > 1) return nodes.map(of);
  let job = nodes[0]?.job;
  let folder = nodes[0]?.study.folder;
  if (!job) {
    await ctx.model.whenIdle();
    if (ctx.model.refreshCount === 0) await ctx.model.refresh();
    const candidates = ctx.model.folders.flatMap((s) => [...s.jobs, ...s.recons].map((j) => ({ j, folder: s.folder, n: listRunsSync(j.artifactDir).length })).filter((c) => c.n >= 2));
    if (candidates.length === 0) throw new UserError(vscode.l10n.t('No job has two or more runs to compare. Train a job again (its earlier run is kept), or select runs of several jobs in the Jobs tree and use Compare Runs.'));
    const pick = await vscode.window.showQuickPick(candidates.map((c) => ({ label: c.j.id, description: vscode.l10n.t('{0} runs', c.n), detail: c.folder.name, c })), { title: vscode.l10n.t('Compare the runs of which job?') });
    if (!pick) return undefined;
    job = pick.c.j;
    folder = pick.c.folder;
  }
  const entries = listRunsSync(job.artifactDir);
  if (entries.length < 2) throw new UserError(entries.length === 0
    ? vscode.l10n.t('{0} has not run yet: select runs of several jobs in the Jobs tree (Ctrl/Cmd-click) to compare them, or train it again.', job.id)
    : vscode.l10n.t('{0} has one run: select runs of several jobs in the Jobs tree (Ctrl/Cmd-click) to compare them, or train it again.', job.id));
  const f = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(3));
  const picks = await vscode.window.showQuickPick(entries.map((r, i) => ({
    label: r.latest ? vscode.l10n.t('{0} (latest)', r.id) : r.id, description: `${r.status}${r.epochs !== undefined ? ` · ${r.epochs}` : ''} · r ${f(r.amplitudeR)} / ${f(r.phaseR)}`,
    picked: i < 2, r,
  })), { title: vscode.l10n.t('Compare runs of {0}', job.id), placeHolder: vscode.l10n.t('Pick two or more runs'), canPickMany: true });
  if (!picks) return undefined;
  if (picks.length < 2) throw new UserError(vscode.l10n.t('Compare Runs needs two or more runs: pick at least two.'));
  return picks.map((p) => ({ jobId: job!.id, ...(folder ? { folder: folder.uri.fsPath } : {}), ...(p.r.latest ? {} : { runId: p.r.id }) }));
}
