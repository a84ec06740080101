// Reads the `ptychoStudy.*` settings of one workspace folder into the core's explicit option objects, through the
// key → field mapping the CLI shares (core/study/settingsKeys.ts). Read unchecked, as VS Code gives them: its
// settings editor flags a value of the wrong type, and the planner refuses one with its sentence.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readProjectSettingsFile, WORKSPACE_SETTINGS_FILE, type WorkspaceSettings } from '../core/study/workspaceSettings';
import type { DiscoverOptions, TrainingSettings } from '../core/study';
import type { ReconAlgorithm, ReconstructionSettings } from '../core/study/reconstructJobs';
import {
  backendFromSettings, demoImagesFromSettings, discoverOptionsFromSettings, listedAlgorithmsFromSettings, phaseFRootFromSettings, pollIntervalMsFromSettings,
  reconstructionSettingsFromSettings, runDetachedFromSettings, SETTINGS_SECTION, trainingSettingsFromSettings, trainingThreadsFromSettings, type SettingGet,
} from '../core/study/settingsKeys';

export const SECTION = SETTINGS_SECTION;

const UNCHECKED = { unchecked: true } as const;

/**
 * The folder's ptycho-study.json (one small bounded read each time: no cache to go stale); none in an untrusted
 * workspace, where a cloned repository's file sets nothing. A value the file gets wrong is ignored here; the CLI
 * (`ptycho-study dry-run`) prints why.
 */
function projectSettings(folder: vscode.WorkspaceFolder): WorkspaceSettings | undefined {
  if (!vscode.workspace.isTrusted) return undefined;
  if (!fs.existsSync(path.join(folder.uri.fsPath, WORKSPACE_SETTINGS_FILE))) return undefined;
  return readProjectSettingsFile(folder.uri.fsPath);
}

/**
 * The folder's (or, without one, the window's) settings as the shared mapping reads them: a value of the folder's
 * `ptycho-study.json` first (as the CLI reads it), else VS Code's.
 */
function settingsOf(folder: vscode.WorkspaceFolder | undefined): SettingGet {
  const cfg = vscode.workspace.getConfiguration(SECTION, folder?.uri);
  const project = folder ? projectSettings(folder) : undefined;
  return (key) => project?.get(key) ?? cfg.get<unknown>(key);
}

export function discoverOptionsFor(folder: vscode.WorkspaceFolder): DiscoverOptions {
  return discoverOptionsFromSettings(settingsOf(folder), folder.uri.fsPath, UNCHECKED);
}

/** `ptychoStudy.phaseFRoot` resolved in the folder; undefined = `phase_f` beside Phase C (defaultPhaseFRoot). */
export function phaseFRootFor(folder: vscode.WorkspaceFolder): string | undefined {
  return phaseFRootFromSettings(settingsOf(folder), folder.uri.fsPath, UNCHECKED);
}

/**
 * The `ptychoStudy.reconstruction.*` settings (the CLI's reconstruct flags) for a job of `algorithm`; unset values
 * take the core's defaults. The ePIE/rPIE steps and momentum go to those algorithms only, the ad options to ad.
 */
export function reconstructionSettingsFor(folder: vscode.WorkspaceFolder | undefined, algorithm: ReconAlgorithm): Partial<ReconstructionSettings> {
  return reconstructionSettingsFromSettings(settingsOf(folder), algorithm, UNCHECKED);
}

/** `ptychoStudy.reconstruction.algorithms`: the Phase F jobs the tree lists for every dose × view. */
export function listedReconstructionAlgorithms(folder: vscode.WorkspaceFolder | undefined): ReconAlgorithm[] {
  return listedAlgorithmsFromSettings(settingsOf(folder), UNCHECKED);
}

/** The `ptychoStudy.training.*` settings (training.allowIntensityData is restricted: VS Code drops an untrusted workspace's value). */
export function trainingSettingsFor(folder: vscode.WorkspaceFolder | undefined): Partial<TrainingSettings> {
  return trainingSettingsFromSettings(settingsOf(folder), UNCHECKED);
}

/**
 * `ptychoStudy.training.threads`: onnxruntime intra-op threads for a run (undefined for 0 = automatic). A run
 * option, not a TrainingSettings value, recorded in manifest.runtime (see trainingThreadsFromSettings).
 */
export function trainingThreadsFor(folder: vscode.WorkspaceFolder | undefined): number | undefined {
  return trainingThreadsFromSettings(settingsOf(folder), UNCHECKED);
}

/** `ptychoStudy.backend`: where Train, Train All and Resume run the folder's training jobs. */
export function backendFor(folder: vscode.WorkspaceFolder | undefined): 'local' | 'slurm' {
  return backendFromSettings(settingsOf(folder), UNCHECKED);
}

/** `ptychoStudy.training.runDetached`: runs started here outlive the window (default true). */
export function runDetachedFor(folder: vscode.WorkspaceFolder | undefined): boolean {
  return runDetachedFromSettings(settingsOf(folder), UNCHECKED);
}

export function demoImagesFor(folder: vscode.WorkspaceFolder): number {
  return demoImagesFromSettings(settingsOf(folder), UNCHECKED);
}

export function pollIntervalMs(): number {
  return pollIntervalMsFromSettings(settingsOf(undefined), UNCHECKED);
}
