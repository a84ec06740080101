// Training state and its checkpoint file (`checkpoint.npz`, readable with numpy.load): parameters, Adam
// moments, the step/epoch position (also inside an epoch, for a cancel between steps), the schedule's
// counters and the loss history. Randomness is derived from (seed, purpose, epoch), never carried as hidden
// generator state, so restoring these numbers restores the run exactly.
// Each checkpoint also carries what the model needs of its data besides the patterns (`ModelData`: the training
// probe it learnt under and the scan positions that sized its groups and canvas), so a trained model can be scored
// or applied after its training files were moved or deleted.
import { createHash } from 'node:crypto';
import { ndarray, openNpz, scalarString, writeNpz, type NdArray } from '../npy';
import type { ComplexArray } from './data';

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss: number | null;
  lr: number;
  seconds: number;
}

export interface TrainingState {
  params: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  /** Epochs completed. */
  epoch: number;
  /** Optimiser steps done in the current (incomplete) epoch. */
  stepInEpoch: number;
  /** Optimiser steps done in total (Adam's t). */
  step: number;
  lr: number;
  /** Best monitored loss so far (validation loss, or training loss without a validation split). */
  best: number;
  plateauWait: number;
  stopWait: number;
  /** Running sum and count of the current epoch's step losses. */
  epochLossSum: number;
  epochLossCount: number;
  history: EpochRecord[];
  /** Training time spent before this process (resumed runs). */
  elapsedSeconds: number;
  finished: boolean;
  stopReason?: string;
  /** What ended a finished run: its epoch budget (a resume with more epochs goes on) or early stopping. */
  stoppedBy?: 'epochs' | 'early-stopping';
  /** Fingerprint of everything a resume must agree on. */
  configKey: string;
  /**
   * Fingerprint of the run's configuration alone (fingerprint.ts launchKeyOf), checked by the launcher before a
   * resume writes anything; absent in checkpoints written before it existed.
   */
  launchKey?: string;
}

export const CHECKPOINT_FORMAT = 'ptycho-study-checkpoint/1';

/** What the model needs of its training and test files besides their patterns (stored with each checkpoint). */
export interface ModelData {
  /** The training file's probeGuess: the probe the network learnt under. */
  probe: ComplexArray;
  train: { xs: Float64Array; ys: Float64Array };
  /** The job's test split's positions (its groups share the canvas); absent when the job has none. */
  test?: { xs: Float64Array; ys: Float64Array };
}

const MODEL_DATA = { probe: 'data.probe', trainX: 'data.train_xcoords', trainY: 'data.train_ycoords', testX: 'data.test_xcoords', testY: 'data.test_ycoords' } as const;

/** A stable fingerprint of the values a checkpoint depends on. */
export function configKeyOf(parts: Record<string, unknown>): string {
  return createHash('sha256').update(stableJson(parts)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every level (so key order never changes a fingerprint). */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function scalars(state: TrainingState): Record<string, unknown> {
  const { params: _p, m: _m, v: _v, ...rest } = state;
  return { format: CHECKPOINT_FORMAT, ...rest, best: Number.isFinite(state.best) ? state.best : null };
}

/** Writes the checkpoint atomically (a reader or a crash sees the old file or the new one, never half). */
export async function saveCheckpoint(file: string, state: TrainingState, shapes: ReadonlyMap<string, readonly number[]>, opts: { mtime?: Date; data?: ModelData } = {}): Promise<void> {
  const arrays: Record<string, NdArray> = {};
  const d = opts.data;
  if (d) {
    arrays[MODEL_DATA.probe] = ndarray('<c8', [d.probe.height, d.probe.width], d.probe.data);
    arrays[MODEL_DATA.trainX] = ndarray('<f8', [d.train.xs.length], d.train.xs);
    arrays[MODEL_DATA.trainY] = ndarray('<f8', [d.train.ys.length], d.train.ys);
    if (d.test) {
      arrays[MODEL_DATA.testX] = ndarray('<f8', [d.test.xs.length], d.test.xs);
      arrays[MODEL_DATA.testY] = ndarray('<f8', [d.test.ys.length], d.test.ys);
    }
  }
  for (const [name, data] of state.params) arrays[`param.${name}`] = ndarray('<f4', [...shapes.get(name)!], data);
  for (const [name, data] of state.m) arrays[`adam_m.${name}`] = ndarray('<f4', [...shapes.get(name)!], data);
  for (const [name, data] of state.v) arrays[`adam_v.${name}`] = ndarray('<f4', [...shapes.get(name)!], data);
  const h = state.history;
  arrays.history_epoch = ndarray('<i4', [h.length], Int32Array.from(h.map((r) => r.epoch)));
  arrays.history_train_loss = ndarray('<f8', [h.length], Float64Array.from(h.map((r) => r.trainLoss)));
  arrays.history_val_loss = ndarray('<f8', [h.length], Float64Array.from(h.map((r) => r.valLoss ?? NaN)));
  arrays.history_lr = ndarray('<f8', [h.length], Float64Array.from(h.map((r) => r.lr)));
  arrays._state = scalarString(JSON.stringify(scalars(state)));
  await writeNpz(file, arrays, { mtime: opts.mtime });
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

/** Reads a checkpoint; checks that it belongs to this run's configuration and has every parameter. */
/**
 * `before`: fingerprints this configuration had under earlier versions of the model, each with the hint a refused
 * resume gives (the checkpoint's shapes may match while the model it holds differs).
 */
export async function loadCheckpoint(
  file: string,
  expect: { configKey: string; shapes: ReadonlyMap<string, readonly number[]>; trainable: readonly string[]; before?: readonly { configKey: string; hint: string }[] },
): Promise<TrainingState> {
  const archive = await openNpz(file);
  try {
    const raw = (await archive.readArray('_state')).data as string[];
    const s = JSON.parse(raw[0]) as Record<string, unknown>;
    if (s.format !== CHECKPOINT_FORMAT) throw new CheckpointError(`${file} is not a ${CHECKPOINT_FORMAT} checkpoint (format ${String(s.format)}).`);
    if (s.configKey !== expect.configKey) {
      // The one architecture change users meet: checkpoints from before the ramp head (training.rampHead).
      const rampOnlyHere = expect.shapes.has('ramp.weight') && !archive.has('param.ramp.weight');
      const earlier = expect.before?.find((b) => b.configKey === s.configKey);
      const hint = rampOnlyHere ? ' It has no ramp head: resume it with --no-ramp-head (training.rampHead: false), or start a new run.' : earlier ? earlier.hint : ' Start a new run instead of resuming.';
      throw new CheckpointError(`${file} was written for a different configuration (data, model or hyperparameters changed since).${hint}`);
    }
    const read = async (prefix: string, names: Iterable<string>): Promise<Map<string, Float32Array>> => {
      const out = new Map<string, Float32Array>();
      for (const name of names) {
        const key = `${prefix}.${name}`;
        if (!archive.has(key)) throw new CheckpointError(`${file} lacks ${key}.`);
        const arr = await archive.readArray(key);
        const want = expect.shapes.get(name)!;
        if (arr.shape.length !== want.length || arr.shape.some((d, i) => d !== want[i])) {
          throw new CheckpointError(`${file}: ${key} has shape [${arr.shape}] but the model needs [${want}].`);
        }
        out.set(name, Float32Array.from(arr.data as Float32Array));
      }
      return out;
    };
    const params = await read('param', expect.shapes.keys());
    const m = await read('adam_m', expect.trainable);
    const v = await read('adam_v', expect.trainable);
    return {
      ...(s as unknown as TrainingState),
      best: s.best === null ? Infinity : Number(s.best),
      params, m, v,
    };
  } finally {
    await archive.close();
  }
}

/** The model's data stored with a checkpoint; undefined for checkpoints written before it was stored. */
export async function readModelData(file: string): Promise<ModelData | undefined> {
  const archive = await openNpz(file);
  try {
    if (!archive.has(MODEL_DATA.probe) || !archive.has(MODEL_DATA.trainX) || !archive.has(MODEL_DATA.trainY)) return undefined;
    const floats = async (key: string): Promise<Float64Array> => {
      const arr = await archive.readArray(key);
      if (arr.shape.length !== 1 || !(arr.data instanceof Float64Array)) throw new CheckpointError(`${file}: ${key} is not a 1-D float64 array.`);
      return arr.data;
    };
    const probe = await archive.readArray(MODEL_DATA.probe);
    if (probe.dtype.name !== 'c8' || probe.shape.length !== 2) throw new CheckpointError(`${file}: ${MODEL_DATA.probe} is not a 2-D complex64 array.`);
    const train = { xs: await floats(MODEL_DATA.trainX), ys: await floats(MODEL_DATA.trainY) };
    const test = archive.has(MODEL_DATA.testX) && archive.has(MODEL_DATA.testY) ? { xs: await floats(MODEL_DATA.testX), ys: await floats(MODEL_DATA.testY) } : undefined;
    for (const [what, pos] of [['training', train], ['test', test]] as const) {
      if (pos && pos.xs.length !== pos.ys.length) throw new CheckpointError(`${file}: the ${what} positions have ${pos.xs.length} x and ${pos.ys.length} y coordinates.`);
    }
    return { probe: { height: probe.shape[0], width: probe.shape[1], data: Float32Array.from(probe.data as Float32Array) }, train, ...(test ? { test } : {}) };
  } finally {
    await archive.close();
  }
}
