// Writing a run's results: reconstruction.npz (numpy-readable), metrics.json, amplitude.png, phase.png.
// Every file is written atomically (temporary file + rename), so a crash never leaves a torn artifact.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../atomic';
import { renderPng } from '../image/png';
import { evaluateReconstruction, toJsonMetrics, type JsonReconstructionMetrics } from '../metrics';
import { ndarray, scalarString, writeNpz, type NdArray } from '../npy';
import { ARTIFACT } from '../study/layout';
import type { Reconstruction } from '../train/reconstruct';

export interface ReconstructionMeta {
  jobId: string;
  split: 'test' | 'train';
  cropSize: number;
  datasetPath: string;
}

/** Amplitude and phase images of an interleaved complex array. */
export function amplitudePhase(object: Float32Array): { amplitude: Float32Array; phase: Float32Array } {
  const size = object.length / 2;
  const amplitude = new Float32Array(size);
  const phase = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    amplitude[i] = Math.hypot(object[2 * i], object[2 * i + 1]);
    phase[i] = Math.atan2(object[2 * i + 1], object[2 * i]);
  }
  return { amplitude, phase };
}

/**
 * The constant phase that best aligns `pred` to `target` over covered pixels: arg Σ conj(pred)·target.
 * A far-field measurement cannot fix an object's global phase, so metrics compare after removing it.
 */
export function globalPhaseOffset(pred: Float32Array, target: Float32Array, weight?: Float32Array): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < pred.length / 2; i++) {
    if (weight && !(weight[i] > 0)) continue;
    const a = pred[2 * i];
    const b = pred[2 * i + 1];
    const c = target[2 * i];
    const d = target[2 * i + 1];
    re += a * c + b * d;
    im += a * d - b * c;
  }
  return Math.atan2(im, re);
}

export function rotatePhase(object: Float32Array, angle: number): Float32Array {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const out = new Float32Array(object.length);
  for (let i = 0; i < object.length; i += 2) {
    out[i] = object[i] * c - object[i + 1] * s;
    out[i + 1] = object[i] * s + object[i + 1] * c;
  }
  return out;
}

export interface ScoredReconstruction {
  metrics: JsonReconstructionMetrics;
  phaseOffset: number;
  coverage: number;
}

/** The study's metrics of a reconstruction against its ground truth, after global-phase alignment. */
export function scoreReconstruction(r: Reconstruction): ScoredReconstruction | undefined {
  if (!r.groundTruth) return undefined;
  const offset = globalPhaseOffset(r.object, r.groundTruth, r.weight);
  const aligned = rotatePhase(r.object, offset);
  const m = evaluateReconstruction(aligned, r.groundTruth, r.width, r.height);
  let covered = 0;
  for (const w of r.weight) if (w > 0) covered++;
  return { metrics: toJsonMetrics(m), phaseOffset: offset, coverage: covered / r.weight.length };
}

/** reconstruction.npz: object (complex64), amplitude, phase (float32), weight, ground_truth, origin, _metadata. */
export async function writeReconstruction(dir: string, r: Reconstruction, meta: ReconstructionMeta, opts: { mtime?: Date } = {}): Promise<string> {
  const file = path.join(dir, ARTIFACT.reconstruction);
  const { amplitude, phase } = amplitudePhase(r.object);
  const shape = [r.height, r.width];
  const arrays: Record<string, NdArray> = {
    object: ndarray('<c8', shape, r.object),
    amplitude: ndarray('<f4', shape, amplitude),
    phase: ndarray('<f4', shape, phase),
    weight: ndarray('<f4', shape, r.weight),
    origin: ndarray('<i4', [2], Int32Array.from([r.region.x0, r.region.y0])),
  };
  if (r.groundTruth) arrays.ground_truth = ndarray('<c8', shape, r.groundTruth);
  arrays._metadata = scalarString(JSON.stringify({
    ...meta,
    origin: { x0: r.region.x0, y0: r.region.y0, note: 'object pixel (y0 + row, x0 + col) of the dataset objectGuess' },
    groups: r.groups,
  }));
  await writeNpz(file, arrays, { mtime: opts.mtime });
  return file;
}

/** amplitude.png (gray) and phase.png (twilight over −π…π, cyclic). */
export async function writeImages(dir: string, r: Reconstruction): Promise<string[]> {
  const { amplitude, phase } = amplitudePhase(r.object);
  const amp = path.join(dir, ARTIFACT.amplitudePng);
  const ph = path.join(dir, ARTIFACT.phasePng);
  await writeFileAtomic(amp, renderPng(amplitude, r.width, r.height, { colormap: 'gray' }));
  await writeFileAtomic(ph, renderPng(phase, r.width, r.height, { colormap: 'twilight', lo: -Math.PI, hi: Math.PI, wrap: true }));
  return [amp, ph];
}

export async function writeMetrics(dir: string, doc: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, ARTIFACT.metrics);
  await writeJsonAtomic(file, { schemaVersion: 1, ...doc });
  return file;
}

/** SHA-256 of a file, streamed in 64 KiB chunks (the study's bundle_sha256 recipe). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const stream = fs.createReadStream(file, { highWaterMark: 65536 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
