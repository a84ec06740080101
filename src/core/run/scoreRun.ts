// `ptycho-study score`: a finished training job's model scored on a dataset the user names — another study's
// Phase C test split, a specimen it never saw, its own training split. The job's checkpoint is matched to its run
// config (the resume key), the named patterns are reconstructed and stitched as the job's own evaluation is, and
// scored against the dataset's objectGuess on the common evaluation's protocol (scan box ± M/2, holes included),
// beside the untrained network and the flat predictor. Nothing is written in the study.
import * as path from 'node:path';
import { resolveObjectSupport } from '../study/config';
import { evaluateRun, readPixelSize, scanRegion, type EvaluationRecord, type EvaluationSet } from './evaluation';
import { checkAborted, checkDatasetFor, INFERENCE_BATCH, namedDatasetGroups, openNamed, openTrainedModel, relateDataset, type ModelOnDataOptions } from './trainedModel';

export { probeOverlap, SAME_PROBE_OVERLAP } from './trainedModel';

export type ScoreOptions = ModelOnDataOptions;

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

/**
 * Scores the trained model of the finished job in `jobDir` on `o.dataPath`. Throws TrainedModelError (with the file) when
 * the job has no finished model, its checkpoint does not match its run config, or the dataset cannot be scored
 * (unreadable, another N, no objectGuess); an AbortError when `o.signal` is aborted.
 */
export async function scoreTrainedJob(jobDir: string, o: ScoreOptions): Promise<ScoreResult> {
  const started = performance.now();
  const dataPath = path.resolve(o.dataPath);
  const model = await openTrainedModel(jobDir, { ...o, use: 'score' });
  const { config, plan, state, trainer, notes } = model;
  const jobId = model.jobId;
  let data;
  try {
    data = await openNamed(dataPath, config.diffractionKey, 'The dataset');
    checkDatasetFor(model, data, true);
    checkAborted(o.signal, 'Scoring');
    const relation = relateDataset(model, data, notes);
    const t = config.training;
    const pixelSize = await readPixelSize(dataPath);
    const set: EvaluationSet = {
      dataset: dataPath, source: 'named', data,
      groups: namedDatasetGroups(model, data),
      region: scanRegion(data.xs, data.ys, t.stitchCropSize),
      ...(pixelSize ? { pixelSize } : {}),
      close: async () => undefined, // closed below, with the model
    };
    o.log?.(`Scoring ${jobId} on ${dataPath}: ${set.groups.count} groups, region ${set.region.width}×${set.region.height}.`);
    const evaluated = await evaluateRun({
      config, ort: model.ort, provider: plan.provider, intraOpThreads: o.threads.threads, batch: INFERENCE_BATCH,
      spec: plan.spec, trained: state.params, untrained: trainer.untrainedParameters(), set, countScale: relation.countScale.value, signal: o.signal,
    });
    checkAborted(o.signal, 'Scoring');
    return {
      jobId, runId: model.runId,
      model: {
        jobDir: model.dir, checkpoint: model.checkpoint, epochs: state.epoch, gridsize: config.gridsize, n: config.n, dose: config.dose,
        objectSupport: resolveObjectSupport(t, config.gridsize), trainPath: config.trainPath,
      },
      dataset: { path: dataPath, patterns: data.count, n: data.n, job: relation.job },
      probeOverlap: relation.probeOverlap, countScale: relation.countScale, provider: plan.provider, threads: o.threads.threads,
      seconds: (performance.now() - started) / 1000,
      evaluation: evaluated.evaluation, metrics: evaluated.metrics, notes,
    };
  } finally {
    await data?.close().catch(() => undefined);
    await model.close();
  }
}
