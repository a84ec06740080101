// A finished training job's model put on an .npz the user picks: Score on Another Dataset… (`ptychoStudy.scoreOnDataset`,
// what `ptycho-study score` does: core/run/scoreRun.ts) and Apply Model to Dataset… (`ptychoStudy.applyToDataset`,
// `ptycho-study apply`: core/run/applyRun.ts). The bundled CLI runs each in a child process (onnxruntime never loads
// in the extension host), under a cancellable progress notification; the result goes to the output channel and a
// message.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ApplyResult } from '../core/run/applyRun';
import { APPLY_OUTPUTS } from '../core/study/layout';
import type { ScoreResult } from '../core/run/scoreRun';
import { describeApply, describeScore } from '../core/run/scoreSummary';
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

/** Runs `ptycho-study <args> --json` under a cancellable notification: its JSON result, or undefined when cancelled. */
async function runModelCommand<T>(ctx: CommandContext, args: string[], title: string, failure: (message: string) => string): Promise<T | undefined> {
  const cli = path.join(ctx.extensionPath, 'dist', 'cli.js');
  const r = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    (_progress, token) => runCli(cli, [...args, '--json'], token),
  );
  if (r.code === 130) {
    ctx.log.info(`${title}: cancelled.`);
    return undefined;
  }
  const last = r.out.trim().split('\n').pop() ?? '';
  let parsed: (T & { type?: string }) | { error?: { message: string } } | undefined;
  try {
    parsed = JSON.parse(last) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (r.code !== 0 || !parsed || !('type' in parsed)) {
    const message = (parsed && 'error' in parsed && parsed.error?.message) || r.err.trim().split('\n').pop() || `the command exited with code ${r.code}`;
    ctx.log.error(`${title} failed: ${message}`);
    throw new UserError(failure(message));
  }
  return parsed as T;
}

/** The .npz to put the model on: given (automation, tests) or picked in a file dialog. */
async function datasetFor(job: { id: string; artifactDir: string }, given: string | undefined, title: string, openLabel: string): Promise<string | undefined> {
  if (given !== undefined) return given;
  const picked = await vscode.window.showOpenDialog({
    title, openLabel, canSelectMany: false,
    filters: { [vscode.l10n.t('NumPy archives')]: ['npz'] }, defaultUri: vscode.Uri.file(path.dirname(job.artifactDir)),
  });
  return picked?.length ? picked[0].fsPath : undefined;
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
  const data = await datasetFor(job, dataPath, vscode.l10n.t('Score {0} on…', job.id), vscode.l10n.t('Score'));
  if (data === undefined) return undefined;
  const threads = trainingThreadsFor(ctx.model.folderOf(job));
  ctx.log.info(`Scoring ${job.id} on ${data}…`);
  const result = await runModelCommand<ScoreResult>(ctx, ['score', job.artifactDir, '--data', data, ...(threads ? ['--threads', String(threads)] : [])],
    vscode.l10n.t('Scoring {0} on {1}', job.id, path.basename(data)),
    (message) => vscode.l10n.t('{0} could not be scored on {1}: {2}', job.id, path.basename(data), message));
  if (!result) return undefined;
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

/**
 * Reconstructs a dataset with a finished training job's model and writes the result into a folder: `dataPath` and
 * `outDir` given (automation, tests) or picked in dialogs. A folder holding an earlier result is replaced only when
 * the user agrees (`replace` answers for automation). Returns the result (undefined when nothing was picked, the
 * user kept the earlier result, or cancelled).
 */
export async function applyToDataset(ctx: CommandContext, arg: JobArg, dataPath?: string, outDir?: string, replace?: boolean): Promise<ApplyResult | undefined> {
  requireTrust(vscode.l10n.t('Applying a model'));
  const job = await resolveJob(ctx, arg, vscode.l10n.t('Apply a trained model to a dataset'), (j) => j.state === 'succeeded');
  if (!job) return undefined;
  if (job.state !== 'succeeded') throw new UserError(vscode.l10n.t('{0} has no finished model to apply: train it first.', job.id));
  const data = await datasetFor(job, dataPath, vscode.l10n.t('Apply {0} to…', job.id), vscode.l10n.t('Reconstruct'));
  if (data === undefined) return undefined;
  let out = outDir;
  if (out === undefined) {
    const picked = await vscode.window.showOpenDialog({
      title: vscode.l10n.t('Folder for the reconstruction of {0}', path.basename(data)), openLabel: vscode.l10n.t('Write Here'),
      canSelectFiles: false, canSelectFolders: true, canSelectMany: false, defaultUri: vscode.Uri.file(path.dirname(data)),
    });
    if (!picked?.length) return undefined;
    out = picked[0].fsPath;
  }
  const present = APPLY_OUTPUTS.filter((name) => fs.existsSync(path.join(out!, name)));
  let force = false;
  if (present.length) {
    const yes = vscode.l10n.t('Replace');
    force = replace ?? (await vscode.window.showWarningMessage(vscode.l10n.t('{0} already holds {1}. Replace them?', out, present.join(', ')), { modal: true }, yes)) === yes;
    if (!force) return undefined;
  }
  const threads = trainingThreadsFor(ctx.model.folderOf(job));
  ctx.log.info(`Applying ${job.id} to ${data}, writing to ${out}…`);
  const result = await runModelCommand<ApplyResult>(ctx,
    ['apply', job.artifactDir, '--data', data, '--out', out, ...(force ? ['--force'] : []), ...(threads ? ['--threads', String(threads)] : [])],
    vscode.l10n.t('Reconstructing {0} with {1}', path.basename(data), job.id),
    (message) => vscode.l10n.t('{0} could not be applied to {1}: {2}', job.id, path.basename(data), message));
  if (!result) return undefined;
  for (const line of describeApply(result)) ctx.log.info(line);
  const open = vscode.l10n.t('Open Amplitude');
  const reveal = vscode.l10n.t('Reveal Folder');
  const headline = vscode.l10n.t('{0} reconstructed with {1}: {2}×{3} px, written to {4}.', path.basename(data), job.id, result.region.width, result.region.height, result.outDir);
  void vscode.window.showInformationMessage(headline + (result.notes.length ? ` ${result.notes[0]}` : ''), open, reveal).then((c) => {
    if (c === open) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(path.join(result.outDir, 'amplitude.png')));
    else if (c === reveal) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(result.outDir));
  });
  return result;
}
