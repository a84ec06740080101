// Shared by the extension-host suites.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { StudyJob } from '../../../src/core/study';
import type { NdArray } from '../../../src/core/npy/types';
import type { WorkbenchApi } from '../../../src/extension/extension';
import type { LiveRun } from '../../../src/extension/runs';

export const EXTENSION_ID = 'ptychopinn.ptychopinn-study-workbench';

/** Polls `probe` until it returns something other than undefined/false; fails after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Activates the extension with a small, fast network (2 epochs, batch 8, n_filters_scale 1) so jobs train in seconds on CPU. */
export async function activateForShortTraining(): Promise<WorkbenchApi> {
  const api = await vscode.extensions.getExtension<WorkbenchApi>(EXTENSION_ID)!.activate();
  const cfg = vscode.workspace.getConfiguration('ptychoStudy');
  await cfg.update('training.epochs', 2, vscode.ConfigurationTarget.Workspace);
  await cfg.update('training.batchSize', 8, vscode.ConfigurationTarget.Workspace);
  await cfg.update('training.nFiltersScale', 1, vscode.ConfigurationTarget.Workspace);
  await api.refresh();
  await api.whenIdle();
  return api;
}

// ---------------------------------------------------------------------------------------------------------
// The demo-study fixture the panel suites need, built idempotently so that any suite file runs alone
// (EXTHOST_FILES) or in any order: each step does nothing when an earlier suite has already left the study in
// that state (workbench.test.ts generates and damages it, workbench.training.test.ts trains and cancels jobs).

/** The demo study's folder in the test workspace (where ptychoStudy.generateDemoStudy writes it). */
export function demoStudyDir(): string {
  return path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'demo-study');
}

const jobOf = (api: WorkbenchApi, id: string): StudyJob | undefined => api.model.allJobs().find((j) => j.id === id);

async function settled(api: WorkbenchApi): Promise<void> {
  await api.refresh();
  await api.whenIdle();
}

/** Generates the demo study (96 patterns per dose) unless the workspace already has it. */
export async function ensureDemoStudy(api: WorkbenchApi): Promise<void> {
  if (!fs.existsSync(path.join(demoStudyDir(), 'phase_c', 'dose_1000', 'patched_train.npz'))) {
    await vscode.commands.executeCommand('ptychoStudy.generateDemoStudy', { nImages: 96 });
  }
  await settled(api);
  await until('the demo study\'s jobs', () => jobOf(api, 'dose_1000/baseline/gs1'), 60_000);
}

async function withEpochs<T>(epochs: number, fn: () => Promise<T>): Promise<T> {
  const cfg = vscode.workspace.getConfiguration('ptychoStudy');
  const before = cfg.get<number>('training.epochs');
  await cfg.update('training.epochs', epochs, vscode.ConfigurationTarget.Workspace);
  try {
    return await fn();
  } finally {
    await cfg.update('training.epochs', before, vscode.ConfigurationTarget.Workspace);
  }
}

/** Trains `id` for `epochs` epochs unless it has already succeeded (with its reconstruction). */
export async function ensureTrained(api: WorkbenchApi, id: string, epochs: number): Promise<void> {
  const job = jobOf(api, id);
  if (job?.state === 'succeeded' && fs.existsSync(path.join(job.artifactDir, 'reconstruction.npz'))) return;
  const exit = await withEpochs(epochs, async () => {
    const run = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.train', id);
    return run.finished;
  });
  if (exit?.status !== 'succeeded') throw new Error(`fixture: training ${id} ended ${exit?.status}: ${exit?.reason}`);
  await settled(api);
}

/** Starts a long run of `id` and cancels it after its first progress, unless the job is already cancelled. */
export async function ensureCancelled(api: WorkbenchApi, id: string): Promise<void> {
  if (jobOf(api, id)?.state === 'cancelled') return;
  const exit = await withEpochs(30, async () => {
    const run = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.train', id);
    await until('progress', () => run.progress, 120_000);
    await vscode.commands.executeCommand('ptychoStudy.cancel', id);
    return run.finished;
  });
  if (exit?.status !== 'cancelled') throw new Error(`fixture: cancelling ${id} ended ${exit?.status}: ${exit?.reason}`);
  await settled(api);
}

/** dose_100000/dense/gs2's train split is not a zip archive (as workbench.test.ts leaves it). */
export async function ensureNotAZip(api: WorkbenchApi): Promise<void> {
  const bad = path.join(demoStudyDir(), 'phase_d', 'dose_100000', 'dense', 'dense_train.npz');
  if (fs.readFileSync(bad).subarray(0, 2).toString('latin1') === 'PK') fs.writeFileSync(bad, 'this is not a zip archive');
  await until('dense 1e5 to be invalid', () => jobOf(api, 'dose_100000/dense/gs2')?.state === 'invalid', 60_000);
}

/** dose_10000/dense/gs2's test split holds photon counts (flagged NORMALIZATION-001, as workbench.test.ts leaves it). */
export async function ensureCountsFlagged(api: WorkbenchApi): Promise<void> {
  if (jobOf(api, 'dose_10000/dense/gs2')?.state !== 'invalid') {
    const dir = path.join(demoStudyDir(), 'phase_d', 'dose_10000', 'dense');
    const npy = await import('../../../src/core/npy');
    const members: Record<string, NdArray> = {};
    await npy.withNpz(path.join(dir, 'dense_train.npz'), async (a) => {
      for (const name of a.members.keys()) members[name] = await a.readArray(name);
    });
    const counts = new Float32Array(members.diffraction.data as Float32Array);
    for (let i = 0; i < counts.length; i++) counts[i] = Math.round(counts[i] * 50);
    members.diffraction = npy.ndarray('<f4', members.diffraction.shape, counts);
    await npy.writeNpz(path.join(dir, 'dense_test.npz'), members);
  }
  await until('dense 1e4 to be invalid', () => jobOf(api, 'dose_10000/dense/gs2')?.state === 'invalid', 60_000);
}

/**
 * The state the panel suites are written against, whatever ran before: the demo study; dose_1000/baseline/gs1
 * trained 2 epochs, dose_1000/dense/gs2 and dose_100000/baseline/gs1 1 epoch; dose_10000/baseline/gs1 cancelled;
 * dose_100000/dense/gs2 not a zip; dose_10000/dense/gs2 flagged NORMALIZATION-001. Training settings are left as
 * activateForShortTraining sets them.
 */
export async function ensurePanelFixture(api: WorkbenchApi): Promise<void> {
  await ensureDemoStudy(api);
  await ensureNotAZip(api);
  await ensureCountsFlagged(api);
  await ensureTrained(api, 'dose_1000/baseline/gs1', 2);
  await ensureTrained(api, 'dose_1000/dense/gs2', 1);
  await ensureTrained(api, 'dose_100000/baseline/gs1', 1);
  await ensureCancelled(api, 'dose_10000/baseline/gs1');
}
