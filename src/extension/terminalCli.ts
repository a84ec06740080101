// `ptycho-study` in the integrated terminal: a small launcher for the bundled CLI (dist/cli.js, run by the Node that
// runs the extension host) in the extension's storage, and its folder put first on the PATH of new terminals through
// the extension's environment variable collection — so a job run from the terminal uses the same CLI version as the
// tree. Written at activation (idempotent); a launcher that cannot be written only costs the terminal convenience.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

/** The launcher's folder and file, written (or refreshed) for this extension version. */
export function installTerminalCli(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): { binDir: string; launcher: string } | undefined {
  const cli = path.join(context.extensionPath, 'dist', 'cli.js');
  if (!fs.existsSync(cli)) return undefined;
  const binDir = path.join(context.globalStorageUri.fsPath, 'bin');
  const windows = process.platform === 'win32';
  const launcher = path.join(binDir, windows ? 'ptycho-study.cmd' : 'ptycho-study');
  // The extension host's own runtime: Node in code-server, VS Code's Electron (as Node) on the desktop.
  const text = windows
    ? `@echo off\r\nset ELECTRON_RUN_AS_NODE=1\r\n"${process.execPath}" "${cli}" %*\r\n`
    : `#!/bin/sh\n# ptycho-study: the CLI bundled with the PtychoPINN Study Workbench extension.\nELECTRON_RUN_AS_NODE=1 exec '${process.execPath.replace(/'/g, `'\\''`)}' '${cli.replace(/'/g, `'\\''`)}' "$@"\n`;
  try {
    fs.mkdirSync(binDir, { recursive: true });
    const current = fs.existsSync(launcher) ? fs.readFileSync(launcher, 'utf8') : undefined;
    if (current !== text) {
      const tmp = `${launcher}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, text, { mode: 0o755 });
      fs.renameSync(tmp, launcher);
    }
  } catch (err) {
    log.warn(`ptycho-study is not on the terminal's PATH: ${(err as Error).message}`);
    return undefined;
  }
  const env = context.environmentVariableCollection;
  env.description = 'Puts the bundled ptycho-study CLI on the PATH';
  env.prepend('PATH', `${binDir}${path.delimiter}`);
  return { binDir, launcher };
}
