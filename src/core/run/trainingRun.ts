// One training run from its plan to its artifacts, in the worker process, with the manifest kept true throughout:
// `running` with this run's id, pid, process start time and a heartbeat while it works, then `succeeded`,
// `cancelled` or `failed` with the reason. A manifest that cannot be written fails the run (it is never silently
// stale). Four steps: open (the plan, the event stream, the `running` manifest), prepare (data, model, sessions,
// the checkpoint of a resume), train (epochs and checkpoints; a cancel stops here), finalize (model.onnx, the
// common evaluation, reconstruction, metrics, images, `succeeded`).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomic';
import { recordSource, sha256File, writeImages, writeMetrics, writeReconstruction } from './artifacts';
import { evaluateRun, runCountScale, runStitchBlend } from './evaluation';
import { writing } from './ioError';
import { checkResumable } from './resume';
import { processStartTime } from '../processInfo';
import { writeStudyManifest } from './studyManifest';
import { planProviders } from '../runtime/providers';
import { schedulerOf } from './slurm';
import { describeThreads, type ResolvedThreads } from '../runtime/threads';
import { ARTIFACT } from '../study/layout';
import type { JobManifest } from '../study/manifest';
import { resolveTrainingSettings } from '../study/config';
import { readRunConfig } from '../study/runConfigFile';
import { describeContrastCalibration, describeGroupRefinement, describeRefinementSelection, describeHalfSetWeightings, openTrainingDataset, QualityMonitor, Trainer, quietOrt, type OrtModule, type TrainingDataset } from '../train';
import { predictsFullPatch, PROBE_OUTSIDE_SUPPORT_WARN, probeEnergyOutsideSupport } from '../model';
import { ManifestKeeper } from './manifestWriter';
import { clearPreviews, quantisePreview, TRUTH_PREVIEW, writePreview } from './previews';
import type { EventLog } from './events';
import type { ProviderPlan } from '../runtime/providers';
import type { TrainingState } from '../train/checkpoint';
import type { ResolvedStitchBlend } from '../train/stitch';
import type { RunStatus } from '../study/manifest';
import type { RunConfig } from './plan';
import { cancelledBy, finisher, loadOrt, openRunEvents, provenanceOf, recordRunFailure, type Emit, type WorkerIo } from './runSupport';

export type { WorkerIo } from './runSupport';

const PROGRESS_EVERY_MS = 500;
const INFERENCE_BATCH = 32;

function isoOrUndefined(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** What to do when onnxruntime-node is missing, for a training run. */
const ORT_HINT = '. Install the dependencies (ONNXRUNTIME_NODE_INSTALL=skip npm ci) or the .vsix built for this platform (npm run package), which carries it.';

function ortVersion(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return undefined;
  }
}

export interface RunOptions {
  runId?: string;
  resume: boolean;
  threads: ResolvedThreads;
}

/** What the steps of one training run share. */
interface TrainingRun {
  jobDir: string;
  opts: RunOptions;
  io: WorkerIo;
  config: RunConfig;
  manifest: JobManifest;
  keeper: ManifestKeeper<JobManifest>;
  events: EventLog;
  emit: Emit;
  finish: (status: RunStatus, reason?: string) => Promise<void>;
  persist: () => Promise<void>;
  providers: ProviderPlan['candidates'];
  startedAt: Date;
  ort?: OrtModule;
  train?: TrainingDataset;
  test?: TrainingDataset;
  trainer?: Trainer;
  monitor?: QualityMonitor;
  plan?: Awaited<ReturnType<Trainer['prepare']>>;
  state?: TrainingState;
}

/** Runs the job planned in `<jobDir>/run-config.json`: open, prepare, train, finalize. Exit code 0 or 1 (failed). */
export async function runTraining(jobDir: string, opts: RunOptions, io: WorkerIo): Promise<number> {
  const run = await openTrainingRun(jobDir, opts, io);
  try {
    // Before anything costly (hashing datasets, building the model): is there a checkpoint to resume?
    if (opts.resume) await checkResumable(jobDir, run.config.jobId);
    await prepareTraining(run);
    if ((await trainEpochs(run)) === 'cancelled') return 0;
    await finalizeTraining(run);
    return 0;
  } catch (err) {
    return await recordRunFailure(err, run.config.jobId, run.emit, io, run.finish);
  } finally {
    await run.monitor?.release().catch(() => undefined);
    await run.trainer?.release().catch(() => undefined);
    await run.train?.close().catch(() => undefined);
    await run.test?.close().catch(() => undefined);
    run.events.close();
  }
}

async function openTrainingRun(jobDir: string, opts: RunOptions, io: WorkerIo): Promise<TrainingRun> {
  // Checked field by field, and refused unless it writes only to this folder (RunConfigError names the file).
  const config = await readRunConfig(jobDir);
  // A run-config.json written by an earlier version lacks the newer settings: fill their defaults (and check
  // every value) so the run never sees an undefined threshold or normalisation.
  config.training = resolveTrainingSettings(config.training);
  const { events, emit } = openRunEvents(jobDir, ARTIFACT.trainLog, config.jobId, io);
  const startedAt = new Date();
  const providers = planProviders(config.training.executionProvider);
  const manifestPath = path.join(jobDir, ARTIFACT.manifest);
  const manifest: JobManifest = {
    schemaVersion: 1,
    kind: 'ptycho-study-job',
    job: { id: config.jobId, dose: config.dose, view: config.view, gridsize: config.gridsize },
    status: 'running',
    runId: opts.runId,
    createdAt: startedAt.toISOString(),
    updatedAt: startedAt.toISOString(),
    startedAt: startedAt.toISOString(),
    data: { train: { path: config.trainPath, bytes: 0, mtimeMs: 0 }, test: config.testPath ? { path: config.testPath, bytes: 0, mtimeMs: 0 } : undefined, layout: 'unknown' },
    config,
    runtime: {
      hostname: os.hostname(), platform: `${process.platform}-${process.arch}`, node: process.version, onnxruntime: ortVersion(), pid: process.pid,
      processStartedAt: isoOrUndefined(processStartTime(process.pid)),
      executionProviderRequested: config.training.executionProvider, executionProviderCandidates: providers.candidates,
      heartbeatAt: startedAt.toISOString(), threads: opts.threads.threads, threadsSource: opts.threads.source,
    },
    worker: { command: [process.execPath, ...process.argv.slice(1)] },
    ...((sched) => (sched ? { scheduler: sched } : {}))(schedulerOf(process.env)),
    findings: [],
    timing: { startedAt: startedAt.toISOString() },
  };
  // Keep an earlier finished run's manifest if this run replaces it.
  const keeper = new ManifestKeeper(manifest, manifestPath, config.jobId, startedAt, io.stderr);
  const previous = (await keeper.carryOver()) as Partial<JobManifest> | undefined;
  if (previous?.data?.layout) manifest.data.layout = previous.data.layout;
  // A failed manifest write is kept in keeper.error: training stops at its next step and the run fails with it.
  await keeper.persist();
  keeper.startHeartbeat();

  const finish = finisher(keeper, events, config.study ? { update: () => writeStudyManifest(config.study!), name: 'the study\'s training_manifest.json' } : undefined);
  return { jobDir, opts, io, config, manifest, keeper, events, emit, finish, persist: () => keeper.persist(), providers: providers.candidates, startedAt };
}

/** Opens the data, builds the model and its sessions, restores a resume's checkpoint; says `started`. */
async function prepareTraining(run: TrainingRun): Promise<void> {
  const { jobDir, opts, io, config, manifest, keeper, emit, persist } = run;
  const ort = (run.ort = loadOrt(ORT_HINT));
  quietOrt(ort);
  const train = (run.train = await openTrainingDataset(config.trainPath, { diffractionKey: config.diffractionKey }));
  const test = (run.test = config.testPath ? await openTrainingDataset(config.testPath, { diffractionKey: config.diffractionKey }) : undefined);
  manifest.data.train = await provenanceOf(config.trainPath, train);
  if (config.testPath) manifest.data.test = await provenanceOf(config.testPath, test);
  let lastProgress = 0;
  const trainer = (run.trainer = new Trainer(config, train, test, {
    ort,
    providers: run.providers,
    intraOpThreads: opts.threads.threads,
    checkpointPath: path.join(jobDir, ARTIFACT.checkpoint),
    callbacks: {
      shouldStop: () => io.cancelled() || keeper.error !== undefined,
      log: (message) => emit({ type: 'log', level: 'info', message }),
      onProgress: (p) => {
        manifest.progress = { epoch: p.epoch, epochs: p.epochs, step: p.stepInEpoch, stepsPerEpoch: p.stepsPerEpoch, loss: p.loss, imagesPerSec: p.imagesPerSec, etaSeconds: p.etaSeconds };
        const now = Date.now();
        if (now - lastProgress < PROGRESS_EVERY_MS && p.stepInEpoch < p.stepsPerEpoch) return;
        lastProgress = now;
        emit({ type: 'progress', ...p });
      },
      onEpoch: (e) => {
        emit({ type: 'epoch', epoch: e.epoch, epochs: config.training.epochs, trainLoss: e.trainLoss, valLoss: e.valLoss, lr: e.lr, lrReduced: e.lrReduced, seconds: e.seconds });
        void persist().catch(() => undefined); // a failure stops training at the next step (shouldStop)
      },
      afterEpoch: async (e, st) => {
        const monitor = run.monitor;
        if (!monitor?.due(e.epoch, e.epoch === config.training.epochs)) return;
        try {
          const q = await monitor.measure(e.epoch, st.params, e.seconds);
          // The window just inferred is the epoch's preview: its write is the only extra cost (a preview that
          // cannot be written is a warning, never the run's failure).
          let preview: string | undefined;
          const t0 = performance.now();
          try {
            preview = await writePreview(jobDir, quantisePreview(q.epoch, q.region, q.image.object, q.image.weight));
          } catch (err) {
            emit({ type: 'log', level: 'warn', message: `preview after epoch ${e.epoch} not written: ${(err as Error).message}` });
          }
          emit({ type: 'quality', epoch: q.epoch, amplitude: q.amplitude, phase: q.phase, region: q.region, groups: q.groups, seconds: q.seconds, ...(preview ? { preview, previewSeconds: (performance.now() - t0) / 1000 } : {}) });
        } catch (err) {
          // Quality is informative; a failure to measure it never stops training.
          emit({ type: 'log', level: 'warn', message: `quality after epoch ${e.epoch} not measured: ${(err as Error).message}` });
        }
      },
      onCheckpoint: (c) => emit({ type: 'checkpoint', epoch: c.epoch, stepInEpoch: c.stepInEpoch, step: c.step, path: ARTIFACT.checkpoint }),
    },
  }));
  const plan = (run.plan = await trainer.prepare());
  // A fresh run's previews start empty (the previous run's would mislead); a resume continues them.
  if (!opts.resume) await clearPreviews(jobDir).catch(() => undefined);
  if (test && plan.testGroups) {
    run.monitor = await QualityMonitor.create(plan.spec, test, plan.testGroups, {
      ort, provider: plan.provider, intraOpThreads: opts.threads.threads, cropSize: config.training.stitchCropSize,
      windowSize: config.training.previewSize, ...(config.training.previewCenter ? { center: config.training.previewCenter } : {}),
      stitch: { alignPhase: config.training.stitchPhaseAlignment, fillHoles: config.training.stitchFillHoles, crosstalkCorrection: config.training.stitchCrosstalkCorrection, centroidRefinement: config.training.stitchCentroidRefinement, blend: runStitchBlend(config) },
      halfSetFilters: { amplitude: config.training.stitchAmplitudeFilter, phase: config.training.stitchPhaseFilter },
      countScale: runCountScale(config),
    });
    if (run.monitor) {
      const m = run.monitor;
      await writePreview(jobDir, quantisePreview(0, m.region, m.truthWindow()), TRUTH_PREVIEW).catch((err: Error) => emit({ type: 'log', level: 'warn', message: `the ground truth preview was not written: ${err.message}` }));
    }
  }
  const fallback = plan.fallbacks.map((f) => f.reason).join(' ');
  manifest.runtime.executionProviderUsed = plan.provider;
  if (fallback) manifest.runtime.fallbackReason = fallback;
  manifest.training = {
    parameters: plan.parameterCount, batchSize: plan.batch, stepsPerEpoch: plan.stepsPerEpoch, trainGroups: plan.trainGroups.count,
    validationGroups: plan.validationGroups.count, testGroups: plan.testGroups?.count ?? 0, canvas: plan.spec.canvas,
    graphNodes: plan.graphNodes, sessionMs: plan.sessionMs, normalization: { train: train.normalization, test: test?.normalization ?? null },
    probeNormalization: plan.probeNormalization, patternsStreamed: train.patterns.streamed,
    probeOutsideSupport: probeEnergyOutsideSupport(train.probe.data, train.n),
    // training.symmetryAugment: which turns the groups are drawn under, and each turn's probe mismatch (symmetry.ts).
    ...(plan.symmetries ? { symmetries: plan.symmetries.usable.map((s) => s.name), probeSymmetryMismatch: plan.symmetries.mismatch } : {}),
  };
  run.state = trainer.initialState();
  let resumedFrom: { epoch: number; step: number } | undefined;
  if (opts.resume) {
    run.state = await trainer.loadState(path.join(jobDir, ARTIFACT.checkpoint));
    resumedFrom = { epoch: run.state.epoch, step: run.state.stepInEpoch };
  }
  emit({
    type: 'started', pid: process.pid, executionProviderRequested: config.training.executionProvider, executionProviderUsed: plan.provider,
    fallbackReason: fallback || undefined, epochs: config.training.epochs, stepsPerEpoch: plan.stepsPerEpoch, batchSize: plan.batch,
    parameters: plan.parameterCount, trainGroups: plan.trainGroups.count, validationGroups: plan.validationGroups.count,
    testGroups: plan.testGroups?.count ?? 0, resumedFrom, threads: opts.threads.threads, threadsSource: opts.threads.source,
  });
  if (fallback) emit({ type: 'log', level: 'warn', message: fallback });
  const outside = manifest.training.probeOutsideSupport as number;
  if (!predictsFullPatch(plan.arch.spec) && outside > PROBE_OUTSIDE_SUPPORT_WARN) {
    emit({ type: 'log', level: 'warn', message: `${(100 * outside).toFixed(0)} % of the probe's energy falls outside the central N/2 × N/2 square where the network predicts the object: the model cannot explain that light and tends to learn a fixed pattern instead of the object (README, Reconstruction quality, item 18). A probe this wide is outside what this model was built for; training.probeBig (--probe-big) predicts the border from a small branch, training.objectSupport 'full' (--object-support full) all N × N with the full network.` });
  }
  for (const note of opts.threads.notes) emit({ type: 'log', level: 'warn', message: `${describeThreads(opts.threads)}: ${note}` });
  await persist();
}

/** The epochs, checkpointing as it goes; the result in the manifest. A cancel (or SIGINT/SIGTERM) ends the run here. */
async function trainEpochs(run: TrainingRun): Promise<'trained' | 'cancelled'> {
  const { jobDir, io, config, manifest, keeper, emit, finish } = run;
  const trainer = run.trainer!;
  const state = run.state!;
  const checkpointFile = path.join(jobDir, ARTIFACT.checkpoint);
  // Checkpoints are the only files written during training: a disk error without a path is theirs.
  const outcome = await writing(config.jobId, checkpointFile, () => trainer.run(state));
  if (keeper.error) throw keeper.error;
  const last = state.history.at(-1);
  manifest.result = {
    epochs: state.epoch, steps: state.step, finalLoss: last?.trainLoss ?? null,
    bestValLoss: state.history.some((h) => h.valLoss !== null) ? Math.min(...state.history.filter((h) => h.valLoss !== null).map((h) => h.valLoss!)) : null,
    stopReason: outcome.reason, history: state.history,
  };
  manifest.timing!.trainingSeconds = state.elapsedSeconds;
  if (outcome.status === 'cancelled' || io.cancelled()) {
    emit({ type: 'cancelled', epoch: state.epoch, stepInEpoch: state.stepInEpoch, step: state.step, checkpoint: ARTIFACT.checkpoint });
    await finish('cancelled', `Cancelled in epoch ${state.epoch + 1} after step ${state.stepInEpoch}${cancelledBy(io)}; resume continues from checkpoint.npz.`);
    return 'cancelled';
  }
  return 'trained';
}

/**
 * The inference model, the stitched reconstructions and metrics of the common evaluation, the images; `succeeded`.
 * A cancel while reconstructing ends the run `cancelled` at the next batch: training is done and checkpointed, so a
 * resume scores the model without training again.
 */
async function finalizeTraining(run: TrainingRun): Promise<void> {
  const { jobDir, opts, config, manifest, emit, finish, io } = run;
  const result = manifest.result!;
  const trainer = run.trainer!;
  const state = run.state!;
  const plan = run.plan!;
  const train = run.train!;
  const test = run.test;
  const ort = run.ort!;
  // Results: the inference model, the stitched reconstructions (trained, untrained) of the dose's common
  // evaluation set and of the job's own split, metrics, images.
  emit({ type: 'log', level: 'info', message: 'Training done; writing model.onnx and reconstructing the evaluation set.' });
  const metadata = {
    job: config.jobId, N: String(config.n), gridsize: String(config.gridsize), canvas: String(plan.spec.canvas),
    input: 'diffraction [batch, C, N, N]: loader-normalised amplitudes X·sqrt((N/2)²/mean Σ X²)' + (config.gridsize > 1 ? '; offsets [batch, C, 2]: (dx, dy) of each pattern from its group centroid, pixels' : ''),
    output: 'amplitude, phase [batch, 1, N, N]: the object around the group centre',
    trainNormalization: String(train.normalization),
  };
  const model = trainer.inferenceModel(state.params, metadata);
  const split = test ? 'test' : 'train';
  const data = test ?? train;
  const groups = test ? plan.testGroups! : plan.trainGroups;
  // The headline metrics: the common evaluation of the dose (its Phase C test split on the common region,
  // src/core/run/evaluation.ts); the job's own split on its covered rectangle stays as metrics.json `ownSplit`.
  // The worker's cancel is a flag (a message or a signal): polled into the abort signal the reconstructions check.
  const abort = new AbortController();
  const watch = setInterval(() => io.cancelled() && abort.abort(), 100);
  let evaluated: Awaited<ReturnType<typeof evaluateRun>>;
  try {
    evaluated = await evaluateRun({
      config, ort, provider: plan.provider, intraOpThreads: opts.threads.threads, batch: INFERENCE_BATCH, spec: plan.spec,
      trained: state.params, untrained: trainer.untrainedParameters(), trainedModel: model, metadata,
      own: { data, groups, split }, log: (message) => emit({ type: 'log', level: 'warn', message }), signal: abort.signal,
    });
  } catch (err) {
    if ((err as Error).name !== 'AbortError' || !io.cancelled()) throw err;
    emit({ type: 'cancelled', epoch: state.epoch, stepInEpoch: state.stepInEpoch, step: state.step, checkpoint: ARTIFACT.checkpoint });
    await finish('cancelled', `Cancelled while reconstructing the evaluation set${cancelledBy(io)}; training had finished (${state.epoch} epochs, checkpoint.npz): resume scores the model without training again.`);
    return;
  } finally {
    clearInterval(watch);
  }
  // Written once scored, so a run cancelled while scoring leaves no model beside its `cancelled` manifest.
  await writing(config.jobId, path.join(jobDir, ARTIFACT.model), () => writeFileAtomic(path.join(jobDir, ARTIFACT.model), model));
  const recon = evaluated.reconstruction;
  const evaluation = evaluated.evaluation;
  emit({ type: 'log', level: 'info', message: `Scored on ${evaluation.dataset} (${evaluation.source}), region ${evaluation.region.width}×${evaluation.region.height} at (${evaluation.region.x0}, ${evaluation.region.y0}), ${evaluation.grouping.groups} groups, coverage ${(100 * evaluation.coverage).toFixed(1)} %; ${blendNote(runStitchBlend(config), config.n, evaluation.stitchCropSize)}.` });
  if (recon.groupRefinementSelection) emit({ type: 'log', level: 'info', message: describeRefinementSelection(recon.groupRefinementSelection) });
  if (recon.groupRefinement) emit({ type: 'log', level: 'info', message: describeGroupRefinement(recon.groupRefinement) });
  const step = recon.centroidRefinement;
  if (step) {
    const px = (v: number): string => v.toFixed(3);
    emit({ type: 'log', level: 'info', message: `Centroid step: misfit to the measured centroids ${px(step.misfitBefore)} → ${px(step.misfitAfter)} detector px, ${(100 * step.delivered).toFixed(0)} % of the asked change delivered${step.noiseFloor > 0 ? ` (${px(step.asked)} px asked; the centroids' Poisson noise ${px(step.noiseFloor)} px${step.askedNoise > 0 ? `, ${px(step.askedNoise)} px of the asked in quadrature, taken out` : ', above the misfit: the predictions follow it, nothing taken out'})` : ''}: ${step.accepted ? 'kept' : 'not kept (the stitch is as synchronised)'}.` });
  }
  const contrast = recon.contrastCalibration;
  if (contrast) emit({ type: 'log', level: 'info', message: describeContrastCalibration(contrast) });
  for (const message of describeHalfSetWeightings(recon, { amplitude: config.training.stitchAmplitudeFilter, phase: config.training.stitchPhaseFilter },
    (h) => config.gridsize > 1
      ? `${h[0]} + ${h[1]} groups of two disjoint halves of the patterns, grouped, inferred and stitched apart, no ground truth`
      : `${h[0]} + ${h[1]} patches stitched apart, no ground truth`, 'the region or a half-stitch is too small')) {
    emit({ type: 'log', level: 'info', message });
  }
  if (evaluation.dataset !== data.path) {
    try {
      manifest.data.evaluation = await provenanceOf(evaluation.dataset, undefined);
      manifest.data.evaluation.nPatterns = evaluation.patterns;
      manifest.data.evaluation.N = config.n;
    } catch {
      // provenance is informative only
    }
  }
  const source = await recordSource(evaluation.dataset);
  await writing(config.jobId, path.join(jobDir, ARTIFACT.reconstruction), () => writeReconstruction(jobDir, recon, { jobId: config.jobId, split: evaluated.split, cropSize: config.training.stitchCropSize, datasetPath: evaluation.dataset, evaluation: evaluation.source }, { source }));
  await writing(config.jobId, path.join(jobDir, ARTIFACT.amplitudePng), () => writeImages(jobDir, recon));
  const testLoss = test ? await trainer.evaluate(state, test, plan.testGroups!) : null;
  await writing(config.jobId, path.join(jobDir, ARTIFACT.metrics), () => writeMetrics(jobDir, { jobId: config.jobId, testLoss, ...evaluated.metrics }));
  const summary = evaluated.summary;
  const evaluationSummary = { dataset: evaluation.dataset, source: evaluation.source, region: evaluation.region };
  result.metrics = summary
    ? { amplitude: summary.amplitude, phase: summary.phase, testLoss, frcUnit: 'cycles/px', evaluation: evaluationSummary }
    : { testLoss, evaluation: evaluationSummary };
  manifest.artifacts = {};
  for (const name of [ARTIFACT.model, ARTIFACT.checkpoint, ARTIFACT.reconstruction, ARTIFACT.metrics, ARTIFACT.amplitudePng, ARTIFACT.phasePng]) {
    const file = path.join(jobDir, name);
    if (!fs.existsSync(file)) continue;
    manifest.artifacts[name] = { bytes: fs.statSync(file).size, ...(name === ARTIFACT.model ? { sha256: await sha256File(file) } : {}) };
  }
  emit({
    type: 'finished', status: 'succeeded', epochs: state.epoch, finalLoss: result.finalLoss, bestValLoss: result.bestValLoss,
    stopReason: result.stopReason, seconds: (Date.now() - run.startedAt.getTime()) / 1000,
    metrics: summary ? { amplitude: summary.amplitude, phase: summary.phase } : undefined,
  });
  await finish('succeeded');
}

/** How the evaluation's patches were blended, for the run log. */
function blendNote(blend: ResolvedStitchBlend, n: number, cropSize: number): string {
  if (blend === 'probe') return 'patches blended by their patterns\' probe intensity';
  return blend === 'taper' ? `patches blended with a cos² taper (L = ${n / 2} px)` : `patches cut at their ${cropSize}×${cropSize} crops`;
}
