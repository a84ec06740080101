// Choose Study Root…: when a workspace folder holds more than one study, discovery picks one and says so (a note
// in the tree); this command lets the user pick another — one of the studies discovery found, or any folder —
// and pins it as the folder's `ptychoStudy.phaseCRoot` / `phaseDRoot` settings (which take precedence over the
// search), then refreshes.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveStudyRoot, type StudyCandidate } from '../core/study';
import { UserError, type CommandContext } from './commands';
import { SECTION } from './settings';

/** A path as the folder's settings store it: relative inside the folder, absolute outside. */
export function settingPath(folderPath: string, target: string): string {
  const rel = path.relative(folderPath, target);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : target;
}

type Pick = vscode.QuickPickItem & { candidate?: StudyCandidate; browse?: true };

/**
 * `arg`: a folder path (a study folder or a Phase C/D root; used directly, for tests and links) or nothing
 * (quick pick of the studies discovery found in the first folder with more than one, plus Browse…).
 */
export async function chooseStudyRootCommand(ctx: CommandContext, arg?: string): Promise<{ phaseCRoot?: string; phaseDRoot?: string } | undefined> {
  const studies = ctx.model.folders;
  const study = studies.find((s) => s.layout?.ambiguity) ?? studies[0];
  if (!study) throw new UserError(vscode.l10n.t('Open a folder first: Choose Study Root… pins a study for a workspace folder.'));
  const folder = study.folder;
  let candidate: StudyCandidate | undefined;
  if (typeof arg === 'string') {
    candidate = await resolveCandidate(arg);
  } else {
    const ambiguity = study.layout?.ambiguity;
    const found = ambiguity ? [ambiguity.chosen, ...ambiguity.others] : [];
    const items: Pick[] = found.map((c, i) => ({
      label: settingPath(folder.uri.fsPath, c.folder) || '.',
      description: i === 0 ? vscode.l10n.t('in use') : undefined,
      detail: [c.phaseCRoot && vscode.l10n.t('Phase C {0}', c.phaseCRoot), c.phaseDRoot && vscode.l10n.t('Phase D {0}', c.phaseDRoot)].filter(Boolean).join(' · '),
      candidate: c,
    }));
    items.push({ label: `$(folder-opened) ${vscode.l10n.t('Browse…')}`, detail: vscode.l10n.t('A study folder, or a Phase C or Phase D root'), browse: true });
    const picked = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Choose Study Root'), placeHolder: vscode.l10n.t('The study for {0}', folder.name) });
    if (!picked) return undefined;
    if (picked.browse) {
      const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, defaultUri: folder.uri, openLabel: vscode.l10n.t('Use as Study Root') });
      if (!uris?.[0]) return undefined;
      candidate = await resolveCandidate(uris[0].fsPath);
    } else {
      candidate = picked.candidate;
    }
  }
  if (!candidate) return undefined;
  const cfg = vscode.workspace.getConfiguration(SECTION, folder.uri);
  const target = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders.length > 1 ? vscode.ConfigurationTarget.WorkspaceFolder : vscode.ConfigurationTarget.Workspace;
  const roots = {
    phaseCRoot: candidate.phaseCRoot ? settingPath(folder.uri.fsPath, candidate.phaseCRoot) : undefined,
    phaseDRoot: candidate.phaseDRoot ? settingPath(folder.uri.fsPath, candidate.phaseDRoot) : undefined,
  };
  await cfg.update('phaseCRoot', roots.phaseCRoot, target);
  await cfg.update('phaseDRoot', roots.phaseDRoot, target);
  ctx.log.info(`Study root for ${folder.name}: Phase C ${roots.phaseCRoot ?? '(none)'}, Phase D ${roots.phaseDRoot ?? '(none)'}`);
  await ctx.model.refresh();
  return roots;
}

async function resolveCandidate(dir: string): Promise<StudyCandidate> {
  try {
    const found = await resolveStudyRoot(dir);
    const chosen = found.studies[0];
    if (!chosen) throw new Error(`no study in ${dir}`);
    return chosen;
  } catch (err) {
    throw new UserError(vscode.l10n.t('{0} holds no study: {1} Pick a folder with phase_c/phase_d (dose_* folders of .npz files), or one of those roots.', dir, (err as Error).message));
  }
}
