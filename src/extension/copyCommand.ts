// Copy CLI Command: the exact `ptycho-study` invocation of a training or Phase F job with the effective settings of
// its workspace folder (core/study/cliCommand.ts), on the clipboard, so the run can be started from a terminal or a
// batch script and plans the same run. The program is this extension's own CLI (`node <extension>/dist/cli.js`),
// which exists wherever the extension runs (also on a Remote-SSH host).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { reconstructArgs, shellCommand, trainArgs } from '../core/study/cliCommand';
import { resolveJob, UserError, type CommandContext, type JobArg } from './commands';
import { isReconArg, resolveRecon, type ReconArg } from './reconCommands';
import { reconstructionSettingsFor, trainingSettingsFor, trainingThreadsFor } from './settings';

export async function copyCliCommand(ctx: CommandContext, arg: JobArg | ReconArg): Promise<string | undefined> {
  const program = ['node', path.join(ctx.extensionPath, 'dist', 'cli.js')];
  let argv: string[];
  if (isReconArg(arg)) {
    const job = await resolveRecon(ctx, arg as ReconArg, vscode.l10n.t('Copy the CLI command of a reconstruction'));
    if (!job) return undefined;
    const folder = ctx.model.folderOf(job);
    const study = ctx.model.folders.find((s) => s.folder === folder);
    const layout = study?.layout;
    argv = reconstructArgs(job, { phaseCRoot: layout?.phaseCRoot, phaseDRoot: layout?.phaseDRoot, artifactRoot: layout?.artifactRoot, phaseFRoot: study?.phaseFRoot ?? job.phaseFRoot },
      reconstructionSettingsFor(folder, job.algorithm));
  } else {
    const job = await resolveJob(ctx, arg as JobArg, vscode.l10n.t('Copy the CLI command of a training job'));
    if (!job) return undefined;
    const folder = ctx.model.folderOf(job);
    const layout = ctx.model.folders.find((s) => s.folder === folder)?.layout;
    try {
      argv = trainArgs(job, { phaseCRoot: layout?.phaseCRoot, phaseDRoot: layout?.phaseDRoot, artifactRoot: layout?.artifactRoot }, trainingSettingsFor(folder), trainingThreadsFor(folder));
    } catch (err) {
      throw new UserError(vscode.l10n.t('No command reproduces {0}: {1}.', job.id, (err as Error).message));
    }
  }
  const line = shellCommand([...program, ...argv]);
  await vscode.env.clipboard.writeText(line);
  ctx.log.info(`Copied: ${line}`);
  void vscode.window.showInformationMessage(vscode.l10n.t('Copied the command ({0} of {1}/{2}) to the clipboard.', String(argv[0]), String(argv[argv.indexOf('--dose') + 1]), String(argv[argv.indexOf('--view') + 1])));
  return line;
}
