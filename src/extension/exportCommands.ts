// Data leaves the workbench where researchers take it next: Export for Ptychodus (Ptychodus's NPZ product format,
// core/export/ptychodus.ts) and Open in Notebook (a NumPy + matplotlib notebook beside the job, core/export/notebook.ts,
// opened in VS Code's notebook editor). Both work for training and Phase F jobs and write only into the job's folder.
import * as vscode from 'vscode';
import { exportPtychodusProduct, PTYCHODUS_PRODUCT_FILE, PtychodusExportError } from '../core/export/ptychodus';
import { NotebookError, writeJobNotebook } from '../core/export/notebook';
import * as path from 'node:path';
import { requireTrust, resolveJob, UserError, type CommandContext, type JobArg } from './commands';
import { isReconArg, resolveRecon, type ReconArg } from './reconCommands';

/** The job folder and id a command argument names (a training or a Phase F job with a result). */
async function resultJob(ctx: CommandContext, arg: JobArg | ReconArg, title: string): Promise<{ id: string; dir: string; kind: 'train' | 'reconstruct' } | undefined> {
  if (isReconArg(arg)) {
    const job = await resolveRecon(ctx, arg as ReconArg, title, (j) => j.state === 'succeeded');
    return job && { id: job.id, dir: job.artifactDir, kind: 'reconstruct' };
  }
  const job = await resolveJob(ctx, arg as JobArg, title, (j) => j.state === 'succeeded');
  return job && { id: job.id, dir: job.artifactDir, kind: 'train' };
}

export async function exportForPtychodus(ctx: CommandContext, arg: JobArg | ReconArg): Promise<string | undefined> {
  requireTrust(vscode.l10n.t('Exporting for Ptychodus'));
  const job = await resultJob(ctx, arg, vscode.l10n.t('Export a reconstruction for Ptychodus'));
  if (!job) return undefined;
  const out = path.join(job.dir, PTYCHODUS_PRODUCT_FILE);
  try {
    const r = await exportPtychodusProduct(job.dir, out, { jobId: job.id });
    ctx.log.info(`Exported ${job.id} for Ptychodus: ${r.outFile} (object ${r.object.height}×${r.object.width}, ${r.positions.count} positions, pixel ${r.pixelSize.meters} m${r.pixelSize.assumed ? ', assumed' : ''})`);
    for (const n of r.notes) ctx.log.info(`  note: ${n}`);
    const reveal = vscode.l10n.t('Reveal in Explorer');
    const assumed = r.pixelSize.assumed ? ` ${vscode.l10n.t('The pixel size is assumed ({0} m): the data records none.', r.pixelSize.meters.toPrecision(4))}` : '';
    void vscode.window.showInformationMessage(vscode.l10n.t('Exported {0} for Ptychodus: {1}.', job.id, path.basename(r.outFile)) + assumed, reveal).then((c) => {
      if (c === reveal) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(r.outFile));
    });
    return r.outFile;
  } catch (err) {
    if (err instanceof PtychodusExportError) throw new UserError(err.message);
    throw err;
  }
}

export async function openInNotebook(ctx: CommandContext, arg: JobArg | ReconArg): Promise<string | undefined> {
  requireTrust(vscode.l10n.t('Writing a notebook'));
  const job = await resultJob(ctx, arg, vscode.l10n.t('Open a job\'s results in a notebook'));
  if (!job) return undefined;
  try {
    const written = await writeJobNotebook(job.dir, { jobId: job.id, kind: job.kind });
    ctx.log.info(`Wrote the notebook of ${job.id}: ${written.file}${written.replaced === 'ours' ? ' (refreshed)' : ''}`);
    const doc = await vscode.workspace.openNotebookDocument(vscode.Uri.file(written.file));
    await vscode.window.showNotebookDocument(doc);
    return written.file;
  } catch (err) {
    if (err instanceof NotebookError) throw new UserError(err.message);
    throw err;
  }
}
