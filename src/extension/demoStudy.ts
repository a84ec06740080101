// "Generate demo study": runs `ptycho-study simulate` in a child process (the simulation is CPU work
// that must not block the extension host), with a cancellable progress notification.
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

export interface DemoOptions {
  /** Study folder to create (default: <first workspace folder>/demo-study). */
  outDir: string;
  nImages: number;
  size?: number;
  seed?: number;
}

export interface DemoResult {
  outDir: string;
  files: string[];
  seconds: number;
}

export const DEMO_FOLDER = 'demo-study';

/** Runs the CLI's simulate command; resolves with its JSON report, rejects with its last error line. */
export function generateDemoStudy(cliPath: string, options: DemoOptions, log: vscode.LogOutputChannel): Thenable<DemoResult | undefined> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Generating demo study'), cancellable: true },
    (progress, token) => new Promise<DemoResult | undefined>((resolve, reject) => {
      const args = ['simulate', '--out', options.outDir, '--n-images', String(options.nImages), '--json'];
      if (options.size) args.push('--size', String(options.size));
      if (options.seed !== undefined) args.push('--seed', String(options.seed));
      log.info(`Running ${path.basename(cliPath)} ${args.join(' ')}`);
      const child = fork(cliPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
      let stdout = '';
      let lastErr = '';
      let reported = 0;
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => {
        for (const line of d.toString().split('\n').filter(Boolean)) {
          lastErr = line;
          const m = /^\[\s*(\d+)%\]\s*(.*)$/.exec(line);
          if (m) {
            const pct = Number(m[1]);
            progress.report({ increment: Math.max(0, pct - reported), message: m[2] });
            reported = Math.max(reported, pct);
          } else {
            log.info(`simulate: ${line}`);
          }
        }
      });
      const cancel = token.onCancellationRequested(() => {
        log.info('Demo study generation cancelled by the user.');
        child.kill('SIGINT'); // the CLI aborts cleanly; its writes are atomic
      });
      child.on('error', (err) => {
        cancel.dispose();
        reject(err);
      });
      child.on('exit', (code, signal) => {
        cancel.dispose();
        if (token.isCancellationRequested) return resolve(undefined);
        if (code !== 0) return reject(new Error(lastErr.replace(/^ptycho-study simulate: /, '') || `simulate exited with ${signal ?? code}`));
        try {
          const report = JSON.parse(stdout) as { files: string[]; seconds: number };
          resolve({ outDir: options.outDir, files: report.files, seconds: report.seconds });
        } catch (err) {
          reject(new Error(`simulate printed no report: ${(err as Error).message}`));
        }
      });
    }),
  );
}

export function studyExistsAt(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'phase_c')) || fs.existsSync(path.join(dir, 'phase_d'));
}
