// Reads the `ptychoStudy.*` settings of one workspace folder into the core's explicit option objects.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DiscoverOptions, TrainingSettings, ExecutionProvider } from '../core/study';
import { clampPollSeconds } from '../core/study/fingerprint';
import { LISTED_RECON_ALGORITHMS, RECON_ALGORITHMS, type AdLossName, type ReconAlgorithm, type ReconProbeMode, type ReconstructionSettings } from '../core/study/reconstructJobs';

export const SECTION = 'ptychoStudy';

function resolveIn(folder: vscode.WorkspaceFolder, value: string | undefined): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  return path.isAbsolute(v) ? v : path.join(folder.uri.fsPath, v);
}

export function discoverOptionsFor(folder: vscode.WorkspaceFolder): DiscoverOptions {
  const cfg = vscode.workspace.getConfiguration(SECTION, folder.uri);
  const phaseCRoot = resolveIn(folder, cfg.get<string>('phaseCRoot'));
  const phaseDRoot = resolveIn(folder, cfg.get<string>('phaseDRoot'));
  return {
    phaseCRoot,
    phaseDRoot,
    artifactRoot: resolveIn(folder, cfg.get<string>('artifactRoot')),
    // Search the folder only when no root is set (a set root means "exactly this").
    workspace: phaseCRoot || phaseDRoot ? undefined : folder.uri.fsPath,
  };
}

/** `ptychoStudy.phaseFRoot` resolved in the folder; undefined = `phase_f` beside Phase C (defaultPhaseFRoot). */
export function phaseFRootFor(folder: vscode.WorkspaceFolder): string | undefined {
  return resolveIn(folder, vscode.workspace.getConfiguration(SECTION, folder.uri).get<string>('phaseFRoot'));
}

/**
 * The `ptychoStudy.reconstruction.*` settings (the CLI's reconstruct flags) for a job of `algorithm`; unset values
 * take the core's defaults. The ePIE/rPIE steps and momentum go to those algorithms only, the ad options to ad.
 */
export function reconstructionSettingsFor(folder: vscode.WorkspaceFolder | undefined, algorithm: ReconAlgorithm): Partial<ReconstructionSettings> {
  const cfg = vscode.workspace.getConfiguration(SECTION, folder?.uri);
  const opt = (v: number | undefined): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);
  const common: Partial<ReconstructionSettings> = {
    iterations: cfg.get<number>('reconstruction.iterations'),
    probeMode: cfg.get<ReconProbeMode>('reconstruction.probe'),
    seed: cfg.get<number>('reconstruction.seed'),
    checkpointEvery: cfg.get<number>('reconstruction.checkpointEvery'),
    executionProvider: cfg.get<ExecutionProvider>('executionProvider'),
  };
  if (algorithm === 'ad') {
    return {
      ...common,
      learningRate: opt(cfg.get<number>('reconstruction.adLearningRate')),
      loss: cfg.get<AdLossName>('reconstruction.adLoss'),
      batchSize: cfg.get<number>('reconstruction.adBatchSize'),
    };
  }
  return {
    ...common,
    momentum: cfg.get<number>('reconstruction.momentum'),
    anneal: cfg.get<number>('reconstruction.anneal'),
    alpha: opt(cfg.get<number>('reconstruction.alpha')),
    beta: opt(cfg.get<number>('reconstruction.beta')),
  };
}

/** `ptychoStudy.reconstruction.algorithms`: the Phase F jobs the tree lists for every dose × view. */
export function listedReconstructionAlgorithms(folder: vscode.WorkspaceFolder | undefined): ReconAlgorithm[] {
  const v = vscode.workspace.getConfiguration(SECTION, folder?.uri).get<unknown>('reconstruction.algorithms');
  const picked = Array.isArray(v) ? RECON_ALGORITHMS.filter((a) => v.includes(a)) : [];
  return picked.length > 0 ? picked : [...LISTED_RECON_ALGORITHMS];
}

/** `training.previewCenter`: [x, y] or null; anything else is left to the default (with the planner's message if malformed). */
function previewCenterSetting(v: unknown): [number, number] | null | undefined {
  if (v === null || v === undefined) return undefined;
  return v as [number, number];
}

export function trainingSettingsFor(folder: vscode.WorkspaceFolder | undefined): Partial<TrainingSettings> {
  const cfg = vscode.workspace.getConfiguration(SECTION, folder?.uri);
  return {
    executionProvider: cfg.get<ExecutionProvider>('executionProvider'),
    epochs: cfg.get<number>('training.epochs'),
    batchSize: cfg.get<number>('training.batchSize'),
    learningRate: cfg.get<number>('training.learningRate'),
    neighborCount: cfg.get<number>('training.neighborCount'),
    seed: cfg.get<number>('training.seed'),
    nFiltersScale: cfg.get<number>('training.nFiltersScale'),
    earlyStoppingPatience: cfg.get<number>('training.earlyStoppingPatience'),
    stitchCropSize: cfg.get<number>('training.stitchCropSize'),
    stitchPhaseAlignment: cfg.get<boolean>('training.stitchPhaseAlignment'),
    probeBig: cfg.get<boolean>('training.probeBig'),
    previewCenter: previewCenterSetting(cfg.get<unknown>('training.previewCenter')),
    previewSize: cfg.get<number>('training.previewSize'),
    // Restricted: an untrusted workspace's settings cannot make intensity-like data look valid.
    allowIntensityData: cfg.get<boolean>('training.allowIntensityData') === true,
  };
}

/**
 * `ptychoStudy.training.threads`: onnxruntime intra-op threads for a run (undefined for 0 = automatic). A run
 * option, not a TrainingSettings value (it changes the speed, and at most the rounding of parallel sums), so it is
 * not part of a checkpoint's config key: a checkpoint resumes with any count. Recorded in manifest.runtime.
 */
export function trainingThreadsFor(folder: vscode.WorkspaceFolder | undefined): number | undefined {
  const v = vscode.workspace.getConfiguration(SECTION, folder?.uri).get<number>('training.threads');
  return v ? v : undefined;
}

/** `ptychoStudy.training.runDetached`: runs started here outlive the window (default true). */
/** `ptychoStudy.backend`: where Train, Train All and Resume run the folder's training jobs. */
export function backendFor(folder: vscode.WorkspaceFolder | undefined): 'local' | 'slurm' {
  return vscode.workspace.getConfiguration(SECTION, folder?.uri).get<string>('backend') === 'slurm' ? 'slurm' : 'local';
}

export function runDetachedFor(folder: vscode.WorkspaceFolder | undefined): boolean {
  return vscode.workspace.getConfiguration(SECTION, folder?.uri).get<boolean>('training.runDetached') !== false;
}

export function demoImagesFor(folder: vscode.WorkspaceFolder): number {
  return vscode.workspace.getConfiguration(SECTION, folder.uri).get<number>('demo.nImages') ?? 400;
}

export function pollIntervalMs(): number {
  return clampPollSeconds(vscode.workspace.getConfiguration(SECTION).get<number>('pollIntervalSeconds')) * 1000;
}
