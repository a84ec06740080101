// The checkpoint of a Phase F reconstruction (`<job>/checkpoint.npz`, readable with numpy.load): the engine's
// snapshot (src/core/iterative ReconstructionSnapshot) — object and probe as complex128 (the engine's float64
// planes, so a resume continues bit-identically), the momentum velocity when there is one, and in `_state` the
// iteration, the seed of the update order (which is Rng(seed, 'iterative-order', iteration): no generator
// state to carry), the probe scale, the run's fingerprint, the iteration history and the time spent so far.
import { AD_DEFAULTS, stepSizes, type ReconstructionSnapshot } from '../iterative';
import { ndarray, openNpz, scalarString, writeNpz, type NdArray } from '../npy';
import type { ReconstructionConfig } from '../study/reconstructJobs';
import { configKeyOf } from '../train/checkpoint';
import { keyDifferences } from '../train/fingerprint';
import type { CheckpointKind } from './resume';

export const RECON_CHECKPOINT_FORMAT = 'ptycho-study-recon-checkpoint/1';

/** What checkResumable expects of a reconstruction checkpoint. */
export const RECON_CHECKPOINT: CheckpointKind = {
  format: RECON_CHECKPOINT_FORMAT,
  memberPrefix: 'object',
  absentWhat: 'it holds no object',
  restartHint: { missing: 'ptycho-study reconstruct without --resume', bad: 'ptycho-study reconstruct without --resume starts over and replaces it' },
};

export interface ReconHistoryEntry {
  iteration: number;
  relativeError: number;
  mse: number;
  amplitudeR: number | null;
  phaseR: number | null;
  seconds: number;
}

/** What a reconstruction checkpoint carries beside the engine snapshot. */
export interface ReconCheckpointState {
  /** Fingerprint of the data and every parameter a resume must agree on (configKeyOf). */
  configKey: string;
  /** The plan's fingerprint (reconLaunchKeyOf): the launcher refuses a resume with other settings before writing anything. */
  launchKey?: string;
  /** Iterating time of the earlier processes of this run. */
  elapsedSeconds: number;
  history: ReconHistoryEntry[];
}

function interleaved(re: Float64Array, im: Float64Array): Float64Array {
  const out = new Float64Array(2 * re.length);
  for (let k = 0; k < re.length; k++) {
    out[2 * k] = re[k];
    out[2 * k + 1] = im[k];
  }
  return out;
}

function split(data: Float64Array): { re: Float64Array; im: Float64Array } {
  const re = new Float64Array(data.length / 2);
  const im = new Float64Array(data.length / 2);
  for (let k = 0; k < re.length; k++) {
    re[k] = data[2 * k];
    im[k] = data[2 * k + 1];
  }
  return { re, im };
}

/** Writes the checkpoint atomically (temporary file + rename: a symlink at the name is replaced, not followed). */
export async function saveReconCheckpoint(file: string, snap: ReconstructionSnapshot, state: ReconCheckpointState): Promise<void> {
  const arrays: Record<string, NdArray> = {
    object: ndarray('<c16', [snap.height, snap.width], interleaved(snap.objectRe, snap.objectIm)),
    probe: ndarray('<c16', [snap.n, snap.n], interleaved(snap.probeRe, snap.probeIm)),
    iteration: ndarray('<i4', [], Int32Array.of(snap.iteration)),
    seed: ndarray('<f8', [], Float64Array.of(snap.seed)),
  };
  if (snap.velocityRe && snap.velocityIm) arrays.velocity = ndarray('<c16', [snap.height, snap.width], interleaved(snap.velocityRe, snap.velocityIm));
  // The ad reconstructor's Adam moments (adam_m_object_re, …), float64 as the engine hands them over.
  const moments = snap.optimizer?.moments ?? {};
  for (const [name, data] of Object.entries(moments)) arrays[`adam_${name}`] = ndarray('<f8', [data.length], data);
  const { objectRe: _a, objectIm: _b, probeRe: _c, probeIm: _d, velocityRe: _e, velocityIm: _f, optimizer, ...scalars } = snap;
  arrays._state = scalarString(JSON.stringify({
    format: RECON_CHECKPOINT_FORMAT, ...scalars, ...state,
    ...(optimizer ? { optimizer: { step: optimizer.step, moments: Object.keys(moments) } } : {}),
    updateOrder: `Rng(${snap.seed}, 'iterative-order', iteration): a pure function of the seed and the iteration`,
  }));
  await writeNpz(file, arrays);
}

/**
 * What a resume must agree on, read from the plan alone, with the engines' defaults resolved as the engines resolve
 * them. Not the data file's path — a study moved to another folder still resumes — so the worker's key, which adds
 * the data's bytes, stays the check of the data. For ePIE/rPIE the worker's key is exactly these parts and the data's
 * hash; the ad key keeps its engine's own parameter record (an older key, which its checkpoints were written with).
 */
export function reconFingerprintParts(c: ReconstructionConfig): Record<string, unknown> {
  const s = c.settings;
  const common = { algorithm: c.algorithm, n: c.n, objectShape: c.objectShape, probeMode: s.probeMode, probeStart: s.probeStart, seed: s.seed };
  if (c.algorithm === 'ad') {
    return { ...common, loss: s.loss, learningRate: s.learningRate ?? AD_DEFAULTS.learningRate, batchSize: Math.min(s.batchSize, c.patterns), iterations: s.iterations };
  }
  return {
    ...common, ...stepSizes(c.algorithm, s.alpha, s.beta), momentum: s.momentum, friction: s.friction,
    // Annealing runs over the planned iterations, so a resume must plan the same count (absent when off, so that
    // checkpoints from before annealing still resume).
    ...(s.anneal > 0 ? { anneal: s.anneal, iterations: s.iterations } : {}),
  };
}

export function reconLaunchKeyOf(config: ReconstructionConfig): string {
  return configKeyOf({ launch: reconFingerprintParts(config) });
}

/** The settings in which the plan that wrote a checkpoint and the next one differ ("name old → new"). */
export function reconLaunchDifferences(ran: ReconstructionConfig, next: ReconstructionConfig): string[] {
  return keyDifferences(reconFingerprintParts(ran), reconFingerprintParts(next));
}

export class ReconCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReconCheckpointError';
  }
}

/**
 * Reads a reconstruction checkpoint back; refuses one written for other data or parameters (its fingerprint
 * differs from `configKey`) with a sentence saying how to start over.
 */
export async function loadReconCheckpoint(file: string, configKey: string): Promise<{ snapshot: ReconstructionSnapshot; state: ReconCheckpointState }> {
  const a = await openNpz(file);
  try {
    const s = JSON.parse(((await a.readArray('_state')).data as string[])[0]) as Record<string, unknown>;
    if (s.format !== RECON_CHECKPOINT_FORMAT) throw new ReconCheckpointError(`${file} is not a reconstruction checkpoint (format ${String(s.format)}).`);
    if (s.configKey !== configKey) {
      throw new ReconCheckpointError(`${file} was written for other data or parameters (fingerprint ${String(s.configKey)}, this run ${configKey}); run without --resume to start over.`);
    }
    const planes = async (name: string): Promise<{ re: Float64Array; im: Float64Array } | null> => (a.has(name) ? split((await a.readArray(name)).data as Float64Array) : null);
    const object = (await planes('object'))!;
    const probe = await planes('probe');
    const velocity = await planes('velocity');
    if (!probe) throw new ReconCheckpointError(`${file} holds no probe.`);
    const snapshot: ReconstructionSnapshot = {
      version: s.version as 1, algorithm: s.algorithm as ReconstructionSnapshot['algorithm'], n: Number(s.n), width: Number(s.width), height: Number(s.height),
      patterns: Number(s.patterns), seed: Number(s.seed), iteration: Number(s.iteration), probeScale: s.probeScale === null ? null : Number(s.probeScale),
      objectRe: object.re, objectIm: object.im, probeRe: probe.re, probeIm: probe.im, velocityRe: velocity?.re ?? null, velocityIm: velocity?.im ?? null,
    };
    const opt = s.optimizer as { step?: unknown; moments?: unknown } | undefined;
    if (opt) {
      if (!Number.isSafeInteger(opt.step) || !Array.isArray(opt.moments) || opt.moments.some((m) => typeof m !== 'string' || !/^[mv]_[a-z_]{1,40}$/.test(m))) {
        throw new ReconCheckpointError(`${file}: its optimizer state is malformed; run without --resume to start over.`);
      }
      const moments: Record<string, Float64Array> = {};
      for (const name of opt.moments as string[]) {
        if (!a.has(`adam_${name}`)) throw new ReconCheckpointError(`${file} lacks the optimizer moment adam_${name}; run without --resume to start over.`);
        moments[name] = (await a.readArray(`adam_${name}`)).data as Float64Array;
      }
      snapshot.optimizer = { step: opt.step as number, moments };
    }
    return { snapshot, state: { configKey, elapsedSeconds: Number(s.elapsedSeconds) || 0, history: Array.isArray(s.history) ? (s.history as ReconHistoryEntry[]) : [] } };
  } finally {
    await a.close();
  }
}
