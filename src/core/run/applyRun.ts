// `ptycho-study apply`: a finished training job's model put to work on patterns the user names — a new scan, a
// measured dataset without a ground truth. The named patterns are reconstructed and stitched exactly as the job's
// own evaluation is (the run's stitching settings, all truth-free), over the scan's box ± M/2, and written to a
// folder the user chooses: reconstruction.npz, amplitude.png, phase.png, and apply.json (what was applied to what,
// written last, so a folder without it holds no finished result). Nothing is written in the study. Two applies into
// one folder cannot interleave their files: the folder's run.lock is held from the last "no result yet" check to the
// record, and a folder made only for a run that then failed or was cancelled is removed again.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { writeJsonAtomic } from '../atomic';
import { resolveObjectSupport } from '../study/config';
import { APPLY_OUTPUTS, APPLY_RECORD } from '../study/layout';
import { reconstruct } from '../train/reconstruct';
import { recordSource, writeImages, writeReconstruction } from './artifacts';
import { coverageOf, halfSetGroupList, inferenceModel, runHalfSetGroups, runStitchOptions, scanRegion, specForGroups } from './evaluation';
import {
  checkAborted, checkDatasetFor, INFERENCE_BATCH, namedDatasetGroups, openNamed, openTrainedModel, relateDataset, TrainedModelError, type DatasetRelation, type ModelOnDataOptions, type TrainedModel,
} from './trainedModel';
import type { TrainingDataset } from '../train/data';
import { isInside, realLocation } from '../paths';
import { acquireJobLock, newRunId, type JobLock } from './lock';

export interface ApplyOptions extends ModelOnDataOptions {
  /** The folder the results go to (made once the dataset is accepted; removed again if nothing is written). */
  outDir: string;
  /** Replace results an earlier `apply` left in outDir. */
  force?: boolean;
}

export interface ApplyResult {
  type: 'apply';
  jobId: string;
  runId: string | null;
  model: { jobDir: string; checkpoint: string; epochs: number; gridsize: number; n: number; dose: number; objectSupport: string; trainPath: string };
  dataset: { path: string; patterns: number; n: number; job: DatasetRelation['job']; hasObjectGuess: boolean };
  probeOverlap: number | null;
  countScale: DatasetRelation['countScale'];
  /** Object pixels reconstructed: the scan's box ± M/2 (origin in the positions' frame). */
  region: { x0: number; y0: number; width: number; height: number };
  groups: number;
  /** Fraction of the region the stitched crops cover (the common evaluation's coverage; holes are filled from the patches when the run fills them). */
  coverage: number;
  stitch: Record<string, unknown>;
  provider: string;
  threads: number;
  seconds: number;
  outDir: string;
  files: string[];
  notes: string[];
  createdAt: string;
}

/**
 * The output folder: not the job's own folder nor inside it (its results and runs live there), not inside the study's
 * Phase C/D folders (they hold the datasets discovery reads); a folder, or none yet; holding no earlier result unless
 * `force`. It is created only when the result is written.
 */
async function checkOutDir(outDir: string, force: boolean, model: TrainedModel): Promise<void> {
  const real = realLocation(outDir);
  if (isInside(realLocation(model.dir), real)) throw new TrainedModelError(`--out ${outDir} is inside the job's own folder, where its run's results live. Choose a folder outside it.`, outDir);
  const study = model.config.study;
  for (const [root, what] of [[study?.phaseCRoot, 'Phase C'], [study?.phaseDRoot, 'Phase D']] as const) {
    if (root && isInside(realLocation(root), real)) throw new TrainedModelError(`--out ${outDir} is inside the study's ${what} folder (${root}), which holds the datasets the study reads. Choose a folder outside it.`, outDir);
  }
  const st = await fs.stat(outDir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  if (st && !st.isDirectory()) throw new TrainedModelError(`--out ${outDir} exists and is not a folder.`, outDir);
  if (st && !force) {
    const present = [];
    for (const name of APPLY_OUTPUTS) if (await fs.lstat(path.join(outDir, name)).catch(() => undefined)) present.push(name);
    if (present.length) throw new TrainedModelError(`${outDir} already holds ${present.join(', ')}: choose another --out, or --force to replace them.`, outDir);
  }
}

/**
 * Makes the output folder (returning the first folder it had to make, if any) and takes its run lock, or throws
 * JobLockedError naming the apply that holds it.
 */
async function lockOutDir(outDir: string, jobId: string): Promise<{ lock: JobLock; made: string | undefined }> {
  const made = await fs.mkdir(outDir, { recursive: true });
  try {
    return { lock: acquireJobLock(outDir, { jobId: `--out ${outDir}`, runId: newRunId(), activity: `written by another apply of ${jobId} or another model` }), made };
  } catch (err) {
    await removeMadeFolders(outDir, made);
    throw err;
  }
}

/** Removes the empty folders from `outDir` up to `made` (the first this run made); anything holding files stays. */
async function removeMadeFolders(outDir: string, made: string | undefined): Promise<void> {
  if (!made) return;
  for (let dir = outDir; isInside(made, dir); dir = path.dirname(dir)) {
    try {
      await fs.rmdir(dir);
    } catch {
      return;
    }
    if (dir === made) return;
  }
}

/**
 * Reconstructs `o.dataPath` with the trained model of the job in `jobDir` and writes the result into `o.outDir`.
 * Throws TrainedModelError when the job has no finished model, the dataset cannot be reconstructed by it, or the
 * folder would lose earlier results; an AbortError when `o.signal` is aborted (before anything is written).
 */
export async function applyTrainedJob(jobDir: string, o: ApplyOptions): Promise<ApplyResult> {
  const started = performance.now();
  const dataPath = path.resolve(o.dataPath);
  const outDir = path.resolve(o.outDir);
  const model = await openTrainedModel(jobDir, { ...o, use: 'apply' });
  const { config, plan, state, notes } = model;
  let data: TrainingDataset | undefined;
  let out: { lock: JobLock; made: string | undefined } | undefined;
  let written = false;
  try {
    await checkOutDir(outDir, Boolean(o.force), model);
    data = await openNamed(dataPath, config.diffractionKey, 'The dataset');
    checkDatasetFor(model, data, false);
    checkAborted(o.signal, 'Applying the model');
    out = await lockOutDir(outDir, model.jobId);
    // Another apply may have finished into the folder while this one checked the dataset.
    await checkOutDir(outDir, Boolean(o.force), model);
    const relation = relateDataset(model, data, notes);
    if (data.object) notes.push(`The dataset has an objectGuess: \`ptycho-study score ${model.jobId} --data ${dataPath}\` scores the model against it.`);
    const t = config.training;
    const groups = namedDatasetGroups(model, data);
    const region = scanRegion(data.xs, data.ys, t.stitchCropSize);
    o.log?.(`Applying ${model.jobId} to ${dataPath}: ${groups.count} groups, region ${region.width}×${region.height}.`);
    const stitch = runStitchOptions(config, INFERENCE_BATCH, o.threads.threads, relation.countScale.value);
    const halves = runHalfSetGroups(config, data, groups);
    const recon = await reconstruct(data, groups, {
      ort: model.ort, provider: plan.provider, model: inferenceModel(specForGroups(plan.spec, config, groups, ...halfSetGroupList(halves)), state.params), ...stitch, region, halfSetGroups: halves, signal: o.signal,
    });
    // Cancelled while reconstructing: nothing is written.
    checkAborted(o.signal, 'Applying the model');
    const source = await recordSource(dataPath);
    // An earlier result's record goes first: until the new one is written the folder holds no finished result.
    await fs.rm(path.join(outDir, APPLY_RECORD), { force: true });
    const files = [
      await writeReconstruction(outDir, recon, { jobId: model.jobId, split: 'named', cropSize: t.stitchCropSize, datasetPath: dataPath, evaluation: 'applied' }, { source }),
      ...(await writeImages(outDir, recon)),
    ];
    const result: ApplyResult = {
      type: 'apply', jobId: model.jobId, runId: model.runId,
      model: {
        jobDir: model.dir, checkpoint: model.checkpoint, epochs: state.epoch, gridsize: config.gridsize, n: config.n, dose: config.dose,
        objectSupport: resolveObjectSupport(t, config.gridsize), trainPath: config.trainPath,
      },
      dataset: { path: dataPath, patterns: data.count, n: data.n, job: relation.job, hasObjectGuess: Boolean(data.object) },
      probeOverlap: relation.probeOverlap, countScale: relation.countScale,
      region: { x0: region.x0, y0: region.y0, width: region.width, height: region.height },
      groups: groups.count, coverage: coverageOf(recon.weight),
      stitch: {
        blend: stitch.blend, alignPhase: stitch.alignPhase, fillHoles: stitch.fillHoles, cropSize: stitch.cropSize,
        ...(recon.crosstalk ? { crosstalkCorrection: recon.crosstalk } : {}),
        ...(recon.centroidRefinement ? { centroidRefinement: recon.centroidRefinement } : {}),
        ...(recon.groupRefinement ? { groupRefinement: recon.groupRefinement } : {}),
        ...(recon.groupRefinementSelection ? { groupRefinementSelection: recon.groupRefinementSelection } : {}),
        ...(recon.phaseRampRemoved ? { phaseRampRemoved: recon.phaseRampRemoved } : {}),
        ...(recon.amplitudeFilter ? { amplitudeFilter: { ...recon.amplitudeFilter, unit: 'cycles/px' } } : {}),
        ...(recon.phaseFilter ? { phaseFilter: { ...recon.phaseFilter, unit: 'cycles/px' } } : {}),
        ...(recon.contrastCalibration ? { contrastCalibration: recon.contrastCalibration } : {}),
      },
      provider: plan.provider, threads: o.threads.threads, seconds: (performance.now() - started) / 1000,
      outDir, files: [...files, path.join(outDir, APPLY_RECORD)], notes, createdAt: new Date().toISOString(),
    };
    await writeJsonAtomic(path.join(outDir, APPLY_RECORD), result);
    written = true;
    return result;
  } finally {
    out?.lock.release();
    if (out && !written) await removeMadeFolders(outDir, out.made);
    await data?.close().catch(() => undefined);
    await model.close();
  }
}
