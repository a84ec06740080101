// Score on Another Dataset… (`ptychoStudy.scoreOnDataset`): what `ptycho-study score` does (core/run/scoreRun.ts) for
// a finished training job of the tree — its model on an .npz the user picks (another specimen, another split). The
// bundled CLI runs it in a child process (onnxruntime never loads in the extension host), under a cancellable
// progress notification; the result goes to the output channel and a message with the headline numbers.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ScoreResult } from '../core/run/scoreRun';
import { describeScore } from '../core/run/scoreSummary';
import { requireTrust, resolveJob, UserError, type CommandContext, type JobArg } from './commands';
import { trainingThreadsFor } from './settings';

/** Longest output kept from the child (the JSON result is a few kB; an error a line). */
const MAX_OUTPUT = 4 << 20;

/** The child's outcome: its exit code and what it printed. */
function runCli(cli: string, args: string[], token: vscode.CancellationToken): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    // In desktop VS Code process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it a plain Node for the CLI.
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => { if (out.length < MAX_OUTPUT) out += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { if (err.length < MAX_OUTPUT) err += b.toString(); });
    const cancel = token.onCancellationRequested(() => child.kill('SIGINT')); // the CLI's Ctrl-C: exit 130
    child.on('error', (e) => { cancel.dispose(); reject(e); });
    child.on('close', (code) => { cancel.dispose(); resolve({ code, out, err }); });
  });
}

/**
 * Scores a finished training job's model on a dataset: `dataPath` given (automation, tests) or picked in a file
 * dialog. Returns the result (undefined when nothing was picked or the user cancelled).
 */
export async function scoreOnDataset(ctx: CommandContext, arg: JobArg, dataPath?: string): Promise<ScoreResult | undefined> {
  requireTrust(vscode.l10n.t('Scoring a model'));
  const job = await resolveJob(ctx, arg, vscode.l10n.t('Score a trained model on another dataset'), (j) => j.state === 'succeeded');
  if (!job) return undefined;
  if (job.state !== 'succeeded') throw new UserError(vscode.l10n.t('{0} has no finished model to score: train it first.', job.id));
  let data = dataPath;
  if (data === undefined) {
    const picked = await vscode.window.showOpenDialog({
      title: vscode.l10n.t('Score {0} on…', job.id), openLabel: vscode.l10n.t('Score'), canSelectMany: false,
      filters: { [vscode.l10n.t('NumPy archives')]: ['npz'] }, defaultUri: vscode.Uri.file(path.dirname(job.artifactDir)),
    });
    if (!picked?.length) return undefined;
    data = picked[0].fsPath;
  }
  const threads = trainingThreadsFor(ctx.model.folderOf(job));
  const args = ['score', job.artifactDir, '--data', data, '--json', ...(threads ? ['--threads', String(threads)] : [])];
  const cli = path.join(ctx.extensionPath, 'dist', 'cli.js');
  ctx.log.info(`Scoring ${job.id} on ${data}…`);
  const r = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Scoring {0} on {1}', job.id, path.basename(data)), cancellable: true },
    (_progress, token) => runCli(cli, args, token),
  );
  if (r.code === 130) {
    ctx.log.info(`Scoring ${job.id} was cancelled.`);
    return undefined;
  }
  const last = r.out.trim().split('\n').pop() ?? '';
  let parsed: (ScoreResult & { type?: string }) | { error?: { message: string } } | undefined;
  try {
    parsed = JSON.parse(last) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (r.code !== 0 || !parsed || !('type' in parsed)) {
    const message = (parsed && 'error' in parsed && parsed.error?.message) || r.err.trim().split('\n').pop() || `the scorer exited with code ${r.code}`;
    ctx.log.error(`Scoring ${job.id} on ${data} failed: ${message}`);
    throw new UserError(vscode.l10n.t('{0} could not be scored on {1}: {2}', job.id, path.basename(data), message));
  }
  const result = parsed as ScoreResult;
  for (const line of describeScore(result)) ctx.log.info(line);
  const m = result.metrics as Record<string, { pearsonCovered?: number; msSsim?: number } | undefined>;
  const f = (v: number | undefined): string => (typeof v === 'number' ? v.toFixed(3) : '—');
  const headline = vscode.l10n.t('{0} on {1}: amplitude r {2}, phase r {3}; MS-SSIM {4} / {5} (flat 0 / {6}).', job.id, path.basename(data),
    f(m.amplitude?.pearsonCovered), f(m.phase?.pearsonCovered), f(m.amplitude?.msSsim), f(m.phase?.msSsim),
    f((result.metrics.flat as Record<string, { msSsim?: number }> | null)?.phase?.msSsim));
  const show = vscode.l10n.t('Show Output');
  void vscode.window.showInformationMessage(headline + (result.notes.length ? ` ${result.notes[0]}` : ''), show).then((c) => {
    if (c === show) ctx.log.show(true);
  });
  return result;
}
