// Rerun from Manifest in VS Code (`ptychoStudy.rerun`): what `ptycho-study rerun` does (src/core/run/rerun.ts) for
// a training or Phase F job — the recorded plan, the datasets verified by their sha256, a new folder beside the job
// (`<job>.rerun-<UTC time>`, never the original), the same worker — with a cancellable progress notification, then
// the metrics compared number by number: the verdict in a message, every difference in the output channel.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { compareRerun, defaultRerunDir, readRerunSource, rerunPlan, RerunError, startRerun, verifyDatasets, type RerunOutcome } from '../core/run/rerun';
import { ARTIFACT } from '../core/study/layout';
import { resolveJob, UserError, MANAGE_TRUST, type CommandContext, type JobArg } from './commands';
import { isReconArg, resolveRecon, type ReconArg } from './reconCommands';
import * as fs from 'node:fs';

export interface RerunResult {
  jobId: string;
  outDir: string;
  status: string;
  reason?: string;
  comparison?: RerunOutcome;
}

const hasManifest = (dir: string): boolean => fs.existsSync(path.join(dir, ARTIFACT.manifest));

export async function rerunCommand(ctx: CommandContext, arg: JobArg | ReconArg): Promise<RerunResult | undefined> {
  if (!vscode.workspace.isTrusted) {
    throw new UserError(vscode.l10n.t('Rerun starts a worker process and writes files, so it needs a trusted workspace (this one is in Restricted Mode).'), [MANAGE_TRUST]);
  }
  const job = isReconArg(arg)
    ? await resolveRecon(ctx, arg as ReconArg, vscode.l10n.t('Rerun a reconstruction from its manifest'), (j) => j.state === 'succeeded')
    : await resolveJob(ctx, arg as JobArg, vscode.l10n.t('Rerun a training job from its manifest'), (j) => j.state === 'succeeded');
  if (!job) return undefined;
  if (!hasManifest(job.artifactDir)) throw new UserError(vscode.l10n.t('{0} has no manifest.json to rerun from: run it first.', job.id));
  let source;
  let outDir: string;
  let config;
  try {
    source = await readRerunSource(job.artifactDir);
    await verifyDatasets(source);
    outDir = defaultRerunDir(source.jobDir);
    config = await rerunPlan(source, outDir);
  } catch (err) {
    if (err instanceof RerunError) throw new UserError(vscode.l10n.t('Cannot rerun {0}: {1}', job.id, err.message));
    throw err;
  }
  const handle = await startRerun(source, config, { workerScript: path.join(ctx.extensionPath, 'dist', 'worker.js'), nodePath: process.execPath });
  ctx.log.info(`Rerun of ${job.id} from ${source.manifestPath} → ${outDir} (pid ${handle.pid ?? '?'})`);
  const exit = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Rerun of {0}', job.id), cancellable: true },
    (progress, token) => {
      const sub = token.onCancellationRequested(() => handle.cancel());
      const off = handle.onEvent((e) => {
        if (e.type === 'progress') progress.report({ message: vscode.l10n.t('epoch {0}/{1} · step {2}/{3}', e.epoch, e.epochs, e.stepInEpoch, e.stepsPerEpoch) });
        else if (e.type === 'iteration') progress.report({ message: vscode.l10n.t('iteration {0}/{1}', e.iteration, e.iterations) });
        else if (e.type === 'recon-halves') progress.report({ message: vscode.l10n.t('half set {0}/2 · iteration {1}/{2}', e.half, e.iteration, e.iterations) });
      });
      return handle.done.finally(() => {
        sub.dispose();
        off();
      });
    },
  );
  if (exit.status !== 'succeeded') {
    ctx.log.warn(`Rerun of ${job.id} ended ${exit.status}: ${exit.reason ?? ''}`);
    void vscode.window.showWarningMessage(exit.status === 'cancelled'
      ? vscode.l10n.t('The rerun of {0} was cancelled.', job.id)
      : vscode.l10n.t('The rerun of {0} did not succeed: {1}.', job.id, exit.reason ?? exit.status));
    return { jobId: job.id, outDir, status: exit.status, reason: exit.reason };
  }
  let cmp: RerunOutcome;
  try {
    cmp = compareRerun(source, outDir);
  } catch (err) {
    void vscode.window.showWarningMessage(vscode.l10n.t('The rerun of {0} succeeded, but {1}', job.id, (err as Error).message));
    return { jobId: job.id, outDir, status: exit.status, reason: (err as Error).message };
  }
  const env = cmp.runtime;
  const verdict = `${cmp.reproduced ? 'Reproduced' : 'Not reproduced'}: ${cmp.compared} numbers of metrics.json compared, largest relative difference ${cmp.maxRelDiff.toExponential(2)}`
    + ` (provider ${env.original.provider} → ${env.rerun.provider}, threads ${env.original.threads} → ${env.rerun.threads}).`;
  ctx.log.info(`Rerun of ${job.id}: ${verdict} Rerun in ${outDir}`);
  for (const d of cmp.differences) ctx.log.info(`  ${d.path}: ${JSON.stringify(d.original)} → ${JSON.stringify(d.rerun)}`);
  const show = (m: string, ...items: string[]): Thenable<string | undefined> => (cmp.reproduced ? vscode.window.showInformationMessage(m, ...items) : vscode.window.showWarningMessage(m, ...items));
  const shown = cmp.reproduced
    ? vscode.l10n.t('{0}: Reproduced: {1} numbers of metrics.json compared, largest relative difference {2} (provider {3} → {4}, threads {5} → {6}).',
      job.id, cmp.compared, cmp.maxRelDiff.toExponential(2), String(env.original.provider), String(env.rerun.provider), String(env.original.threads), String(env.rerun.threads))
    : vscode.l10n.t('{0}: Not reproduced: {1} numbers of metrics.json compared, largest relative difference {2} (provider {3} → {4}, threads {5} → {6}).',
      job.id, cmp.compared, cmp.maxRelDiff.toExponential(2), String(env.original.provider), String(env.rerun.provider), String(env.original.threads), String(env.rerun.threads));
  const revealRerun = vscode.l10n.t('Reveal Rerun Folder');
  const showOutput = vscode.l10n.t('Show Output');
  void show(shown, revealRerun, showOutput).then((pick) => {
    if (pick === revealRerun) void vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(outDir));
    else if (pick === showOutput) ctx.log.show(true);
  });
  return { jobId: job.id, outDir, status: exit.status, comparison: cmp };
}
