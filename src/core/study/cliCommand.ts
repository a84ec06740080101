// The exact `ptycho-study` invocation of a job with its effective settings (Copy CLI Command), so a run started
// in VS Code can be repeated in a terminal or a batch script and plans the same run: every setting that has a
// flag is written out explicitly (resolved against today's defaults, so a later change of a default does not
// change what the command does), the roots are absolute, and the result is quoted for a POSIX shell. It reads no
// workspace settings file (--no-workspace-settings): a ptycho-study.json beside the study cannot change it.
import { DEFAULT_TRAINING, resolveGridsizeTwoSwitch, resolveTrainingSettings, type TrainingSettings } from './config';
import { formatDose, type Split } from './layout';
import { resolveReconstructionSettings, type ReconAlgorithm, type ReconstructionSettings } from './reconstructJobs';

export interface CommandRoots {
  phaseCRoot?: string;
  phaseDRoot?: string;
  artifactRoot?: string;
  phaseFRoot?: string;
}

/** Settings with a `train` flag, in the order they are written. */
const TRAIN_VALUE_FLAGS: readonly [keyof TrainingSettings, string][] = [
  ['epochs', '--epochs'], ['batchSize', '--batch-size'], ['learningRate', '--lr'], ['nGroups', '--n-groups'], ['neighborCount', '--neighbor-count'],
  ['seed', '--seed'], ['nFiltersScale', '--n-filters-scale'], ['earlyStoppingMonitor', '--early-stopping-monitor'], ['earlyStoppingPatience', '--early-stopping-patience'],
  ['minDelta', '--min-delta'], ['stitchCropSize', '--stitch-crop-size'], ['groupRefinement', '--group-refinement'], ['stitchBlend', '--stitch-blend'], ['probeNormalization', '--probe-normalization'], ['objectSupport', '--object-support'], ['weightInit', '--weight-init'],
  ['warmupSteps', '--warmup-steps'], ['executionProvider', '--ep'],
];
/** Settings no flag can set: a command for a run that changed one of them would plan another run. */
const TRAIN_NO_FLAG: readonly (keyof TrainingSettings)[] = ['minLearningRate', 'plateauFactor', 'plateauPatience', 'validationFraction', 'intensityScaleTrainable', 'probeTrainable'];

function rootArgs(roots: CommandRoots, withPhaseF: boolean): string[] {
  const out: string[] = ['--no-workspace-settings'];
  if (roots.phaseCRoot) out.push('--phase-c-root', roots.phaseCRoot);
  if (roots.phaseDRoot) out.push('--phase-d-root', roots.phaseDRoot);
  if (roots.artifactRoot) out.push('--artifact-root', roots.artifactRoot);
  if (withPhaseF && roots.phaseFRoot) out.push('--phase-f-root', roots.phaseFRoot);
  return out;
}

/** Doses as the CLI reads them back exactly: the integer when there is one. */
function doseArg(dose: number): string {
  return Number.isInteger(dose) ? String(dose) : formatDose(dose);
}

/** argv (after the program) of `ptycho-study train` for one job. Throws when a setting has no flag. */
export function trainArgs(job: { dose: number; view: string; gridsize: number }, roots: CommandRoots, overrides: Partial<TrainingSettings>, threads?: number): string[] {
  const s = resolveTrainingSettings(overrides);
  for (const k of TRAIN_NO_FLAG) {
    if (s[k] !== DEFAULT_TRAINING[k]) throw new Error(`the setting ${k} (${String(s[k])}) has no command-line flag, so no command reproduces this run`);
  }
  const out = ['train', ...rootArgs(roots, false), '--dose', doseArg(job.dose), '--view', job.view, '--gridsize', String(job.gridsize)];
  for (const [key, flag] of TRAIN_VALUE_FLAGS) {
    const v = s[key];
    if (v !== undefined) out.push(flag, String(v));
  }
  if (s.previewCenter) out.push('--preview-center', `${s.previewCenter[0]},${s.previewCenter[1]}`);
  if (s.previewSize !== DEFAULT_TRAINING.previewSize) out.push('--preview-size', String(s.previewSize));
  out.push(s.stitchPhaseAlignment ? '--stitch-phase-align' : '--plain-stitch');
  if (!s.stitchFillHoles) out.push('--keep-holes');
  if (!s.stitchCrosstalkCorrection) out.push('--no-crosstalk-correction');
  if (!s.stitchCentroidRefinement) out.push('--no-centroid-refinement');
  if (!s.stitchAmplitudeFilter) out.push('--no-amplitude-filter');
  if (!s.stitchPhaseFilter) out.push('--no-phase-filter');
  // 'auto' has no flag: the job's gridsize resolves it (off is the default).
  if (resolveGridsizeTwoSwitch(s.stitchContrastCalibration, job.gridsize)) out.push('--contrast-calibration');
  if (s.probeBig) out.push('--probe-big');
  if (!s.rampHead) out.push('--no-ramp-head');
  if (s.residualBlocks) out.push('--residual-blocks');
  if (s.regroupEachEpoch) out.push('--regroup-each-epoch');
  // 'auto' is the default and has no flag of its own.
  if (s.symmetryAugment !== DEFAULT_TRAINING.symmetryAugment && s.symmetryAugment !== 'auto') out.push(s.symmetryAugment ? '--symmetry-augment' : '--no-symmetry-augment');
  if (s.backprojectedInput) out.push('--backprojected-input');
  if (s.energyAmplitude) out.push('--energy-amplitude');
  if (!s.patienceRestartsOnLrReduction) out.push('--no-patience-restart');
  if (s.allowIntensityData) out.push('--allow-intensity-data');
  if (threads !== undefined && threads > 0) out.push('--threads', String(threads));
  return out;
}

/** argv (after the program) of `ptycho-study reconstruct` for one Phase F job. */
export function reconstructArgs(job: { dose: number; view: string; split: Split; algorithm: ReconAlgorithm }, roots: CommandRoots, overrides: Partial<ReconstructionSettings>): string[] {
  const s = resolveReconstructionSettings(overrides);
  const out = ['reconstruct', ...rootArgs(roots, true), '--dose', doseArg(job.dose), '--view', job.view, '--split', job.split, '--algorithm', job.algorithm,
    '--iterations', String(s.iterations), '--probe', s.probeMode, '--seed', String(s.seed), '--checkpoint-every', String(s.checkpointEvery), '--ep', s.executionProvider];
  if (!s.amplitudeFilter) out.push('--no-amplitude-filter');
  if (!s.phaseFilter) out.push('--no-phase-filter');
  if (job.algorithm === 'ad') {
    if (s.learningRate !== undefined) out.push('--learning-rate', String(s.learningRate));
    out.push('--loss', s.loss, '--batch-size', String(s.batchSize));
  } else {
    out.push('--momentum', String(s.momentum));
    if (s.anneal > 0) out.push('--anneal', String(s.anneal));
    if (s.alpha !== undefined) out.push('--alpha', String(s.alpha));
    if (s.beta !== undefined) out.push('--beta', String(s.beta));
  }
  return out;
}

/** One argument quoted for a POSIX shell (left bare when it is made of safe characters only). */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A whole command line for a POSIX shell. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}
