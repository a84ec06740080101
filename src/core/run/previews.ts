// The reconstruction as it forms (issue 15): after each measured epoch the worker writes the quality monitor's
// stitched window — a fixed, bounded region of the test object (96 × 96 px by default), inferred anyway to score the
// epoch, so the preview costs only its write — as `<job>/previews/epoch_<NNN>.npz`, uint8-quantised: amplitude on
// [lo, hi] (recorded), phase on [−π, π], and the covered mask (pixels no crop reached are holes). About 28 KB per
// epoch, so 50 epochs stay near 1.4 MB. `previews/truth.npz` holds the ground truth of the same window once.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ndarray } from '../npy/writer';
import { writeNpz } from '../npy/writer';
import { withNpz } from '../npy/reader';
import type { StitchRegion } from '../train/stitch';
import { assertInsideRoot } from './safeFiles';

export const PREVIEW_DIR = 'previews';
export const TRUTH_PREVIEW = 'truth.npz';
/** A stitched pixel counts as covered from this weight (as the metrics' COVERED_WEIGHT). */
const COVERED = 0.5;
/** Largest preview side read back (a hand-made file cannot make the host allocate more). */
const MAX_SIDE = 1024;

export const previewName = (epoch: number): string => `epoch_${String(epoch).padStart(3, '0')}.npz`;

/** One quantised preview image pair. */
export interface Preview {
  epoch: number;
  region: StitchRegion;
  width: number;
  height: number;
  /** Row-major, 0…255 over `amplitudeRange`. */
  amplitude: Uint8Array;
  amplitudeRange: [number, number];
  /** Row-major, 0…255 over [−π, π]. */
  phase: Uint8Array;
  /** 1 where a crop reached the pixel (the truth: all 1). */
  covered: Uint8Array;
}

/** Quantises a complex window (interleaved re, im) and its stitching weight (undefined: all covered). */
export function quantisePreview(epoch: number, region: StitchRegion, object: Float32Array, weight?: Float32Array): Preview {
  const n = region.width * region.height;
  const amp = new Float32Array(n);
  let lo = Infinity;
  let hi = -Infinity;
  const covered = new Uint8Array(n);
  for (let q = 0; q < n; q++) {
    const a = Math.hypot(object[2 * q], object[2 * q + 1]);
    amp[q] = a;
    covered[q] = !weight || weight[q] >= COVERED ? 1 : 0;
    if (covered[q] && Number.isFinite(a)) {
      if (a < lo) lo = a;
      if (a > hi) hi = a;
    }
  }
  if (!(hi > lo)) {
    lo = Number.isFinite(lo) ? lo : 0;
    hi = lo + 1;
  }
  const amplitude = new Uint8Array(n);
  const phase = new Uint8Array(n);
  for (let q = 0; q < n; q++) {
    if (!covered[q]) continue;
    amplitude[q] = Math.max(0, Math.min(255, Math.round(((amp[q] - lo) / (hi - lo)) * 255)));
    const p = Math.atan2(object[2 * q + 1], object[2 * q]);
    phase[q] = Math.max(0, Math.min(255, Math.round(((p + Math.PI) / (2 * Math.PI)) * 255)));
  }
  return { epoch, region, width: region.width, height: region.height, amplitude, amplitudeRange: [lo, hi], phase, covered };
}

/** Writes a preview (atomically) as `previews/epoch_NNN.npz`, or as `previews/truth.npz` when `name` says so. */
export async function writePreview(jobDir: string, p: Preview, name = previewName(p.epoch)): Promise<string> {
  // Never through a previews/ symlinked out of the job folder (UnsafePathError; the run goes on without previews).
  assertInsideRoot(jobDir, path.join(jobDir, PREVIEW_DIR));
  const file = path.join(jobDir, PREVIEW_DIR, name);
  await writeNpz(file, {
    amplitude: ndarray('|u1', [p.height, p.width], p.amplitude),
    phase: ndarray('|u1', [p.height, p.width], p.phase),
    covered: ndarray('|u1', [p.height, p.width], p.covered),
    amplitude_range: ndarray('<f4', [2], Float32Array.from(p.amplitudeRange)),
    phase_range: ndarray('<f4', [2], Float32Array.from([-Math.PI, Math.PI])),
    region: ndarray('<i4', [4], Int32Array.from([p.region.x0, p.region.y0, p.region.width, p.region.height])),
    epoch: ndarray('<i4', [1], Int32Array.from([p.epoch])),
  }, { compress: true, level: 1 });
  return path.posix.join(PREVIEW_DIR, name);
}

/** Reads a preview back (the job panel's host); throws a clear error for anything that is not one. */
export async function readPreview(file: string): Promise<Preview> {
  return withNpz(file, async (z) => {
    const u8 = async (name: string, w?: number, h?: number): Promise<{ data: Uint8Array; w: number; h: number }> => {
      const m = [...z.members.values()].find((x) => x.name === name);
      const shape = m?.header?.shape;
      if (!m || !shape || shape.length !== 2 || m.header.dtype.descr !== '|u1') throw new Error(`${file}: ${name} is not a uint8 image`);
      const [hh, ww] = shape;
      if (hh < 1 || ww < 1 || hh > MAX_SIDE || ww > MAX_SIDE || (w !== undefined && (ww !== w || hh !== h))) throw new Error(`${file}: ${name} has shape ${hh}×${ww}`);
      const a = await z.readArray(name);
      return { data: a.data as Uint8Array, w: ww, h: hh };
    };
    const amplitude = await u8('amplitude');
    const phase = await u8('phase', amplitude.w, amplitude.h);
    const covered = await u8('covered', amplitude.w, amplitude.h);
    const range = Array.from((await z.readArray('amplitude_range')).data as Float32Array);
    const region = Array.from((await z.readArray('region')).data as Int32Array);
    const epoch = Number(((await z.readArray('epoch')).data as Int32Array)[0]);
    if (range.length !== 2 || !range.every(Number.isFinite) || region.length !== 4) throw new Error(`${file}: not a preview (amplitude_range, region)`);
    return {
      epoch, region: { x0: region[0], y0: region[1], width: region[2], height: region[3] }, width: amplitude.w, height: amplitude.h,
      amplitude: amplitude.data, amplitudeRange: [range[0], range[1]], phase: phase.data, covered: covered.data,
    };
  });
}

/** The epochs with a preview in `<job>/previews/`, ascending. */
export function listPreviews(jobDir: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(jobDir, PREVIEW_DIR));
  } catch {
    return [];
  }
  return names.map((n) => /^epoch_(\d{3,6})\.npz$/.exec(n)?.[1]).filter((x): x is string => x !== undefined).map(Number).sort((a, b) => a - b);
}

/** A fresh run starts without the previews of the job's previous run (a resume keeps them). */
export async function clearPreviews(jobDir: string): Promise<void> {
  await fs.promises.rm(path.join(jobDir, PREVIEW_DIR), { recursive: true, force: true });
}
