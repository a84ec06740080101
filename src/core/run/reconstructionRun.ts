// One Phase F reconstruction run in the worker process (worker.ts runs it when `<job>/run-config.json` is a
// ReconstructionConfig): ePIE or rPIE (src/core/iterative) over the job's split, from its plan to its artifacts,
// as a training run does — manifest.json kept true throughout (`running` with this run's id, pid and a
// heartbeat, then `succeeded`, `cancelled` or `failed` with the reason), events.jsonl and recon.log (one
// `iteration` event per iteration with its cost and, against objectGuess, its quality), checkpoint.npz every
// `checkpointEvery` iterations, on cancel and at the end (a resume continues bit-identically), then
// reconstruction.npz, metrics.json (the dose's common evaluation), amplitude.png and phase.png, and the Phase F
// root's reconstruction_manifest.json. epie and rpie are TypeScript on one CPU thread: a requested GPU
// provider is recorded, not used, and the manifest and log say so. ad runs its ONNX graph in onnxruntime on
// the requested provider (falling back to the CPU, recorded) with the worker's thread count.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdReconstruction, createReconstruction, optionsFromDataset, probePeak, type Reconstruction } from '../iterative';
import { planProviders } from '../runtime/providers';
import { resolveThreads, type ResolvedThreads } from '../runtime/threads';
import { quietOrt } from '../train/runtime';
import { ndarray } from '../npy';
import { processStartTime } from '../processInfo';
import { recordSource, writeImages, writeMetrics, writeReconstruction } from './artifacts';
import { writing } from './ioError';
import { loadReconCheckpoint, RECON_CHECKPOINT, reconFingerprintParts, reconLaunchKeyOf, saveReconCheckpoint, type ReconHistoryEntry } from './reconstructionCheckpoint';
import { evaluateReconstructionRun, normalizedIllumination, scanMask, scanQuality } from './reconstructionEvaluation';
import { reconstructHalves, subsetPositions, type HalfEngine, type HalfSetResult } from './reconstructionHalves';
import { writeReconstructionManifest } from './reconstructionLauncher';
import { checkResumable } from './resume';
import { ARTIFACT } from '../study/layout';
import { checkReconstructionConfig, RECON_LOG, type ReconstructionManifest } from '../study/reconstructJobs';
import { readRunPlan } from '../study/runConfigFile';
import { describeHalfSetWeightings } from '../train/halfSetFilter';
import { configKeyOf } from '../train/checkpoint';
import { openTrainingDataset, type TrainingDataset } from '../train/data';
import { ManifestKeeper } from './manifestWriter';
import { cancelledBy, finisher, loadOrt, openRunEvents, provenanceOf, recordRunFailure, type WorkerIo } from './runSupport';

const ENGINE = 'WebAssembly SIMD kernel (src/core/iterative/pie.wat) on the CPU: one thread, or two with a fixed probe (stripe-parallel, the same result)';
/**
 * Largest amplitude stack read into memory once (the kernel holds its own copy, so twice this at most); a larger
 * dataset streams from the file every iteration, on one thread. At the kernel's speed a stream would be the cost.
 */
const STACK_IN_MEMORY_BYTES = 1 << 30;
const AD_ENGINE = 'onnxruntime: an ONNX graph of the object (src/core/iterative/ad.ts), Adam in mini-batches';
/** Fewest patterns for the half-set amplitude weighting (each half must reconstruct something). */
const MIN_HALF_SET_PATTERNS = 4;

/** Why a requested provider is not used by epie/rpie (undefined when none is lost). */
function providerNote(requested: string, algorithm: string): string | undefined {
  if (algorithm === 'ad' || requested === 'cpu' || requested === 'auto') return undefined;
  return `${algorithm} runs in TypeScript on the CPU; the ${requested} provider was requested and is not used (only the ad reconstructor runs on onnxruntime providers).`;
}

type Engine = Reconstruction | AdReconstruction;

export async function runReconstruction(jobDir: string, opts: { runId?: string; resume: boolean; threads?: ResolvedThreads }, io: WorkerIo): Promise<number> {
  // Checked field by field, and refused unless it writes only to this folder (RunConfigError names the file).
  const config = checkReconstructionConfig(await readRunPlan(jobDir), path.join(jobDir, ARTIFACT.runConfig), jobDir);
  const s = config.settings;
  const { events, emit } = openRunEvents(jobDir, RECON_LOG, config.jobId, io);
  const startedAt = new Date();
  const fallbackReason = providerNote(s.executionProvider, config.algorithm);
  const isAd = config.algorithm === 'ad';
  const providers = isAd ? planProviders(s.executionProvider) : undefined;
  // ad: onnxruntime's intra-op threads; ePIE/rPIE: up to two threads (the stripe-parallel engine, fixed probe only).
  const threads = opts.threads ?? resolveThreads({ env: process.env, available: os.availableParallelism() });
  const manifest: ReconstructionManifest = {
    schemaVersion: 1,
    kind: 'ptycho-study-reconstruction',
    job: { id: config.jobId, dose: config.dose, view: config.view, gridsize: config.gridsize, split: config.split, algorithm: config.algorithm },
    status: 'running',
    runId: opts.runId,
    createdAt: startedAt.toISOString(),
    updatedAt: startedAt.toISOString(),
    startedAt: startedAt.toISOString(),
    data: { input: { path: config.dataPath, bytes: 0, mtimeMs: 0 }, layout: config.layout ?? 'unknown' },
    config,
    runtime: {
      hostname: os.hostname(), platform: `${process.platform}-${process.arch}`, node: process.version, pid: process.pid,
      processStartedAt: ((t) => (t === undefined ? undefined : new Date(t).toISOString()))(processStartTime(process.pid)),
      executionProviderRequested: s.executionProvider, executionProviderCandidates: providers?.candidates ?? ['cpu'], ...(isAd ? {} : { executionProviderUsed: 'cpu' }),
      ...(fallbackReason ? { fallbackReason } : {}), heartbeatAt: startedAt.toISOString(),
      threads: isAd ? threads.threads : 1, threadsSource: isAd ? threads.source : 'engine', engine: isAd ? AD_ENGINE : ENGINE,
    },
    worker: { command: [process.execPath, ...process.argv.slice(1)] },
    findings: [],
    timing: { startedAt: startedAt.toISOString() },
  };
  const keeper = new ManifestKeeper(manifest, path.join(jobDir, ARTIFACT.manifest), config.jobId, startedAt, io.stderr);
  await keeper.carryOver();
  await keeper.persist();
  keeper.startHeartbeat();
  const finish = finisher(keeper, events, config.study ? { update: () => writeReconstructionManifest(config.study!), name: 'the Phase F reconstruction_manifest.json' } : undefined);

  let ds: TrainingDataset | undefined;
  let adEngine: AdReconstruction | undefined;
  let epEngine: Reconstruction | undefined;
  const checkpointFile = path.join(jobDir, ARTIFACT.checkpoint);
  try {
    // Before anything costly (hashing the dataset): is there a checkpoint to resume?
    if (opts.resume) await checkResumable(jobDir, config.jobId, RECON_CHECKPOINT);
    ds = await openTrainingDataset(config.dataPath, { diffractionKey: config.diffractionKey });
    const truth = ds.object;
    if (ds.n !== config.n || ds.count !== config.patterns) {
      throw new Error(`${config.dataPath} now holds ${ds.count} patterns of ${ds.n}×${ds.n}, but the job was planned for ${config.patterns} of ${config.n}×${config.n}: plan it again.`);
    }
    if (truth && (truth.width !== config.objectShape.width || truth.height !== config.objectShape.height)) {
      throw new Error(`${config.dataPath}: objectGuess is ${truth.height}×${truth.width}, but the job was planned for ${config.objectShape.height}×${config.objectShape.width}: plan it again.`);
    }
    manifest.data.input = await provenanceOf(config.dataPath, ds);
    const evaluationPath = config.evaluation.datasetPath;
    if (evaluationPath !== config.dataPath) {
      try {
        manifest.data.evaluation = await provenanceOf(evaluationPath, undefined);
      } catch {
        // provenance is informative; the evaluation itself says when the file cannot be used
      }
    }
    let stack: Float32Array | undefined;
    let rec: Engine;
    let parameters: Record<string, unknown>;
    let configKey: string;
    // An engine with the same settings over a subset of the patterns (the half-set amplitude weighting).
    let createHalf: (indices: Int32Array) => Promise<HalfEngine>;
    if (config.algorithm === 'ad') {
      const ort = loadOrt('; the ad reconstructor needs it. Install the dependencies (ONNXRUNTIME_NODE_INSTALL=skip npm ci) or use --algorithm epie.');
      quietOrt(ort);
      const base = optionsFromDataset(ds, { objectShape: config.objectShape, probeMode: s.probeMode, probeStart: s.probeStart, seed: s.seed });
      const adOptions = { ...base, measuredEnergy: base.measuredEnergy!, loss: s.loss, learningRate: s.learningRate, batchSize: s.batchSize, iterations: s.iterations };
      const adRuntime = { ort, providers: providers!.candidates, threads: threads.threads || undefined };
      adEngine = await AdReconstruction.create(adOptions, adRuntime);
      createHalf = (indices) => AdReconstruction.create({ ...adOptions, positions: subsetPositions(adOptions.positions, indices) }, adRuntime);
      rec = adEngine;
      manifest.runtime.executionProviderUsed = adEngine.provider;
      if (adEngine.fallbacks.length) {
        manifest.runtime.fallbackReason = adEngine.fallbacks.map((f) => `${f.provider}: ${f.reason}`).join(' | ');
        emit({ type: 'log', level: 'warn', message: `Fell back to ${adEngine.provider}: ${manifest.runtime.fallbackReason}` });
      }
      parameters = { ...adEngine.parameters(), iterations: s.iterations, checkpointEvery: s.checkpointEvery };
      // The schedule depends on the planned iterations: a resume must plan the same count.
      configKey = configKeyOf({ data: manifest.data.input.sha256, ...adEngine.parameters(), iterations: s.iterations, n: config.n, objectShape: config.objectShape });
    } else {
      const pieOptions = optionsFromDataset(ds, {
        objectShape: config.objectShape, algorithm: config.algorithm, probeMode: s.probeMode, alpha: s.alpha, beta: s.beta,
        probeStart: s.probeStart, momentum: s.momentum, friction: s.friction, anneal: s.anneal, plannedIterations: s.iterations, seed: s.seed,
        threads: threads.threads >= 2 ? 2 : 1,
      });
      const ep = createReconstruction(pieOptions);
      createHalf = async (indices) => createReconstruction({ ...pieOptions, positions: subsetPositions(pieOptions.positions, indices) });
      rec = ep;
      epEngine = ep;
      // Every amplitude in memory once when it fits: two threads need it (shared memory), and one thread would
      // otherwise re-read the file every iteration (the result is the same either way: parallel.ts).
      if (ds.count * ds.n * ds.n * 4 <= STACK_IN_MEMORY_BYTES) {
        const all = new Float32Array(ds.count * ds.n * ds.n);
        await ds.patterns.read(Int32Array.from({ length: ds.count }, (_, i) => i), all);
        stack = all;
      }
      manifest.runtime.threads = ep.parallel && stack ? 2 : 1;
      manifest.runtime.threadsSource = ep.parallel && stack ? threads.source : 'engine';
      parameters = {
        algorithm: config.algorithm, probeMode: s.probeMode, alpha: ep.alpha, beta: ep.beta, probeStart: ep.probeStart, momentum: ep.momentum,
        friction: ep.friction, anneal: ep.anneal, seed: ep.seed, iterations: s.iterations, checkpointEvery: s.checkpointEvery,
      };
      // The fingerprint a resume must agree on: the data and every parameter that changes the iterates — the launch
      // key's parts (the engine resolves its step sizes as they do).
      configKey = configKeyOf({ data: manifest.data.input.sha256, ...reconFingerprintParts(config) });
    }
    // The pixels the per-iteration quality is measured on: fixed for the run (the initial, data-scaled probe).
    const mask = scanMask(normalizedIllumination(rec.weight(), probePeak(rec.probe)));
    let history: ReconHistoryEntry[] = [];
    let elapsed = 0;
    let resumedFrom: { iteration: number } | undefined;
    if (opts.resume) {
      const loaded = await loadReconCheckpoint(checkpointFile, configKey);
      rec.restore(loaded.snapshot);
      history = loaded.state.history.filter((h) => h.iteration <= loaded.snapshot.iteration);
      elapsed = loaded.state.elapsedSeconds;
      resumedFrom = { iteration: loaded.snapshot.iteration };
    }
    manifest.reconstruction = {
      engine: isAd ? AD_ENGINE : ENGINE,
      parameters,
      patterns: rec.patterns, n: rec.n, object: config.objectShape, probeScale: rec.probeScale, configKey,
      initialObject: 'ones on objectGuess\'s grid', initialProbe: 'probeGuess, scaled once so that a unit object reproduces the data\'s mean energy',
      positions: 'known, sub-pixel (bilinear extraction and its adjoint)',
      updateOrder: adEngine
        ? `mini-batches of ${adEngine.batchSize} in a random order per iteration from Rng(seed ${adEngine.seed}, 'ad-order', iteration)`
        : `a random permutation per iteration from Rng(seed ${s.seed}, 'iterative-order', iteration)`,
      ...(adEngine ? { forwardModel: 'the PINN\'s far field (shifted DFT, I = |F(P·o)|²/N²) of bilinear patches on objectGuess\'s grid', loss: adEngine.loss === 'amplitude' ? 'Σ(√I − A)² (Gaussian on amplitudes)' : 'Σ(I − A²·log I) (Poisson NLL, the PINN\'s)' } : {}),
      ...(resumedFrom ? { resumedFrom } : {}),
    };
    emit({
      type: 'recon-started', pid: process.pid, algorithm: config.algorithm, probeMode: s.probeMode, iterations: s.iterations, patterns: rec.patterns,
      n: rec.n, object: config.objectShape, executionProviderRequested: s.executionProvider, executionProviderUsed: manifest.runtime.executionProviderUsed ?? 'cpu',
      ...(fallbackReason ? { fallbackReason } : {}), ...(resumedFrom ? { resumedFrom } : {}),
    });
    if (fallbackReason) emit({ type: 'log', level: 'warn', message: fallbackReason });
    await keeper.persist();

    const checkpoint = async (): Promise<void> => {
      await writing(config.jobId, checkpointFile, () => saveReconCheckpoint(checkpointFile, rec.snapshot(), { configKey, launchKey: reconLaunchKeyOf(config), elapsedSeconds: elapsed, history }));
      emit({ type: 'recon-checkpoint', iteration: rec.iteration, path: ARTIFACT.checkpoint });
      keeper.touch();
    };
    while (rec.iteration < s.iterations && !io.cancelled() && !keeper.error) {
      const [report] = await rec.iterate(stack ?? ds.patterns, 1);
      const q = scanQuality(rec.object, truth, mask);
      elapsed += report.seconds;
      const updatesPerSec = report.seconds > 0 ? rec.patterns / report.seconds : 0;
      history.push({ iteration: report.iteration, relativeError: report.relativeError, mse: report.mse, amplitudeR: q?.amplitudeR ?? null, phaseR: q?.phaseR ?? null, seconds: report.seconds });
      // The mean time per iteration so far (one iteration's time swings with the machine's load).
      const etaSeconds = (s.iterations - rec.iteration) * (elapsed / rec.iteration);
      manifest.progress = { iteration: rec.iteration, iterations: s.iterations, relativeError: report.relativeError, updatesPerSec, etaSeconds };
      emit({
        type: 'iteration', iteration: report.iteration, iterations: s.iterations, mse: report.mse, relativeError: report.relativeError,
        probeUpdated: report.probeUpdated, seconds: report.seconds, updatesPerSec, etaSeconds,
        quality: q ? { amplitude: q.amplitudeR, phase: q.phaseR, pixels: q.pixels } : null,
      });
      if (rec.iteration % s.checkpointEvery === 0 && rec.iteration < s.iterations) await checkpoint();
    }
    if (keeper.error) throw keeper.error;
    manifest.timing!.reconstructionSeconds = elapsed;
    const last = history.at(-1);
    // A cancel once checkpoint.npz holds the object (at the iteration reached).
    const finishCancelled = async (reason: string): Promise<number> => {
      emit({ type: 'recon-cancelled', iteration: rec.iteration, checkpoint: ARTIFACT.checkpoint });
      manifest.result = { iterations: rec.iteration, relativeError: last?.relativeError ?? null, mse: last?.mse ?? null, stopReason: 'cancelled', history };
      await finish('cancelled', reason);
      return 0;
    };
    if (rec.iteration < s.iterations) {
      await checkpoint();
      return await finishCancelled(`Cancelled after iteration ${rec.iteration} of ${s.iterations}${cancelledBy(io)}; resume (--resume) continues from checkpoint.npz.`);
    }
    await checkpoint();

    // The even and the odd patterns reconstructed apart, for the half-set weightings (as a training job's).
    let halves: HalfSetResult | undefined;
    const weighted = [s.amplitudeFilter ? 'amplitude' : '', s.phaseFilter ? 'phase' : ''].filter(Boolean).join(' and ');
    if (weighted && ds.count >= MIN_HALF_SET_PATTERNS) {
      emit({ type: 'log', level: 'info', message: `Reconstructing the even and the odd patterns apart (${Math.ceil(ds.count / 2)} + ${Math.floor(ds.count / 2)}, ${s.iterations} iterations each) to weight the ${weighted} by their FRC (--no-amplitude-filter --no-phase-filter skips this).` });
      halves = await reconstructHalves({
        count: ds.count, n: ds.n, source: stack ?? ds.patterns, iterations: s.iterations, create: createHalf, cancelled: () => io.cancelled() || !!keeper.error,
        progress: emit,
      });
      if (keeper.error) throw keeper.error;
      if (!halves) {
        return await finishCancelled(`Cancelled while reconstructing the half sets for the ${weighted} weighting${cancelledBy(io)}; the reconstruction itself is done: --resume scores it (and runs the half sets again).`);
      }
    } else if (weighted) {
      emit({ type: 'log', level: 'info', message: `Not filtered (${weighted}): ${ds.count} patterns are too few to split in two halves.` });
    }

    // Results: the object on the dose's common region, scored as the training jobs of the dose are.
    emit({ type: 'log', level: 'info', message: `Reconstruction done after ${rec.iteration} iterations; scoring it and writing reconstruction.npz.` });
    const weight = normalizedIllumination(rec.weight(), probePeak(rec.probe));
    const evaluated = await evaluateReconstructionRun({
      config, data: ds, object: rec.objectImage(), weight, scan: scanQuality(rec.object, truth, scanMask(weight)), iterations: rec.iteration, seconds: elapsed,
      ...(halves ? { halves } : {}), log: (message) => emit({ type: 'log', level: 'warn', message }),
    });
    const r = evaluated.reconstruction;
    const evaluation = evaluated.evaluation;
    emit({ type: 'log', level: 'info', message: `Scored on ${evaluation.dataset} (${evaluation.source}), region ${evaluation.region.width}×${evaluation.region.height} at (${evaluation.region.x0}, ${evaluation.region.y0}), coverage ${(100 * evaluation.coverage).toFixed(1)} %.` });
    for (const message of describeHalfSetWeightings(r, { amplitude: !!halves && s.amplitudeFilter, phase: !!halves && s.phaseFilter },
      (h) => `${h[0]} + ${h[1]} patterns reconstructed apart in ${halves!.seconds.toFixed(1)} s, no ground truth`, 'the region or a half is too small')) {
      emit({ type: 'log', level: 'info', message });
    }
    const probe = rec.probeImage();
    const source = await recordSource(config.dataPath);
    await writing(config.jobId, path.join(jobDir, ARTIFACT.reconstruction), () => writeReconstruction(jobDir, r, {
      jobId: config.jobId, split: evaluated.split, cropSize: config.settings.regionCropSize, datasetPath: config.dataPath, evaluation: evaluation.source,
      algorithm: config.algorithm, iterations: rec.iteration, probeMode: s.probeMode,
      weight: 'illumination Σ|P|² with the final probe, in units of one exposure at its peak intensity; pixels below 1e-3 were never lit and are 0',
      probe: 'the final probe (N×N, complex64), in the units of the data-scaled probeGuess',
    }, { source, extra: { probe: ndarray('<c8', [probe.height, probe.width], probe.data) } }));
    await writing(config.jobId, path.join(jobDir, ARTIFACT.amplitudePng), () => writeImages(jobDir, r));
    await writing(config.jobId, path.join(jobDir, ARTIFACT.metrics), () => writeMetrics(jobDir, { jobId: config.jobId, kind: 'reconstruct', algorithm: config.algorithm, ...evaluated.metrics }));
    const summary = evaluated.summary;
    const evaluationSummary = { dataset: evaluation.dataset, source: evaluation.source, region: evaluation.region };
    manifest.result = {
      iterations: rec.iteration, relativeError: last?.relativeError ?? null, mse: last?.mse ?? null, stopReason: `${rec.iteration} iterations done`, history,
      metrics: summary ? { amplitude: summary.amplitude, phase: summary.phase, frcUnit: 'cycles/px', evaluation: evaluationSummary } : { evaluation: evaluationSummary },
    };
    manifest.reconstruction.probeScale = rec.probeScale;
    manifest.artifacts = {};
    for (const name of [ARTIFACT.checkpoint, ARTIFACT.reconstruction, ARTIFACT.metrics, ARTIFACT.amplitudePng, ARTIFACT.phasePng]) {
      const st = await fs.promises.stat(path.join(jobDir, name)).catch(() => undefined);
      if (st) manifest.artifacts[name] = { bytes: st.size };
    }
    emit({
      type: 'recon-finished', status: 'succeeded', iterations: rec.iteration, relativeError: last?.relativeError ?? null,
      seconds: (Date.now() - startedAt.getTime()) / 1000, metrics: summary ? { amplitude: summary.amplitude, phase: summary.phase } : undefined,
    });
    await finish('succeeded');
    return 0;
  } catch (err) {
    return await recordRunFailure(err, config.jobId, emit, io, finish);
  } finally {
    epEngine?.release();
    await adEngine?.release().catch(() => undefined);
    await ds?.close().catch(() => undefined);
    events.close();
  }
}
