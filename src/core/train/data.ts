// A job's dataset for training and inference: scan positions, probe, ground-truth object, and the diffraction
// stack behind a pattern source that holds it in memory when it is small and reads frames straight from the
// .npz (random access) when it is large, so memory stays bounded. Amplitudes are loader-normalised on read
// (domain.md §8.2 rule 2: mean per-pattern energy (N/2)²).
import { openNpz, NpyFormatError, type NdArray, type NpzArchive } from '../npy';
import { loaderNormalization } from '../model/physics';

/** Stacks above this are streamed from disk instead of held in memory. */
export const DEFAULT_IN_MEMORY_BYTES = 1024 ** 3;
/** Rows read per chunk when a whole stack is scanned (the normalisation pass). */
const SCAN_CHUNK_ROWS = 256;

export class DatasetError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'DatasetError';
  }
}

export interface ComplexArray {
  height: number;
  width: number;
  /** Interleaved (re, im). */
  data: Float32Array;
}

export interface PatternSource {
  /** Copies patterns `indices` (normalised amplitudes, N×N each) into out[offset …]. */
  read(indices: ArrayLike<number>, out: Float32Array, offset?: number): Promise<void>;
  readonly streamed: boolean;
}

export interface TrainingDataset {
  path: string;
  n: number;
  count: number;
  xs: Float64Array;
  ys: Float64Array;
  probe: ComplexArray;
  object?: ComplexArray;
  /** Mean over patterns of Σ X² of the stored amplitudes. */
  meanEnergy: number;
  /** Loader normalisation factor applied to every pattern read. */
  normalization: number;
  patterns: PatternSource;
  close(): Promise<void>;
}

export interface OpenDatasetOptions {
  diffractionKey?: string;
  inMemoryBytes?: number;
}

function toFloat64(arr: NdArray, file: string, key: string): Float64Array {
  const d = arr.data;
  if (Array.isArray(d) || d instanceof BigInt64Array || d instanceof BigUint64Array) throw new DatasetError(file, `${key} must be numeric (it is ${arr.dtype.descr})`);
  return Float64Array.from(d as ArrayLike<number>);
}

function toComplex(arr: NdArray, file: string, key: string): ComplexArray {
  if (arr.shape.length !== 2) throw new DatasetError(file, `${key} must be a 2-D complex array (shape ${JSON.stringify(arr.shape)})`);
  const [height, width] = arr.shape;
  const d = arr.data;
  if (arr.dtype.name === 'c8' || arr.dtype.name === 'c16') return { height, width, data: Float32Array.from(d as ArrayLike<number>) };
  if (Array.isArray(d) || d instanceof BigInt64Array || d instanceof BigUint64Array) throw new DatasetError(file, `${key} must be complex (it is ${arr.dtype.descr})`);
  // A real array is a complex one with zero phase.
  const data = new Float32Array(2 * height * width);
  for (let i = 0; i < height * width; i++) data[2 * i] = Number((d as ArrayLike<number>)[i]);
  return { height, width, data };
}

/** Opens a study dataset for training: reads the small members, checks shapes, computes the normalisation. */
export async function openTrainingDataset(file: string, options: OpenDatasetOptions = {}): Promise<TrainingDataset> {
  let archive: NpzArchive;
  try {
    archive = await openNpz(file);
  } catch (err) {
    if (err instanceof NpyFormatError) throw new DatasetError(file, `not a readable NumPy .npz archive (${err.problem})`);
    throw err;
  }
  try {
    const key = options.diffractionKey ?? (archive.has('diffraction') ? 'diffraction' : 'diff3d');
    if (!archive.has(key)) throw new DatasetError(file, `no diffraction stack (expected a "diffraction" or "diff3d" member)`);
    for (const k of ['xcoords', 'ycoords', 'probeGuess']) if (!archive.has(k)) throw new DatasetError(file, `missing the "${k}" member`);
    const xs = toFloat64(await archive.readArray('xcoords'), file, 'xcoords');
    const ys = toFloat64(await archive.readArray('ycoords'), file, 'ycoords');
    const probe = toComplex(await archive.readArray('probeGuess'), file, 'probeGuess');
    const object = archive.has('objectGuess') ? toComplex(await archive.readArray('objectGuess'), file, 'objectGuess') : undefined;
    const member = archive.member(key);
    const shape = member.header.shape;
    if (shape.length !== 3) throw new DatasetError(file, `${key} must be a 3-D stack (shape ${JSON.stringify(shape)})`);
    // FORMAT-001: legacy (H, W, n) stacks are recognised by their last axis matching the positions.
    const legacy = shape[0] !== xs.length && shape[2] === xs.length;
    const count = legacy ? shape[2] : shape[0];
    const [h, w] = legacy ? [shape[0], shape[1]] : [shape[1], shape[2]];
    if (count !== xs.length || ys.length !== xs.length) throw new DatasetError(file, `${count} patterns but ${xs.length} xcoords and ${ys.length} ycoords`);
    if (h !== w) throw new DatasetError(file, `patterns must be square (they are ${h}×${w})`);
    if (probe.height !== h || probe.width !== w) throw new DatasetError(file, `probeGuess is ${probe.height}×${probe.width} but patterns are ${h}×${w}`);
    if (count < 1) throw new DatasetError(file, 'the dataset holds no patterns');
    const n = h;
    const frame = n * n;
    const bytes = member.header.dataBytes;
    const limit = options.inMemoryBytes ?? DEFAULT_IN_MEMORY_BYTES;
    // Random access needs a stored, C-ordered (n, N, N) member; anything else is read whole.
    const streamable = member.compression === 'stored' && !legacy && !member.header.fortranOrder;
    const stack = !streamable || bytes <= limit ? await readWholeStack(archive, key, legacy, count, n, file, bytes) : undefined;
    // Normalisation pass: Σ X² per pattern, averaged (streamed in chunks when the stack stays on disk).
    let energy = 0;
    if (stack) {
      for (let i = 0; i < stack.length; i++) energy += stack[i] * stack[i];
    } else {
      for (let start = 0; start < count; start += SCAN_CHUNK_ROWS) {
        const end = Math.min(count, start + SCAN_CHUNK_ROWS);
        const rows = (await archive.readRows(key, start, end)).data as ArrayLike<number>;
        for (let i = 0; i < (end - start) * frame; i++) energy += rows[i] * rows[i];
      }
    }
    if (!Number.isFinite(energy)) throw new DatasetError(file, `${key} holds NaN or infinite values`);
    const meanEnergy = energy / count;
    const normalization = loaderNormalization(meanEnergy, n);
    if (stack) await archive.close();
    const patterns: PatternSource = stack ? new InMemoryPatterns(stack, frame, normalization) : new StreamedPatterns(archive, key, frame, normalization);
    return {
      path: file, n, count, xs, ys, probe, object, meanEnergy, normalization, patterns,
      close: async () => {
        if (!stack) await archive.close();
      },
    };
  } catch (err) {
    await archive.close().catch(() => undefined);
    if (err instanceof NpyFormatError) throw new DatasetError(file, err.problem);
    throw err;
  }
}

async function readWholeStack(archive: NpzArchive, key: string, legacy: boolean, count: number, n: number, file: string, maxBytes: number): Promise<Float32Array> {
  const arr = await archive.readArray(key, { maxBytes: maxBytes + 1 });
  const d = arr.data;
  if (Array.isArray(d) || d instanceof BigInt64Array || d instanceof BigUint64Array) throw new DatasetError(file, `${key} must hold floating-point amplitudes (it is ${arr.dtype.descr})`);
  const src = d as ArrayLike<number>;
  const frame = n * n;
  const out = new Float32Array(count * frame);
  if (!legacy) {
    out.set(src as ArrayLike<number>);
    return out;
  }
  // (H, W, n) → (n, H, W).
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let k = 0; k < count; k++) out[k * frame + y * n + x] = src[(y * n + x) * count + k];
  return out;
}

class InMemoryPatterns implements PatternSource {
  readonly streamed = false;
  constructor(private readonly stack: Float32Array, private readonly frame: number, private readonly scale: number) {}

  async read(indices: ArrayLike<number>, out: Float32Array, offset = 0): Promise<void> {
    const { frame, scale, stack } = this;
    for (let k = 0; k < indices.length; k++) {
      const src = indices[k] * frame;
      const dst = offset + k * frame;
      for (let i = 0; i < frame; i++) out[dst + i] = stack[src + i] * scale;
    }
  }
}

class StreamedPatterns implements PatternSource {
  readonly streamed = true;
  constructor(private readonly archive: NpzArchive, private readonly key: string, private readonly frame: number, private readonly scale: number) {}

  async read(indices: ArrayLike<number>, out: Float32Array, offset = 0): Promise<void> {
    const { frame, scale } = this;
    for (let k = 0; k < indices.length; k++) {
      const row = (await this.archive.readRows(this.key, indices[k], indices[k] + 1)).data as ArrayLike<number>;
      const dst = offset + k * frame;
      for (let i = 0; i < frame; i++) out[dst + i] = row[i] * scale;
    }
  }
}

/**
 * A dataset of positions and probe only, for a trained model whose file is gone (its checkpoint's ModelData): the
 * model's groups and canvas are rebuilt from it; reading a pattern is an error that says why there are none.
 */
export function positionsOnlyDataset(file: string, n: number, xs: Float64Array, ys: Float64Array, probe: ComplexArray): TrainingDataset {
  const patterns: PatternSource = {
    streamed: false,
    read: async () => {
      throw new DatasetError(file, 'its patterns are not available: only the probe and positions stored with the checkpoint are');
    },
  };
  return { path: file, n, count: xs.length, xs, ys, probe, meanEnergy: NaN, normalization: NaN, patterns, close: async () => undefined };
}
