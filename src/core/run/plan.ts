// Run planning: a plan resolves everything a run depends on into one RunConfig (no hidden globals), recorded
// verbatim in the run's manifest and run-config.json. Dry runs write a plan (dryRun.ts); launches start one (launch.ts).
import { assertInsideRoot, UnsafePathError } from './safeFiles';
import { planProviders, type ProviderPlan } from '../runtime/providers';
import { intensityScaleFor, minDeltaAt, resolveGridsizeTwoSwitch, resolveObjectSupport, resolveTrainingSettings, type TrainingSettings } from '../study/config';
import { GROUP_SIZE_GS2 } from '../study/dataset';
import { applyOverrides, hasErrors, formatFinding, type Finding } from '../study/findings';
import type { StudyJob } from '../study/jobs';
import { formatDose } from '../study/layout';
import type { DatasetProvenance } from '../study/manifest';
import { REFINEMENT_CANDIDATES, REFINEMENT_STEPS } from '../train/refinementSelection';

/** Everything one training run depends on. Recorded verbatim in its manifest and run-config.json. */
export interface RunConfig {
  jobId: string;
  dose: number;
  view: string;
  gridsize: number;
  /** Patterns per group: gridsize². */
  groupSize: number;
  trainPath: string;
  testPath?: string;
  /** Member holding the patterns (`diffraction` or `diff3d`) and its axis order. */
  diffractionKey: string;
  diffractionLayout: 'nhw' | 'hwn';
  /** Pattern size N. */
  n: number;
  trainPatterns: number;
  testPatterns?: number;
  /** Groups per epoch, resolved from the settings and the data. */
  nGroups: number;
  /** Physics intensity scale s = sqrt(dose)/(N/2), initial value of the trainable log-scale. */
  intensityScale: number;
  training: TrainingSettings;
  artifactDir: string;
  /** The study's roots, so a run can rebuild the study-level training_manifest.json when it ends. */
  study?: { phaseCRoot?: string; phaseDRoot?: string; artifactRoot: string };
  /** What the headline metrics are computed on (absent in configs planned before the common evaluation). */
  evaluation?: EvaluationPlan;
  /** The choices the original study left open (domain.md §14.4), each with the value used and the reference's. */
  openChoices?: OpenChoice[];
  /** The workspace settings files whose values the settings took (the CLI; absent: flags and defaults only). */
  settingsSources?: string[];
}

/**
 * The common evaluation of a dose (domain.md §7.3): every job of the dose is scored on the same dataset, its
 * Phase C test split, over the same object region. A dose without a Phase C test file falls back to the job's
 * own test split (or, without one, its training split), and says why.
 */
export interface EvaluationPlan {
  /** The dataset the headline metrics are computed on. */
  datasetPath: string;
  source: EvaluationSource;
  /** Why it is not the dose's Phase C test split. */
  fallbackReason?: string;
}

export type EvaluationSource = 'phase-c-test' | 'own-test' | 'own-train';

export interface OpenChoice {
  key: string;
  value: string | number | boolean;
  reference: string;
  note: string;
}

/**
 * The training groups of a run: the setting when given; else one per pattern — and for gridsize 2 at least as many
 * as the dose's Phase C training split has patterns, so that every view of a dose trains the same number of optimizer
 * steps per epoch (a sparse view's groups are then drawn with replacement from its seeds, each with its own C of the
 * K neighbours; README item 40). PtychoPINN draws one n_groups for every view.
 */
export function defaultGroups(setting: number | undefined, patterns: number, gridsize: number, dosePatterns: number | undefined): number {
  if (setting !== undefined) return setting;
  return gridsize > 1 && dosePatterns !== undefined ? Math.max(patterns, dosePatterns) : patterns;
}

/** The study's unrecorded choices, made explicit for one run of `gridsize` (recorded in run-config.json and the manifest). */
export function openChoicesOf(training: TrainingSettings, nGroups: number, patterns: number, gridsize: number, dose: number, dosePatterns?: number): OpenChoice[] {
  const support = resolveObjectSupport(training, gridsize);
  const turned = resolveGridsizeTwoSwitch(training.symmetryAugment, gridsize);
  const calibrated = resolveGridsizeTwoSwitch(training.stitchContrastCalibration, gridsize);
  return [
    { key: 'nGroups', value: nGroups, reference: '512 (TrainingConfig default)', note: training.nGroups !== undefined ? 'set explicitly'
      : nGroups > patterns ? `as many as the dose's Phase C training split has patterns (${dosePatterns}), so that every view of the dose trains as many optimizer steps per epoch: ${patterns} training patterns, seeds drawn with replacement`
        : `all ${patterns} training patterns, one group each${gridsize > 1 ? ' (no fewer than the dose\'s Phase C training split has patterns: every view of the dose trains as many optimizer steps per epoch)' : ''}` },
    { key: 'neighborCount', value: training.neighborCount, reference: '4 (TrainingConfig default); 7 (study design)', note: 'K nearest neighbours for gridsize-2 groups' },
    { key: 'earlyStoppingMonitor', value: training.earlyStoppingMonitor, reference: "'loss' (EarlyStopping) and 'val_loss' (ReduceLROnPlateau)", note: 'what the schedule and early stopping watch' },
    { key: 'patienceRestartsOnLrReduction', value: training.patienceRestartsOnLrReduction, reference: 'false (EarlyStopping and ReduceLROnPlateau count independently)', note: training.patienceRestartsOnLrReduction ? 'each learning rate gets its own patience: early stopping acts only at the floor of the schedule' : 'early stopping may end a run right after a reduction' },
    { key: 'minDelta', value: minDeltaAt(training, dose), reference: '1e-4 absolute (ReduceLROnPlateau), 0 (EarlyStopping)', note: `minDelta ${training.minDelta} at dose 1e5, scaled by the dose (${dose} / 1e5): the loss's differences scale with the counts; ` + 'smallest improvement that counts' },
    { key: 'learningRate', value: training.learningRate, reference: '1e-3 (TrainingConfig / Adam default)', note: 'initial Adam learning rate; 1e-3 collapses gridsize-2 models to the flat object' },
    { key: 'weightInit', value: training.weightInit, reference: "'glorot' (Keras glorot_uniform)", note: 'how the conv kernels start' },
    { key: 'probeNormalization', value: training.probeNormalization, reference: "'mask-mean' (P / (4·mean|P| in r < N/4))", note: 'how the dataset probe is scaled in the model' },
    { key: 'stitchPhaseAlignment', value: training.stitchPhaseAlignment, reference: 'false (reassemble_position: plain average)', note: 'stitching of the evaluation reconstruction: true = patch phases synchronised over their overlaps' },
    { key: 'stitchFillHoles', value: training.stitchFillHoles, reference: 'false (reassemble_position: the central M×M crops only; holes stay 0)', note: 'stitching of the evaluation reconstruction: true = holes between crops filled from the patches\' N/2 support at weight 1e-3' },
    { key: 'stitchCrosstalkCorrection', value: training.stitchCrosstalkCorrection, reference: 'absent (each prediction stitched with its own phase slopes)', note: 'gridsize-1 stitching of the evaluation reconstruction: true = each pattern\'s phase slope re-explained with the stitched amplitude (probe crosstalk) before the final synchronisation' },
    { key: 'stitchBlend', value: training.stitchBlend, reference: 'crop (reassemble_position: each patch\'s central M×M crop, hard edges)', note: 'stitching of the evaluation reconstruction: taper = each patch blended with a cos² window over the network\'s N/2 support; probe = each patch weighted by its patterns\' probe intensity; auto = probe for gridsize 2 on the full object support, taper for gridsize 2 on the central N/2, crop for gridsize 1' },
    { key: 'stitchAmplitudeFilter', value: training.stitchAmplitudeFilter, reference: 'absent (the stitched amplitude as predicted)', note: 'evaluation reconstruction: true = the amplitude weighted per spatial frequency by 2·FRC/(1+FRC) (Wiener), FRC between the stitches of the even and the odd patches — gridsize 2: of two disjoint halves of the patterns, grouped and inferred apart, with the SNR gain of a doubling of the data read from four quarters in place of 2 (soft-masked, pooled over rings, rolled off past its fall below 1/7; truth-free)' },
    { key: 'stitchPhaseFilter', value: training.stitchPhaseFilter, reference: 'absent (the stitched phase as predicted)', note: 'evaluation reconstruction: true = the phase weighted the same way by the FRC of the two half-stitches\' phases (each about its own mean gradient and global phase; truth-free)' },
    { key: 'stitchContrastCalibration', value: calibrated, reference: 'absent (the phase\'s contrast as predicted)', note: `evaluation reconstruction, last step: ${calibrated ? 'the phase scaled about its mean plane by the one gain with which the stitched object\'s forward model fits the evaluation\'s own patterns best (Poisson likelihood; truth-free)' : 'the phase\'s contrast as predicted'}${training.stitchContrastCalibration === 'auto' ? ` (auto: ${gridsize > 1 ? 'on for gridsize 2' : 'off for gridsize 1'})` : ''}` },
    { key: 'stitchCentroidRefinement', value: training.stitchCentroidRefinement, reference: 'absent (the stitched object is not checked against the data)', note: 'stitching of the evaluation reconstruction: true = one step adding to each patch the phase plane its patterns\' measured far-field centroids ask of the stitched object, kept only when it explains them better' },
    { key: 'groupRefinement', value: gridsize > 1 ? training.groupRefinement : 0, reference: 'absent (each group\'s prediction stitched as the network made it)', note: gridsize === 1 ? 'gridsize 1: each prediction stitched as made (one pattern does not hold its phase)' : training.groupRefinement === 'auto' ? autoRefinementNote() : training.groupRefinement > 0 ? `evaluation reconstruction: each group's prediction refined by ${training.groupRefinement} iterations of alternating projections on its own patterns before stitching (measured moduli, probe-weighted average; no other group, truth-free)` : 'each group\'s prediction stitched as the network made it' },
    { key: 'rampHead', value: training.rampHead, reference: 'absent (the decoders alone produce the phase)', note: training.rampHead ? 'a learnt linear phase ramp per pattern (slopes from the pooled bottleneck and the intensity centroid) is added on the central N/2' : 'the decoders alone produce the phase (PtychoPINN\'s network)' },
    { key: 'residualBlocks', value: training.residualBlocks, reference: 'absent (plain Conv+ReLU pairs)', note: training.residualBlocks ? 'each level\'s second Conv+ReLU adds to its input (a residual block; the same parameters)' : 'plain Conv+ReLU pairs (PtychoPINN\'s network)' },
    { key: 'regroupEachEpoch', value: training.regroupEachEpoch && gridsize > 1, reference: 'false (one grouping per run; enable_oversampling draws more groups, once)', note: gridsize === 1 ? 'gridsize 1: each pattern is its own group' : training.regroupEachEpoch ? 'each training group\'s C = 4 patterns are drawn afresh from its seed\'s K nearest neighbours every epoch (validation and test groups fixed)' : 'one grouping of the training patterns for the whole run' },
    { key: 'symmetryAugment', value: turned, reference: 'absent (each pattern as measured)', note: `${turned ? 'each training group is drawn under a mirror or rotation of the square that leaves the probe unchanged, patterns and offsets turned alike (none when the probe has no symmetry; the manifest\'s training.symmetries says which)' : 'each training pattern as measured'}${training.symmetryAugment === 'auto' ? ` (auto: ${gridsize > 1 ? 'on for gridsize 2' : 'off for gridsize 1'})` : ''}` },
    { key: 'backprojectedInput', value: training.backprojectedInput, reference: 'absent (the encoder reads the diffraction amplitudes only)', note: training.backprojectedInput ? 'the encoder also reads each pattern propagated back to the sample (flat object\'s far-field phase, divided by the probe): 3C input channels' : 'the encoder reads the diffraction amplitudes only (PtychoPINN\'s network)' },
    { key: 'energyAmplitude', value: training.energyAmplitude, reference: 'absent (the amplitude is σ(z) alone)', note: training.energyAmplitude ? 'each pattern\'s amplitude is 2·σ(z)·a₀, a₀ the rms amplitude its total counts imply' : 'the amplitude head\'s σ(z) alone (PtychoPINN\'s)' },
    { key: 'objectSupport', value: support, reference: "'centre' (pad_object: the central N/2 × N/2)", note: `${support === 'full' ? 'the object is predicted on all N × N (one decoder level more); gridsize 2 merges by probe intensity' : 'the object is predicted on the central N/2 × N/2 only'}${training.objectSupport === 'auto' ? ` (auto: ${gridsize > 1 ? 'full for gridsize 2' : 'centre for gridsize 1'}${training.probeBig ? ', centre beside probe.big' : ''})` : ''}` },
    { key: 'probeBig', value: training.probeBig, reference: 'true (ModelConfig probe_big: border branch outside the central N/2)', note: training.probeBig ? 'the object is predicted on all N × N (border branch); the merge weights borders 0.01, not PtychoPINN\'s ×1000' : 'the object is predicted on the central N/2 × N/2 only' },
  ];
}

/** The evaluation set of `job`: its dose's Phase C test split, else its own test (or train) split, with the reason. */
export function planEvaluation(job: StudyJob): EvaluationPlan {
  if (job.evaluation) return { datasetPath: job.evaluation.path, source: 'phase-c-test' };
  const why = `dose ${formatDose(job.dose)} has no Phase C test split (patched_test.npz)`;
  if (job.test.exists) return { datasetPath: job.test.path, source: 'own-test', fallbackReason: `${why}: scored on the job's own test split, so its numbers are not comparable with the other jobs of the dose.` };
  return { datasetPath: job.train.path, source: 'own-train', fallbackReason: `${why} and the job has no test split: scored on its training split.` };
}

export interface RunPlan {
  job: { id: string; dose: number; view: string; gridsize: number; state: string };
  config: RunConfig;
  providers: ProviderPlan;
  workerCommand: string[];
  findings: Finding[];
  /** False when validation errors would stop the run. */
  runnable: boolean;
  blockers: string[];
}

export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

export interface PlanOptions {
  settings?: Partial<TrainingSettings>;
  /** Absolute path of the bundled worker entry (dist/worker.js). */
  workerScript: string;
  /** Node executable that runs the worker. */
  nodePath?: string;
  /** onnxruntime-node binary folder (for the provider plan); found automatically when omitted. */
  ortBinDir?: string;
  /** The study's roots (recorded in the config; see RunConfig.study). */
  study?: RunConfig['study'];
  /** Recorded in the config (RunConfig.settingsSources). */
  settingsSources?: string[];
}

/** Resolves the run of `job`. Throws PlanError when the job has no data to plan with. */
export function planRun(job: StudyJob, options: PlanOptions): RunPlan {
  if (job.state === 'missing' || !job.train.exists) {
    throw new PlanError(`Cannot plan ${job.id}: ${job.reason ?? 'its training data is missing'}`);
  }
  const info = job.train.info;
  if (!info || info.n === undefined || info.patternCount === undefined || !info.diffractionKey) {
    throw new PlanError(`Cannot plan ${job.id}: ${job.reason ?? `the training file ${job.train.path} could not be read`}`);
  }
  assertArtifactDir(job);
  const training = resolveTrainingSettings(options.settings);
  const groupSize = job.gridsize * job.gridsize;
  const nGroups = defaultGroups(training.nGroups, info.patternCount, job.gridsize, job.dosePatterns);
  const config: RunConfig = {
    jobId: job.id,
    dose: job.dose,
    view: job.view,
    gridsize: job.gridsize,
    groupSize,
    trainPath: job.train.path,
    testPath: job.test.exists ? job.test.path : undefined,
    diffractionKey: info.diffractionKey,
    diffractionLayout: info.layout ?? 'nhw',
    n: info.n,
    trainPatterns: info.patternCount,
    testPatterns: job.test.info?.patternCount,
    nGroups,
    intensityScale: intensityScaleFor(job.dose, info.n),
    training,
    artifactDir: job.artifactDir,
    study: options.study,
    evaluation: planEvaluation(job),
    openChoices: openChoicesOf(training, nGroups, info.patternCount, job.gridsize, job.dose, job.dosePatterns),
    ...(options.settingsSources?.length ? { settingsSources: options.settingsSources } : {}),
  };
  // Errors the settings accept deliberately (allowIntensityData) become warnings, here and in the manifest.
  const findings = applyOverrides(job.findings, training);
  const blockers = findings.filter((f) => f.severity === 'error').map(formatFinding);
  if (training.stitchCropSize > info.n) blockers.push(`stitchCropSize ${training.stitchCropSize} is larger than the patterns (N=${info.n}).`);
  if (job.gridsize > 1 && training.neighborCount < GROUP_SIZE_GS2) {
    blockers.push(`OVERSAMPLING-001: neighborCount ${training.neighborCount} < C=${GROUP_SIZE_GS2}.`);
  }
  const providers = planProviders(training.executionProvider, options.ortBinDir);
  const workerCommand = [options.nodePath ?? process.execPath, options.workerScript, '--job-dir', job.artifactDir];
  return {
    job: { id: job.id, dose: job.dose, view: job.view, gridsize: job.gridsize, state: job.state },
    config,
    providers,
    workerCommand,
    findings,
    runnable: blockers.length === 0 && !hasErrors(findings),
    blockers,
  };
}

/**
 * Every job writes only inside the artifact root: its folder must resolve there by name (a view or dose name
 * cannot climb out) and through no symlink leading elsewhere. Checked at plan time, before any folder is made.
 */
function assertArtifactDir(job: StudyJob): void {
  try {
    assertInsideRoot(job.artifactRoot, job.artifactDir);
  } catch (err) {
    if (err instanceof UnsafePathError) throw new PlanError(`Cannot plan ${job.id}: ${err.message}`);
    throw err;
  }
}

export function provenance(file: string, info: StudyJob['train']['info']): DatasetProvenance {
  return {
    path: file,
    bytes: info?.sizeBytes ?? 0,
    mtimeMs: info?.mtimeMs ?? 0,
    nPatterns: info?.patternCount,
    N: info?.n,
    diffractionKey: info?.diffractionKey,
    layout: info?.layout,
  };
}

/** The human-readable plan, as printed by the CLI and appended to train.log. */
export function describePlan(plan: RunPlan): string[] {
  const c = plan.config;
  const t = c.training;
  const lines = [
    `job            ${c.jobId}  (dose ${formatDose(c.dose)} photons/pattern, view ${c.view}, gridsize ${c.gridsize})`,
    `train data     ${c.trainPath}  (${c.trainPatterns} patterns, N=${c.n}, ${c.diffractionKey}${c.diffractionLayout === 'hwn' ? ', legacy (H,W,n) order' : ''})`,
    `test data      ${c.testPath ? `${c.testPath}  (${c.testPatterns ?? '?'} patterns)` : '(none)'}`,
    ...(c.evaluation ? [`evaluation     ${c.evaluation.datasetPath}  (${c.evaluation.source === 'phase-c-test' ? "the dose's Phase C test split, common to every job of the dose" : c.evaluation.fallbackReason ?? c.evaluation.source})`] : []),
    `groups         ${c.nGroups} groups of ${c.groupSize}${c.gridsize > 1 ? `, K=${t.neighborCount} nearest neighbours` : ''}`,
    `training       ${t.epochs} epochs, batch ${t.batchSize}, Adam lr ${t.learningRate} (plateau ×${t.plateauFactor} after ${t.plateauPatience}, floor ${t.minLearningRate}), early stop after ${t.earlyStoppingPatience}${t.patienceRestartsOnLrReduction ? ' at the floor' : ''}, validation ${t.validationFraction * 100}%, seed ${t.seed}`,
    `intensity      s = sqrt(${c.dose})/(N/2) = ${c.intensityScale.toPrecision(6)}${t.intensityScaleTrainable ? ' (trainable)' : ''}`,
    `provider       requested ${plan.providers.requested}; would try ${plan.providers.candidates.join(' → ')}`,
    ...plan.providers.notes.map((n) => `               ${n}`),
    `worker         ${plan.workerCommand.map(quoteArg).join(' ')}`,
    `artifacts      ${c.artifactDir}`,
  ];
  for (const f of plan.findings) lines.push(`finding        ${formatFinding(f)}`);
  lines.push(plan.runnable ? 'verdict        runnable' : `verdict        NOT runnable: ${plan.blockers.join(' ')}`);
  return lines;
}

function quoteArg(a: string): string {
  return /^[A-Za-z0-9_./:=-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** The plan's note for groupRefinement 'auto', read off REFINEMENT_STEPS (so it lists what the selection tries). */
function autoRefinementNote(): string {
  const all = REFINEMENT_CANDIDATES.join(', ').replace(/, (\d+)$/, ' or $1');
  const when = REFINEMENT_STEPS.slice(1).map((step, k) => {
    // A step is taken where the largest count tried before it beat the one tried just before that.
    const [previous, largest] = REFINEMENT_STEPS.slice(0, k + 1).flat().slice(-2);
    return `${step.join(', ').replace(/, (\d+)$/, ' and $1')} tried only where ${largest} beats ${previous}`;
  }).join(', ');
  return `evaluation reconstruction: each group's prediction refined by ${all} iterations of alternating projections on its own patterns, the count whose stitches of one half of the patterns best predict the other half's (held out; truth-free; ${when})`;
}
