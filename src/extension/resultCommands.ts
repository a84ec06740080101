// Opening a job's log and results.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ARTIFACT } from '../core/study';
import { resolveJob, UserError, type CommandContext, type JobArg } from './commands';

export async function openLogCommand(ctx: CommandContext, arg: JobArg): Promise<vscode.TextEditor | undefined> {
  const job = await resolveJob(ctx, arg, 'Open a job log', (j) => fs.existsSync(j.logPath));
  if (!job) return undefined;
  if (!fs.existsSync(job.logPath)) throw new UserError(`${job.id} has no log yet: dry-run or train it first.`);
  return vscode.window.showTextDocument(vscode.Uri.file(job.logPath), { preview: true });
}

export async function showReconstructionCommand(ctx: CommandContext, arg: JobArg): Promise<void> {
  const job = await resolveJob(ctx, arg, 'Show a reconstruction', (j) => fs.existsSync(path.join(j.artifactDir, ARTIFACT.reconstruction)));
  if (!job) return;
  const png = path.join(job.artifactDir, ARTIFACT.phasePng);
  if (!fs.existsSync(png)) throw new UserError(`${job.id} has no reconstruction yet: train it first.`);
  await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(png));
}
