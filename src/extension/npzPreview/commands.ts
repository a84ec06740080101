// Commands that open the NPZ preview: "Open NPZ Preview" (explorer context menu on .npz/.npy files, the
// command palette for the active .npz/.npy) and "Preview Training Data" (Jobs tree context menu: the job's
// training file).
import * as vscode from 'vscode';
import { resolveJob, UserError, type CommandContext, type JobArg } from '../commands';
import { NPZ_PREVIEW_VIEW_TYPE } from './provider';

export type NpzPreviewArg = vscode.Uri | string | JobArg;

const isNumpyFile = (uri: vscode.Uri): boolean => /\.(npz|npy)$/i.test(uri.path);

function activeNumpyUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  const uri = input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom ? input.uri : undefined;
  return uri && isNumpyFile(uri) ? uri : undefined;
}

/** Opens `uri` in the NPZ preview; returns the uri opened. */
export async function openInNpzPreview(uri: vscode.Uri): Promise<vscode.Uri> {
  await vscode.commands.executeCommand('vscode.openWith', uri, NPZ_PREVIEW_VIEW_TYPE);
  return uri;
}

/**
 * ptychoStudy.openNpzPreview: a file Uri (explorer), a path, a Jobs tree node or job id (its training
 * file), or nothing (the active .npz/.npy editor, else a file picker).
 */
export async function openNpzPreviewCommand(ctx: CommandContext, arg?: NpzPreviewArg): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) {
    if (!isNumpyFile(arg)) throw new UserError(vscode.l10n.t('{0} is not a .npz or .npy file.', arg.fsPath));
    return openInNpzPreview(arg);
  }
  if (typeof arg === 'string' && /\.(npz|npy)$/i.test(arg)) return openInNpzPreview(vscode.Uri.file(arg));
  if (arg !== undefined) return previewTrainingDataCommand(ctx, arg as JobArg);
  const active = activeNumpyUri();
  if (active) return openInNpzPreview(active);
  const picked = await vscode.window.showOpenDialog({
    title: vscode.l10n.t('Open NPZ Preview'), canSelectMany: false, openLabel: vscode.l10n.t('Preview'), filters: { [vscode.l10n.t('NumPy arrays')]: ['npz', 'npy'] },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return picked?.[0] ? openInNpzPreview(picked[0]) : undefined;
}

/** ptychoStudy.previewTrainingData: the training .npz of a job (tree node, job id, or a quick pick). */
export async function previewTrainingDataCommand(ctx: CommandContext, arg?: JobArg): Promise<vscode.Uri | undefined> {
  const job = await resolveJob(ctx, arg, vscode.l10n.t('Preview the training data of a job'), (j) => j.train.exists);
  if (!job) return undefined;
  if (!job.train.exists) throw new UserError(vscode.l10n.t('{0} has no training file: {1}', job.id, job.reason ?? job.train.path));
  return openInNpzPreview(vscode.Uri.file(job.train.path));
}
