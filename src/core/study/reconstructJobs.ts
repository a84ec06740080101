// Phase F: the iterative-reconstruction job matrix, per dose × view × split × algorithm, beside the training
// jobs (jobs.ts) and on the same views: `baseline` on the dose's Phase C split, every Phase D view on its own
// split. Id `dose_<int>/<view>/<split>/<algorithm>`, artifacts in `<phaseFRoot>/dose_<int>/<view>/<split>/<algorithm>/`
// (default Phase F root: `phase_f` beside Phase C). A job is judged on its own split file only, so a missing
// or broken view never blocks another; its run state is read back from its folder like a training job's.
//
// Planning resolves one ReconstructionConfig (written as the job's run-config.json, recorded in its manifest):
// the dataset, every engine parameter, the provider requested (epie/rpie run in TypeScript on the CPU) and the
// evaluation plan — the dose's common evaluation (its Phase C test split and scan region, as for training)
// for a test-split job; a train-split job covers another part of the object and is scored on its own region.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertInsideRoot, UnsafePathError } from '../run/safeFiles';
import { DEFAULT_TRAINING, EXECUTION_PROVIDERS, type ExecutionProvider } from './config';
import type { DatasetLayout, StudyLayout } from './discovery';
import { inspectEachOnce, type DatasetInfo } from './dataset';
import { formatFinding, type Finding } from './findings';
import { jobMatrix, matchesFilter, refreshRunState, runLimited, type DataProblem, type JobDataset, type JobFilter, type JobState } from './jobs';
import { doseFolderName, formatDose, parseDoseFolder, SPLITS, type Split } from './layout';
import { type DatasetProvenance, type RunRecord, type RunStatus, type RunTiming, type RuntimeInfo } from './manifest';
import { PlanError, type EvaluationPlan } from '../run/plan';
import { RunConfigError } from './runConfigFile';

/**
 * Algorithms a Phase F job can name: ePIE and rPIE (TypeScript, src/core/iterative/engine.ts) and ad (automatic
 * differentiation: an ONNX graph of the object run by onnxruntime, src/core/iterative/ad.ts).
 */
export const RECON_ALGORITHMS = ['epie', 'rpie', 'ad'] as const;
export type ReconAlgorithm = (typeof RECON_ALGORITHMS)[number];
/** Every algorithm runs; these are listed for each dose × view without being asked for (ad on request, or once run). */
export const LISTED_RECON_ALGORITHMS: readonly ReconAlgorithm[] = ['epie', 'rpie'];
export const PROBE_MODES = ['fixed', 'refine'] as const;
export type ReconProbeMode = (typeof PROBE_MODES)[number];
/** The ad reconstructor's data term: Gaussian on amplitudes, or the PINN's Poisson NLL. */
export const AD_LOSSES = ['amplitude', 'poisson'] as const;
export type AdLossName = (typeof AD_LOSSES)[number];

/** The job's log; every other artifact has the training job's name (layout.ts ARTIFACT). */
export const RECON_LOG = 'recon.log';

/** Phase F files at its root (the original study's names, domain.md §6). */
export const PHASE_F_ARTIFACT = {
  reconstructionManifest: 'reconstruction_manifest.json',
  skipSummary: 'skip_summary.json',
} as const;

/** Default Phase F root: `phase_f` beside Phase C (else Phase D, else the training artifact root). */
export function defaultPhaseFRoot(layout: Pick<StudyLayout, 'phaseCRoot' | 'phaseDRoot' | 'artifactRoot'>): string {
  const anchor = layout.phaseCRoot ?? layout.phaseDRoot ?? layout.artifactRoot;
  return path.join(path.dirname(anchor), 'phase_f');
}

export function reconstructionJobId(dose: number, view: string, split: Split, algorithm: ReconAlgorithm): string {
  return `${doseFolderName(dose)}/${view}/${split}/${algorithm}`;
}

/** Inverse of reconstructionJobId: `dose_1000/dense/test/epie` → parts, or undefined. */
export function parseReconstructionJobId(id: string): { dose: number; view: string; split: Split; algorithm: ReconAlgorithm } | undefined {
  const m = /^(dose_[^/]+)\/([A-Za-z0-9_-]+)\/(train|test)\/([a-z]+)$/.exec(id.trim());
  if (!m || !(RECON_ALGORITHMS as readonly string[]).includes(m[4])) return undefined;
  const dose = parseDoseFolder(m[1]);
  return dose === undefined ? undefined : { dose, view: m[2], split: m[3] as Split, algorithm: m[4] as ReconAlgorithm };
}

export function reconstructionDirFor(phaseFRoot: string, dose: number, view: string, split: Split, algorithm: ReconAlgorithm): string {
  return path.join(phaseFRoot, doseFolderName(dose), view, split, algorithm);
}

/** Engine parameters of a reconstruction run (src/core/iterative ReconstructionOptions), resolved at plan time. */
export interface ReconstructionSettings {
  /** Iterations in total (each visits every pattern once); a resumed run continues to this count. */
  iterations: number;
  probeMode: ReconProbeMode;
  /** ePIE step size / rPIE regularisation of the object update; undefined = the engine's default for the algorithm. */
  alpha?: number;
  /** The same for the probe update. */
  beta?: number;
  /** First iteration (0-based) that refines the probe, with probeMode 'refine'. */
  probeStart: number;
  /** Heavy-ball momentum per iteration (fixed probe only); 0 = the textbook algorithms. */
  momentum: number;
  friction: number;
  /** ePIE/rPIE: the last fraction of the iterations over which the object step falls to 0.2 of its value; 0 = off. */
  anneal: number;
  /** Seed of the random pattern order (a pure function of seed and iteration). */
  seed: number;
  /** A checkpoint every this many iterations (and on cancel, and at the end). */
  checkpointEvery: number;
  /** Requested; epie and rpie always run on the CPU (the manifest says so); ad runs on it (falling back to the CPU). */
  executionProvider: ExecutionProvider;
  /** ad: Adam's initial step size (a cosine schedule takes it down to 5 % over the iterations); undefined = the engine's. */
  learningRate?: number;
  /** ad: patterns per Adam step. */
  batchSize: number;
  /** ad: the data term. */
  loss: AdLossName;
  /** M of the common region (scan box ± M/2): the training jobs' stitch crop size, so the regions agree. */
  regionCropSize: number;
  /**
   * Weight the scored amplitude by its half-set FRC, as a training job's (training.stitchAmplitudeFilter): two more
   * reconstructions, of the even and of the odd patterns, give the FRC. Scoring only: a resume may change it.
   */
  amplitudeFilter: boolean;
  /** The scored phase weighted the same way, by the halves' phase FRC (training.stitchPhaseFilter). */
  phaseFilter: boolean;
}

export const DEFAULT_RECONSTRUCTION: Readonly<ReconstructionSettings> = Object.freeze({
  iterations: 50,
  probeMode: 'fixed',
  alpha: undefined,
  beta: undefined,
  probeStart: 1,
  momentum: 0,
  friction: 0.9,
  anneal: 0,
  seed: DEFAULT_TRAINING.seed,
  checkpointEvery: 10,
  executionProvider: 'auto',
  learningRate: undefined,
  batchSize: 32,
  loss: 'amplitude',
  regionCropSize: DEFAULT_TRAINING.stitchCropSize,
  amplitudeFilter: true,
  phaseFilter: true,
});

/** Defaults merged with `overrides`, each value checked; throws PlanError with one sentence. */
export function resolveReconstructionSettings(overrides: Partial<ReconstructionSettings> = {}): ReconstructionSettings {
  const s: ReconstructionSettings = { ...DEFAULT_RECONSTRUCTION };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (!(k in DEFAULT_RECONSTRUCTION)) throw new PlanError(`Unknown reconstruction setting "${k}".`);
    (s as unknown as Record<string, unknown>)[k] = v;
  }
  const int = (name: keyof ReconstructionSettings, min: number): void => {
    const v = s[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new PlanError(`${name} must be a whole number ≥ ${min} (got ${String(v)}).`);
  };
  int('iterations', 1);
  int('probeStart', 0);
  int('checkpointEvery', 1);
  int('regionCropSize', 1);
  int('batchSize', 1);
  if (s.learningRate !== undefined && !(typeof s.learningRate === 'number' && s.learningRate > 0 && s.learningRate <= 10)) throw new PlanError(`learningRate must be a number in (0, 10] (got ${String(s.learningRate)}).`);
  if (!(AD_LOSSES as readonly string[]).includes(s.loss)) throw new PlanError(`loss must be ${AD_LOSSES.join(' or ')} (got ${String(s.loss)}).`);
  if (!Number.isSafeInteger(s.seed)) throw new PlanError(`seed must be an integer (got ${String(s.seed)}).`);
  if (!(PROBE_MODES as readonly string[]).includes(s.probeMode)) throw new PlanError(`probeMode must be fixed or refine (got ${String(s.probeMode)}).`);
  if (!EXECUTION_PROVIDERS.includes(s.executionProvider)) throw new PlanError(`executionProvider must be one of ${EXECUTION_PROVIDERS.join(', ')} (got ${String(s.executionProvider)}).`);
  for (const k of ['alpha', 'beta'] as const) {
    if (s[k] !== undefined && !(typeof s[k] === 'number' && s[k]! > 0 && s[k]! <= 2)) throw new PlanError(`${k} must be a number in (0, 2] (got ${String(s[k])}).`);
  }
  if (!(s.momentum >= 0 && s.momentum <= 1)) throw new PlanError(`momentum must be in [0, 1] (got ${String(s.momentum)}).`);
  if (!(s.friction >= 0 && s.friction < 1)) throw new PlanError(`friction must be in [0, 1) (got ${String(s.friction)}).`);
  if (!(typeof s.anneal === 'number' && s.anneal >= 0 && s.anneal < 1)) throw new PlanError(`anneal must be a fraction in [0, 1) (got ${String(s.anneal)}).`);
  if (typeof s.amplitudeFilter !== 'boolean') throw new PlanError(`amplitudeFilter must be true or false (got ${String(s.amplitudeFilter)}).`);
  if (typeof s.phaseFilter !== 'boolean') throw new PlanError(`phaseFilter must be true or false (got ${String(s.phaseFilter)}).`);
  if (s.momentum > 0 && s.probeMode === 'refine') throw new PlanError('momentum works with a fixed probe only (--probe fixed): with probe refinement it destabilised the reconstruction.');
  return s;
}

export interface ReconstructionJob {
  kind: 'reconstruct';
  id: string;
  dose: number;
  view: string;
  /** The view's gridsize in the training matrix (1 baseline, 2 Phase D views); the reconstruction does not group. */
  gridsize: number;
  split: Split;
  algorithm: ReconAlgorithm;
  layout?: DatasetLayout;
  /** The view's split file that is reconstructed (expected path when missing). */
  data: JobDataset;
  phaseFRoot: string;
  artifactDir: string;
  logPath: string;
  state: JobState;
  reason?: string;
  findings: Finding[];
  run?: RunRecord<ReconstructionManifest>;
  /** Missing or invalid data, judged when the job was listed (see jobs.ts stateOf). */
  dataProblem?: DataProblem;
  /** The dose's Phase C test split (the common evaluation set), when it exists. */
  evaluation?: { path: string; layout: DatasetLayout };
}

export interface ReconstructionFilter extends JobFilter {
  split?: Split;
  algorithm?: ReconAlgorithm;
}

export interface ListReconstructionJobsOptions {
  /** Default: defaultPhaseFRoot(layout). */
  phaseFRoot?: string;
  filter?: ReconstructionFilter;
  /** Algorithms listed for every dose × view when the filter names none (default LISTED_RECON_ALGORITHMS). */
  algorithms?: readonly ReconAlgorithm[];
  /** Open the datasets (header checks). Default true. */
  inspect?: boolean;
  deep?: boolean;
  concurrency?: number;
}

/**
 * The Phase F jobs of a study: for every dose × view of the training matrix, split `test` × the implemented
 * algorithms (or the filter's split and algorithm), plus any other split/algorithm whose folder already holds a
 * manifest. Datasets are inspected once each, however many algorithms share them.
 */
export async function listReconstructionJobs(layout: StudyLayout, options: ListReconstructionJobsOptions = {}): Promise<ReconstructionJob[]> {
  const root = path.resolve(options.phaseFRoot ?? defaultPhaseFRoot(layout));
  const filter = options.filter ?? {};
  const slots = jobMatrix(layout).filter((s) => matchesFilter(s, filter));
  const inspectFile = inspectEachOnce({ deep: options.deep });
  const inspect = (file: string): Promise<DatasetInfo> => inspectFile(file, 1);
  const tasks: (() => Promise<ReconstructionJob>)[] = [];
  for (const slot of slots) {
    const pairs = new Map<string, [Split, ReconAlgorithm]>();
    const splits: Split[] = filter.split ? [filter.split] : ['test'];
    const algorithms: readonly ReconAlgorithm[] = filter.algorithm ? [filter.algorithm] : (options.algorithms ?? LISTED_RECON_ALGORITHMS);
    for (const split of splits) for (const a of algorithms) pairs.set(`${split}/${a}`, [split, a]);
    for (const [split, a] of await runsOnDisk(root, slot.dose, slot.view)) {
      if ((!filter.split || filter.split === split) && (!filter.algorithm || filter.algorithm === a)) pairs.set(`${split}/${a}`, [split, a]);
    }
    const ordered = [...pairs.values()].sort((x, y) => SPLITS.indexOf(y[0]) - SPLITS.indexOf(x[0]) || RECON_ALGORITHMS.indexOf(x[1]) - RECON_ALGORITHMS.indexOf(y[1]));
    for (const [split, algorithm] of ordered) {
      tasks.push(async () => {
        const file = slot.source?.files[split];
        const id = reconstructionJobId(slot.dose, slot.view, split, algorithm);
        const artifactDir = reconstructionDirFor(root, slot.dose, slot.view, split, algorithm);
        const job: ReconstructionJob = {
          kind: 'reconstruct', id, dose: slot.dose, view: slot.view, gridsize: slot.gridsize, split, algorithm,
          layout: slot.source?.layout, data: { split, path: file ?? slot.expected[split], exists: Boolean(file) },
          phaseFRoot: root, artifactDir, logPath: path.join(artifactDir, RECON_LOG), state: 'ready', findings: [],
          ...(slot.evaluation ? { evaluation: slot.evaluation } : {}),
        };
        job.findings.push(...(layout.findings ?? []).filter((f) => f.file === job.data.path));
        if (file && options.inspect !== false) {
          job.data.info = await inspect(file);
          job.findings.push(...job.data.info.findings);
        }
        const errors = job.findings.filter((f) => f.severity === 'error');
        if (errors.length > 0) {
          job.dataProblem = { state: 'invalid', reason: `${path.basename(errors[0].file)}: ${errors[0].message}${errors.length > 1 ? ` (+${errors.length - 1} more)` : ''}` };
        } else if (!file) {
          job.dataProblem = { state: 'missing', reason: slot.source ? `The ${split} split of ${slot.view} for dose ${formatDose(slot.dose)} was not found: expected ${slot.expected[split]}.` : slot.missingReason ?? 'Data not found.' };
        }
        // A dry run is a training-side record: a reconstruction job ignores it.
        await refreshRunState(job, true);
        return job;
      });
    }
  }
  return runLimited(tasks, options.concurrency ?? 8);
}

/** (split, algorithm) pairs with a manifest under `<root>/dose_<int>/<view>/`. */
async function runsOnDisk(root: string, dose: number, view: string): Promise<[Split, ReconAlgorithm][]> {
  const out: [Split, ReconAlgorithm][] = [];
  for (const split of SPLITS) {
    for (const a of RECON_ALGORITHMS) {
      const st = await fs.promises.stat(path.join(reconstructionDirFor(root, dose, view, split, a), 'manifest.json')).catch(() => undefined);
      if (st?.isFile()) out.push([split, a]);
    }
  }
  return out;
}

/** Everything one reconstruction run depends on: `<job>/run-config.json` and the manifest's `config`. */
export interface ReconstructionConfig {
  kind: 'reconstruct';
  jobId: string;
  dose: number;
  view: string;
  gridsize: number;
  split: Split;
  algorithm: ReconAlgorithm;
  /** The split file reconstructed, and where the study keeps it (discovery's layout name). */
  dataPath: string;
  layout?: DatasetLayout;
  diffractionKey: string;
  n: number;
  patterns: number;
  /** objectGuess's grid: the reconstruction lines up with it pixel for pixel. */
  objectShape: { width: number; height: number };
  settings: ReconstructionSettings;
  artifactDir: string;
  phaseFRoot: string;
  /** The study's roots, so a run can rebuild reconstruction_manifest.json when it ends. */
  study?: { phaseCRoot?: string; phaseDRoot?: string; artifactRoot: string; phaseFRoot: string };
  /** What the headline metrics are computed on (dataset for the region and the ground truth). */
  evaluation: EvaluationPlan;
  /** The workspace settings files whose values the settings took (the CLI; absent: flags and defaults only). */
  settingsSources?: string[];
}

export function isReconstructionConfig(v: unknown): v is ReconstructionConfig {
  return Boolean(v && typeof v === 'object' && (v as { kind?: unknown }).kind === 'reconstruct');
}

/**
 * Checks a reconstruction plan read from `<jobDir>/run-config.json` (runConfigFile.ts readRunPlan) as the
 * training plan is checked: the fields the worker relies on, every setting, and that it writes only where it
 * is — its artifact folder is `jobDir`, inside the Phase F root it records. Throws RunConfigError naming the file.
 */
export function checkReconstructionConfig(c: Record<string, unknown>, file: string, jobDir: string): ReconstructionConfig {
  const again = 'write the plan again (ptycho-study reconstruct)';
  const fail = (field: string, want: string): never => {
    throw new RunConfigError(`${file}: ${field} must be ${want}; ${again}.`, file);
  };
  for (const k of ['jobId', 'view', 'dataPath', 'diffractionKey', 'artifactDir', 'phaseFRoot']) {
    if (typeof c[k] !== 'string' || (c[k] as string).length === 0 || (c[k] as string).length > 4096) fail(k, 'a non-empty string');
  }
  for (const k of ['n', 'patterns', 'gridsize']) if (!Number.isSafeInteger(c[k]) || (c[k] as number) < 1) fail(k, 'a positive integer');
  if (!(typeof c.dose === 'number' && c.dose > 0)) fail('dose', 'a positive number');
  if (!(RECON_ALGORITHMS as readonly unknown[]).includes(c.algorithm)) fail('algorithm', RECON_ALGORITHMS.join(', ').replace(/, (?=[^,]*$)/, ' or '));
  if (!(SPLITS as readonly unknown[]).includes(c.split)) fail('split', SPLITS.join(' or '));
  const shape = c.objectShape as { width?: unknown; height?: unknown } | undefined;
  if (!shape || !Number.isSafeInteger(shape.width) || !Number.isSafeInteger(shape.height)) fail('objectShape', 'whole numbers of pixels');
  const ev = c.evaluation as { datasetPath?: unknown; source?: unknown } | undefined;
  if (!ev || typeof ev.datasetPath !== 'string' || !['phase-c-test', 'own-test', 'own-train'].includes(ev.source as string)) fail('evaluation', 'an evaluation plan');
  let settings: ReconstructionSettings;
  try {
    settings = resolveReconstructionSettings((c.settings ?? {}) as Partial<ReconstructionSettings>);
  } catch (err) {
    throw new RunConfigError(`${file}: settings: ${(err as Error).message} ${again[0].toUpperCase()}${again.slice(1)}.`, file);
  }
  if (path.resolve(c.artifactDir as string) !== path.resolve(jobDir)) {
    throw new RunConfigError(`${file}: artifactDir ${JSON.stringify(c.artifactDir)} is not the folder the plan is in (${jobDir}); a run writes only to its own folder. ${again[0].toUpperCase()}${again.slice(1)}.`, file);
  }
  for (const root of [c.phaseFRoot as string, (c.study as { phaseFRoot?: unknown } | undefined)?.phaseFRoot]) {
    if (root === undefined) continue;
    try {
      if (typeof root !== 'string') throw new UnsafePathError('study.phaseFRoot is not a folder path');
      assertInsideRoot(root, jobDir);
    } catch (err) {
      if (!(err instanceof UnsafePathError)) throw err;
      throw new RunConfigError(`${file}: the Phase F root ${JSON.stringify(root)} does not contain the job's folder ${jobDir} (${err.message}); ${again}.`, file);
    }
  }
  return { ...(c as unknown as ReconstructionConfig), settings };
}

export interface ReconstructionPlan {
  config: ReconstructionConfig;
  findings: Finding[];
  runnable: boolean;
  blockers: string[];
}

/** The evaluation of a Phase F job: the dose's common evaluation for a test split, its own region for train. */
export function planReconstructionEvaluation(job: ReconstructionJob): EvaluationPlan {
  if (job.split === 'train') {
    return {
      datasetPath: job.data.path, source: 'own-train',
      fallbackReason: 'a reconstruction of the train split covers another part of the object than the dose\'s test split: scored on its own scan region, not comparable with the common evaluation of the dose.',
    };
  }
  if (job.evaluation) return { datasetPath: job.evaluation.path, source: 'phase-c-test' };
  return {
    datasetPath: job.data.path, source: 'own-test',
    fallbackReason: `dose ${formatDose(job.dose)} has no Phase C test split (patched_test.npz): scored on the job's own test split, so its numbers are not comparable with the other jobs of the dose.`,
  };
}

/** Resolves the run of a Phase F job. Throws PlanError when it cannot be planned at all (no data). */
export function planReconstruction(job: ReconstructionJob, options: { settings?: Partial<ReconstructionSettings>; study?: ReconstructionConfig['study']; settingsSources?: string[] } = {}): ReconstructionPlan {
  if (!job.data.exists) throw new PlanError(`Cannot plan ${job.id}: ${job.reason ?? `its data ${job.data.path} is missing`}`);
  const info = job.data.info;
  if (!info || info.n === undefined || info.patternCount === undefined || !info.diffractionKey) {
    throw new PlanError(`Cannot plan ${job.id}: ${job.reason ?? `the file ${job.data.path} could not be read`}`);
  }
  try {
    assertInsideRoot(job.phaseFRoot, job.artifactDir);
  } catch (err) {
    if (err instanceof UnsafePathError) throw new PlanError(`Cannot plan ${job.id}: ${err.message}`);
    throw err;
  }
  const settings = resolveReconstructionSettings(options.settings);
  const [height, width] = info.objectShape ?? [0, 0];
  const config: ReconstructionConfig = {
    kind: 'reconstruct', jobId: job.id, dose: job.dose, view: job.view, gridsize: job.gridsize, split: job.split, algorithm: job.algorithm,
    dataPath: job.data.path, ...(job.layout ? { layout: job.layout } : {}), diffractionKey: info.diffractionKey, n: info.n, patterns: info.patternCount, objectShape: { width, height },
    settings, artifactDir: job.artifactDir, phaseFRoot: job.phaseFRoot, study: options.study, evaluation: planReconstructionEvaluation(job),
    ...(options.settingsSources?.length ? { settingsSources: options.settingsSources } : {}),
  };
  const blockers = job.findings.filter((f) => f.severity === 'error').map(formatFinding);
  if (!(width > info.n && height > info.n)) blockers.push(`objectGuess (${height}×${width}) must be larger than the patterns (N=${info.n}) on both sides: it gives the object grid.`);
  if (job.algorithm === 'rpie') {
    for (const k of ['alpha', 'beta'] as const) {
      const v = settings[k];
      if (v !== undefined && v > 1) blockers.push(`${k} ${v} is out of range for rpie: it is a regularisation weight in (0, 1] (1 = ePIE).`);
    }
  }
  if (job.algorithm === 'ad') {
    // ePIE/rPIE options that mean nothing to Adam: refused rather than silently ignored.
    for (const k of ['alpha', 'beta'] as const) if (settings[k] !== undefined) blockers.push(`${k} is an ePIE/rPIE step; ad takes --learning-rate.`);
    if (settings.momentum > 0) blockers.push('momentum is an ePIE/rPIE option; ad uses Adam\'s own momentum.');
    if (settings.anneal > 0) blockers.push('anneal is an ePIE/rPIE option; ad has its own cosine schedule.');
  } else if (options.settings?.learningRate !== undefined) {
    blockers.push(`learningRate is an ad option; ${job.algorithm} takes --alpha / --beta.`);
  }
  if (settings.regionCropSize > info.n) blockers.push(`regionCropSize ${settings.regionCropSize} is larger than the patterns (N=${info.n}).`);
  return { config, findings: job.findings, runnable: blockers.length === 0, blockers };
}

/** `<job>/manifest.json` of a Phase F job: kept true at every moment, like a training job's (manifest.ts). */
export interface ReconstructionManifest {
  schemaVersion: 1;
  kind: 'ptycho-study-reconstruction';
  job: { id: string; dose: number; view: string; gridsize: number; split: Split; algorithm: string };
  status: RunStatus;
  runId?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  reason?: string;
  /** `input`: the split reconstructed; `evaluation`: the dataset the region and ground truth come from. */
  data: { input: DatasetProvenance; evaluation?: DatasetProvenance; layout: string };
  config: ReconstructionConfig;
  runtime: RuntimeInfo & { engine?: string };
  worker: { command: string[] };
  findings: Finding[];
  /** `reconstructionSeconds`: iterating time over every process of the run (resumes included). */
  timing?: RunTiming & { reconstructionSeconds?: number };
  progress?: { iteration: number; iterations: number; relativeError?: number; updatesPerSec?: number; etaSeconds?: number };
  /** The engine's resolved parameters and what the run found (probe scale, patterns, object grid). */
  reconstruction?: Record<string, unknown>;
  result?: {
    iterations: number;
    relativeError: number | null;
    mse: number | null;
    stopReason: string;
    metrics?: Record<string, unknown>;
    history: { iteration: number; relativeError: number; mse: number; amplitudeR: number | null; phaseR: number | null; seconds: number }[];
  };
  artifacts?: Record<string, { bytes: number; sha256?: string }>;
}
