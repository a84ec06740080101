// The `ptychoStudy.*` settings (package.json contributes.configuration) read into the core's option objects: the
// one key → field mapping that the VS Code extension (src/extension/settings.ts, over `cfg.get`) and the CLI (over
// the workspace's settings files, workspaceSettings.ts) share, so a job planned from the terminal and from the
// Jobs tree gets the same settings. Each function takes an accessor `get(key)` (key relative to the section, as
// `cfg.get` takes it: 'training.epochs') and returns the option object; unset values stay undefined (the core's
// defaults, which equal package.json's).
//
// Checked reading (the CLI): a value of the wrong type, outside an enum, or refused by the planner's own check of
// that one setting is ignored and reported through `warn`, never thrown. Unchecked reading (VS Code, whose
// settings editor flags such values): values pass as they are, as they did before this mapping was shared, and the
// planner refuses a bad one with its sentence.
import * as path from 'node:path';
import type { SlurmOptions } from '../run/slurm';
import { clampPollSeconds } from './fingerprint';
import { EXECUTION_PROVIDERS, OBJECT_SUPPORTS, resolveTrainingSettings, STITCH_BLENDS, type ExecutionProvider, type ObjectSupport, type GridsizeTwoSwitch, type StitchBlend, type TrainingSettings } from './config';
import type { DiscoverOptions } from './discovery';
import {
  AD_LOSSES, LISTED_RECON_ALGORITHMS, PROBE_MODES, RECON_ALGORITHMS, resolveReconstructionSettings,
  type AdLossName, type ReconAlgorithm, type ReconProbeMode, type ReconstructionSettings,
} from './reconstructJobs';

export const SETTINGS_SECTION = 'ptychoStudy';

/** A setting's value by its key relative to the section ('training.epochs'); undefined when unset. */
export type SettingGet = (key: string) => unknown;

export interface SettingsReadOptions {
  /** Checked reading: a rejected value is ignored and reported here (`key` relative to the section). */
  warn?: (message: string, key: string) => void;
  /** Pass values on as they are (VS Code's reading). */
  unchecked?: boolean;
}

type Kind = 'string' | 'integer' | 'integerOrAuto' | 'number' | 'boolean' | 'booleanOrAuto' | 'point' | 'algorithms';
interface KeySpec {
  kind: Kind;
  values?: readonly string[];
}

const S: KeySpec = { kind: 'string' };
const I: KeySpec = { kind: 'integer' };
const N: KeySpec = { kind: 'number' };
const B: KeySpec = { kind: 'boolean' };

/** Every setting package.json declares (relative key → the JSON type of its value). A unit test keeps them equal. */
export const SETTING_KEYS: Readonly<Record<string, KeySpec>> = Object.freeze({
  phaseCRoot: S, phaseDRoot: S, artifactRoot: S, phaseFRoot: S,
  executionProvider: { kind: 'string', values: EXECUTION_PROVIDERS },
  backend: { kind: 'string', values: ['local', 'slurm'] },
  pollIntervalSeconds: N,
  'demo.nImages': I,
  'training.epochs': I, 'training.batchSize': I, 'training.learningRate': N, 'training.neighborCount': I, 'training.seed': I,
  'training.nFiltersScale': I, 'training.earlyStoppingPatience': I, 'training.patienceRestartsOnLrReduction': B, 'training.threads': I, 'training.maxConcurrentJobs': I,
  'training.stitchCropSize': I, 'training.probeBig': B, 'training.rampHead': B, 'training.residualBlocks': B, 'training.regroupEachEpoch': B, 'training.symmetryAugment': { kind: 'booleanOrAuto' }, 'training.backprojectedInput': B, 'training.energyAmplitude': B, 'training.objectSupport': { kind: 'string', values: OBJECT_SUPPORTS }, 'training.stitchPhaseAlignment': B, 'training.stitchFillHoles': B, 'training.stitchCrosstalkCorrection': B, 'training.stitchCentroidRefinement': B, 'training.groupRefinement': { kind: 'integerOrAuto' }, 'training.stitchBlend': { kind: 'string', values: STITCH_BLENDS }, 'training.stitchAmplitudeFilter': B, 'training.stitchPhaseFilter': B, 'training.stitchContrastCalibration': { kind: 'booleanOrAuto' }, 'training.allowIntensityData': B,
  'training.runDetached': B, 'training.previewCenter': { kind: 'point' }, 'training.previewSize': I,
  'slurm.partition': S, 'slurm.time': S, 'slurm.cpusPerTask': I, 'slurm.gpusPerTask': I, 'slurm.mem': S, 'slurm.arrayLimit': I, 'slurm.account': S,
  'reconstruction.algorithms': { kind: 'algorithms' }, 'reconstruction.adLearningRate': N,
  'reconstruction.adLoss': { kind: 'string', values: AD_LOSSES }, 'reconstruction.adBatchSize': I, 'reconstruction.iterations': I,
  'reconstruction.probe': { kind: 'string', values: PROBE_MODES }, 'reconstruction.momentum': N, 'reconstruction.anneal': N,
  'reconstruction.alpha': N, 'reconstruction.beta': N, 'reconstruction.seed': I, 'reconstruction.checkpointEvery': I,
  'reconstruction.amplitudeFilter': B, 'reconstruction.phaseFilter': B,
});

/** The training settings each `training.*` (and the execution provider) setting sets. */
export const TRAINING_SETTING_KEYS = Object.freeze({
  executionProvider: 'executionProvider',
  epochs: 'training.epochs',
  batchSize: 'training.batchSize',
  learningRate: 'training.learningRate',
  neighborCount: 'training.neighborCount',
  seed: 'training.seed',
  nFiltersScale: 'training.nFiltersScale',
  earlyStoppingPatience: 'training.earlyStoppingPatience',
  patienceRestartsOnLrReduction: 'training.patienceRestartsOnLrReduction',
  stitchCropSize: 'training.stitchCropSize',
  stitchPhaseAlignment: 'training.stitchPhaseAlignment',
  stitchFillHoles: 'training.stitchFillHoles',
  stitchCrosstalkCorrection: 'training.stitchCrosstalkCorrection',
  stitchCentroidRefinement: 'training.stitchCentroidRefinement',
  groupRefinement: 'training.groupRefinement',
  stitchBlend: 'training.stitchBlend',
  stitchAmplitudeFilter: 'training.stitchAmplitudeFilter',
  stitchPhaseFilter: 'training.stitchPhaseFilter',
  stitchContrastCalibration: 'training.stitchContrastCalibration',
  probeBig: 'training.probeBig',
  rampHead: 'training.rampHead',
  residualBlocks: 'training.residualBlocks',
  regroupEachEpoch: 'training.regroupEachEpoch',
  symmetryAugment: 'training.symmetryAugment',
  backprojectedInput: 'training.backprojectedInput',
  energyAmplitude: 'training.energyAmplitude',
  objectSupport: 'training.objectSupport',
  previewCenter: 'training.previewCenter',
  previewSize: 'training.previewSize',
  allowIntensityData: 'training.allowIntensityData',
}) satisfies Partial<Record<keyof TrainingSettings, string>>;

/** The reconstruction settings each `reconstruction.*` setting sets (ad: the Adam ones; ePIE/rPIE: the others). */
export const RECONSTRUCTION_SETTING_KEYS = Object.freeze({
  common: { iterations: 'reconstruction.iterations', probeMode: 'reconstruction.probe', seed: 'reconstruction.seed', checkpointEvery: 'reconstruction.checkpointEvery', executionProvider: 'executionProvider', amplitudeFilter: 'reconstruction.amplitudeFilter', phaseFilter: 'reconstruction.phaseFilter' },
  ad: { learningRate: 'reconstruction.adLearningRate', loss: 'reconstruction.adLoss', batchSize: 'reconstruction.adBatchSize' },
  pie: { momentum: 'reconstruction.momentum', anneal: 'reconstruction.anneal', alpha: 'reconstruction.alpha', beta: 'reconstruction.beta' },
}) satisfies Record<string, Partial<Record<keyof ReconstructionSettings, string>>>;

/** The setting key of a field of the reconstruction settings of `algorithm` (undefined: none sets it). */
export function reconstructionSettingKey(algorithm: ReconAlgorithm, field: string): string | undefined {
  const k = RECONSTRUCTION_SETTING_KEYS;
  return (k.common as Record<string, string>)[field] ?? ((algorithm === 'ad' ? k.ad : k.pie) as Record<string, string>)[field];
}

/** A value as a warning shows it: short, on one line. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length <= 4 && v.every((x) => typeof x === 'number') ? JSON.stringify(v) : `an array of ${v.length}`;
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Why `v` is not a value of setting `key` (its JSON type or enum), or undefined when it is. */
export function settingTypeProblem(key: string, v: unknown): string | undefined {
  const spec = SETTING_KEYS[key];
  if (!spec) return 'is not a setting of this version';
  switch (spec.kind) {
    case 'string':
      if (typeof v !== 'string') return 'must be a string';
      if (spec.values && !spec.values.includes(v)) return `must be one of ${spec.values.join(', ')}`;
      return undefined;
    case 'integer':
      return typeof v === 'number' && Number.isSafeInteger(v) ? undefined : 'must be a whole number';
    case 'integerOrAuto':
      return v === 'auto' || (typeof v === 'number' && Number.isSafeInteger(v)) ? undefined : 'must be a whole number or "auto"';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? undefined : 'must be a number';
    case 'boolean':
      return typeof v === 'boolean' ? undefined : 'must be true or false';
    case 'booleanOrAuto':
      return typeof v === 'boolean' || v === 'auto' ? undefined : 'must be true, false or "auto"';
    case 'point':
      return v === null || (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) ? undefined : 'must be [x, y] (object pixels ≥ 0) or null';
    case 'algorithms':
      return Array.isArray(v) && v.every((a) => (RECON_ALGORITHMS as readonly unknown[]).includes(a)) ? undefined : `must be a list of ${RECON_ALGORITHMS.join(', ')}`;
  }
}

/** The value of `key`: as it is (unchecked), or checked (type, then `check`), a rejected value reported and ignored. */
function read(get: SettingGet, key: string, o: SettingsReadOptions, check?: (v: unknown) => string | undefined): unknown {
  const v = get(key);
  if (v === undefined || o.unchecked) return v;
  let problem = settingTypeProblem(key, v);
  if (problem) problem = `${SETTINGS_SECTION}.${key} ${problem} (got ${describeValue(v)}); ignored.`;
  else if (check) {
    const refused = check(v);
    if (refused) problem = `${SETTINGS_SECTION}.${key}: ${refused.replace(/\.$/, '')}; ignored.`;
  }
  if (!problem) return v;
  o.warn?.(problem, key);
  return undefined;
}

/** The planner's own check of one value (the same sentence a flag would get), as a problem or undefined. */
function plannerCheck(resolve: (s: Record<string, unknown>) => unknown, field: string): (v: unknown) => string | undefined {
  return (v) => {
    try {
      resolve({ [field]: v });
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
}

const trainingCheck = (field: keyof TrainingSettings) => plannerCheck((s) => resolveTrainingSettings(s as Partial<TrainingSettings>), field);
const reconCheck = (field: keyof ReconstructionSettings) => plannerCheck((s) => resolveReconstructionSettings(s as Partial<ReconstructionSettings>), field);

function resolveIn(folder: string, value: unknown): string | undefined {
  const v = typeof value === 'string' ? value.trim() : undefined;
  if (!v) return undefined;
  return path.isAbsolute(v) ? v : path.join(folder, v);
}

/** The study roots set for `folder` (relative paths resolved in it); without a Phase C/D root, search the folder. */
export function discoverOptionsFromSettings(get: SettingGet, folder: string, o: SettingsReadOptions = {}): DiscoverOptions {
  const phaseCRoot = resolveIn(folder, read(get, 'phaseCRoot', o));
  const phaseDRoot = resolveIn(folder, read(get, 'phaseDRoot', o));
  return {
    phaseCRoot,
    phaseDRoot,
    artifactRoot: resolveIn(folder, read(get, 'artifactRoot', o)),
    // Search the folder only when no root is set (a set root means "exactly this").
    workspace: phaseCRoot || phaseDRoot ? undefined : folder,
  };
}

/** `phaseFRoot` resolved in the folder; undefined = `phase_f` beside Phase C (defaultPhaseFRoot). */
export function phaseFRootFromSettings(get: SettingGet, folder: string, o: SettingsReadOptions = {}): string | undefined {
  return resolveIn(folder, read(get, 'phaseFRoot', o));
}

/** `training.previewCenter`: [x, y] or null; anything else is left to the default (with the planner's message if malformed). */
function previewCenterSetting(v: unknown): [number, number] | null | undefined {
  if (v === null || v === undefined) return undefined;
  return v as [number, number];
}

/** The `training.*` settings (and the execution provider) as training settings; unset values undefined. */
export function trainingSettingsFromSettings(get: SettingGet, o: SettingsReadOptions = {}): Partial<TrainingSettings> {
  const k = TRAINING_SETTING_KEYS;
  const t = <F extends keyof typeof k>(field: F): unknown => read(get, k[field], o, trainingCheck(field));
  return {
    executionProvider: t('executionProvider') as ExecutionProvider | undefined,
    epochs: t('epochs') as number | undefined,
    batchSize: t('batchSize') as number | undefined,
    learningRate: t('learningRate') as number | undefined,
    neighborCount: t('neighborCount') as number | undefined,
    seed: t('seed') as number | undefined,
    nFiltersScale: t('nFiltersScale') as number | undefined,
    earlyStoppingPatience: t('earlyStoppingPatience') as number | undefined,
    patienceRestartsOnLrReduction: t('patienceRestartsOnLrReduction') as boolean | undefined,
    stitchCropSize: t('stitchCropSize') as number | undefined,
    stitchPhaseAlignment: t('stitchPhaseAlignment') as boolean | undefined,
    stitchFillHoles: t('stitchFillHoles') as boolean | undefined,
    stitchCrosstalkCorrection: t('stitchCrosstalkCorrection') as boolean | undefined,
    stitchCentroidRefinement: t('stitchCentroidRefinement') as boolean | undefined,
    groupRefinement: t('groupRefinement') as number | 'auto' | undefined,
    stitchBlend: t('stitchBlend') as StitchBlend | undefined,
    stitchAmplitudeFilter: t('stitchAmplitudeFilter') as boolean | undefined,
    stitchPhaseFilter: t('stitchPhaseFilter') as boolean | undefined,
    stitchContrastCalibration: t('stitchContrastCalibration') as GridsizeTwoSwitch | undefined,
    probeBig: t('probeBig') as boolean | undefined,
    rampHead: t('rampHead') as boolean | undefined,
    residualBlocks: t('residualBlocks') as boolean | undefined,
    regroupEachEpoch: t('regroupEachEpoch') as boolean | undefined,
    symmetryAugment: t('symmetryAugment') as GridsizeTwoSwitch | undefined,
    backprojectedInput: t('backprojectedInput') as boolean | undefined,
    energyAmplitude: t('energyAmplitude') as boolean | undefined,
    objectSupport: t('objectSupport') as ObjectSupport | undefined,
    previewCenter: previewCenterSetting(t('previewCenter')),
    previewSize: t('previewSize') as number | undefined,
    // Restricted: VS Code ignores an untrusted workspace's value, and the CLI never takes it from a workspace file
    // (workspaceSettings.ts): a repository cannot make intensity-like data look valid.
    allowIntensityData: t('allowIntensityData') === true,
  };
}

/**
 * `training.threads`: onnxruntime intra-op threads for a run (undefined for 0 = automatic). A run option, not a
 * TrainingSettings value (it changes the speed, and at most the rounding of parallel sums), so it is not part of a
 * checkpoint's config key: a checkpoint resumes with any count. Recorded in manifest.runtime.
 */
export function trainingThreadsFromSettings(get: SettingGet, o: SettingsReadOptions = {}): number | undefined {
  const v = read(get, 'training.threads', o, (x) => ((x as number) < 0 || (x as number) > 1024 ? 'must be 0 (automatic) … 1024' : undefined)) as number | undefined;
  return v ? v : undefined;
}

/**
 * The `reconstruction.*` settings (the CLI's reconstruct flags) for a job of `algorithm`; unset values take the
 * core's defaults. The ePIE/rPIE steps and momentum go to those algorithms only, the ad options to ad.
 */
export function reconstructionSettingsFromSettings(get: SettingGet, algorithm: ReconAlgorithm, o: SettingsReadOptions = {}): Partial<ReconstructionSettings> {
  const r = (key: string, field: keyof ReconstructionSettings): unknown => read(get, key, o, reconCheck(field));
  // 0 means "the algorithm's default" for these (package.json's default 0).
  const opt = (v: unknown): number | undefined => (typeof v === 'number' && v > 0 ? v : undefined);
  const optional = (key: string, field: keyof ReconstructionSettings): number | undefined => opt(read(get, key, o, (v) => (v === 0 ? undefined : reconCheck(field)(v))));
  const common: Partial<ReconstructionSettings> = {
    iterations: r('reconstruction.iterations', 'iterations') as number | undefined,
    probeMode: r('reconstruction.probe', 'probeMode') as ReconProbeMode | undefined,
    seed: r('reconstruction.seed', 'seed') as number | undefined,
    checkpointEvery: r('reconstruction.checkpointEvery', 'checkpointEvery') as number | undefined,
    executionProvider: r('executionProvider', 'executionProvider') as ExecutionProvider | undefined,
    amplitudeFilter: r('reconstruction.amplitudeFilter', 'amplitudeFilter') as boolean | undefined,
    phaseFilter: r('reconstruction.phaseFilter', 'phaseFilter') as boolean | undefined,
  };
  if (algorithm === 'ad') {
    return {
      ...common,
      learningRate: optional('reconstruction.adLearningRate', 'learningRate'),
      loss: r('reconstruction.adLoss', 'loss') as AdLossName | undefined,
      batchSize: r('reconstruction.adBatchSize', 'batchSize') as number | undefined,
    };
  }
  return {
    ...common,
    momentum: r('reconstruction.momentum', 'momentum') as number | undefined,
    anneal: r('reconstruction.anneal', 'anneal') as number | undefined,
    alpha: optional('reconstruction.alpha', 'alpha'),
    beta: optional('reconstruction.beta', 'beta'),
  };
}

/** `reconstruction.algorithms`: the Phase F jobs listed for every dose × view (default LISTED_RECON_ALGORITHMS). */
export function listedAlgorithmsFromSettings(get: SettingGet, o: SettingsReadOptions = {}): ReconAlgorithm[] {
  const v = read(get, 'reconstruction.algorithms', o);
  const picked = Array.isArray(v) ? RECON_ALGORITHMS.filter((a) => v.includes(a)) : [];
  return picked.length > 0 ? picked : [...LISTED_RECON_ALGORITHMS];
}

/** The `slurm.*` options of a submission (empty strings and 0: the cluster's default). */
export function slurmOptionsFromSettings(get: SettingGet, o: SettingsReadOptions = {}): SlurmOptions {
  const str = (k: string): string | undefined => ((read(get, k, o) as string | undefined) || undefined);
  const int = (k: string): number | undefined => {
    const v = read(get, k, o);
    return typeof v === 'number' && v > 0 ? v : undefined;
  };
  return {
    partition: str('slurm.partition'), time: str('slurm.time'), mem: str('slurm.mem'), account: str('slurm.account'),
    cpusPerTask: int('slurm.cpusPerTask'), gpusPerTask: int('slurm.gpusPerTask'), arrayLimit: int('slurm.arrayLimit'),
  };
}

/** `backend`: where Train, Train All and Resume run a folder's training jobs. */
export function backendFromSettings(get: SettingGet, o: SettingsReadOptions = {}): 'local' | 'slurm' {
  return read(get, 'backend', o) === 'slurm' ? 'slurm' : 'local';
}

/** `training.runDetached`: runs started from VS Code outlive the window (default true). */
export function runDetachedFromSettings(get: SettingGet, o: SettingsReadOptions = {}): boolean {
  return read(get, 'training.runDetached', o) !== false;
}

/** `demo.nImages`: patterns per dose of a generated demo study (default 400). */
export function demoImagesFromSettings(get: SettingGet, o: SettingsReadOptions = {}): number {
  return (read(get, 'demo.nImages', o) as number | undefined) ?? 400;
}

/** `pollIntervalSeconds`, clamped to its range, in milliseconds. */
export function pollIntervalMsFromSettings(get: SettingGet, o: SettingsReadOptions = {}): number {
  return clampPollSeconds(read(get, 'pollIntervalSeconds', o)) * 1000;
}
