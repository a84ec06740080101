// `ptycho-study score`: a finished training job's model scored on a dataset the user names — another study's
// Phase C test split, a specimen it never saw, its own training split. The job's checkpoint is matched to its run
// config (the resume key), the named patterns are reconstructed and stitched as the job's own evaluation is, and
// scored against the dataset's objectGuess on the common evaluation's protocol (scan box ± M/2, holes included),
// beside the untrained network and the flat predictor. Nothing is written in the study.
import * as path from 'node:path';
import { abortError } from '../abort';
import { planProviders } from '../runtime/providers';
import type { ResolvedThreads } from '../runtime/threads';
import { countScaleFor, resolveObjectSupport, resolveTrainingSettings } from '../study/config';
import { ARTIFACT, parseDoseFolder } from '../study/layout';
import { readRunRecord, type JobManifest } from '../study/manifest';
import { checkRunConfig, readRunPlan } from '../study/runConfigFile';
import { openTrainingDataset, type ComplexArray, type TrainingDataset } from '../train/data';
import { quietOrt } from '../train/runtime';
import { Trainer } from '../train/trainer';
import { evaluateRun, evaluationGroups, readPixelSize, runCountScale, scanRegion, type EvaluationRecord, type EvaluationSet } from './evaluation';
import { loadOrt } from './runSupport';

/** A probe overlap under this is a different probe (same shape, another focus or position). */
export const SAME_PROBE_OVERLAP = 0.99;
const INFERENCE_BATCH = 32;

export class ScoreError extends Error {
  constructor(message: string, readonly file?: string) {
    super(message);
    this.name = 'ScoreError';
  }
}

export interface ScoreOptions {
  /** The dataset to score on (an .npz with diffraction, coordinates, probeGuess and objectGuess). */
  dataPath: string;
  threads: ResolvedThreads;
  /** The job's id, for messages (else the folder's name). */
  jobId?: string;
  /** The flags that find the study again, for the commands the messages suggest. */
  rootHint?: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Score the latest checkpoint of a run that has not finished (running, cancelled, failed) instead of refusing. */
  latestCheckpoint?: boolean;
}

export interface ScoreResult {
  jobId: string;
  runId: string | null;
  model: { jobDir: string; checkpoint: string; epochs: number; gridsize: number; n: number; dose: number; objectSupport: string; trainPath: string };
  dataset: {
    path: string; patterns: number; n: number;
    /** Which of the job's own files it is (then the model has seen its patterns, or chose on them), else null. */
    job: 'train' | 'test' | 'evaluation' | null;
  };
  /** |⟨P_train, P_data⟩| / (‖P_train‖ ‖P_data‖): 1 for the probe the model was trained under; null when the shapes differ. */
  probeOverlap: number | null;
  /** The photon counts per unit intensity the centroid step's noise floor assumes, and whose dose they are. */
  countScale: { value: number; dose: number; from: 'dataset folder' | 'job' };
  provider: string;
  threads: number;
  seconds: number;
  evaluation: EvaluationRecord;
  /** As in metrics.json: amplitude, phase, untrained, flat, the stitch's steps (no ownSplit). */
  metrics: Record<string, unknown>;
  notes: string[];
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError('Scoring was cancelled.');
}

/** |Σ a·conj(b)| / √(Σ|a|² Σ|b|²) of two complex arrays (interleaved re, im); null when their shapes differ. */
export function probeOverlap(a: ComplexArray, b: ComplexArray): number | null {
  if (a.width !== b.width || a.height !== b.height) return null;
  let re = 0;
  let im = 0;
  let ea = 0;
  let eb = 0;
  for (let i = 0; i < a.data.length; i += 2) {
    const ar = a.data[i], ai = a.data[i + 1], br = b.data[i], bi = b.data[i + 1];
    re += ar * br + ai * bi;
    im += ai * br - ar * bi;
    ea += ar * ar + ai * ai;
    eb += br * br + bi * bi;
  }
  return ea > 0 && eb > 0 ? Math.hypot(re, im) / Math.sqrt(ea * eb) : 0;
}

/**
 * The job's latest run must have succeeded: its checkpoint then holds the model its metrics.json scored. With
 * `latestCheckpoint`, a run that has not finished is scored from its last checkpoint (and `notes` says so).
 */
async function trainedManifest(jobDir: string, jobId: string, o: ScoreOptions, notes: string[]): Promise<JobManifest> {
  const rootHint = o.rootHint;
  const record = await readRunRecord<JobManifest>(jobDir);
  const manifestPath = path.join(jobDir, ARTIFACT.manifest);
  const train = `ptycho-study train ${jobId}${rootHint ? ` ${rootHint}` : ''}`;
  if (!record) throw new ScoreError(`${jobId} has no trained model to score: it has not run yet (there is no ${manifestPath}). Train it first (${train}).`, manifestPath);
  const m = record.manifest;
  if (m.kind !== 'ptycho-study-job') throw new ScoreError(`${jobDir} is not a training job (its manifest is a ${String(m.kind)}): only a trained model can be scored.`, manifestPath);
  const run = typeof m.runId === 'string' ? ` (run ${m.runId})` : '';
  if (record.status === 'succeeded') return m;
  if (o.latestCheckpoint && record.status !== 'dry-run') {
    notes.push(`${jobId}'s latest run${run} has not finished (${record.status}): its latest checkpoint is scored, not a final model.`);
    return m;
  }
  if (record.status === 'running') throw new ScoreError(`${jobId} is still running${run}: score it when the run has finished, or its latest checkpoint now with --latest-checkpoint.`, manifestPath);
  if (record.status === 'dry-run') throw new ScoreError(`${jobId} was only planned (dry run): train it first (${train}).`, manifestPath);
  throw new ScoreError(`${jobId} has no finished model to score: its latest run${run} ${record.status}${record.reason ? ` (${record.reason.replace(/\.$/, '')})` : ''}. Resume it (${train} --resume) or train it again.`, manifestPath);
}

async function openNamed(file: string, diffractionKey: string | undefined, what: string): Promise<TrainingDataset> {
  try {
    return await openTrainingDataset(file, { diffractionKey });
  } catch (err) {
    throw new ScoreError(`${what} ${file} cannot be read: ${(err as Error).message}`, file);
  }
}

/**
 * Scores the trained model of the finished job in `jobDir` on `o.dataPath`. Throws ScoreError (with the file) when
 * the job has no finished model, its checkpoint does not match its run config, or the dataset cannot be scored
 * (unreadable, another N, no objectGuess); an AbortError when `o.signal` is aborted.
 */
export async function scoreTrainedJob(jobDir: string, o: ScoreOptions): Promise<ScoreResult> {
  const started = performance.now();
  const dir = path.resolve(jobDir);
  const dataPath = path.resolve(o.dataPath);
  const jobId = o.jobId ?? path.basename(dir);
  const notes: string[] = [];
  const m = await trainedManifest(dir, jobId, o, notes);
  // A job folder copied or moved elsewhere still scores (nothing is written): its plan is checked where it was made.
  const plan0 = await readRunPlan(dir);
  const madeIn = typeof plan0.artifactDir === 'string' && path.resolve(plan0.artifactDir) !== dir ? path.resolve(plan0.artifactDir) : undefined;
  if (madeIn) notes.push(`The job folder was planned as ${madeIn}: this copy's checkpoint is scored with the paths its plan records.`);
  const config = checkRunConfig(plan0, path.join(dir, ARTIFACT.runConfig), madeIn ?? dir);
  config.training = resolveTrainingSettings(config.training);
  const opened: TrainingDataset[] = [];
  let trainer: Trainer | undefined;
  try {
    const data = await openNamed(dataPath, config.diffractionKey, 'The dataset');
    opened.push(data);
    if (data.n !== config.n) throw new ScoreError(`${dataPath} holds ${data.n}×${data.n} patterns; ${jobId}'s model takes N=${config.n}.`, dataPath);
    if (!data.object) throw new ScoreError(`${dataPath} has no objectGuess: there is no ground truth to score the model against.`, dataPath);
    if (data.count < config.gridsize * config.gridsize) throw new ScoreError(`${dataPath} holds ${data.count} patterns; a gridsize-${config.gridsize} model needs at least ${config.gridsize ** 2}.`, dataPath);
    checkAborted(o.signal);

    // The model as trained: its training data give the probe, the groups and the canvas its checkpoint was keyed to.
    const train = await openNamed(config.trainPath, config.diffractionKey, `${jobId}'s training data`);
    opened.push(train);
    const test = config.testPath ? await openNamed(config.testPath, config.diffractionKey, `${jobId}'s test data`) : undefined;
    if (test) opened.push(test);
    const ort = loadOrt('; scoring runs the model with it. Install the dependencies (ONNXRUNTIME_NODE_INSTALL=skip npm ci).');
    quietOrt(ort);
    trainer = new Trainer(config, train, test, { ort, providers: planProviders(config.training.executionProvider).candidates, intraOpThreads: o.threads.threads });
    const plan = await trainer.prepare();
    const checkpoint = path.join(dir, ARTIFACT.checkpoint);
    let state;
    try {
      state = await trainer.loadState(checkpoint);
    } catch (err) {
      throw new ScoreError(`${jobId}'s checkpoint does not hold the model its run config describes: ${(err as Error).message}`, checkpoint);
    }
    checkAborted(o.signal);

    const same = (p: string | undefined): boolean => p !== undefined && path.resolve(p) === dataPath;
    const job = same(config.trainPath) ? 'train' : same(config.evaluation?.datasetPath) ? 'evaluation' : same(config.testPath) ? 'test' : null;
    if (job === 'train') notes.push('This is the job\'s training data: the model was fitted to these patterns (the score says how well it fits them, not how it generalises).');
    const overlap = probeOverlap(train.probe, data.probe);
    if (overlap === null) notes.push(`The dataset's probe is ${data.probe.height}×${data.probe.width}, the training probe ${train.probe.height}×${train.probe.width}: the model learnt the object under another probe.`);
    else if (overlap < SAME_PROBE_OVERLAP) notes.push(`The dataset's probe differs from the one the model was trained under (overlap ${overlap.toFixed(3)}): the network learnt to read patterns made by its training probe, so this scores how it transfers to another probe.`);
    const folderDose = parseDoseFolder(path.basename(path.dirname(dataPath)));
    const countScale = folderDose !== undefined
      ? { value: countScaleFor(folderDose, config.n), dose: folderDose, from: 'dataset folder' as const }
      : { value: runCountScale(config), dose: config.dose, from: 'job' as const };
    if (folderDose === undefined) notes.push(`The dataset is not in a Phase C dose folder (dose_<photons>): the centroid step counts its noise at the job's dose, ${config.dose}.`);
    else if (folderDose !== config.dose) notes.push(`The dataset's dose (${folderDose}) is not the job's (${config.dose}): the model was trained on another noise level.`);

    const t = config.training;
    const pixelSize = await readPixelSize(dataPath);
    const set: EvaluationSet = {
      dataset: dataPath, source: 'named', data,
      groups: evaluationGroups(data.xs, data.ys, { gridsize: config.gridsize, neighborCount: t.neighborCount, seed: t.seed }),
      region: scanRegion(data.xs, data.ys, t.stitchCropSize),
      ...(pixelSize ? { pixelSize } : {}),
      close: async () => undefined, // closed below, with the other datasets
    };
    o.log?.(`Scoring ${jobId} on ${dataPath}: ${set.groups.count} groups, region ${set.region.width}×${set.region.height}.`);
    const evaluated = await evaluateRun({
      config, ort, provider: plan.provider, intraOpThreads: o.threads.threads, batch: INFERENCE_BATCH,
      spec: plan.spec, trained: state.params, untrained: trainer.untrainedParameters(), set, countScale: countScale.value,
    });
    checkAborted(o.signal);
    return {
      jobId, runId: typeof m.runId === 'string' ? m.runId : null,
      model: {
        jobDir: dir, checkpoint, epochs: state.epoch, gridsize: config.gridsize, n: config.n, dose: config.dose,
        objectSupport: resolveObjectSupport(t, config.gridsize), trainPath: config.trainPath,
      },
      dataset: { path: dataPath, patterns: data.count, n: data.n, job },
      probeOverlap: overlap, countScale, provider: plan.provider, threads: o.threads.threads,
      seconds: (performance.now() - started) / 1000,
      evaluation: evaluated.evaluation, metrics: evaluated.metrics, notes,
    };
  } finally {
    await trainer?.release().catch(() => undefined);
    for (const d of opened) await d.close().catch(() => undefined);
  }
}
