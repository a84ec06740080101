// The training loop: gridsize-2 grouping, a seeded validation split and per-epoch shuffles, the generated
// train-step graph (forward + backward + Adam in one onnxruntime run), validation loss, reduce-on-plateau and
// early stopping, progress callbacks (for the worker's event stream and cancellation between steps), and
// checkpoints at every epoch end and on cancel that restore the run exactly.
import type { Tensor } from 'onnxruntime-node';
import type { RunConfig } from '../run/plan';
import { adamStepSize } from '../onnx';
import {
  buildArchitecture, buildEvalGraph, buildInferenceGraph, buildTrainStepGraph, canvasSize, initialParameters, modelProbe, predictsFullPatch,
  parameterCount, IO, LOG_SCALE, type Architecture, type ArchitectureSpec, type ModelGraphSpec,
} from '../model';
import { minDeltaAt, resolveObjectSupport, resolveGridsizeTwoSwitch, type TrainingSettings } from '../study/config';
import { configKeyOf, loadCheckpoint, saveCheckpoint, type EpochRecord, type TrainingState } from './checkpoint';
import { fingerprintParts, launchKeyOf } from './fingerprint';
import type { TrainingDataset } from './data';
import { buildGroups, groupPools, permutation, redrawGroups, selectGroups, splitValidation, type GroupPools, type PatternGroups } from './groups';
import { createSession, type OrtModule, type OrtSession } from './runtime';
import { scheduleAfterEpoch } from './schedule';
import { PROBE_SYMMETRY_TOLERANCE, probeSymmetries, symmetryFor, transformGroups, type ProbeSymmetries } from './symmetry';

export interface StepProgress {
  epoch: number;
  epochs: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  step: number;
  loss: number;
  /** Network inputs (groups) per second over recent steps. */
  imagesPerSec: number;
  etaSeconds: number;
}

export interface EpochSummary extends EpochRecord {
  lrReduced: boolean;
  earlyStop: boolean;
}

export interface TrainerCallbacks {
  onProgress?(p: StepProgress): void;
  onEpoch?(e: EpochSummary): void;
  onCheckpoint?(c: { epoch: number; stepInEpoch: number; step: number; path: string; seconds: number }): void;
  /** Awaited at each epoch end before the checkpoint (e.g. to measure the model's quality). */
  afterEpoch?(e: EpochSummary, state: TrainingState): Promise<void>;
  /** Polled between steps: true asks the loop to stop after the current step (a cancel). */
  shouldStop?(): boolean;
  log?(line: string): void;
}

export interface TrainerOptions {
  ort: OrtModule;
  /** Execution providers to try in order (cpu last). */
  providers: readonly string[];
  intraOpThreads?: number;
  /** Where checkpoints go (every epoch and on cancel); none when omitted. */
  checkpointPath?: string;
  /** Resume from this checkpoint (must match the configuration). */
  resumeFrom?: string;
  callbacks?: TrainerCallbacks;
}

export type TrainStatus = 'finished' | 'cancelled';

export interface TrainOutcome {
  status: TrainStatus;
  state: TrainingState;
  /** Why training ended: all epochs, early stopping, or a cancel. */
  reason: string;
}

export class TrainingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingError';
  }
}

/** Everything decided before the first step, recorded in the manifest. */
export interface TrainingPlan {
  arch: Architecture;
  spec: ModelGraphSpec;
  parameterCount: number;
  batch: number;
  stepsPerEpoch: number;
  trainGroups: PatternGroups;
  /** Each training seed's neighbour pool when the groups are drawn afresh every epoch (training.regroupEachEpoch). */
  trainPools?: GroupPools;
  /** The probe's symmetries training groups are drawn under (training.symmetryAugment); absent when off. */
  symmetries?: ProbeSymmetries;
  validationGroups: PatternGroups;
  testGroups?: PatternGroups;
  provider: string;
  fallbacks: { provider: string; reason: string }[];
  sessionMs: number;
  graphNodes: number;
  probeNormalization: number;
}

/**
 * Linear learning-rate warm-up over the first `steps` optimizer steps (1 when `steps` is 0). Adam's first
 * updates move every weight by ≈ lr at once, whatever its gradient's size; on the gridsize-2 model that
 * switched the ReLUs of whole channels off for good (README, "Reconstruction quality").
 */
export function warmupFactor(step: number, steps: number): number {
  return steps > 0 ? Math.min(1, step / steps) : 1;
}

/** The network a run's training settings ask for (also what `bench:train` times as the default settings' network). */
export function architectureSpecOf(t: TrainingSettings, n: number, gridsize: number): ArchitectureSpec {
  return {
    n, gridsize, filterScale: t.nFiltersScale, probeBig: t.probeBig, rampHead: t.rampHead, energyAmplitude: t.energyAmplitude,
    fullSupport: resolveObjectSupport(t, gridsize) === 'full', residualBlocks: t.residualBlocks, backprojectedInput: t.backprojectedInput,
  };
}

export class Trainer {
  private trainSession?: OrtSession;
  private evalSession?: OrtSession;
  private trainable: string[] = [];
  private shapes = new Map<string, readonly number[]>();
  plan?: TrainingPlan;

  constructor(
    readonly config: RunConfig,
    readonly train: TrainingDataset,
    readonly test: TrainingDataset | undefined,
    readonly options: TrainerOptions,
  ) {}

  private log(line: string): void {
    this.options.callbacks?.log?.(line);
  }

  /** Groups the data, builds the graphs and opens the sessions on the first provider that works. */
  async prepare(): Promise<TrainingPlan> {
    const c = this.config;
    const t = c.training;
    if (this.train.n !== c.n) throw new TrainingError(`${this.train.path} holds ${this.train.n}×${this.train.n} patterns; the plan says N=${c.n}.`);
    const all = buildGroups(this.train.xs, this.train.ys, { gridsize: c.gridsize, nGroups: c.nGroups, neighborCount: t.neighborCount, seed: t.seed, stream: 'train' });
    const split = splitValidation(all.count, t.validationFraction, t.seed);
    const trainGroups = selectGroups(all, split.train);
    const validationGroups = selectGroups(all, split.validation);
    const testGroups = this.test
      ? buildGroups(this.test.xs, this.test.ys, { gridsize: c.gridsize, neighborCount: t.neighborCount, seed: t.seed, stream: 'test' })
      : undefined;
    if (trainGroups.count < 1) throw new TrainingError(`${c.jobId}: no training groups (the dataset holds ${this.train.count} patterns).`);
    const batch = Math.min(t.batchSize, trainGroups.count);
    if (batch < t.batchSize) this.log(`Only ${trainGroups.count} training groups: the batch size is reduced from ${t.batchSize} to ${batch}.`);
    const arch = buildArchitecture(architectureSpecOf(t, c.n, c.gridsize));
    const probe = modelProbe(this.train.probe.data, c.n, t.probeNormalization);
    // Regrouping draws each training seed's C patterns afresh every epoch; the canvas holds any draw.
    const pools = t.regroupEachEpoch && c.gridsize > 1 ? groupPools(this.train.xs, this.train.ys, trainGroups.anchors, t.neighborCount, trainGroups.size) : undefined;
    // Mirrors and rotations the probe allows turn each group into another specimen's (symmetry.ts); |offsets| keep their bound.
    const symmetries = resolveGridsizeTwoSwitch(t.symmetryAugment, c.gridsize) ? probeSymmetries(this.train.probe) : undefined;
    if (symmetries) {
      this.log(symmetries.usable.length > 1
        ? `Symmetry augmentation: each training group is drawn under one of ${symmetries.usable.map((s) => s.name).join(', ')} (the probe's symmetries).`
        : `Symmetry augmentation does nothing here: the probe is not symmetric under any mirror or rotation of the square (smallest mismatch ${(100 * Math.min(...Object.values(symmetries.mismatch).filter((m) => m > 0))).toFixed(1)} %, tolerance ${(100 * PROBE_SYMMETRY_TOLERANCE).toFixed(1)} %), so turned patterns would not match this probe's physics.`);
    }
    const maxOffset = Math.max(all.maxOffset, testGroups?.maxOffset ?? 0, pools?.maxOffset ?? 0);
    const spec: ModelGraphSpec = {
      arch, batch, canvas: canvasSize(c.n, maxOffset, predictsFullPatch(arch.spec)), intensityScale: c.intensityScale,
      probe: { re: probe.re, im: probe.im }, trainLogScale: t.intensityScaleTrainable,
    };
    const started = Date.now();
    const step = buildTrainStepGraph(spec);
    this.trainable = step.trainable;
    for (const p of arch.params) this.shapes.set(p.name, p.shape);
    const choice = await createSession(this.options.ort, step.model, { providers: this.options.providers, optimization: 'extended', intraOpThreads: this.options.intraOpThreads });
    this.trainSession = choice.session;
    const evalChoice = await createSession(this.options.ort, buildEvalGraph(spec).model, { providers: [choice.provider], optimization: 'extended', intraOpThreads: this.options.intraOpThreads });
    this.evalSession = evalChoice.session;
    this.plan = {
      arch, spec, parameterCount: parameterCount(arch), batch, stepsPerEpoch: Math.floor(trainGroups.count / batch),
      trainGroups, trainPools: pools, symmetries, validationGroups, testGroups, provider: choice.provider, fallbacks: choice.fallbacks,
      sessionMs: Date.now() - started, graphNodes: step.nodeCount, probeNormalization: probe.factor,
    };
    return this.plan;
  }

  /** The fingerprint a checkpoint must match to be resumed by this run. */
  configKey(rampOrigin = true): string {
    return configKeyOf({
      ...fingerprintParts(this.config, rampOrigin), trainPatterns: this.train.count, canvas: this.plan?.spec.canvas, batch: this.plan?.batch,
    });
  }

  initialState(): TrainingState {
    const plan = this.requirePlan();
    const params = initialParameters(plan.arch, this.config.training.seed, this.config.intensityScale, this.config.training.weightInit);
    const zeros = (): Map<string, Float32Array> => new Map(this.trainable.map((n) => [n, new Float32Array(params.get(n)!.length)]));
    return {
      params, m: zeros(), v: zeros(), epoch: 0, stepInEpoch: 0, step: 0, lr: this.config.training.learningRate,
      best: Infinity, plateauWait: 0, stopWait: 0, epochLossSum: 0, epochLossCount: 0, history: [], elapsedSeconds: 0,
      finished: false, configKey: this.configKey(), launchKey: launchKeyOf(this.config),
    };
  }

  async loadState(file: string): Promise<TrainingState> {
    const c = this.config;
    // A gridsize-2 ramp-head checkpoint from before the group-origin planes: same shapes, a different model.
    const before = c.gridsize > 1 && c.training.rampHead
      ? [{ configKey: this.configKey(false), hint: ' It was written before gridsize-2 ramp planes shared the group\'s origin (README item 20), so it holds a different model: start a new run.' }]
      : [];
    const state = await loadCheckpoint(file, { configKey: this.configKey(), shapes: this.shapes, trainable: this.trainable, before });
    // A checkpoint from before launch keys gains one, so its next resume is checked at launch too.
    return { ...state, launchKey: launchKeyOf(c) };
  }

  async saveState(state: TrainingState, file: string): Promise<void> {
    const position = (d: TrainingDataset): { xs: Float64Array; ys: Float64Array } => ({ xs: d.xs, ys: d.ys });
    await saveCheckpoint(file, state, this.shapes, { data: { probe: this.train.probe, train: position(this.train), ...(this.test ? { test: position(this.test) } : {}) } });
  }

  private requirePlan(): TrainingPlan {
    if (!this.plan) throw new Error('Trainer.prepare() must run first');
    return this.plan;
  }

  /** The training groups of an epoch: the run's own, or with regrouping a fresh draw from each seed's pool after the first. */
  trainGroupsOf(epoch: number): PatternGroups {
    const plan = this.requirePlan();
    if (!plan.trainPools || epoch === 0) return plan.trainGroups;
    return redrawGroups(this.train.xs, this.train.ys, plan.trainPools, plan.trainGroups.size, this.config.training.seed, epoch);
  }

  /** Fills x/offsets buffers for the groups `which` (indices into `groups`) from `data`. */
  private async fillBatch(data: TrainingDataset, groups: PatternGroups, which: ArrayLike<number>, x: Float32Array, offsets: Float32Array): Promise<void> {
    const size = groups.size;
    const patterns = new Int32Array(which.length * size);
    for (let k = 0; k < which.length; k++) {
      const g = which[k];
      patterns.set(groups.indices.subarray(g * size, (g + 1) * size), k * size);
      offsets.set(groups.offsets.subarray(g * size * 2, (g + 1) * size * 2), k * size * 2);
    }
    await data.patterns.read(patterns, x);
  }

  private tensor(data: Float32Array, shape: readonly number[]): Tensor {
    return new this.options.ort.Tensor('float32', data, [...shape]);
  }

  private paramFeeds(state: TrainingState): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = {};
    for (const [name, data] of state.params) feeds[name] = this.tensor(data, this.shapes.get(name)!);
    return feeds;
  }

  /** Mean per-group loss over `groups` of `data` (batched; a short last batch is padded and ignored). */
  async evaluate(state: TrainingState, data: TrainingDataset, groups: PatternGroups): Promise<number | null> {
    if (groups.count === 0) return null;
    const plan = this.requirePlan();
    const { batch } = plan;
    const c = plan.arch.channels;
    const n = this.config.n;
    const x = new Float32Array(batch * c * n * n);
    const offsets = new Float32Array(batch * c * 2);
    const feeds = this.paramFeeds(state);
    let sum = 0;
    for (let start = 0; start < groups.count; start += batch) {
      const valid = Math.min(batch, groups.count - start);
      const which = Int32Array.from({ length: batch }, (_, k) => start + (k < valid ? k : 0));
      await this.fillBatch(data, groups, which, x, offsets);
      feeds[IO.diffraction] = this.tensor(x, [batch, c, n, n]);
      if (c > 1) feeds[IO.offsets] = this.tensor(offsets, [batch, c, 2]);
      const out = await this.evalSession!.run(feeds);
      const per = out[IO.sampleLoss].data as Float32Array;
      for (let k = 0; k < valid; k++) sum += per[k];
    }
    return sum / groups.count;
  }

  /**
   * Trains from `state` (fresh or restored) to the end of the configured epochs, early stopping or a cancel.
   * The state is updated in place and checkpointed at every epoch end and on cancel.
   */
  async run(state: TrainingState): Promise<TrainOutcome> {
    const plan = this.requirePlan();
    const t = this.config.training;
    const cb = this.options.callbacks ?? {};
    const { batch, stepsPerEpoch, trainGroups, validationGroups } = plan;
    const c = plan.arch.channels;
    const n = this.config.n;
    const x = new Float32Array(batch * c * n * n);
    const offsets = new Float32Array(batch * c * 2);
    const scratch = new Float32Array(n * n);
    const wallStart = Date.now();
    // Training time before this call (a resumed run's), plus this call's wall time; state.elapsedSeconds is
    // overwritten with the total at each checkpoint, so it must not be the base.
    const before = state.elapsedSeconds;
    const elapsed = (): number => before + (Date.now() - wallStart) / 1000;
    const recent: number[] = [];
    const checkpoint = async (): Promise<void> => {
      if (!this.options.checkpointPath) return;
      const t0 = Date.now();
      state.elapsedSeconds = elapsed();
      await this.saveState(state, this.options.checkpointPath);
      cb.onCheckpoint?.({ epoch: state.epoch, stepInEpoch: state.stepInEpoch, step: state.step, path: this.options.checkpointPath, seconds: (Date.now() - t0) / 1000 });
    };
    if (state.finished && ranOutOfEpochs(state) && state.epoch < t.epochs) {
      // The run used up its epoch budget; resumed with a larger one it trains on (early stopping's verdict stands).
      state.finished = false;
      state.stopReason = undefined;
      state.stoppedBy = undefined;
    }
    if (state.finished) return { status: 'finished', state, reason: state.stopReason ?? 'training had already finished' };

    while (state.epoch < t.epochs) {
      const groups = this.trainGroupsOf(state.epoch);
      const order = permutation(trainGroups.count, t.seed, 'epoch', state.epoch);
      const epochStart = Date.now();
      while (state.stepInEpoch < stepsPerEpoch) {
        // onnxruntime's run blocks the event loop and its promise chains straight into the next step: yield once
        // so a cancel message or signal that arrived during the step is seen now, not a step later.
        await new Promise((r) => setImmediate(r));
        if (cb.shouldStop?.()) {
          await checkpoint();
          return { status: 'cancelled', state, reason: `cancelled in epoch ${state.epoch + 1} after step ${state.stepInEpoch} of ${stepsPerEpoch}` };
        }
        const stepStart = performance.now();
        const which = order.subarray(state.stepInEpoch * batch, (state.stepInEpoch + 1) * batch);
        await this.fillBatch(this.train, groups, which, x, offsets);
        if (plan.symmetries && plan.symmetries.usable.length > 1) {
          const usable = plan.symmetries.usable;
          transformGroups(x, offsets, which.length, c, n, Array.from(which, (g) => symmetryFor(usable, t.seed, state.epoch, g)), scratch);
        }
        const feeds = this.paramFeeds(state);
        for (const name of this.trainable) {
          feeds[`m_${name}`] = this.tensor(state.m.get(name)!, this.shapes.get(name)!);
          feeds[`v_${name}`] = this.tensor(state.v.get(name)!, this.shapes.get(name)!);
        }
        feeds[IO.diffraction] = this.tensor(x, [batch, c, n, n]);
        if (c > 1) feeds[IO.offsets] = this.tensor(offsets, [batch, c, 2]);
        feeds[IO.lr] = this.tensor(Float32Array.from([adamStepSize(state.lr, state.step + 1) * warmupFactor(state.step + 1, t.warmupSteps)]), []);
        const out = await this.trainSession!.run(feeds);
        const loss = (out[IO.loss].data as Float32Array)[0];
        if (!Number.isFinite(loss)) {
          throw new TrainingError(`Training diverged at epoch ${state.epoch + 1}, step ${state.stepInEpoch + 1}: the loss is ${loss}. Lower the learning rate (now ${state.lr}) or check the data's normalisation.`);
        }
        for (const name of this.trainable) {
          state.params.set(name, out[`new_${name}`].data as Float32Array);
          state.m.set(name, out[`new_m_${name}`].data as Float32Array);
          state.v.set(name, out[`new_v_${name}`].data as Float32Array);
        }
        state.step++;
        state.stepInEpoch++;
        state.epochLossSum += loss;
        state.epochLossCount++;
        const seconds = (performance.now() - stepStart) / 1000;
        recent.push(seconds);
        if (recent.length > 20) recent.shift();
        const mean = recent.reduce((a, b) => a + b, 0) / recent.length;
        const remaining = (t.epochs - state.epoch - 1) * stepsPerEpoch + (stepsPerEpoch - state.stepInEpoch);
        cb.onProgress?.({
          epoch: state.epoch + 1, epochs: t.epochs, stepInEpoch: state.stepInEpoch, stepsPerEpoch, step: state.step, loss,
          imagesPerSec: batch / mean, etaSeconds: remaining * mean,
        });
      }
      // Epoch end: validation, schedule, history, checkpoint.
      const trainLoss = state.epochLossSum / Math.max(1, state.epochLossCount);
      const valLoss = await this.evaluate(state, this.train, validationGroups);
      const monitored = t.earlyStoppingMonitor === 'val_loss' && valLoss !== null ? valLoss : trainLoss;
      const minDelta = minDeltaAt(t, this.config.dose);
      const { lrReduced, earlyStop } = scheduleAfterEpoch(state, monitored, { ...t, minDelta });
      const record: EpochRecord = { epoch: state.epoch + 1, trainLoss, valLoss, lr: state.lr, seconds: (Date.now() - epochStart) / 1000 };
      state.history.push(record);
      state.epoch++;
      state.stepInEpoch = 0;
      state.epochLossSum = 0;
      state.epochLossCount = 0;
      if (earlyStop) {
        state.finished = true;
        state.stoppedBy = 'early-stopping';
        state.stopReason = `early stopping: the ${monitored === valLoss ? 'validation' : 'training'} loss did not improve by ${minDelta.toPrecision(3)} for ${t.earlyStoppingPatience} epochs${t.patienceRestartsOnLrReduction ? ` at the learning rate ${state.lr}` : ''}`;
      } else if (state.epoch >= t.epochs) {
        state.finished = true;
        state.stoppedBy = 'epochs';
        state.stopReason = `completed ${t.epochs} epochs`;
      }
      cb.onEpoch?.({ ...record, lrReduced, earlyStop });
      await cb.afterEpoch?.({ ...record, lrReduced, earlyStop }, state);
      await checkpoint();
      if (state.finished) break;
    }
    state.finished = true;
    state.stoppedBy ??= 'epochs';
    state.elapsedSeconds = elapsed();
    return { status: 'finished', state, reason: state.stopReason ?? `completed ${t.epochs} epochs` };
  }

  /** The standalone inference model with `params` baked in (model.onnx); it accepts any batch size. */
  inferenceModel(params: ReadonlyMap<string, Float32Array>, metadata: Record<string, string> = {}): Uint8Array {
    const plan = this.requirePlan();
    return buildInferenceGraph(plan.spec, params, metadata, { symbolicBatch: true }).model;
  }

  /** The parameters a fresh run starts from (the "untrained" reference of the metrics). */
  untrainedParameters(): Map<string, Float32Array> {
    return initialParameters(this.requirePlan().arch, this.config.training.seed, this.config.intensityScale, this.config.training.weightInit);
  }

  async release(): Promise<void> {
    await this.trainSession?.release();
    await this.evalSession?.release();
    this.trainSession = undefined;
    this.evalSession = undefined;
  }
}

export { LOG_SCALE };

/** Whether a finished run ended on its epoch budget (checkpoints before `stoppedBy` say so in their reason). */
function ranOutOfEpochs(state: TrainingState): boolean {
  return state.stoppedBy ? state.stoppedBy === 'epochs' : /^completed \d+ epochs$/.test(state.stopReason ?? '');
}
