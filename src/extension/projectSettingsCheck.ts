// Tells the user when a folder's ptycho-study.json cannot be honoured as written (not JSON, too large, a section that
// is not an object, nested too deep): the extension then plans with fewer of its values than the file shows, while
// the terminal's `ptycho-study` prints the same problems on stderr. Checked on activation, on a change to the file
// and when trust is granted; each distinct set of problems is told once (log + a warning with Open File).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readProjectSettingsFile, WORKSPACE_SETTINGS_FILE } from '../core/study/workspaceSettings';

export class ProjectSettingsCheck {
  /** The problems last told per folder (fsPath → warnings; none = an empty list). */
  private readonly told = new Map<string, string[]>();

  /** `onChange` runs after a folder's file changes (the study's roots and listed jobs may follow it). */
  constructor(private readonly log: vscode.LogOutputChannel, private readonly onChange: () => void) {}

  /** Checks every workspace folder's file (nothing in an untrusted workspace, where the file is not read at all). */
  checkAll(): void {
    for (const folder of vscode.workspace.workspaceFolders ?? []) this.checkFolder(folder);
  }

  /** A file-system event (the extension's one watcher): true when it was a folder's ptycho-study.json. */
  fileEvent(uri: vscode.Uri): boolean {
    if (path.basename(uri.fsPath) !== WORKSPACE_SETTINGS_FILE) return false;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (!folder || path.dirname(uri.fsPath) !== folder.uri.fsPath) return false;
    this.checkFolder(folder);
    this.onChange();
    return true;
  }

  /** The problems of the folder's file as last checked (for tests and the log). */
  problems(folder: vscode.WorkspaceFolder): string[] {
    return this.told.get(folder.uri.fsPath) ?? [];
  }

  private checkFolder(folder: vscode.WorkspaceFolder): void {
    if (!vscode.workspace.isTrusted) return;
    const warnings = readProjectSettingsFile(folder.uri.fsPath).warnings;
    if (this.problems(folder).join('\n') === warnings.join('\n')) return;
    this.told.set(folder.uri.fsPath, warnings);
    if (warnings.length === 0) return;
    for (const w of warnings) this.log.warn(w);
    const file = path.join(folder.uri.fsPath, WORKSPACE_SETTINGS_FILE);
    const open = vscode.l10n.t('Open File');
    const show = vscode.l10n.t('Show Log');
    const first = warnings[0].startsWith(`${file}: `) ? warnings[0].slice(file.length + 2) : warnings[0];
    const message = warnings.length === 1
      ? vscode.l10n.t('{0} in {1}: {2}', WORKSPACE_SETTINGS_FILE, folder.name, first)
      : vscode.l10n.t('{0} in {1}: {2} ({3} more in the log)', WORKSPACE_SETTINGS_FILE, folder.name, first, warnings.length - 1);
    void vscode.window.showWarningMessage(message, open, show).then((choice) => {
      if (choice === open) void vscode.window.showTextDocument(vscode.Uri.file(file));
      else if (choice === show) this.log.show(true);
    });
  }
}
