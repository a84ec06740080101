// Writing a run's results: reconstruction.npz (numpy-readable), metrics.json, amplitude.png, phase.png.
// Every file is written atomically (temporary file + rename), so a crash never leaves a torn artifact.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../atomic';
import { renderPng } from '../image/png';
import { evaluateReconstruction, toJsonMetrics, type JsonReconstructionMetrics } from '../metrics';
import { ndarray, openNpz, scalarString, writeNpz, type NdArray, type NpzArchive } from '../npy';
import { ARTIFACT } from '../study/layout';
import type { Reconstruction } from '../train/reconstruct';
import { COVERED_WEIGHT } from '../train/stitch';

export interface ReconstructionMeta {
  jobId: string;
  /** The job's split reconstructed; `named`: patterns the user named (`ptycho-study apply`). */
  split: 'test' | 'train' | 'named';
  cropSize: number;
  datasetPath: string;
  /** Which evaluation set the reconstruction is of (`phase-c-test`: the dose's common evaluation). */
  evaluation?: string;
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
  /** Fraction of the stitched canvas covered by at least half a crop's weight. */
  coverage: number;
  /** The rectangle (canvas pixels) the metrics were computed on: the largest one the scan covers fully. */
  metricRegion: { x: number; y: number; width: number; height: number };
}

export { COVERED_WEIGHT } from '../train/stitch';

/**
 * The largest axis-aligned rectangle of covered pixels (histogram-stack method, O(width·height)). With a dense
 * scan it is the whole canvas but a ragged margin; with a sparse one it keeps the metrics off the holes, where a
 * reconstruction has nothing to say.
 */
export function largestCoveredRectangle(weight: Float32Array, width: number, height: number, threshold = COVERED_WEIGHT): { x: number; y: number; width: number; height: number } {
  const heights = new Int32Array(width);
  let best = { x: 0, y: 0, width: 0, height: 0 };
  let bestArea = 0;
  const stack: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) heights[x] = weight[y * width + x] >= threshold ? heights[x] + 1 : 0;
    stack.length = 0;
    for (let x = 0; x <= width; x++) {
      const h = x < width ? heights[x] : 0;
      while (stack.length && heights[stack[stack.length - 1]] >= h) {
        const top = stack.pop()!;
        const hh = heights[top];
        const left = stack.length ? stack[stack.length - 1] + 1 : 0;
        const area = hh * (x - left);
        if (area > bestArea) {
          bestArea = area;
          best = { x: left, y: y - hh + 1, width: x - left, height: hh };
        }
      }
      stack.push(x);
    }
  }
  return best;
}

function cropComplex(data: Float32Array, width: number, r: { x: number; y: number; width: number; height: number }): Float32Array {
  const out = new Float32Array(2 * r.width * r.height);
  for (let y = 0; y < r.height; y++) out.set(data.subarray(2 * ((r.y + y) * width + r.x), 2 * ((r.y + y) * width + r.x + r.width)), 2 * y * r.width);
  return out;
}

/**
 * The study's metrics (domain.md §7.3) of a reconstruction against its ground truth: on the largest fully
 * covered rectangle of the stitched canvas, after removing the global phase (which a far-field measurement
 * cannot fix). Undefined without a ground truth or when the covered rectangle is too small for SSIM.
 */
export function scoreReconstruction(r: Reconstruction): ScoredReconstruction | undefined {
  if (!r.groundTruth) return undefined;
  let covered = 0;
  for (const w of r.weight) if (w >= COVERED_WEIGHT) covered++;
  const rect = largestCoveredRectangle(r.weight, r.width, r.height);
  if (rect.width < 12 || rect.height < 12) return undefined;
  const pred = cropComplex(r.object, r.width, rect);
  const gt = cropComplex(r.groundTruth, r.width, rect);
  const offset = globalPhaseOffset(pred, gt);
  const m = evaluateReconstruction(rotatePhase(pred, offset), gt, rect.width, rect.height);
  return { metrics: toJsonMetrics(m), phaseOffset: offset, coverage: covered / r.weight.length, metricRegion: rect };
}

/**
 * The part of the dataset a reconstruction was stitched from that an export needs (its scan positions, its
 * probeGuess, its `_metadata` with the units), copied into reconstruction.npz so that a job folder whose data moved
 * or was deleted still exports (`ptycho-study export-ptychodus`).
 */
export interface RecordedSource {
  arrays: Record<string, NdArray>;
  metadata?: unknown;
}

/** The dataset's metadata is copied only up to this size (a hostile one could be anything). */
const RECORDED_METADATA_MAX_CHARS = 64 * 1024;
/** Positions are copied up to this many bytes each (8 MB: a million float64 scan points). */
const RECORDED_POSITIONS_MAX_BYTES = 8 << 20;
/** A probe up to 1024 × 1024 complex128. */
const RECORDED_PROBE_MAX_BYTES = 16 << 20;

/**
 * Reads what `RecordedSource` records from `file`: xcoords, ycoords, probeGuess as they are (the export checks them
 * as it checks a dataset), each only when present and within bounds. A record is optional: anything unreadable is
 * left out, never an error (the run already read this file; the export then falls back to the file itself).
 */
export async function recordSource(file: string): Promise<RecordedSource> {
  const arrays: Record<string, NdArray> = {};
  let metadata: unknown;
  let a: NpzArchive;
  try {
    a = await openNpz(file);
  } catch {
    return { arrays };
  }
  try {
    for (const [key, maxBytes] of [['xcoords', RECORDED_POSITIONS_MAX_BYTES], ['ycoords', RECORDED_POSITIONS_MAX_BYTES], ['probeGuess', RECORDED_PROBE_MAX_BYTES]] as const) {
      if (!a.has(key)) continue;
      try {
        arrays[key] = await a.readArray(key, { maxBytes });
      } catch {
        // Left out: the export reads the dataset itself, or says what is missing.
      }
    }
    try {
      const json = (await a.readMetadata())?.json;
      if (json !== undefined && JSON.stringify(json).length <= RECORDED_METADATA_MAX_CHARS) metadata = json;
    } catch {
      // No usable _metadata: the export assumes (and says) the units, as it would for the dataset.
    }
  } finally {
    await a.close();
  }
  // Positions are kept only in pairs: one axis alone places nothing.
  if (!arrays.xcoords || !arrays.ycoords) {
    delete arrays.xcoords;
    delete arrays.ycoords;
  }
  return metadata === undefined ? { arrays } : { arrays, metadata };
}

/**
 * reconstruction.npz: object (complex64), amplitude, phase (float32), weight, ground_truth, origin, _metadata,
 * `opts.extra` (a Phase F job adds its `probe`), and `opts.source`: the dataset's xcoords, ycoords, probeGuess as
 * the run read them, its _metadata as `_metadata.datasetMetadata`.
 */
export async function writeReconstruction(
  dir: string, r: Reconstruction, meta: ReconstructionMeta & Record<string, unknown>, opts: { mtime?: Date; extra?: Record<string, NdArray>; source?: RecordedSource } = {},
): Promise<string> {
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
  Object.assign(arrays, opts.source?.arrays, opts.extra);
  arrays._metadata = scalarString(JSON.stringify({
    ...meta,
    ...(opts.source?.metadata !== undefined ? { datasetMetadata: opts.source.metadata } : {}),
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

/**
 * metrics.json schema: 2 = the common evaluation (headline on the dose's evaluation set and region, FRC in
 * cycles/px with the shell index beside it, Pearson r, `flat`, `evaluation`, `ownSplit`); 1 = own split, FRC
 * as shell indices.
 */
export const METRICS_SCHEMA_VERSION = 2;

export async function writeMetrics(dir: string, doc: Record<string, unknown>): Promise<string> {
  const file = path.join(dir, ARTIFACT.metrics);
  await writeJsonAtomic(file, { schemaVersion: METRICS_SCHEMA_VERSION, ...doc });
  return file;
}

/** SHA-256 of a file, streamed in 64 KiB chunks (the study's bundle_sha256 recipe). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const stream = fs.createReadStream(file, { highWaterMark: 65536 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
