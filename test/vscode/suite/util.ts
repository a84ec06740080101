// Shared by the extension-host suites.
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';

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
