// A finished training job's model, opened to be put on data the user names (`score`, `apply`): the latest run must
// have succeeded (or, asked for, its latest checkpoint is taken), its checkpoint must match its run config (the
// resume key), and the network is rebuilt from the probe and scan positions stored with the checkpoint (the groups
// and the canvas it was keyed to), so the training files need not be there any more; checkpoints of earlier versions
// read them from the job's training data. Nothing is written.
import * as path from 'node:path';
import { abortError } from '../abort';
import { planProviders } from '../runtime/providers';
import type { ResolvedThreads } from '../runtime/threads';
import { countScaleFor, resolveTrainingSettings } from '../study/config';
import { ARTIFACT, parseDoseFolder } from '../study/layout';
import { readRunRecord, type JobManifest } from '../study/manifest';
import { checkRunConfig, readRunPlan } from '../study/runConfigFile';
import { openTrainingDataset, positionsOnlyDataset, type ComplexArray, type TrainingDataset } from '../train/data';
import { quietOrt, type OrtModule } from '../train/runtime';
import { readModelData, type TrainingState } from '../train/checkpoint';
import { Trainer, type TrainingPlan } from '../train/trainer';
import { evaluationGroups, runCountScale } from './evaluation';
import type { RunConfig } from './plan';
import { loadOrt } from './runSupport';

/** A probe overlap under this is a different probe (same shape, another focus or position). */
export const SAME_PROBE_OVERLAP = 0.99;
/** Groups per inference batch when a trained model is put on named data. */
export const INFERENCE_BATCH = 32;

export class TrainedModelError extends Error {
  constructor(message: string, readonly file?: string) {
    super(message);
    this.name = 'TrainedModelError';
  }
}

/** What is done with the model, for the messages: `score` it on a dataset, or `apply` it to one. */
export type ModelUse = 'score' | 'apply';

export interface TrainedModelOptions {
  use: ModelUse;
  threads: ResolvedThreads;
  /** The job's id, for messages (else the folder's name). */
  jobId?: string;
  /** The flags that find the study again, for the commands the messages suggest. */
  rootHint?: string;
  signal?: AbortSignal;
  /** Take the latest checkpoint of a run that has not finished (running, cancelled, failed) instead of refusing. */
  latestCheckpoint?: boolean;
}

/** `score` and `apply`: the model's options, the dataset it is put on, and where progress lines go. */
export interface ModelOnDataOptions extends Omit<TrainedModelOptions, 'use'> {
  /** The .npz the model is put on (diffraction, xcoords, ycoords, probeGuess; `score` also needs objectGuess). */
  dataPath: string;
  log?: (line: string) => void;
}

export interface TrainedModel {
  dir: string;
  jobId: string;
  runId: string | null;
  config: RunConfig;
  trainer: Trainer;
  plan: TrainingPlan;
  state: TrainingState;
  checkpoint: string;
  /** The job's training data — its probe (the one the network learnt under) and positions; no patterns when taken from the checkpoint. */
  train: TrainingDataset;
  ort: OrtModule;
  /** What the user should know about the model (a copied folder, an unfinished run). */
  notes: string[];
  close(): Promise<void>;
}

export function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortError(`${what} was cancelled.`);
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
 * `latestCheckpoint`, a run that has not finished is taken from its last checkpoint (and `notes` says so).
 */
async function trainedManifest(jobDir: string, jobId: string, o: TrainedModelOptions, notes: string[]): Promise<JobManifest> {
  const verb = o.use;
  const done = verb === 'score' ? 'scored' : 'applied';
  const record = await readRunRecord<JobManifest>(jobDir);
  const manifestPath = path.join(jobDir, ARTIFACT.manifest);
  const train = `ptycho-study train ${jobId}${o.rootHint ? ` ${o.rootHint}` : ''}`;
  if (!record) throw new TrainedModelError(`${jobId} has no trained model to ${verb}: it has not run yet (there is no ${manifestPath}). Train it first (${train}).`, manifestPath);
  const m = record.manifest;
  if (m.kind !== 'ptycho-study-job') throw new TrainedModelError(`${jobDir} is not a training job (its manifest is a ${String(m.kind)}): only a trained model can be ${done}.`, manifestPath);
  const run = typeof m.runId === 'string' ? ` (run ${m.runId})` : '';
  if (record.status === 'succeeded') return m;
  if (o.latestCheckpoint && record.status !== 'dry-run') {
    notes.push(`${jobId}'s latest run${run} has not finished (${record.status}): its latest checkpoint is ${done}, not a final model.`);
    return m;
  }
  if (record.status === 'running') throw new TrainedModelError(`${jobId} is still running${run}: ${verb} it when the run has finished, or its latest checkpoint now with --latest-checkpoint.`, manifestPath);
  if (record.status === 'dry-run') throw new TrainedModelError(`${jobId} was only planned (dry run): train it first (${train}).`, manifestPath);
  throw new TrainedModelError(`${jobId} has no finished model to ${verb}: its latest run${run} ${record.status}${record.reason ? ` (${record.reason.replace(/\.$/, '')})` : ''}. Resume it (${train} --resume) or train it again.`, manifestPath);
}

/** Opens an .npz for the model; an unreadable one is a TrainedModelError naming `what` it is. */
export async function openNamed(file: string, diffractionKey: string | undefined, what: string): Promise<TrainingDataset> {
  try {
    return await openTrainingDataset(file, { diffractionKey });
  } catch (err) {
    throw new TrainedModelError(`${what} ${file} cannot be read: ${(err as Error).message}`, file);
  }
}

/** Opens the trained model of the job in `jobDir` (see the file comment). The caller closes it. */
export async function openTrainedModel(jobDir: string, o: TrainedModelOptions): Promise<TrainedModel> {
  const dir = path.resolve(jobDir);
  const jobId = o.jobId ?? path.basename(dir);
  const notes: string[] = [];
  const m = await trainedManifest(dir, jobId, o, notes);
  // A job folder copied or moved elsewhere still works (nothing is written): its plan is checked where it was made.
  const plan0 = await readRunPlan(dir);
  const madeIn = typeof plan0.artifactDir === 'string' && path.resolve(plan0.artifactDir) !== dir ? path.resolve(plan0.artifactDir) : undefined;
  if (madeIn) notes.push(`The job folder was planned as ${madeIn}: this copy's checkpoint is ${o.use === 'score' ? 'scored' : 'applied'} with the paths its plan records.`);
  const config = checkRunConfig(plan0, path.join(dir, ARTIFACT.runConfig), madeIn ?? dir);
  config.training = resolveTrainingSettings(config.training);
  const opened: TrainingDataset[] = [];
  let trainer: Trainer | undefined;
  const close = async (): Promise<void> => {
    await trainer?.release().catch(() => undefined);
    for (const d of opened) await d.close().catch(() => undefined);
  };
  const checkpoint = path.join(dir, ARTIFACT.checkpoint);
  try {
    // The checkpoint carries the probe and positions the model was built from; only older checkpoints need the files.
    const stored = await readModelData(checkpoint).catch(() => undefined); // an unreadable checkpoint is reported by loadState
    let train: TrainingDataset;
    let test: TrainingDataset | undefined;
    if (stored) {
      if (stored.probe.width !== config.n || stored.probe.height !== config.n) throw new TrainedModelError(`${jobId}'s checkpoint holds a ${stored.probe.height}×${stored.probe.width} probe; its run config says N=${config.n}.`, checkpoint);
      train = positionsOnlyDataset(config.trainPath, config.n, stored.train.xs, stored.train.ys, stored.probe);
      test = config.testPath && stored.test ? positionsOnlyDataset(config.testPath, config.n, stored.test.xs, stored.test.ys, stored.probe) : undefined;
    } else {
      const openJobFile = async (file: string, what: string): Promise<TrainingDataset> => {
        const d = await openNamed(file, config.diffractionKey, `${jobId}'s ${what}`).catch((err: Error) => {
          throw new TrainedModelError(`${err.message} (its checkpoint was written by an earlier version, which did not store the probe and positions with it: put the file back, or train the job again)`, file);
        });
        opened.push(d);
        return d;
      };
      train = await openJobFile(config.trainPath, 'training data');
      test = config.testPath ? await openJobFile(config.testPath, 'test data') : undefined;
    }
    const ort = loadOrt(`; ${o.use === 'score' ? 'scoring' : 'applying a model'} runs the model with it. Install the dependencies (ONNXRUNTIME_NODE_INSTALL=skip npm ci).`);
    quietOrt(ort);
    trainer = new Trainer(config, train, test, { ort, providers: planProviders(config.training.executionProvider).candidates, intraOpThreads: o.threads.threads });
    const plan = await trainer.prepare();
    let state: TrainingState;
    try {
      state = await trainer.loadState(checkpoint);
    } catch (err) {
      throw new TrainedModelError(`${jobId}'s checkpoint does not hold the model its run config describes: ${(err as Error).message}`, checkpoint);
    }
    return { dir, jobId, runId: typeof m.runId === 'string' ? m.runId : null, config, trainer, plan, state, checkpoint, train, ort, notes, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The dataset, checked against the model: its N, enough patterns for a group; with `needTruth`, an objectGuess. */
export function checkDatasetFor(model: TrainedModel, data: TrainingDataset, needTruth: boolean): void {
  const { config, jobId } = model;
  if (data.n !== config.n) throw new TrainedModelError(`${data.path} holds ${data.n}×${data.n} patterns; ${jobId}'s model takes N=${config.n}.`, data.path);
  if (needTruth && !data.object) throw new TrainedModelError(`${data.path} has no objectGuess: there is no ground truth to score the model against.`, data.path);
  if (data.count < config.gridsize * config.gridsize) throw new TrainedModelError(`${data.path} holds ${data.count} patterns; a gridsize-${config.gridsize} model needs at least ${config.gridsize ** 2}.`, data.path);
}

/** How the dataset relates to the model: one of the job's own files, the probe it was made with, its dose. */
export interface DatasetRelation {
  job: 'train' | 'test' | 'evaluation' | null;
  probeOverlap: number | null;
  /** The photon counts per unit intensity the centroid step's noise floor assumes, and whose dose they are. */
  countScale: { value: number; dose: number; from: 'dataset folder' | 'job' };
}

export function relateDataset(model: TrainedModel, data: TrainingDataset, notes: string[]): DatasetRelation {
  const { config } = model;
  const dataPath = path.resolve(data.path);
  const same = (p: string | undefined): boolean => p !== undefined && path.resolve(p) === dataPath;
  const job = same(config.trainPath) ? 'train' : same(config.evaluation?.datasetPath) ? 'evaluation' : same(config.testPath) ? 'test' : null;
  if (job === 'train') notes.push('This is the job\'s training data: the model was fitted to these patterns (the result says how well it fits them, not how it generalises).');
  const overlap = probeOverlap(model.train.probe, data.probe);
  if (overlap === null) notes.push(`The dataset's probe is ${data.probe.height}×${data.probe.width}, the training probe ${model.train.probe.height}×${model.train.probe.width}: the model learnt the object under another probe.`);
  else if (overlap < SAME_PROBE_OVERLAP) notes.push(`The dataset's probe differs from the one the model was trained under (overlap ${overlap.toFixed(3)}): the network learnt to read patterns made by its training probe, so this shows how it transfers to another probe.`);
  const folderDose = parseDoseFolder(path.basename(path.dirname(dataPath)));
  const countScale = folderDose !== undefined
    ? { value: countScaleFor(folderDose, config.n), dose: folderDose, from: 'dataset folder' as const }
    : { value: runCountScale(config), dose: config.dose, from: 'job' as const };
  if (folderDose === undefined) notes.push(`The dataset is not in a Phase C dose folder (dose_<photons>): the centroid step counts its noise at the job's dose, ${config.dose}.`);
  else if (folderDose !== config.dose) notes.push(`The dataset's dose (${folderDose}) is not the job's (${config.dose}): the model was trained on another noise level.`);
  return { job, probeOverlap: overlap, countScale };
}

/** The model's groups on a dataset: grouped as the job's own evaluation groups its data. */
export function namedDatasetGroups(model: TrainedModel, data: TrainingDataset): ReturnType<typeof evaluationGroups> {
  const t = model.config.training;
  return evaluationGroups(data.xs, data.ys, { gridsize: model.config.gridsize, neighborCount: t.neighborCount, seed: t.seed });
}
