// The one explicit configuration object of a run (the CONFIG-001 lesson: no hidden globals).
// Every value a run depends on is here, resolved before the run starts, and recorded in its manifest.

export type ExecutionProvider = 'auto' | 'cuda' | 'webgpu' | 'cpu';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['auto', 'cuda', 'webgpu', 'cpu'];

/**
 * How each patch is blended into the stitched object (train/stitch.ts): 'crop', the study's hard central M×M crops
 * (reassemble_position); 'taper', every pixel of the patch weighted cos²(π·d/L) per axis, d its distance from the
 * patch centre and L = N/2 the network's support, so overlapping predictions fade into each other instead of meeting
 * at the crops' edges; 'probe', every pixel of the patch weighted by its patterns' probe intensity Σ|P(x − r_k)|² (for
 * predictions on the full N × N support, README item 29); 'auto', probe for gridsize 2 on the full support, taper for
 * gridsize 2 on the central N/2, crop for gridsize 1 (README item 23: the taper raised or kept every figure of the five
 * gridsize-2 models it was tried on, and mixed those of gridsize-1 models).
 */
export type StitchBlend = 'auto' | 'crop' | 'taper' | 'probe';
/** Most iterations of training.groupRefinement: each costs about as much as inferring the group again. */
export const MAX_GROUP_REFINEMENT = 1000;
export const STITCH_BLENDS: readonly StitchBlend[] = ['auto', 'crop', 'taper', 'probe'];

/** Where the network predicts the object (TrainingSettings.objectSupport; 'auto': resolveObjectSupport). */
export type ObjectSupport = 'auto' | 'centre' | 'full';
export const OBJECT_SUPPORTS: readonly ObjectSupport[] = ['auto', 'centre', 'full'];

/**
 * A switch that may be left to the gridsize: on, off, or 'auto' = on for gridsize 2 only (resolveGridsizeTwoSwitch).
 * Used by TrainingSettings.symmetryAugment and TrainingSettings.stitchContrastCalibration.
 */
export type GridsizeTwoSwitch = boolean | 'auto';
export const GRIDSIZE_TWO_SWITCHES: readonly GridsizeTwoSwitch[] = ['auto', true, false];

/** Training hyperparameters; defaults follow the TF reference (domain.md §10.2). */
export interface TrainingSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Floor of reduce-on-plateau. */
  minLearningRate: number;
  plateauFactor: number;
  plateauPatience: number;
  earlyStoppingPatience: number;
  /**
   * Each learning rate gets its own patience: a reduction on plateau restarts early stopping's count, so a run stops
   * only once the monitored loss has stalled at the floor of the schedule. Off: Keras's independent callbacks
   * (PtychoPINN's), which stop a run right after its first reduction — measured, just before it left the plateau
   * where untrained gridsize-2 models sit (README item 19).
   */
  patienceRestartsOnLrReduction: boolean;
  /**
   * The loss the schedule and early stopping watch: 'val_loss' (the held-out groups, the same every epoch) or
   * 'loss' (the epoch's mean training loss, as the TF reference's EarlyStopping). The original study left it open.
   */
  earlyStoppingMonitor: 'val_loss' | 'loss';
  /**
   * Smallest decrease of the monitored loss that counts as an improvement, absolute (Keras's min_delta 1e-4).
   * The Poisson NLL carries a data-dependent constant (−k·log k, about −90 per pixel at dose 1e5, N = 64), so a
   * threshold relative to the loss value would demand ~0.01 per epoch — more than the whole gain a smooth object
   * offers late in training — and stop runs early. It is the threshold at dose 1e5 and scales with the dose
   * (minDeltaAt): the loss's differences scale with the counts, so a fixed threshold would be a hundred times
   * stricter at dose 1e3 (README item 37).
   */
  minDelta: number;
  validationFraction: number;
  /** Groups per epoch; undefined = one per pattern (gs1), and for gs2 no fewer than the dose's Phase C training patterns (plan.ts defaultGroups). */
  nGroups: number | undefined;
  /** K nearest neighbours for gs2 grouping. */
  neighborCount: number;
  nFiltersScale: number;
  intensityScaleTrainable: boolean;
  probeTrainable: boolean;
  /** Central M×M crop of each predicted patch used when stitching the full object (study default 20). */
  stitchCropSize: number;
  /**
   * Synchronise the patches' constant phases over all overlapping pairs before stitching (train/phaseSync.ts;
   * off: the study's plain position-weighted average, reassemble_position). A pattern (gs1) or group (gs2)
   * cannot fix its own constant phase, so predictions carry arbitrary offsets that the plain average mixes
   * incoherently. On by default: it raised the covered phase r on two studies and both gridsizes (README).
   */
  stitchPhaseAlignment: boolean;
  /**
   * Fill the holes a random scan leaves between the central M×M crops from the rest of each patch's N/2 support,
   * weighted 1e-3 (train/stitch.ts StitchFill); off: the study's holes, scored as zero amplitude. Crops still decide
   * wherever they reach, and the covered pixels are the same.
   */
  stitchFillHoles: boolean;
  /**
   * Gridsize 1, with stitchPhaseAlignment: before the final synchronisation, re-explain each pattern's phase
   * slope with the stitched amplitude (train/stitch.ts crosstalkCorrectedPhases): under a curved probe an
   * amplitude edge moves the far-field centroid as a phase ramp does, and the network's slopes copy its amplitude
   * errors, which synchronisation integrates into the large-scale phase (README item 17). Off: the slopes as predicted.
   */
  stitchCrosstalkCorrection: boolean;
  /**
   * With stitchPhaseAlignment, any gridsize: one centroid-consistency step at the end of stitching
   * (train/centroids.ts): each patch gets the phase plane its patterns' measured far-field centroids ask of the
   * stitched object, kept only when the re-stitched object explains the centroids better (README item 21).
   */
  stitchCentroidRefinement: boolean;
  /**
   * Iterations of alternating projections that refine each gridsize-2 prediction on its own group's patterns before
   * stitching (train/groupRefinement.ts; README item 43): 0 = the network's predictions as they are.
   * 'auto' (default): the count (0, 1, 3, 10, 30 or 100, in steps) whose stitches of one half of the evaluation's
   * patterns best predict the other half's, held out (train/refinementSelection.ts; README items 44-46) — the data
   * decide, no ground truth.
   * Gridsize 1 ignores it (one pattern does not hold its phase, item 16).
   */
  groupRefinement: number | 'auto';
  /** How the patches are blended in stitching (StitchBlend): 'auto' (resolveStitchBlend), 'crop', 'taper', 'probe'. */
  stitchBlend: StitchBlend;
  /**
   * The evaluation's stitched amplitude weighted, frequency by frequency, by the Fourier ring correlation of two
   * half-stitches (the even and the odd patches; gridsize 2: two disjoint halves of the patterns, grouped and inferred
   * apart — train/halfSetFilter.ts): detail two halves of the data do not reproduce is damped, with no ground truth
   * (README items 24, 39). Off: the stitched amplitude as it is.
   */
  stitchAmplitudeFilter: boolean;
  /** The evaluation's stitched phase weighted the same way, by the halves' phase FRC (README item 25). */
  stitchPhaseFilter: boolean;
  /**
   * Last step of the evaluation's stitching: the phase scaled about its mean plane by the one gain with which the
   * forward model of the stitched object fits the evaluation's own patterns best (train/contrastCalibration.ts;
   * truth-free, README item 36). Opt-in: 'auto' for gridsize 2 only, whose stitched phase is shrunk alike at every
   * scale (a gridsize-1 stitch's large scales are not, and one gain overshoots them); true for every gridsize. Off
   * (default): the contrast as predicted — on a model trained for a few epochs the fitted gain lowered the phase SSIM.
   */
  stitchContrastCalibration: GridsizeTwoSwitch;
  /**
   * How the dataset's probe is scaled inside the model: 'energy' (Σ|P|²·0.5² = (N/2)², so the object the data
   * require has mean amplitude ≈ 0.5, mid-range of the sigmoid, whatever the probe's shape) or 'mask-mean'
   * (PtychoPINN's P / (4·mean|P·disc|), whose required amplitude depends on the probe and can saturate).
   */
  probeNormalization: 'energy' | 'mask-mean';
  /**
   * How the conv kernels start: 'glorot' (Keras's default, PtychoPINN's) or 'he' (He-uniform on the ReLU convs,
   * zero heads: the untrained model is exactly the flat object). See WeightInit.
   */
  weightInit: 'he' | 'glorot';
  /** Linear learning-rate warm-up over the first optimizer steps (0 = none). */
  warmupSteps: number;
  /**
   * PtychoPINN's probe.big: a border branch predicts the object outside the central N/2 square too, so the
   * model explains the diffraction from the probe's whole footprint (ArchitectureSpec.probeBig).
   */
  probeBig: boolean;
  /**
   * The ramp head (ArchitectureSpec.rampHead): each pattern's phase gets a learnt linear ramp, the local phase
   * gradient that convolutional decoders cannot produce away from their borders. Not in PtychoPINN.
   */
  rampHead: boolean;
  /**
   * The energy-scaled amplitude (ArchitectureSpec.energyAmplitude): each pattern's predicted amplitude is scaled by
   * the rms amplitude its total counts imply, so the decoder learns only the relative structure. Not in PtychoPINN.
   */
  energyAmplitude: boolean;
  /**
   * Where the network predicts the object (ArchitectureSpec.fullSupport): 'centre', PtychoPINN's pad_object (the
   * central N/2 × N/2 square, zero outside), or 'full' (all N × N: each decoder gains a level; a gridsize-2 group is
   * merged with its probes' intensities as weights; excludes probeBig); 'auto' (default), full for gridsize 2 and
   * centre for gridsize 1 (resolveObjectSupport; README item 29).
   */
  objectSupport: ObjectSupport;
  /**
   * Residual blocks (ArchitectureSpec.residualBlocks): each level's second Conv+ReLU adds to its input. The same
   * parameters; the structured study's loss falls about twice as fast, its phase does not gain, and short runs and
   * the independent study lose (README item 27), so off by default. Not in PtychoPINN.
   */
  residualBlocks: boolean;
  /**
   * Gridsize 2: draw each training group's C = 4 patterns afresh from its seed's K nearest neighbours every epoch
   * (PtychoPINN's K-choose-C oversampling, one draw per seed and epoch), so the network sees the same patterns in new
   * groups instead of one fixed grouping. The same steps per epoch; validation and test groups stay fixed.
   */
  regroupEachEpoch: boolean;
  /**
   * Draw each training group under one of the mirrors and rotations of the square that leave the probe unchanged
   * (core/train/symmetry.ts): the turned patterns and offsets are what a turned specimen would give with the same
   * probe, so the network sees more object content from the same data. A probe without symmetry (a measured one)
   * leaves the data as they are. Validation and test groups are never turned. 'auto' (default): on for gridsize 2,
   * where it was measured to gain (README item 35), off for gridsize 1, where it did not.
   */
  symmetryAugment: GridsizeTwoSwitch;
  /**
   * Back-projected input (ArchitectureSpec.backprojectedInput): the encoder also reads each pattern propagated back
   * to the sample with the flat object's far-field phase and divided by the probe — two real-space planes per
   * pattern. Only the first kernel widens. Not in PtychoPINN (README item 28).
   */
  backprojectedInput: boolean;
  /**
   * Train on diffraction that validation says looks like intensity or photon counts (amplitude squared): its
   * errors become warnings. A deliberate choice, recorded in the manifest; the model still fits it as amplitude.
   */
  allowIntensityData: boolean;
  /**
   * The window the model is scored on and previewed after each epoch (issue 15): its centre in object pixels
   * (null: the centre of the test groups) and its side. Monitoring only: a resume may change it.
   */
  previewCenter: [number, number] | null;
  previewSize: number;
  seed: number;
  executionProvider: ExecutionProvider;
}

export const DEFAULT_TRAINING: Readonly<TrainingSettings> = Object.freeze({
  epochs: 50,
  batchSize: 16,
  // PtychoPINN's 1e-3 collapses the gridsize-2 model to the flat object (README, Reconstruction quality).
  learningRate: 2.5e-4,
  minLearningRate: 1e-4,
  plateauFactor: 0.5,
  plateauPatience: 2,
  earlyStoppingPatience: 3,
  patienceRestartsOnLrReduction: true,
  earlyStoppingMonitor: 'val_loss',
  minDelta: 1e-4,
  validationFraction: 0.05,
  nGroups: undefined,
  neighborCount: 7,
  nFiltersScale: 2,
  intensityScaleTrainable: true,
  probeTrainable: false,
  stitchCropSize: 20,
  stitchPhaseAlignment: true,
  stitchFillHoles: true,
  stitchCrosstalkCorrection: true,
  stitchCentroidRefinement: true,
  groupRefinement: 'auto',
  stitchBlend: 'auto',
  stitchAmplitudeFilter: true,
  stitchPhaseFilter: true,
  stitchContrastCalibration: false,
  probeNormalization: 'energy',
  weightInit: 'glorot',
  warmupSteps: 0,
  probeBig: false,
  rampHead: true,
  energyAmplitude: false,
  objectSupport: 'auto',
  residualBlocks: false,
  regroupEachEpoch: false,
  symmetryAugment: 'auto',
  backprojectedInput: false,
  allowIntensityData: false,
  previewCenter: null,
  previewSize: 96,
  seed: 42,
  executionProvider: 'auto',
});

/** Where the study lives. Each root is optional: a study with only Phase C lists its baseline jobs. */
export interface StudyRoots {
  phaseCRoot?: string;
  phaseDRoot?: string;
  artifactRoot: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Merges user overrides into the defaults and checks every value; throws ConfigError with a clear sentence. */
export function resolveTrainingSettings(overrides: Partial<TrainingSettings> = {}): TrainingSettings {
  const s: TrainingSettings = { ...DEFAULT_TRAINING };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_TRAINING)) throw new ConfigError(`Unknown training setting "${k}".`);
    (s as unknown as Record<string, unknown>)[k] = v;
  }
  const positiveInt = (name: keyof TrainingSettings, v: unknown): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be a positive integer (got ${String(v)}).`);
  };
  const trueOrFalse = (name: keyof TrainingSettings): void => {
    if (typeof s[name] !== 'boolean') throw new ConfigError(`${name} must be true or false (got ${String(s[name])}).`);
  };
  const gridsizeTwoSwitch = (name: 'stitchContrastCalibration' | 'symmetryAugment'): void => {
    if (!GRIDSIZE_TWO_SWITCHES.includes(s[name])) throw new ConfigError(`${name} must be true, false or 'auto' (got ${String(s[name])}).`);
  };
  positiveInt('epochs', s.epochs);
  positiveInt('batchSize', s.batchSize);
  positiveInt('neighborCount', s.neighborCount);
  positiveInt('nFiltersScale', s.nFiltersScale);
  positiveInt('stitchCropSize', s.stitchCropSize);
  trueOrFalse('stitchPhaseAlignment');
  trueOrFalse('stitchFillHoles');
  trueOrFalse('stitchCrosstalkCorrection');
  trueOrFalse('stitchCentroidRefinement');
  if (s.groupRefinement !== 'auto' && !(Number.isInteger(s.groupRefinement) && s.groupRefinement >= 0 && s.groupRefinement <= MAX_GROUP_REFINEMENT)) throw new ConfigError(`groupRefinement must be "auto" or an integer from 0 to ${MAX_GROUP_REFINEMENT} (iterations; got ${String(s.groupRefinement)}).`);
  trueOrFalse('stitchAmplitudeFilter');
  trueOrFalse('stitchPhaseFilter');
  gridsizeTwoSwitch('stitchContrastCalibration');
  if (!STITCH_BLENDS.includes(s.stitchBlend)) throw new ConfigError(`stitchBlend must be one of ${STITCH_BLENDS.join(', ')} (got ${String(s.stitchBlend)}).`);
  if (s.earlyStoppingMonitor !== 'val_loss' && s.earlyStoppingMonitor !== 'loss') throw new ConfigError(`earlyStoppingMonitor must be 'val_loss' or 'loss' (got ${String(s.earlyStoppingMonitor)}).`);
  if (!(typeof s.minDelta === 'number' && s.minDelta >= 0 && Number.isFinite(s.minDelta))) throw new ConfigError(`minDelta must be a finite number ≥ 0 (got ${String(s.minDelta)}).`);
  if (s.probeNormalization !== 'energy' && s.probeNormalization !== 'mask-mean') throw new ConfigError(`probeNormalization must be 'energy' or 'mask-mean' (got ${String(s.probeNormalization)}).`);
  if (!(Number.isInteger(s.warmupSteps) && s.warmupSteps >= 0)) throw new ConfigError(`warmupSteps must be a non-negative integer (got ${String(s.warmupSteps)}).`);
  if (s.weightInit !== 'he' && s.weightInit !== 'glorot') throw new ConfigError(`weightInit must be 'he' or 'glorot' (got ${String(s.weightInit)}).`);
  trueOrFalse('probeBig');
  trueOrFalse('rampHead');
  trueOrFalse('backprojectedInput');
  trueOrFalse('residualBlocks');
  gridsizeTwoSwitch('symmetryAugment');
  trueOrFalse('regroupEachEpoch');
  trueOrFalse('energyAmplitude');
  if (!OBJECT_SUPPORTS.includes(s.objectSupport)) throw new ConfigError(`objectSupport must be one of ${OBJECT_SUPPORTS.join(', ')} (got ${String(s.objectSupport)}).`);
  if (s.objectSupport === 'full' && s.probeBig) throw new ConfigError('objectSupport \'full\' and probeBig exclude each other: both predict the object outside the central N/2 (choose one).');
  trueOrFalse('patienceRestartsOnLrReduction');
  trueOrFalse('allowIntensityData');
  const c = s.previewCenter;
  if (c !== null && !(Array.isArray(c) && c.length === 2 && c.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1e6))) {
    throw new ConfigError(`previewCenter must be null or [x, y], object pixels ≥ 0 (got ${JSON.stringify(c)}).`);
  }
  if (!(Number.isInteger(s.previewSize) && s.previewSize >= 16 && s.previewSize <= 512)) throw new ConfigError(`previewSize must be a whole number of pixels in 16…512 (got ${String(s.previewSize)}).`);
  if (s.probeTrainable) throw new ConfigError('probeTrainable is not supported: the probe is taken from the dataset (probeGuess) and kept fixed.');
  if (s.nGroups !== undefined) positiveInt('nGroups', s.nGroups);
  if (!(s.learningRate > 0 && s.learningRate < 1)) throw new ConfigError(`learningRate must be in (0, 1) (got ${s.learningRate}).`);
  if (!(s.minLearningRate > 0 && s.minLearningRate <= s.learningRate)) throw new ConfigError(`minLearningRate must be in (0, learningRate] (got ${s.minLearningRate}).`);
  if (!(s.plateauFactor > 0 && s.plateauFactor < 1)) throw new ConfigError(`plateauFactor must be in (0, 1) (got ${s.plateauFactor}).`);
  if (!(Number.isInteger(s.plateauPatience) && s.plateauPatience >= 0)) throw new ConfigError('plateauPatience must be a non-negative integer.');
  if (!(Number.isInteger(s.earlyStoppingPatience) && s.earlyStoppingPatience >= 0)) throw new ConfigError('earlyStoppingPatience must be a non-negative integer.');
  if (!(s.validationFraction >= 0 && s.validationFraction < 0.5)) throw new ConfigError(`validationFraction must be in [0, 0.5) (got ${s.validationFraction}).`);
  if (!Number.isInteger(s.seed)) throw new ConfigError(`seed must be an integer (got ${s.seed}).`);
  if (!EXECUTION_PROVIDERS.includes(s.executionProvider)) {
    throw new ConfigError(`executionProvider must be one of ${EXECUTION_PROVIDERS.join(', ')} (got ${String(s.executionProvider)}).`);
  }
  return s;
}

/** Physics intensity scale s = sqrt(nphotons)/(N/2) (domain.md §8.2 rule 3). */
export function intensityScaleFor(dose: number, n: number): number {
  return Math.sqrt(dose) / (n / 2);
}

/** The photon counts per unit of normalized intensity at `dose` for N×N patterns: the scale's square (what the Poisson loss assumes). */
export const countScaleFor = (dose: number, n: number): number => intensityScaleFor(dose, n) ** 2;

/** The dose at which training.minDelta applies as it is. */
export const MIN_DELTA_REFERENCE_DOSE = 1e5;

/**
 * The early-stopping and plateau threshold of a run at `dose`: minDelta · dose / 1e5. The Poisson loss per pixel
 * differs between two models by an amount proportional to the counts, so this asks the same relative progress at
 * every dose (README item 37).
 */
export function minDeltaAt(t: Pick<TrainingSettings, 'minDelta'>, dose: number): number {
  return Number.isFinite(dose) && dose > 0 ? (t.minDelta * dose) / MIN_DELTA_REFERENCE_DOSE : t.minDelta;
}

/**
 * What a gridsize-dependent switch means for a model of `gridsize`: 'auto' is on for gridsize 2 only — the symmetry
 * turns (training.symmetryAugment) and the phase-contrast fit (training.stitchContrastCalibration, README item 36).
 */
export function resolveGridsizeTwoSwitch(value: GridsizeTwoSwitch, gridsize: number): boolean {
  return value === 'auto' ? gridsize > 1 : value;
}

/**
 * The support `objectSupport` resolves to for a model of `gridsize`: 'auto' is the full N × N for gridsize 2 — a group
 * holds its phase on the whole window and not on PtychoPINN's central N/2 (README item 16), and with the probe blend
 * its stitched phase gains (item 29) — and the central N/2 for gridsize 1, whose short runs lose the amplitude on the
 * full support (item 29), and wherever probeBig predicts the border instead.
 */
export function resolveObjectSupport(t: Pick<TrainingSettings, 'objectSupport' | 'probeBig'>, gridsize: number): 'centre' | 'full' {
  if (t.objectSupport !== 'auto') return t.objectSupport;
  return gridsize > 1 && !t.probeBig ? 'full' : 'centre';
}
