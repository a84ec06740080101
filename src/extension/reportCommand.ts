// Export Study Report… (Study node, comparison panel toolbar, palette): asks for a folder and writes the study
// report there with the core report writer (src/core/report: comparison_metrics.csv, metrics_summary.json,
// metrics_delta_summary.json, the figure, every job's manifest and PNGs, README.md) — the same folder as
// `ptycho-study report --out DIR`. Runs on the extension host: it reads metrics and writes small files.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ReportError, shellQuote, writeStudyReport, type StudyReport } from '../core/report';
import { UserError, MANAGE_TRUST, type CommandContext } from './commands';
import type { JobsNode } from './jobsTree';

export type ReportArg = JobsNode | { folder?: string; outDir?: string } | string | undefined;

/** How the command asks for the folder (tests replace it). */
export type PickReportFolder = (defaultUri: vscode.Uri) => Promise<vscode.Uri | undefined>;

export const showReportFolderDialog: PickReportFolder = async (defaultUri) => {
  const picked = await vscode.window.showOpenDialog({
    title: vscode.l10n.t('Export Study Report: choose the report folder'), openLabel: vscode.l10n.t('Export Report Here'), defaultUri,
    canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
  });
  return picked?.[0];
};

export interface ReportContext extends CommandContext {
  pickReportFolder: () => PickReportFolder;
  resolveStudyFolder(arg: ReportArg): Promise<vscode.WorkspaceFolder | undefined>;
}

/** The `ptycho-study report` line that writes the same folder (recorded in the report's README). */
export function reportCommandLine(roots: { phaseCRoot?: string; phaseDRoot?: string; artifactRoot: string; phaseFRoot?: string }, outDir: string): string {
  const flags: [string, string | undefined][] = [['phase-c-root', roots.phaseCRoot], ['phase-d-root', roots.phaseDRoot], ['artifact-root', roots.artifactRoot], ['phase-f-root', roots.phaseFRoot], ['out', outDir]];
  return ['ptycho-study', 'report', ...flags.flatMap(([k, v]) => (v ? [`--${k}`, shellQuote(v)] : []))].join(' ');
}

export async function exportStudyReportCommand(ctx: ReportContext, arg: ReportArg): Promise<StudyReport | undefined> {
  if (!vscode.workspace.isTrusted) throw new UserError(vscode.l10n.t('Exporting a study report writes files, so it needs a trusted workspace (this one is in Restricted Mode).'), [MANAGE_TRUST]);
  const given = arg && typeof arg === 'object' && !('kind' in arg) ? arg.outDir : undefined;
  const folder = await ctx.resolveStudyFolder(arg && typeof arg === 'object' && !('kind' in arg) ? { folder: arg.folder } : arg);
  if (!folder) return undefined;
  const study = ctx.model.folders.find((s) => s.folder === folder);
  const layout = study?.layout;
  if (!layout) throw new UserError(study?.error ? vscode.l10n.t('{0} has no study to report: {1}', folder.name, study.error) : vscode.l10n.t('{0} has no study to report.', folder.name));
  const roots = { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot, phaseFRoot: study.phaseFRoot };
  let outDir = given;
  if (!outDir) {
    // Suggested: `report` beside Phase C (the CLI's default), else the workspace folder.
    const near = layout.phaseCRoot ?? layout.phaseDRoot ?? layout.artifactRoot;
    const picked = await ctx.pickReportFolder()(vscode.Uri.file(near ? path.dirname(near) : folder.uri.fsPath));
    if (!picked) return undefined;
    outDir = picked.fsPath;
  }
  const command = reportCommandLine(roots, outDir);
  let report: StudyReport;
  try {
    report = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Exporting the study report to {0}', outDir) },
      () => writeStudyReport({ roots, outDir: outDir!, command }));
  } catch (err) {
    if (err instanceof ReportError) throw new UserError(err.message);
    throw err;
  }
  ctx.log.info(`Study report written to ${report.outDir}: ${report.jobs} job(s) with metrics, ${report.absent.length} without (${command}).`);
  const readme = vscode.l10n.t('Open README');
  const reveal = vscode.l10n.t('Reveal in Explorer');
  void vscode.window.showInformationMessage(
    report.absent.length
      ? vscode.l10n.t('Study report written to {0}: {1} job(s) with metrics, {2} listed as absent.', report.outDir, report.jobs, report.absent.length)
      : vscode.l10n.t('Study report written to {0}: {1} job(s) with metrics.', report.outDir, report.jobs),
    readme, reveal,
  ).then((c) => {
    if (c === readme) void vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(report.files.readme));
    if (c === reveal) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(report.outDir));
  });
  return report;
}
